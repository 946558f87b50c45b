"""Classic operators for OVHcloud AI Endpoints: Airflow glue around :class:`OVHCloudAIEndpointsHook`.

Importing this module is cheap (DAG parsing pays for it): the hook, and with it ``requests``, is
imported only when a task executes.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import closing
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_ovhcloud.constants import EMBEDDING_BATCH_SIZE, EMBEDDING_MAX_CONCURRENCY, ENDPOINTS_CONN_ID
from airflow_ovhcloud.utils.chat import chat_answer, check_chat_options, response_format_of, with_system_prompt

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_ovhcloud.hooks.ai_endpoints import OVHCloudAIEndpointsHook

#: Request fields the chat operator sets itself; ``extra_body`` may not set them again.
_CHAT_ARGUMENTS = frozenset(
    {
        "model",
        "messages",
        "temperature",
        "max_tokens",
        "top_p",
        "stop",
        "stream",
        "response_format",
        "tools",
        "tool_choice",
    }
)


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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check_chat_options(
            system_prompt=system_prompt,
            temperature=temperature,
            max_tokens=max_tokens,
            top_p=top_p,
            response_format=response_format,
            returns=returns,
        )
        clashing = sorted(set(extra_body or {}) & _CHAT_ARGUMENTS)
        if clashing:
            raise TypeError(f"extra_body may not set {clashing}: pass them as the operator's own arguments.")
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

    def execute(self, context: Context) -> Any:
        with closing(self.get_hook()) as hook:
            response = hook.chat_completion(
                model=self.model,
                messages=with_system_prompt(self.messages, self.system_prompt),
                temperature=self.temperature,
                max_tokens=self.max_tokens,
                top_p=self.top_p,
                stream=self.stream,
                stop=self.stop,
                response_format=response_format_of(self.response_format),
                tools=self.tools,
                tool_choice=self.tool_choice,
                **(self.extra_body or {}),
            )
        push_usage(context, response.get("usage"))
        if self.returns == "answer":
            who = f"{getattr(self, 'custom_operator_name', None) or type(self).__name__} task '{self.task_id}'"
            return chat_answer(response, self.response_format, who)
        return response


class OVHCloudAIEndpointsEmbeddingOperator(_EndpointsOperator):
    """Embed a text or a list of texts and return the full OpenAI-format response dict.

    :param model: embedding model name, e.g. ``BGE-M3`` (templated).
    :param input: a text or a list of texts (templated).
    :param batch_size: split a list into requests of at most this many inputs (the same default as
        ``@task.ovh_embed``); ``None`` sends the whole list in one request, as OVHcloud's provider did.
    :param max_concurrency: how many batch requests may be in flight at once.

    The response's ``data`` is sorted by ``index`` (input order). Token usage is also pushed to
    XCom under the key ``usage``.
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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model = model
        self.input = input
        self.ovh_conn_id = ovh_conn_id
        self.batch_size = batch_size
        self.max_concurrency = max_concurrency

    def execute(self, context: Context) -> dict[str, Any]:
        with closing(self.get_hook()) as hook:
            if self.batch_size and not isinstance(self.input, str):
                response = hook.create_embeddings(
                    self.model, self.input, batch_size=self.batch_size, max_concurrency=self.max_concurrency
                )
            else:
                response = hook.create_embedding(model=self.model, input=self.input)
        push_usage(context, response.get("usage"))
        return response
