"""``@task.ovh_chat``: the function returns a prompt, the task returns the model's answer.

A thin subclass of :class:`OVHCloudAIEndpointsChatCompletionsOperator` (the pattern of Airflow's
``@task.bash``): the function's return value becomes the operator's ``messages`` (and per-call
overrides), then the classic operator's ``execute`` makes the call. The return value is data: it
is never Jinja-rendered, so a prompt containing ``{{ ... }}`` is sent verbatim.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import (
    DecoratedOperator,
    TaskDecorator,
    task_decorator_factory,
)

from airflow_ovhcloud.decorators._common import call_function, check_decorator_kwargs
from airflow_ovhcloud.operators.ai_endpoints import OVHCloudAIEndpointsChatCompletionsOperator

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

#: What a returned dict may set besides ``messages`` / ``prompt``: per-call overrides.
CALL_OVERRIDES = (
    "model",
    "system_prompt",
    "temperature",
    "max_tokens",
    "top_p",
    "stop",
    "tools",
    "tool_choice",
    "response_format",
    "stream",
    "full_response",
)
_SET_DURING_EXECUTION = "set during execution"


def _is_model_class(value: Any) -> bool:
    return isinstance(value, type) and callable(getattr(value, "model_json_schema", None))


def response_format_of(value: Any) -> dict[str, Any] | None:
    """An OpenAI ``response_format`` dict from a dict, or from a pydantic model class."""
    if value is None or isinstance(value, dict):
        return value
    if _is_model_class(value):
        return {
            "type": "json_schema",
            "json_schema": {"name": value.__name__, "schema": value.model_json_schema()},
        }
    raise TypeError(f"response_format must be an OpenAI response_format dict or a pydantic model class, got {value!r}.")


class _OVHChatDecoratedOperator(DecoratedOperator, OVHCloudAIEndpointsChatCompletionsOperator):
    """Runs the function, turns its return value into messages, and returns the answer (not the response)."""

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
        system_prompt: str | None = None,
        temperature: float | None = None,
        response_format: dict[str, Any] | type | None = None,
        full_response: bool = False,
        **kwargs: Any,
    ) -> None:
        _check_option("model", model, str)
        _check_option("system_prompt", system_prompt, str)
        _check_option("temperature", temperature, (int, float))
        _check_option("full_response", full_response, bool)
        super().__init__(
            python_callable=python_callable,
            op_args=op_args,
            op_kwargs=op_kwargs,
            model=model,  # may also come from the function's return value
            messages=_SET_DURING_EXECUTION,
            temperature=temperature,  # None: the service's default
            response_format=response_format_of(response_format),
            **kwargs,
        )
        self.system_prompt = system_prompt
        self.full_response = full_response
        self.response_model: Any = response_format if _is_model_class(response_format) else None

    def execute(self, context: Context) -> Any:
        returned = call_function(self, context)
        self._use(returned)
        response = super().execute(context)
        return self._answer(response)

    def _fail(self, problem: str, returned: Any) -> Exception:
        from airflow_ovhcloud.exceptions import OVHCloudAIInvalidInputError

        shown = repr(returned)
        shown = shown if len(shown) <= 200 else shown[:197] + "..."
        return OVHCloudAIInvalidInputError(
            f"@task.ovh_chat task '{self.task_id}': {problem}; the function returned "
            f"{type(returned).__name__} {shown}. Return a prompt string, a list of message dicts, or a "
            "dict with 'messages' or 'prompt' and optional overrides."
        )

    def _use(self, returned: Any) -> None:
        """Turn the function's return value into messages and per-call overrides (never rendered)."""
        prompt: Any = returned
        if isinstance(returned, dict):
            unknown = sorted(set(returned) - {"messages", "prompt", *CALL_OVERRIDES})
            if unknown:
                raise self._fail(
                    f"unknown keys {unknown} (valid: messages, prompt, {', '.join(CALL_OVERRIDES)})", returned
                )
            if ("messages" in returned) == ("prompt" in returned):
                raise self._fail("a returned dict needs exactly one of 'messages' or 'prompt'", returned)
            for key in CALL_OVERRIDES:
                if key in returned:
                    value = returned[key]
                    if key == "response_format":
                        self.response_model = value if _is_model_class(value) else None
                        value = response_format_of(value)
                    setattr(self, key, value)
            prompt = returned.get("messages", returned.get("prompt"))
        if isinstance(prompt, str):
            if not prompt.strip():
                raise self._fail("the prompt is empty", returned)
            messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
        elif isinstance(prompt, (list, tuple)) and prompt and all(isinstance(m, dict) for m in prompt):
            messages = [dict(m) for m in prompt]
        else:
            raise self._fail("no usable prompt", returned)
        if self.system_prompt and not any(m.get("role") == "system" for m in messages):
            messages.insert(0, {"role": "system", "content": self.system_prompt})
        if not self.model:
            raise self._fail("no model: set model= on the decorator or return it in a dict", returned)
        self.messages = messages

    def _answer(self, response: dict[str, Any]) -> Any:
        """The XCom value: the text, the parsed JSON, the tool-call message, or the whole response."""
        if self.full_response:
            return response
        from airflow_ovhcloud.exceptions import OVHCloudAIError

        try:
            message = response["choices"][0]["message"]
        except (KeyError, IndexError, TypeError):
            raise OVHCloudAIError(
                f"@task.ovh_chat task '{self.task_id}': the response has no message: {json.dumps(response)[:200]}"
            ) from None
        if message.get("tool_calls"):
            return {
                "role": message.get("role", "assistant"),
                "content": message.get("content"),
                "tool_calls": message["tool_calls"],
            }
        content = message.get("content") or ""
        wants_json = isinstance(self.response_format, dict) and self.response_format.get("type") in (
            "json_object",
            "json_schema",
        )
        if not wants_json:
            return content
        try:
            parsed = json.loads(content)
        except ValueError:
            raise OVHCloudAIError(
                f"@task.ovh_chat task '{self.task_id}': the model answered with invalid JSON although "
                f"response_format asks for JSON: {content[:200]!r}. A retry may get valid JSON."
            ) from None
        if self.response_model is None:
            return parsed
        try:
            return self.response_model.model_validate(parsed).model_dump(mode="json")
        except Exception as exc:  # pydantic.ValidationError, without importing pydantic at parse time
            raise OVHCloudAIError(
                f"@task.ovh_chat task '{self.task_id}': the model's JSON does not match "
                f"{self.response_model.__name__}: {exc}. A retry may get a valid answer."
            ) from None


def _check_option(name: str, value: Any, kind: type | tuple[type, ...]) -> None:
    """Fail at DAG parse time on a wrongly typed decorator argument."""
    if value is not None and (not isinstance(value, kind) or (kind is not bool and isinstance(value, bool))):
        raise TypeError(f"{name} must be {getattr(kind, '__name__', kind)}, got {value!r}")


def ovh_chat_task(
    python_callable: Callable[..., Any] | None = None,
    *,
    model: str | None = None,
    ovh_conn_id: str = "ovh_ai_endpoints_default",
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
    **kwargs: Any,
) -> TaskDecorator:
    """``@task.ovh_chat``: the function returns a prompt; the task returns the model's answer.

    The function may return a string (the user message, after ``system_prompt``), a list of
    message dicts, or a dict with ``messages`` or ``prompt`` plus per-call overrides of these
    arguments. XCom gets the answer's text; the parsed JSON with a JSON ``response_format`` or a
    pydantic model (validated against it); the assistant message when the model calls tools; the
    whole response with ``full_response=True``. Token usage goes to XCom key ``usage``.
    """
    check_decorator_kwargs("ovh_chat", _OVHChatDecoratedOperator, kwargs)
    _check_option("model", model, str)
    _check_option("system_prompt", system_prompt, str)
    _check_option("temperature", temperature, (int, float))
    _check_option("max_tokens", max_tokens, int)
    _check_option("top_p", top_p, (int, float))
    response_format_of(response_format)  # a wrong type fails now, not when the task runs
    kwargs.setdefault("multiple_outputs", False)
    return task_decorator_factory(
        python_callable=python_callable,
        decorated_operator_class=_OVHChatDecoratedOperator,
        model=model,
        ovh_conn_id=ovh_conn_id,
        system_prompt=system_prompt,
        temperature=temperature,
        max_tokens=max_tokens,
        top_p=top_p,
        stop=stop,
        tools=tools,
        tool_choice=tool_choice,
        response_format=response_format,
        stream=stream,
        full_response=full_response,
        **kwargs,
    )
