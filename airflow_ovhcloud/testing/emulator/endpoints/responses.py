"""AI Endpoints on the wire: OpenAI-style requests in, OpenAI-style replies (JSON or SSE streams) out.

``/v1/models``, ``/v1/models/{model_id}``, ``/v1/chat/completions`` and ``/v1/embeddings``, with
OpenAI-style errors. Handlers validate the request as the real service does, call the
:class:`~airflow_ovhcloud.testing.emulator.endpoints.backend.EndpointsBackend`, and shape its answer;
the knobs that only change the wire (stream pacing, input limit, answer order, rate limits) live here.

These routes answer without a key too, as the real service does (the gateway refuses a wrong key);
chat and embeddings then count against ``anonymous_requests_per_minute`` per model, and calls with
the key against ``requests_per_minute`` per model (no limit by default). Above a limit the answer
is the service's 429 with ``Retry-After``, and the journal marks the request ``fault="rate_limited"``.
"""

from __future__ import annotations

import itertools
import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

from airflow_ovhcloud.testing.emulator.endpoints.backend import ChatRequest, Completion, EndpointsBackend, Model, words
from airflow_ovhcloud.testing.emulator.endpoints.ratelimit import SlidingWindow, retry_after_header
from airflow_ovhcloud.testing.emulator.errors import InvalidRequest, NotFound, openai_error
from airflow_ovhcloud.testing.emulator.wire import Call, Reply, error_reply, json_reply, sse_event

if TYPE_CHECKING:
    from airflow_ovhcloud.testing.emulator.faults import FaultInjector
    from airflow_ovhcloud.testing.emulator.journal import Journal, RecordedRequest
    from airflow_ovhcloud.testing.emulator.routing import Router

# A fixed creation date keeps /v1/models answers identical from run to run.
_MODEL_CREATED = 1_735_689_600
_STREAM_WORDS_PER_CHUNK = 2
_TOOL_ARGUMENT_FRAGMENT = 8
#: OpenAI's bound on ``n`` (choices per chat request).
MAX_CHOICES = 128
#: What the real service grants a caller without a key: requests per minute per model.
ANONYMOUS_REQUESTS_PER_MINUTE = 2


def _split_words(text: str, per_chunk: int = _STREAM_WORDS_PER_CHUNK) -> list[str]:
    """Stream pieces of a few words each whose concatenation is exactly ``text``."""
    if not text:
        return []
    starts = [m.start() for m in re.finditer(r"\S+", text)]
    cuts = [0, *starts[per_chunk::per_chunk], len(text)]
    return [text[a:b] for a, b in itertools.pairwise(cuts) if a < b]


def _total_usage(completions: list[Completion]) -> dict[str, Any]:
    """One choice's usage as is; for several, the prompt once and the completions added up."""
    if len(completions) == 1:
        return completions[0].usage
    prompt = max((c.usage.get("prompt_tokens") or 0 for c in completions), default=0)
    generated = sum(c.usage.get("completion_tokens") or 0 for c in completions)
    return {"prompt_tokens": prompt, "completion_tokens": generated, "total_tokens": prompt + generated}


def _chat_payload(
    completions: list[Completion], usage: dict[str, Any], completion_id: str, created: int, model: str
) -> dict[str, Any]:
    """A whole (not streamed) chat completion as the service answers it."""
    choices = []
    for index, completion in enumerate(completions):
        message: dict[str, Any] = {"role": "assistant", "content": completion.content}
        if completion.tool_calls:
            message["tool_calls"] = completion.tool_calls
        if completion.reasoning is not None:
            message["reasoning_content"] = completion.reasoning
        choices.append({"index": index, "message": message, "finish_reason": completion.finish_reason})
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": choices,
        "usage": usage,
    }


def _model_object(model_id: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": _MODEL_CREATED, "owned_by": "ovhcloud"}


def _model_not_found(model: str) -> NotFound:
    return NotFound(f"The model `{model}` does not exist", "model_not_found")


def _require_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object", "invalid_body")
    return body


def _validate_messages(messages: Any) -> list[dict[str, Any]]:
    if (
        not isinstance(messages, list)
        or not messages
        or not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages)
    ):
        raise InvalidRequest("'messages' must be a non-empty list of objects, each with a 'role'", "invalid_messages")
    return messages


def _validate_tools(tools: Any, tool_choice: Any) -> list[dict[str, Any]]:
    if tools is None:
        tools = []
    if not isinstance(tools, list) or not all(
        isinstance(t, dict)
        and t.get("type", "function") == "function"
        and isinstance(t.get("function"), dict)
        and isinstance(t["function"].get("name"), str)
        and t["function"]["name"]
        and isinstance(t["function"].get("parameters", {}), dict)
        for t in tools
    ):
        raise InvalidRequest(
            '\'tools\' must be a list of {"type": "function", "function": {"name": ..., "parameters": {...}}}',
            "invalid_tools",
        )
    if tool_choice is None or tool_choice in ("auto", "none"):
        return tools
    if tool_choice == "required":
        if not tools:
            raise InvalidRequest("tool_choice 'required' needs at least one tool", "invalid_tool_choice")
        return tools
    if isinstance(tool_choice, dict) and isinstance(tool_choice.get("function"), dict):
        name = tool_choice["function"].get("name")
        if name in {t["function"]["name"] for t in tools}:
            return tools
        raise InvalidRequest(f"tool_choice names an unknown tool: {name!r}", "invalid_tool_choice")
    raise InvalidRequest(
        'tool_choice must be \'auto\', \'none\', \'required\' or {"type": "function", "function": {"name": ...}}',
        "invalid_tool_choice",
    )


def _validate_response_format(response_format: Any) -> dict[str, Any] | None:
    if response_format is None:
        return None
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind in ("text", "json_object"):
        return cast("dict[str, Any]", response_format)
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        if isinstance(spec, dict) and isinstance(spec.get("name"), str) and isinstance(spec.get("schema", {}), dict):
            return cast("dict[str, Any]", response_format)
        raise InvalidRequest(
            'response_format json_schema needs {"name": str, "schema": {...}, "strict": bool}',
            "invalid_response_format",
        )
    raise InvalidRequest(
        "response_format type must be 'text', 'json_object' or 'json_schema'", "invalid_response_format"
    )


def _check_limit(value: Any, name: str) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise ValueError(f"{name} must be a positive integer or None, not {value!r}")


class EndpointsResponses:
    """The AI Endpoints handlers; ``stream_interval``, ``embedding_input_limit``,
    ``reverse_embedding_data``, ``requests_per_minute``, ``anonymous_requests_per_minute`` and
    ``rate_limit_window`` may change at any time and ``reset()`` restores them."""

    def __init__(
        self,
        backend: EndpointsBackend,
        faults: FaultInjector,
        journal: Journal,
        embedding_input_limit: int | None,
        requests_per_minute: int | None = None,
        anonymous_requests_per_minute: int | None = ANONYMOUS_REQUESTS_PER_MINUTE,
        rate_limit_window: float = 60.0,
    ) -> None:
        _check_limit(requests_per_minute, "requests_per_minute")
        _check_limit(anonymous_requests_per_minute, "anonymous_requests_per_minute")
        if not rate_limit_window > 0:
            raise ValueError(f"rate_limit_window must be a positive number of seconds, not {rate_limit_window!r}")
        self.backend, self.faults, self.journal = backend, faults, journal
        self._default_limit = embedding_input_limit
        self._default_rates = (requests_per_minute, anonymous_requests_per_minute, float(rate_limit_window))
        self._windows = SlidingWindow()
        self.reset()

    def reset(self) -> None:
        #: Seconds between two streamed events (a model generates tokens over time); 0 sends at once.
        self.stream_interval = 0.0
        #: Inputs one embeddings request may hold (None: no limit).
        self.embedding_input_limit = self._default_limit
        #: Answer embeddings in reverse order (clients must sort by ``index``).
        self.reverse_embedding_data = False
        #: Chat and embedding requests with the key admitted per model per ``rate_limit_window`` (None: any).
        self.requests_per_minute: int | None = self._default_rates[0]
        #: The same for requests without a key (the real service: 2); None: any.
        self.anonymous_requests_per_minute: int | None = self._default_rates[1]
        #: The window of both limits, in seconds (60 as on the service; tests may shorten it).
        self.rate_limit_window: float = self._default_rates[2]
        self._windows.clear()

    def register(self, router: Router) -> None:
        router.add("/v1/models", "GET", self.models, errors=openai_error, anonymous=True)
        router.add("/v1/models/{model_id}", "GET", self.model, errors=openai_error, anonymous=True)
        router.add("/v1/chat/completions", "POST", self.chat, errors=openai_error, anonymous=True)
        router.add("/v1/embeddings", "POST", self.embeddings, errors=openai_error, anonymous=True)

    # ---------------------------------------------------------------------------------- rate limits

    def _rate_limited(self, call: Call, model: str) -> Reply | None:
        """The service's 429 when this request goes over its caller's limit on ``model``, else None."""
        anonymous = call.record.auth != "ok"
        limit = self.anonymous_requests_per_minute if anonymous else self.requests_per_minute
        if limit is None:
            return None
        window = float(self.rate_limit_window)
        wait = self._windows.admit(model, "anonymous" if anonymous else "key", limit, window)
        if wait is None:
            return None
        self.journal.mark_fault(call.record, "rate_limited")
        who = "without an API key" if anonymous else "with this API key"
        hint = "; an API key gets a higher limit" if anonymous else ""
        return error_reply(
            openai_error,
            429,
            f"Rate limit exceeded for model `{model}`: {limit} requests per {window:g} s {who}. "
            f"Retry after {retry_after_header(wait)} s{hint}.",
            code="rate_limit_exceeded",
            type_="rate_limit_error",
            headers={"Retry-After": retry_after_header(wait)},
        )

    # ---------------------------------------------------------------------------------- models

    def models(self, call: Call) -> Reply:
        return json_reply({"object": "list", "data": [_model_object(i) for i in self.backend.model_ids()]})

    def model(self, call: Call) -> Reply:
        model_id = call.params["model_id"]
        if self.backend.model(model_id) is None:
            raise _model_not_found(model_id)
        return json_reply(_model_object(model_id))

    def _require_model(self, body: dict[str, Any], kind: str) -> tuple[str, Model]:
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise InvalidRequest("'model' is required and must be a non-empty string", "missing_model")
        info = self.backend.model(model)
        if info is None:
            raise _model_not_found(model)
        if info.kind != kind:
            what = "an embedding" if info.kind == "embedding" else "a chat"
            route = "chat completions" if kind == "chat" else "embeddings"
            raise InvalidRequest(
                f"The model `{model}` is {what} model and does not support {route}", "model_not_supported"
            )
        return model, info

    # ---------------------------------------------------------------------------------- chat

    def chat(self, call: Call) -> Reply:
        body = _require_object(call.body)
        model, _ = self._require_model(body, "chat")
        refused = self._rate_limited(call, model)
        if refused is not None:
            return refused
        request, stream, include_usage = self._chat_request(body, model)
        completions = self.backend.complete_choices(request)
        usage = _total_usage(completions)
        created = int(time.time())
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        if stream:
            return self._stream(completions, usage, completion_id, created, model, include_usage, call.record)
        return json_reply(_chat_payload(completions, usage, completion_id, created, model))

    def _chat_request(self, body: dict[str, Any], model: str) -> tuple[ChatRequest, bool, bool]:
        """The validated request, whether to stream, and whether a streamed answer ends with usage."""
        messages = _validate_messages(body.get("messages"))
        max_tokens = body.get("max_tokens", body.get("max_completion_tokens"))
        if max_tokens is not None and (
            not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1
        ):
            raise InvalidRequest("'max_tokens' must be a positive integer", "invalid_max_tokens")
        stop = body.get("stop")
        stops = [stop] if isinstance(stop, str) else stop
        if stops is not None and not (isinstance(stops, list) and all(isinstance(s, str) for s in stops)):
            raise InvalidRequest("'stop' must be a string or a list of strings", "invalid_stop")
        tools = _validate_tools(body.get("tools"), body.get("tool_choice"))
        response_format = _validate_response_format(body.get("response_format"))
        stream = body.get("stream", False)
        if not isinstance(stream, bool):
            raise InvalidRequest("'stream' must be a boolean", "invalid_stream")
        stream_options = body.get("stream_options")
        include_usage = isinstance(stream_options, dict) and stream_options.get("include_usage") is True
        n = body.get("n")
        if n is None:
            n = 1
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_CHOICES:
            raise InvalidRequest(f"'n' must be an integer from 1 to {MAX_CHOICES}", "invalid_n")
        request = ChatRequest(
            model, messages, tools, body.get("tool_choice"), response_format, max_tokens, stops or [], n
        )
        return request, stream, include_usage

    # ---------------------------------------------------------------------------------- batch items

    def answer(self, endpoint: str, body: Any) -> bytes:
        """The JSON a synchronous call to ``endpoint`` with ``body`` answers (no rate limit: batch items).

        Raises :class:`~airflow_ovhcloud.testing.emulator.errors.ServiceError` where the synchronous
        call would answer an error; a streamed request is refused (a batch answers whole responses).
        """
        body = _require_object(body)
        if endpoint == "/v1/embeddings":
            model, _ = self._require_model(body, "embedding")
            return self._embeddings_text(body, model).encode("utf-8")
        if endpoint != "/v1/chat/completions":
            raise InvalidRequest(f"Unsupported endpoint {endpoint}", "invalid_url")
        model, _ = self._require_model(body, "chat")
        request, stream, _ = self._chat_request(body, model)
        if stream:
            raise InvalidRequest("'stream' is not supported in a batch request", "invalid_stream")
        completions = self.backend.complete_choices(request)
        payload = _chat_payload(
            completions, _total_usage(completions), f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time()), model
        )
        return json.dumps(payload, ensure_ascii=False).encode("utf-8")

    def _stream(
        self,
        completions: list[Completion],
        usage: dict[str, Any],
        completion_id: str,
        created: int,
        model: str,
        include_usage: bool,
        record: RecordedRequest,
    ) -> Reply:
        def chunk(delta: dict[str, Any] | None, finish_reason: str | None = None, choice: int = 0) -> dict[str, Any]:
            payload: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [] if delta is None else [{"index": choice, "delta": delta, "finish_reason": finish_reason}],
            }
            if include_usage:
                payload["usage"] = usage if delta is None else None
            return payload

        payloads: list[dict[str, Any]] = []
        for choice, completion in enumerate(completions):  # n > 1: one choice after the other
            payloads.append(chunk({"role": "assistant", "content": ""}, choice=choice))
            payloads += [
                chunk({"reasoning_content": piece}, choice=choice) for piece in _split_words(completion.reasoning or "")
            ]
            payloads += [chunk({"content": piece}, choice=choice) for piece in _split_words(completion.content or "")]
            for index, call in enumerate(completion.tool_calls):
                function = call["function"]
                head = {"index": index, "id": call["id"], "type": "function"}
                opening = {"tool_calls": [{**head, "function": {"name": function["name"], "arguments": ""}}]}
                payloads.append(chunk(opening, choice=choice))
                arguments = function["arguments"]
                for start in range(0, len(arguments), _TOOL_ARGUMENT_FRAGMENT):
                    fragment = arguments[start : start + _TOOL_ARGUMENT_FRAGMENT]
                    delta = {"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}
                    payloads.append(chunk(delta, choice=choice))
            payloads.append(chunk({}, completion.finish_reason, choice=choice))
        if include_usage:
            payloads.append(chunk(None))  # the closing usage chunk: no choices

        fault = self.faults.take_stream_fault()
        if fault is None:
            tail = [sse_event("[DONE]")]
        else:
            self.journal.mark_fault(record, f"{fault.kind}_stream:{fault.after_chunks}")
            payloads = payloads[: max(0, fault.after_chunks)]
            tail = (
                [sse_event({"error": {"message": fault.message, "code": fault.code}})] if fault.kind == "error" else []
            )
        interval = self.stream_interval

        def events() -> Iterator[bytes]:
            # Encoded one by one as they are sent, paced like a model generating tokens.
            for payload in payloads:
                yield sse_event(payload)
                if interval > 0:
                    time.sleep(interval)
            yield from tail

        return Reply(200, events=events())

    # ---------------------------------------------------------------------------------- embeddings

    def embeddings(self, call: Call) -> Reply:
        body = _require_object(call.body)
        model, _ = self._require_model(body, "embedding")
        refused = self._rate_limited(call, model)
        if refused is not None:
            return refused
        return Reply(200, self._embeddings_text(body, model).encode("utf-8"))

    def _embeddings_text(self, body: dict[str, Any], model: str) -> str:
        """The answer's JSON text, built from the vectors' own JSON (no float re-encoding)."""
        encoding = body.get("encoding_format")
        if encoding is None:
            encoding = "float"
        if encoding not in ("float", "base64"):
            raise InvalidRequest("'encoding_format' must be 'float' or 'base64'", "invalid_encoding_format")
        raw = body.get("input")
        inputs = [raw] if isinstance(raw, str) else raw
        if not isinstance(inputs, list) or not all(isinstance(t, str) for t in inputs):
            raise InvalidRequest("'input' must be a string or a list of strings", "invalid_input")
        if not inputs:
            raise InvalidRequest("'input' must not be an empty list", "invalid_input")
        empty = [i for i, text in enumerate(inputs) if not text]
        if empty:
            raise InvalidRequest(f"'input' contains an empty string at index {empty[0]}", "invalid_input")
        limit = self.embedding_input_limit
        if limit is not None and len(inputs) > limit:
            raise InvalidRequest(
                f"Too many inputs: {len(inputs)} in one request; the limit is {limit} inputs per request",
                "too_many_inputs",
            )
        vectors = self.backend.vectors(model, inputs, encoding)
        items = [f'{{"object":"embedding","index":{i},"embedding":{v}}}' for i, v in enumerate(vectors)]
        if self.reverse_embedding_data:
            items.reverse()
        tokens = sum(words(text) for text in inputs)
        usage = json.dumps({"prompt_tokens": tokens, "total_tokens": tokens})
        return (
            '{"object":"list","data":['
            + ",".join(items)
            + f'],"model":{json.dumps(model, ensure_ascii=False)},"usage":{usage}}}'
        )
