"""``@task.ovh_batch``: the function returns a sequence of items, the task returns their answers via the Batch API.

A thin subclass of :class:`OVHCloudAIEndpointsBatchOperator` (the pattern of ``@task.ovh_chat``):
the function's return value becomes the operator's ``items``, then the operator builds the JSONL,
uploads it, creates the batch (or reattaches to this run's), waits and reads the answers back in
input order. The return value is data: it is never Jinja-rendered.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import (
    DecoratedOperator,
    TaskDecorator,
    task_decorator_factory,
)

from airflow_ovhcloud.constants import ENDPOINTS_CONN_ID
from airflow_ovhcloud.decorators._common import call_function, check_decorator_kwargs
from airflow_ovhcloud.operators.ai_endpoints_batch import DEFAULT_BATCH_TIMEOUT, OVHCloudAIEndpointsBatchOperator
from airflow_ovhcloud.utils.batch import CHAT_ENDPOINT, check_endpoint
from airflow_ovhcloud.utils.chat import check_chat_options
from airflow_ovhcloud.utils.many import check_on_error
from airflow_ovhcloud.utils.validation import argument_errors

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

_SET_DURING_EXECUTION = "set during execution"


class _OVHBatchDecoratedOperator(DecoratedOperator, OVHCloudAIEndpointsBatchOperator):
    """Runs the function and takes its return value as the items; the batch operator does the rest."""

    template_fields: Sequence[str] = (
        *DecoratedOperator.template_fields,
        *OVHCloudAIEndpointsBatchOperator.template_fields,
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        **DecoratedOperator.template_fields_renderers,
        "items": "json",
    }
    custom_operator_name = "@task.ovh_batch"

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Collection[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        full_response: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            python_callable=python_callable,
            op_args=op_args,
            op_kwargs=op_kwargs,
            items=_SET_DURING_EXECUTION,
            returns=kwargs.pop("returns", "response" if full_response else "answer"),
            **kwargs,
        )

    def execute(self, context: Context) -> Any:
        # A sequence (list, tuple, a mapped task's results): the operator checks it and each item.
        self.items = call_function(self, context)
        return super().execute(context)


def ovh_batch_task(
    python_callable: Callable[..., Any] | None = None,
    *,
    model: str | None = None,
    ovh_conn_id: str = ENDPOINTS_CONN_ID,
    system_prompt: str | None = None,
    response_format: dict[str, Any] | type | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    top_p: float | None = None,
    stop: str | list[str] | None = None,
    tools: list[dict[str, Any]] | None = None,
    tool_choice: str | dict[str, Any] | None = None,
    full_response: bool = False,
    endpoint: str = CHAT_ENDPOINT,
    deferrable: bool | None = None,
    check_interval: float = 30,
    timeout: float = DEFAULT_BATCH_TIMEOUT,
    on_error: str = "fail",
    cancel_on_kill: bool = True,
    output_path: Any = None,
    **kwargs: Any,
) -> TaskDecorator:
    """``@task.ovh_batch``: the function returns items; the task returns their answers, in input order.

    Each item is anything ``@task.ovh_chat`` accepts (a prompt, a list of message dicts, or a dict
    with ``messages``/``prompt`` and per-item overrides). The answers are what ``@task.ovh_chat``
    returns (the whole response with ``full_response=True``). Waiting happens in the worker or,
    with ``deferrable=True``, in the triggerer; a retried task reattaches to its batch; a killed
    one cancels it (``cancel_on_kill``). ``on_error``, ``output_path``: see docs/batch.md.
    """
    check_decorator_kwargs("ovh_batch", _OVHBatchDecoratedOperator, kwargs)
    options: dict[str, Any] = {
        "model": model,
        "system_prompt": system_prompt,
        "response_format": response_format,
        "temperature": temperature,
        "max_tokens": max_tokens,
        "top_p": top_p,
        "stop": stop,
        "tools": tools,
        "tool_choice": tool_choice,
    }
    # The operator checks these again when it is built; a mapped task's is built only when it runs.
    check_chat_options(**options, full_response=full_response)
    with argument_errors():
        check_endpoint(endpoint)
        check_on_error(on_error)
    kwargs.setdefault("multiple_outputs", False)
    return task_decorator_factory(
        python_callable=python_callable,
        decorated_operator_class=_OVHBatchDecoratedOperator,
        ovh_conn_id=ovh_conn_id,
        full_response=full_response,
        endpoint=endpoint,
        deferrable=deferrable,
        check_interval=check_interval,
        timeout=timeout,
        on_error=on_error,
        cancel_on_kill=cancel_on_kill,
        output_path=output_path,
        **options,
        **kwargs,
    )
