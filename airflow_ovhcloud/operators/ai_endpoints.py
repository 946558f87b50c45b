"""Classic operators for OVHcloud AI Endpoints: Airflow glue around :class:`OVHCloudAIEndpointsHook`.

Importing this module is cheap (DAG parsing pays for it): the hook, and with it ``requests``, is
imported only when a task executes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import closing
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_ovhcloud.constants import (
    EMBEDDING_BATCH_SIZE,
    EMBEDDING_MAX_CONCURRENCY,
    ENDPOINTS_CONN_ID,
    MANY_MAX_CONCURRENCY,
)
from airflow_ovhcloud.exceptions import (
    OVHCloudAIInvalidInputError,
    OVHCloudAIPermanentError,
)
from airflow_ovhcloud.utils.chat import (
    ChatItemError,
    call_from,
    chat_answer,
    check_chat_options,
    check_extra_body,
    response_format_of,
    with_system_prompt,
)
from airflow_ovhcloud.utils.many import add_usage, materialize
from airflow_ovhcloud.utils.validation import argument_errors, check_int, shown

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_ovhcloud.hooks.ai_endpoints import OVHCloudAIEndpointsHook


def push_usage(context: Context, usage: Any) -> None:
    """Share token usage under XCom key ``usage`` so downstream tasks can account for cost."""
    if usage:
        context["ti"].xcom_push(key="usage", value=usage)


class _EndpointsOperator(BaseOperator):
    """Builds the hook when the task runs, so parsing the DAG never imports ``requests``."""

    ovh_conn_id: str
    ui_color = "#e8f0fe"

    def get_hook(self) -> OVHCloudAIEndpointsHook:
        from airflow_ovhcloud.hooks.ai_endpoints import OVHCloudAIEndpointsHook

        return OVHCloudAIEndpointsHook(ovh_conn_id=self.ovh_conn_id)

    @property
    def _who(self) -> str:
        """How messages name this task: ``@task.ovh_chat task 'x'`` or ``<OperatorClass> task 'x'``."""
        return f"{getattr(self, 'custom_operator_name', None) or type(self).__name__} task '{self.task_id}'"


class OVHCloudAIEndpointsChatCompletionsOperator(_EndpointsOperator):
    """Create a chat completion and return the full OpenAI-format response dict (or just the answer).

    :param model: model name, e.g. ``Meta-Llama-3_3-70B-Instruct`` (templated).
    :param messages: chat messages, ``[{"role": ..., "content": ...}]`` (templated).
    :param temperature: sampling temperature (0-2); ``None`` sends none, so the model's default applies.
    :param stream: read the answer as a stream; the result is the same assembled dict.
    :param response_format: an OpenAI ``response_format`` dict (``json_object`` / ``json_schema``),
        or a pydantic model class, sent as its JSON schema.
    :param tools: OpenAI tool (function) definitions the model may call.
    :param tool_choice: ``"auto"``, ``"required"``, ``"none"`` or a specific function.
    :param extra_body: other request fields sent as they are (``seed``, ``user``, ``stream_options``...).
    :param system_prompt: a system message put first, unless ``messages`` already has one.
    :param returns: ``"response"`` (default) returns the whole response dict; ``"answer"`` returns
        the text, the parsed JSON with a JSON ``response_format`` (validated against the pydantic
        model when one is given), or the assistant message when the model calls tools.
    :param many: ``messages`` is a sequence of items, each one call: a prompt string, a list of
        message dicts, or a dict with ``messages`` or ``prompt`` and per-call overrides. The task
        returns the list of results in input order.
    :param max_concurrency: with ``many``, calls in flight at once (default 16, at most 64).
    :param requests_per_minute: with ``many``, at most this many calls per model in any minute,
        evenly spaced (default: the connection extra ``requests_per_minute``, else no limit).
    :param on_error: with ``many``, ``"fail"`` (no new call after a failure; the task fails naming
        every failed index) or ``"skip"`` (``None`` at failed indices, errors to XCom ``errors``).

    Token usage is also pushed to XCom under the key ``usage``.
    """

    template_fields: Sequence[str] = ("model", "messages")
    template_fields_renderers = {"messages": "json"}

    def __init__(
        self,
        *,
        model: str,
        messages: list[dict[str, Any]],
        ovh_conn_id: str = ENDPOINTS_CONN_ID,
        temperature: float | None = 1.0,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | list[str] | None = None,
        stream: bool = False,
        response_format: dict[str, Any] | type | None = None,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        extra_body: dict[str, Any] | None = None,
        system_prompt: str | None = None,
        returns: str = "response",
        many: bool = False,
        max_concurrency: int = MANY_MAX_CONCURRENCY,
        requests_per_minute: int | None = None,
        on_error: str = "fail",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check_chat_options(
            system_prompt=system_prompt,
            temperature=temperature,
            max_tokens=max_tokens,
            top_p=top_p,
            stop=stop,
            stream=stream,
            tools=tools,
            tool_choice=tool_choice,
            response_format=response_format,
            returns=returns,
            many=many,
            max_concurrency=max_concurrency,
            requests_per_minute=requests_per_minute,
            on_error=on_error,
        )
        with argument_errors():
            check_extra_body(extra_body)
        self.model = model
        self.messages = messages
        self.ovh_conn_id = ovh_conn_id
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.top_p = top_p
        self.stop = stop
        self.stream = stream
        self.response_format = response_format
        self.tools = tools
        self.tool_choice = tool_choice
        self.extra_body = extra_body
        self.system_prompt = system_prompt
        self.returns = returns
        self.many = many
        self.max_concurrency = max_concurrency
        self.requests_per_minute = requests_per_minute
        self.on_error = on_error

    def _request(self, messages: Any, overrides: Mapping[str, Any]) -> tuple[dict[str, Any], Any, str]:
        """One call's ``chat_completion`` arguments, its ``response_format`` and what it returns.

        The operator's arguments, with an item's overrides (many-prompt mode) on top.
        """

        def value(name: str) -> Any:
            return overrides[name] if name in overrides else getattr(self, name)

        returns = self.returns
        if "full_response" in overrides:
            returns = "response" if overrides["full_response"] else "answer"
        response_format = value("response_format")
        request = {
            "model": value("model"),
            "messages": with_system_prompt(messages, value("system_prompt")),
            "temperature": value("temperature"),
            "max_tokens": value("max_tokens"),
            "top_p": value("top_p"),
            "stream": value("stream"),
            "stop": value("stop"),
            "response_format": response_format_of(response_format),
            "tools": value("tools"),
            "tool_choice": value("tool_choice"),
            **(self.extra_body or {}),
        }
        return request, response_format, returns

    def execute(self, context: Context) -> Any:
        if self.many:
            return self._execute_many(context)
        request, response_format, returns = self._request(self.messages, {})
        with closing(self.get_hook()) as hook:
            response = hook.chat_completion(**request)
        push_usage(context, response.get("usage"))
        if returns == "answer":
            return chat_answer(response, response_format, self._who)
        return response

    def _execute_many(self, context: Context) -> list[Any]:
        """Every item of ``messages`` is one call; answers come back in input order (see ``many``)."""
        from airflow_ovhcloud.exceptions import OVHCloudAIClientError, OVHCloudAIRequestError
        from airflow_ovhcloud.utils.durable import DurableResults, fingerprint
        from airflow_ovhcloud.utils.many import describe_failures

        items = materialize(self.messages, f"{self._who}: with many=True, messages")
        calls = []
        for index, item in enumerate(items):
            try:
                messages, overrides = call_from(item)
            except ChatItemError as exc:
                raise OVHCloudAIInvalidInputError(f"{self._who}: item {index}: {exc}; got {shown(item)}.") from None
            call = self._request(messages, overrides)
            if not call[0]["model"]:
                raise OVHCloudAIInvalidInputError(
                    f"{self._who}: item {index} has no model: set model= or give the item a 'model'."
                )
            calls.append(call)
        requests = [request for request, _, _ in calls]
        durable = DurableResults(
            context.get("task_state_store"),
            "ovh_chat_many",
            fingerprint([[request, returns] for request, _, returns in calls]),
            len(calls),
            self.log,
        )
        kept = durable.load()
        usage: dict[str, int] = {}
        for stored in kept.values():
            add_usage(usage, stored.get("u") if isinstance(stored, dict) else None)

        def keep(index: int, response: dict[str, Any]) -> Any:
            _, response_format, returns = calls[index]
            return (
                chat_answer(response, response_format, f"{self._who} item {index}") if returns == "answer" else response
            )

        try:
            with closing(self.get_hook()) as hook:
                outcome = hook.chat_completions(
                    requests,
                    max_concurrency=self.max_concurrency,
                    requests_per_minute=self.requests_per_minute,
                    on_error=self.on_error,
                    skip=set(kept),
                    keep=keep,
                    on_result=lambda index, value, used: durable.add(index, {"v": value, "u": used}),
                )
        finally:
            durable.flush()
        add_usage(usage, outcome.usage)
        push_usage(context, usage)
        if outcome.errors and self.on_error == "fail":
            permanent = all(isinstance(e, OVHCloudAIPermanentError) for e in outcome.errors.values())
            error_class = OVHCloudAIClientError if permanent else OVHCloudAIRequestError
            raise error_class(
                f"{self._who}: "
                + describe_failures("chat calls", outcome.errors, len(calls))
                + ("" if permanent else " A retry sends only the calls that have no answer yet (Airflow 3.3+).")
            )
        if outcome.errors:
            context["ti"].xcom_push(key="errors", value={str(i): str(e) for i, e in sorted(outcome.errors.items())})
            self.log.warning("%s", describe_failures("chat calls", outcome.errors, len(calls)))
        return [
            (kept[index].get("v") if isinstance(kept[index], dict) else None)
            if index in kept
            else outcome.results.get(index)
            for index in range(len(calls))
        ]


class OVHCloudAIEndpointsEmbeddingOperator(_EndpointsOperator):
    """Embed a text or a list of texts and return the full OpenAI-format response dict.

    :param model: embedding model name, e.g. ``BGE-M3`` (templated).
    :param input: a text or a list of texts (templated).
    :param batch_size: split a list into requests of at most this many inputs (the same default as
        ``@task.ovh_embed``); ``None`` sends the whole list in one request, as OVHcloud's provider did.
    :param max_concurrency: how many batch requests may be in flight at once.
    :param requests_per_minute: at most this many requests per minute, evenly spaced (default: the
        connection extra ``requests_per_minute``, else no limit).

    The response's ``data`` is sorted by ``index`` (input order). Token usage is also pushed to
    XCom under the key ``usage``. On Airflow 3.3+ finished batches are kept in the task state
    store: a retry after a failure or a kill does not request them again.
    """

    template_fields: Sequence[str] = ("model", "input")
    template_fields_renderers = {"input": "json"}

    def __init__(
        self,
        *,
        model: str,
        input: str | list[str],
        ovh_conn_id: str = ENDPOINTS_CONN_ID,
        batch_size: int | None = EMBEDDING_BATCH_SIZE,
        max_concurrency: int = EMBEDDING_MAX_CONCURRENCY,
        requests_per_minute: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model = model
        self.input = input
        self.ovh_conn_id = ovh_conn_id
        with argument_errors():
            self.batch_size = check_int("batch_size", batch_size, minimum=1, allow_none=True)
            self.max_concurrency = check_int("max_concurrency", max_concurrency, minimum=1, maximum=32)
            self.requests_per_minute = check_int("requests_per_minute", requests_per_minute, minimum=1, allow_none=True)

    def execute(self, context: Context) -> dict[str, Any]:
        with closing(self.get_hook()) as hook:
            if self.batch_size and not isinstance(self.input, str):
                response = self._embed_batches(context, hook, materialize(self.input, f"{self._who}: input"))
            else:
                response = hook.create_embedding(model=self.model, input=self.input)
        push_usage(context, response.get("usage"))
        return response

    def _embed_batches(self, context: Context, hook: OVHCloudAIEndpointsHook, texts: list[Any]) -> dict[str, Any]:
        """Batches, with finished ones kept in the task state store (Airflow 3.3+) for a retry."""
        from airflow_ovhcloud.utils.durable import DurableResults, fingerprint

        batch_size = self.batch_size or len(texts) or 1
        durable = DurableResults(
            context.get("task_state_store"),
            "ovh_embed_batches",
            fingerprint([self.model, batch_size, texts]),
            (len(texts) + batch_size - 1) // batch_size,
            self.log,
            chunk=1,  # one batch of vectors per key: up to a few MB of JSON
        )
        try:
            return hook.create_embeddings(
                self.model,
                texts,
                batch_size=batch_size,
                max_concurrency=self.max_concurrency,
                requests_per_minute=self.requests_per_minute,
                done=durable.load(),
                on_batch=durable.add,
            )
        finally:
            durable.flush()
