"""``@task.ovh_embed``: the function returns texts, the task returns their vectors in input order.

A thin subclass of :class:`OVHCloudAIEndpointsEmbeddingOperator`: the function's return value
becomes the operator's ``input``; batching, concurrency, retries and errors are the hook's
(``create_embeddings``), with the operator's defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import (
    DecoratedOperator,
    TaskDecorator,
    task_decorator_factory,
)

from airflow_ovhcloud.constants import EMBEDDING_BATCH_SIZE, EMBEDDING_MAX_CONCURRENCY, ENDPOINTS_CONN_ID
from airflow_ovhcloud.decorators._common import call_function, check_decorator_kwargs
from airflow_ovhcloud.exceptions import OVHCloudAIInvalidArgumentError
from airflow_ovhcloud.operators.ai_endpoints import OVHCloudAIEndpointsEmbeddingOperator
from airflow_ovhcloud.utils.many import materialize
from airflow_ovhcloud.utils.validation import argument_errors, check_int, shown

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


class _OVHEmbedDecoratedOperator(DecoratedOperator, OVHCloudAIEndpointsEmbeddingOperator):
    """Runs the function, embeds what it returned, and returns the vectors (not the response)."""

    template_fields: Sequence[str] = (
        *DecoratedOperator.template_fields,
        *OVHCloudAIEndpointsEmbeddingOperator.template_fields,
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        **DecoratedOperator.template_fields_renderers,
        "input": "json",
    }
    custom_operator_name = "@task.ovh_embed"
    overwrite_rtif_after_execution = True

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Collection[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        model: str,
        batch_size: int = EMBEDDING_BATCH_SIZE,
        max_concurrency: int = EMBEDDING_MAX_CONCURRENCY,
        **kwargs: Any,
    ) -> None:
        _check_embed_arguments(model, batch_size, max_concurrency)
        super().__init__(
            python_callable=python_callable,
            op_args=op_args,
            op_kwargs=op_kwargs,
            model=model,
            input="set during execution",
            batch_size=batch_size,
            max_concurrency=max_concurrency,
            **kwargs,
        )

    def execute(self, context: Context) -> Any:
        returned = call_function(self, context)
        single = isinstance(returned, str)
        if not single and (isinstance(returned, (bytes, dict)) or not isinstance(returned, (Sequence, Collection))):
            from airflow_ovhcloud.exceptions import OVHCloudAIInvalidInputError

            raise OVHCloudAIInvalidInputError(
                f"@task.ovh_embed task '{self.task_id}': return a string or a list of strings to embed; the "
                f"function returned {type(returned).__name__} {shown(returned, 100)}."
            )
        texts = (
            [returned] if single else materialize(returned, f"@task.ovh_embed task '{self.task_id}': the return value")
        )
        if not texts:
            self.input = []
            return []
        self.input = texts
        response = super().execute(context)
        vectors = [item["embedding"] for item in response["data"]]
        return vectors[0] if single else vectors


def _check_embed_arguments(model: Any, batch_size: Any, max_concurrency: Any) -> None:
    if not isinstance(model, str) or not model:
        raise OVHCloudAIInvalidArgumentError(
            f"@task.ovh_embed needs model= (an embedding model name), got {shown(model)}"
        )
    with argument_errors():
        check_int("batch_size", batch_size, minimum=1)
        check_int("max_concurrency", max_concurrency, minimum=1, maximum=32)


def ovh_embed_task(
    python_callable: Callable[..., Any] | None = None,
    *,
    model: str,
    ovh_conn_id: str = ENDPOINTS_CONN_ID,
    batch_size: int = EMBEDDING_BATCH_SIZE,
    max_concurrency: int = EMBEDDING_MAX_CONCURRENCY,
    **kwargs: Any,
) -> TaskDecorator:
    """``@task.ovh_embed``: the function returns a text or texts; the task returns vector(s).

    A string gives one vector (``list[float]``); a list, tuple or the lazy sequence of a mapped
    upstream's results gives a list of vectors in input order. Inputs are sent ``batch_size`` per
    request, ``max_concurrency`` requests at a time; usage is summed into XCom key ``usage``.
    """
    check_decorator_kwargs("ovh_embed", _OVHEmbedDecoratedOperator, kwargs)
    _check_embed_arguments(model, batch_size, max_concurrency)  # a mapped task's operator is built when it runs
    kwargs.setdefault("multiple_outputs", False)
    return task_decorator_factory(
        python_callable=python_callable,
        decorated_operator_class=_OVHEmbedDecoratedOperator,
        model=model,
        ovh_conn_id=ovh_conn_id,
        batch_size=batch_size,
        max_concurrency=max_concurrency,
        **kwargs,
    )
