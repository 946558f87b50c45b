"""Chat request and answer shaping shared by the chat operator and ``@task.ovh_chat``, with no HTTP in it.

The operator owns these steps (system prompt, a pydantic ``response_format``, which value goes
to XCom) so that classic-operator users get them too; the decorator only turns the function's
return value into messages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_ovhcloud.exceptions import OVHCloudAIError, OVHCloudAIInvalidArgumentError, OVHCloudAIInvalidInputError
from airflow_ovhcloud.utils.many import check_many_options
from airflow_ovhcloud.utils.validation import (
    argument_errors,
    check_bool,
    check_dict_list,
    check_int,
    check_mapping,
    check_number,
    check_str,
    check_str_list,
    invalid,
    shown,
)

#: What the chat operator returns: the whole OpenAI-format response (the documented default), or
#: the answer: the text, the parsed JSON (validated against a pydantic model when one is given),
#: or the assistant message when the model calls tools.
CHAT_RETURNS = ("response", "answer")
#: The documented numeric request fields: (integer only, minimum, maximum); ``None`` is no bound.
CHAT_NUMBERS: dict[str, tuple[bool, float | None, float | None]] = {
    "temperature": (False, 0, 2),
    "top_p": (False, 0, 1),
    "max_tokens": (True, 1, None),
    "max_completion_tokens": (True, 1, None),
    "presence_penalty": (False, -2, 2),
    "frequency_penalty": (False, -2, 2),
    "n": (True, 1, None),
    "seed": (True, None, None),
    "top_logprobs": (True, 0, 20),
}


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
        f"response_format must be an OpenAI response_format dict or a pydantic model class, got {shown(value)}."
    )


#: Request fields the chat and batch operators set themselves; ``extra_body`` may not set them again.
CHAT_ARGUMENTS = frozenset(
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


def check_extra_body(extra_body: Any) -> None:
    """An operator's ``extra_body``: a mapping of valid request fields the operator does not set itself."""
    check_mapping("extra_body", extra_body, allow_none=True)
    check_chat_parameters(extra_body or {})
    clashing = sorted(set(extra_body or {}) & CHAT_ARGUMENTS)
    if clashing:
        raise OVHCloudAIInvalidArgumentError(
            f"extra_body may not set {clashing}: pass them as the operator's own arguments."
        )


def check_chat_parameters(parameters: Mapping[str, Any]) -> None:
    """Raise :class:`OVHCloudAIInvalidInputError` on a documented chat request field of the wrong type.

    Numbers (:data:`CHAT_NUMBERS`: a bool, NaN or infinity is not one), ``stop`` (a string or a
    list of strings), ``tools`` (a list of dicts), ``tool_choice`` (a string or a dict), the dict
    fields and the flags. ``None`` values are skipped (they are not sent); other fields are not
    looked at here.
    """
    for name, value in parameters.items():
        if value is None:
            continue
        bounds = CHAT_NUMBERS.get(name)
        if bounds is not None:
            integer, minimum, maximum = bounds
            check_number(name, value, minimum=minimum, maximum=maximum, integer=integer)
        elif name == "stop":
            check_str_list(name, value, allow_str=True)
        elif name == "tools":
            check_dict_list(name, value)
        elif name == "tool_choice" and not isinstance(value, (str, Mapping)):
            raise invalid(name, "'auto', 'none', 'required' or a dict naming a function", value)
        elif name in ("response_format", "stream_options", "logit_bias"):
            check_mapping(name, value)
        elif name in ("stream", "logprobs", "parallel_tool_calls"):
            check_bool(name, value)
        elif name == "user":
            check_str(name, value, allow_empty=True)


def check_chat_options(**options: Any) -> None:
    """Raise :class:`OVHCloudAIInvalidArgumentError` (a ``TypeError``) on a bad chat option.

    One check for the operator's ``__init__`` and the decorator's factory (the only parse-time
    point for a mapped task, whose operator is built when it runs), and for the per-call
    overrides a ``@task.ovh_chat`` function returns.
    """
    kinds: dict[str, type] = {"model": str, "system_prompt": str, "stream": bool, "full_response": bool}
    for name, value in options.items():
        kind = kinds.get(name)
        if kind is not None and value is not None and not isinstance(value, kind):
            raise OVHCloudAIInvalidArgumentError(f"{name} must be {kind.__name__}, got {shown(value)}")
    returns = options.get("returns")
    if returns is not None and returns not in CHAT_RETURNS:
        raise OVHCloudAIInvalidArgumentError(f"returns must be one of {list(CHAT_RETURNS)}, got {shown(returns)}")
    response_format = options.get("response_format")
    if response_format is not None and not isinstance(response_format, dict) and not is_model_class(response_format):
        raise OVHCloudAIInvalidArgumentError(
            "response_format must be an OpenAI response_format dict or a pydantic model class, "
            f"got {shown(response_format)}"
        )
    many_options = {"many", "max_concurrency", "requests_per_minute", "on_error"}
    with argument_errors():
        check_chat_parameters(
            {k: v for k, v in options.items() if k not in kinds and k != "response_format" and k not in many_options}
        )
        if "many" in options:
            check_bool("many", options["many"])
        if "max_concurrency" in options or "on_error" in options:
            check_many_options(options.get("max_concurrency", 1), options.get("on_error", "fail"))
        check_int("requests_per_minute", options.get("requests_per_minute"), minimum=1, allow_none=True)


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
    except (TypeError, ValueError, RecursionError):
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


#: What an item may set besides ``messages`` / ``prompt``: per-call overrides of the operator's arguments.
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


class ChatItemError(ValueError):
    """An item that cannot be a chat call; the caller says where it came from."""


def call_from(item: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``(messages, overrides)`` from one item: a prompt, a list of message dicts, or a dict.

    A dict holds exactly one of ``messages`` / ``prompt`` plus any :data:`CALL_OVERRIDES`. Raises
    :class:`ChatItemError` saying what is wrong with the item (never rendered, never sent).
    """
    prompt: Any = item
    overrides: dict[str, Any] = {}
    if isinstance(item, Mapping):
        unknown = sorted(str(key) for key in set(item) - {"messages", "prompt", *CALL_OVERRIDES})
        if unknown:
            raise ChatItemError(f"unknown keys {unknown} (valid: messages, prompt, {', '.join(CALL_OVERRIDES)})")
        if ("messages" in item) == ("prompt" in item):
            raise ChatItemError("a dict needs exactly one of 'messages' or 'prompt'")
        overrides = {key: item[key] for key in CALL_OVERRIDES if key in item}
        try:
            check_chat_options(**overrides)
        except (TypeError, OVHCloudAIInvalidInputError) as exc:
            raise ChatItemError(f"a bad override: {exc}") from None
        prompt = item.get("messages", item.get("prompt"))
    if isinstance(prompt, str):
        if not prompt.strip():
            raise ChatItemError("the prompt is empty")
        return [{"role": "user", "content": prompt}], overrides
    if isinstance(prompt, (list, tuple)) and prompt and all(isinstance(m, Mapping) for m in prompt):
        return [dict(m) for m in prompt], overrides
    raise ChatItemError("no usable prompt")
