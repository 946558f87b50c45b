"""``@task.ovh_chat``: the function returns a prompt, the task returns the model's answer.

A thin subclass of :class:`OVHCloudAIEndpointsChatCompletionsOperator` (the pattern of Airflow's
``@task.bash``): the function's return value becomes the operator's ``messages`` (and per-call
overrides), then the classic operator's ``execute`` makes the call. The return value is data: it
is never Jinja-rendered, so a prompt containing ``{{ ... }}`` is sent verbatim.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import (
    DecoratedOperator,
    TaskDecorator,
    task_decorator_factory,
)

from airflow_ovhcloud.constants import ENDPOINTS_CONN_ID, MANY_MAX_CONCURRENCY
from airflow_ovhcloud.decorators._common import call_function, check_decorator_kwargs
from airflow_ovhcloud.operators.ai_endpoints import OVHCloudAIEndpointsChatCompletionsOperator
from airflow_ovhcloud.utils.chat import ChatItemError, call_from, check_chat_options

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

_SET_DURING_EXECUTION = "set during execution"


class _OVHChatDecoratedOperator(DecoratedOperator, OVHCloudAIEndpointsChatCompletionsOperator):
    """Runs the function and turns its return value into messages; the chat operator does the rest."""

    template_fields: Sequence[str] = (
        *DecoratedOperator.template_fields,
        *OVHCloudAIEndpointsChatCompletionsOperator.template_fields,
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        **DecoratedOperator.template_fields_renderers,
        "messages": "json",
    }
    custom_operator_name = "@task.ovh_chat"
    overwrite_rtif_after_execution = True

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Collection[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        model: str | None = None,
        temperature: float | None = None,
        full_response: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            python_callable=python_callable,
            op_args=op_args,
            op_kwargs=op_kwargs,
            model=model,  # may also come from the function's return value
            messages=_SET_DURING_EXECUTION,
            temperature=temperature,  # None: the model's own default (see docs/decorators.md)
            returns=kwargs.pop("returns", "response" if full_response else "answer"),
            **kwargs,
        )

    def execute(self, context: Context) -> Any:
        returned = call_function(self, context)
        if self.many:
            self.messages = returned  # a sequence: the operator makes one call per item
        else:
            self._use(returned)
        return super().execute(context)

    def _fail(self, problem: str, returned: Any) -> Exception:
        from airflow_ovhcloud.exceptions import OVHCloudAIInvalidInputError
        from airflow_ovhcloud.utils.validation import shown

        return OVHCloudAIInvalidInputError(
            f"@task.ovh_chat task '{self.task_id}': {problem}; the function returned "
            f"{type(returned).__name__} {shown(returned, 200)}. Return a prompt string, a list of message dicts, or a "
            "dict with 'messages' or 'prompt' and optional overrides."
        )

    def _use(self, returned: Any) -> None:
        """Turn the function's return value into messages and per-call overrides (never rendered)."""
        try:
            messages, overrides = call_from(returned)
        except ChatItemError as exc:
            raise self._fail(str(exc), returned) from None
        if "full_response" in overrides:
            self.returns = "response" if overrides.pop("full_response") else "answer"
        for key, value in overrides.items():
            setattr(self, key, value)
        if not self.model:
            raise self._fail("no model: set model= on the decorator or return it in a dict", returned)
        self.messages = messages


def ovh_chat_task(
    python_callable: Callable[..., Any] | None = None,
    *,
    model: str | None = None,
    ovh_conn_id: str = ENDPOINTS_CONN_ID,
    system_prompt: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    top_p: float | None = None,
    stop: str | list[str] | None = None,
    tools: list[dict[str, Any]] | None = None,
    tool_choice: str | dict[str, Any] | None = None,
    response_format: dict[str, Any] | type | None = None,
    stream: bool = False,
    full_response: bool = False,
    many: bool = False,
    max_concurrency: int = MANY_MAX_CONCURRENCY,
    requests_per_minute: int | None = None,
    on_error: str = "fail",
    **kwargs: Any,
) -> TaskDecorator:
    """``@task.ovh_chat``: the function returns a prompt; the task returns the model's answer.

    The function may return a string (the user message, after ``system_prompt``), a list of
    message dicts, or a dict with ``messages`` or ``prompt`` plus per-call overrides of these
    arguments. XCom gets the answer's text; the parsed JSON with a JSON ``response_format`` or a
    pydantic model (validated against it); the assistant message when the model calls tools; the
    whole response with ``full_response=True``. Token usage goes to XCom key ``usage``.

    With ``many=True`` the function returns a sequence of such items (a list, a tuple, or a mapped
    task's results) and the task returns the list of answers in input order: ``max_concurrency``
    calls at a time, at most ``requests_per_minute`` per model, failures per ``on_error``
    (``"fail"`` or ``"skip"``; see docs/decorators.md).
    """
    check_decorator_kwargs("ovh_chat", _OVHChatDecoratedOperator, kwargs)
    options: dict[str, Any] = {
        "model": model,
        "system_prompt": system_prompt,
        "temperature": temperature,
        "max_tokens": max_tokens,
        "top_p": top_p,
        "stop": stop,
        "tools": tools,
        "tool_choice": tool_choice,
        "response_format": response_format,
        "stream": stream,
        "full_response": full_response,
        "many": many,
        "max_concurrency": max_concurrency,
        "requests_per_minute": requests_per_minute,
        "on_error": on_error,
    }
    # The operator checks these again when it is built; a mapped task's is built only when it runs.
    check_chat_options(**options)
    kwargs.setdefault("multiple_outputs", False)
    return task_decorator_factory(
        python_callable=python_callable,
        decorated_operator_class=_OVHChatDecoratedOperator,
        ovh_conn_id=ovh_conn_id,
        **options,
        **kwargs,
    )
