"""Chat request and answer shaping shared by the chat operator and ``@task.ovh_chat``, with no HTTP in it.

The operator owns these steps (system prompt, a pydantic ``response_format``, which value goes
to XCom) so that classic-operator users get them too; the decorator only turns the function's
return value into messages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_ovhcloud.exceptions import OVHCloudAIError, OVHCloudAIInvalidInputError

#: What the chat operator returns: the whole OpenAI-format response (the documented default), or
#: the answer: the text, the parsed JSON (validated against a pydantic model when one is given),
#: or the assistant message when the model calls tools.
CHAT_RETURNS = ("response", "answer")


def is_model_class(value: Any) -> bool:
    """A pydantic model class (duck-typed, so pydantic is not imported at DAG parse time)."""
    return isinstance(value, type) and callable(getattr(value, "model_json_schema", None))


def response_format_of(value: Any) -> dict[str, Any] | None:
    """An OpenAI ``response_format`` dict from a dict, or from a pydantic model class."""
    if value is None or isinstance(value, dict):
        return value
    if is_model_class(value):
        return {
            "type": "json_schema",
            "json_schema": {"name": value.__name__, "schema": value.model_json_schema()},
        }
    raise OVHCloudAIInvalidInputError(
        f"response_format must be an OpenAI response_format dict or a pydantic model class, got {value!r}."
    )


def check_chat_options(**options: Any) -> None:
    """Raise ``TypeError`` on a wrongly typed chat option, when the DAG is parsed.

    One check for the operator's ``__init__`` and the decorator's factory (the only parse-time
    point for a mapped task, whose operator is built when it runs).
    """
    kinds: dict[str, type | tuple[type, ...]] = {
        "model": str,
        "system_prompt": str,
        "temperature": (int, float),
        "max_tokens": int,
        "top_p": (int, float),
        "stream": bool,
        "full_response": bool,
    }
    for name, value in options.items():
        kind = kinds.get(name)
        if kind is None or value is None:
            continue
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise TypeError(f"{name} must be {getattr(kind, '__name__', kind)}, got {value!r}")
    returns = options.get("returns")
    if returns is not None and returns not in CHAT_RETURNS:
        raise TypeError(f"returns must be one of {list(CHAT_RETURNS)}, got {returns!r}")
    response_format = options.get("response_format")
    if response_format is not None and not isinstance(response_format, dict) and not is_model_class(response_format):
        raise TypeError(
            f"response_format must be an OpenAI response_format dict or a pydantic model class, got {response_format!r}"
        )


def with_system_prompt(messages: Any, system_prompt: str | None) -> Any:
    """``messages`` with ``system_prompt`` first, unless they already hold a system message."""
    if not system_prompt or not isinstance(messages, Sequence) or isinstance(messages, (str, bytes)):
        return messages
    if any(isinstance(m, Mapping) and m.get("role") == "system" for m in messages):
        return messages
    return [{"role": "system", "content": system_prompt}, *messages]


def chat_answer(response: Mapping[str, Any], response_format: Any, who: str) -> Any:
    """The answer in a chat response: the text, the parsed JSON, or the tool-call message.

    ``who`` names the task in errors. Invalid JSON and JSON that does not match the pydantic
    model raise a retryable error: the model may well answer correctly next time.
    """
    try:
        message = response["choices"][0]["message"]
        if not isinstance(message, Mapping):
            raise TypeError
    except (KeyError, IndexError, TypeError):
        raise OVHCloudAIError(
            f"{who}: the response has no message: {json.dumps(response, default=str)[:200]}"
        ) from None
    if message.get("tool_calls"):
        return {
            "role": message.get("role", "assistant"),
            "content": message.get("content"),
            "tool_calls": message["tool_calls"],
        }
    content = message.get("content") or ""
    wire_format = response_format_of(response_format)
    wants_json = isinstance(wire_format, dict) and wire_format.get("type") in ("json_object", "json_schema")
    if not wants_json:
        return content
    try:
        parsed = json.loads(content)
    except (TypeError, ValueError):
        raise OVHCloudAIError(
            f"{who}: the model answered with invalid JSON although response_format asks for JSON: "
            f"{str(content)[:200]!r}. A retry may get valid JSON."
        ) from None
    if not is_model_class(response_format):
        return parsed
    try:
        return response_format.model_validate(parsed).model_dump(mode="json")
    except Exception as exc:  # pydantic.ValidationError, without importing pydantic at parse time
        raise OVHCloudAIError(
            f"{who}: the model's JSON does not match {response_format.__name__}: {exc}. A retry may get a valid answer."
        ) from None
