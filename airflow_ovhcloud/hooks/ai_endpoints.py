"""OVHcloud AI Endpoints: OpenAI-compatible chat completions (plain and streamed) and embeddings."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from airflow_ovhcloud._http import base_url_from_connection, service_message_of, unexpected_answer
from airflow_ovhcloud.constants import (
    EMBEDDING_BATCH_SIZE,
    EMBEDDING_MAX_CONCURRENCY,
    ENDPOINTS_CONN_ID,
    ENDPOINTS_CONN_TYPE,
)
from airflow_ovhcloud.exceptions import (
    OVHCloudAIError,
    OVHCloudAIInvalidInputError,
    OVHCloudAIRequestError,
    OVHCloudAIStreamError,
)
from airflow_ovhcloud.get_provider_info import ui_field_behaviour
from airflow_ovhcloud.hooks.base import OVHCloudBaseHook

CATALOG_URL = "https://endpoints.ai.cloud.ovh.net/catalog"


class OVHCloudAIEndpointsHook(OVHCloudBaseHook):
    """Hook to interact with the OVHcloud AI Endpoints API.

    The API key comes from the connection's password, else its extra ``api_key``. The
    connection's host, when set, replaces :attr:`BASE_URL` (a proxy, or the local emulator).

    :param ovh_conn_id: Airflow connection ID.
    :param timeout: request timeout in seconds; the connection extra ``timeout`` overrides it.
    :param max_retries: client-side retries of 408/409/429/5xx and network errors; ``None`` reads
        the connection extra ``max_retries`` (default 3); 0 disables.
    """

    BASE_URL = "https://oai.endpoints.kepler.ai.cloud.ovh.net/v1"

    conn_name_attr = "ovh_conn_id"
    default_conn_name = ENDPOINTS_CONN_ID
    conn_type = ENDPOINTS_CONN_TYPE
    hook_name = "OVHcloud AI Endpoints"
    service_name: ClassVar[str] = "AI Endpoints"
    token_name: ClassVar[str] = "API key"

    def __init__(
        self,
        ovh_conn_id: str = default_conn_name,
        timeout: int = 60,
        max_retries: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(ovh_conn_id=ovh_conn_id, timeout=timeout, max_retries=max_retries, **kwargs)

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Form layout for Airflow versions that read it from the hook (3.1); 3.2+ read provider info."""
        return ui_field_behaviour(cls.conn_type)

    def get_token(self) -> str:
        return self._token_from(
            self.connection.password,
            self.extra_value("api_key"),
            missing_message=(
                f"OVHcloud AI Endpoints API key not found in connection '{self.ovh_conn_id}'. "
                "Put the API key in the connection's password (or extra 'api_key'); create one in "
                "the OVHcloud Control Panel under Public Cloud > AI Endpoints > API keys."
            ),
        )

    def get_base_url(self) -> str:
        conn = self.connection
        return _base_url(conn.host, conn.port, conn.schema, self.BASE_URL)

    # ------------------------------------------------------------------ chat

    def _model_hint(self, model: str) -> str:
        return (
            f"The model '{model}' may not exist on OVHcloud AI Endpoints (names are case-sensitive): "
            f"list the available ones with OVHCloudAIEndpointsHook('{self.ovh_conn_id}').list_models() "
            f"or see {CATALOG_URL}."
        )

    def _chat_body(
        self,
        model: str,
        messages: Any,
        temperature: float | None,
        max_tokens: int | None,
        top_p: float | None,
        stream: bool,
        stop: str | list[str] | None,
        kwargs: dict[str, Any],
    ) -> dict[str, Any]:
        _check_model(model)
        _check_messages(messages)
        body: dict[str, Any] = {"model": model, "messages": list(messages)}
        optional = {"temperature": temperature, "max_tokens": max_tokens, "top_p": top_p, "stop": stop}
        optional.update(kwargs)
        body.update({key: value for key, value in optional.items() if value is not None})
        if stream:
            body["stream"] = True
        else:
            body.pop("stream", None)
            body.pop("stream_options", None)
        return body

    def chat_completion(
        self,
        model: str,
        messages: list[dict[str, Any]],
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stream: bool = False,
        stop: str | list[str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Create a chat completion and return the OpenAI-format ``chat.completion`` dict.

        With ``stream=True`` the answer is read as Server-Sent Events while it arrives and
        assembled into the same dict, so callers need not care which mode ran. ``None`` values
        are not sent; other keyword arguments (``tools``, ``tool_choice``, ``response_format``,
        ``seed``, ``user``, ``stream_options``...) pass through unchanged.
        """
        if stream:
            response = assemble_chat_stream(
                self.stream_chat_completion(model, messages, temperature, max_tokens, top_p, stop=stop, **kwargs)
            )
        else:
            body = self._chat_body(model, messages, temperature, max_tokens, top_p, False, stop, kwargs)
            response = self.http.request_json(
                "POST", "chat/completions", json_body=body, not_found_hint=self._model_hint(model)
            )
            if not isinstance(response, dict) or not isinstance(response.get("choices"), list):
                raise _unexpected("chat completion", response)
        self._log_usage("Chat completion", model, response.get("usage"))
        return response

    def stream_chat_completion(
        self,
        model: str,
        messages: list[dict[str, Any]],
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | list[str] | None = None,
        **kwargs: Any,
    ) -> Iterator[dict[str, Any]]:
        """Yield each ``chat.completion.chunk`` dict as it arrives.

        Raises :class:`~airflow_ovhcloud.exceptions.OVHCloudAIStreamError` when a chunk carries an
        error or the stream ends without ``data: [DONE]``: a half answer is never passed off as whole.
        """
        kwargs.pop("stream", None)
        body = self._chat_body(model, messages, temperature, max_tokens, top_p, True, stop, kwargs)
        response = self.http.request(
            "POST",
            "chat/completions",
            json_body=body,
            stream=True,
            accept="text/event-stream",
            not_found_hint=self._model_hint(model),
        )
        yield from self._parse_sse(self.http.stream_lines(response))

    def _parse_sse(self, lines: Iterable[bytes]) -> Iterator[dict[str, Any]]:
        data: list[str] = []
        received = 0
        for raw_line in lines:
            line = raw_line.decode("utf-8", "replace")
            if line:
                if line.startswith("data:"):
                    data.append(line[5:].removeprefix(" "))
                continue  # comments (":"), "event:", "id:" and "retry:" lines carry nothing we need
            if not data:
                continue
            payload, data = "\n".join(data), []
            if payload.strip() == "[DONE]":
                return
            chunk = self._decode_chunk(payload)
            received += 1
            yield chunk
        if data and "\n".join(data).strip() == "[DONE]":
            return
        raise OVHCloudAIStreamError(
            f"Request to OVHcloud AI Endpoints failed: the stream ended early, after {received} chunks "
            "and before 'data: [DONE]'; the answer is incomplete. A retry may succeed.",
        )

    @staticmethod
    def _decode_chunk(payload: str) -> dict[str, Any]:
        try:
            chunk = json.loads(payload)
        except ValueError:
            raise OVHCloudAIStreamError(
                f"Request to OVHcloud AI Endpoints failed: the stream sent an event that is not JSON: "
                f"{payload[:200]!r}."
            ) from None
        if not isinstance(chunk, dict):
            raise _unexpected("stream chunk", chunk)
        error = chunk.get("error")
        if error:
            message = service_message_of(json.dumps(chunk))
            code = error.get("code") if isinstance(error, dict) else None
            suffix = f" (code {code})" if code not in (None, "") else ""
            raise OVHCloudAIStreamError(
                f"Request to OVHcloud AI Endpoints failed: the service sent an error in the middle of "
                f"the stream{suffix}: {message}. A retry may succeed.",
                service_message=message,
                http_status=code if isinstance(code, int) else None,
            )
        return chunk

    # ------------------------------------------------------------ embeddings

    def create_embedding(self, model: str, input: str | list[str], **kwargs: Any) -> dict[str, Any]:
        """Embed one text or a list of texts; the answer's ``data`` is sorted by ``index``."""
        _check_model(model)
        _check_texts(input)
        body: dict[str, Any] = {"model": model, "input": input if isinstance(input, str) else list(input)}
        body.update({key: value for key, value in kwargs.items() if value is not None})
        response = self.http.request_json("POST", "embeddings", json_body=body, not_found_hint=self._model_hint(model))
        data = response.get("data") if isinstance(response, dict) else None
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise _unexpected("embedding", response)
        expected = 1 if isinstance(input, str) else len(input)
        try:
            data.sort(key=lambda item: int(item["index"]))
        except (KeyError, TypeError, ValueError):
            raise _unexpected("embedding", {"data": "[items without an integer 'index']"}) from None
        if len(data) != expected:
            raise OVHCloudAIRequestError(
                f"Request to OVHcloud AI Endpoints failed: sent {expected} inputs to model '{model}' "
                f"but got {len(data)} embeddings back.",
            )
        self._log_usage("Embedding", model, response.get("usage"), inputs=expected)
        return response

    def create_embeddings(
        self,
        model: str,
        texts: Sequence[str],
        *,
        batch_size: int = EMBEDDING_BATCH_SIZE,
        max_concurrency: int = EMBEDDING_MAX_CONCURRENCY,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Embed many texts in batches of ``batch_size`` requests, ``max_concurrency`` at a time.

        Every input is checked before the first request. Each batch is one request with the HTTP
        core's retries; if a batch still fails, the error names its input range. The answer has
        the shape of one big embedding response: ``data`` in input order (global ``index``) and
        the batches' usage summed.
        """
        _check_model(model)
        items = list(texts)
        if not items:
            return {"object": "list", "data": [], "model": model, "usage": {"prompt_tokens": 0, "total_tokens": 0}}
        _check_texts(items)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise OVHCloudAIInvalidInputError(f"batch_size must be a positive integer, got {batch_size!r}.")
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) or not 1 <= max_concurrency <= 32:
            raise OVHCloudAIInvalidInputError(
                f"max_concurrency must be an integer from 1 to 32, got {max_concurrency!r}."
            )
        starts = range(0, len(items), batch_size)

        def embed(start: int) -> dict[str, Any]:
            chunk = items[start : start + batch_size]
            try:
                return self.create_embedding(model, chunk, **kwargs)
            except OVHCloudAIError as exc:
                raise type(exc)(
                    f"Embedding inputs {start} to {start + len(chunk) - 1} (of {len(items)}) failed: {exc}",
                    http_status=exc.http_status,
                    service_message=exc.service_message,
                ) from exc

        if len(starts) == 1:
            return embed(0)  # one batch: the service's answer as it is
        if max_concurrency == 1:
            answers = [embed(start) for start in starts]
        else:
            with ThreadPoolExecutor(max_workers=min(max_concurrency, len(starts))) as pool:
                answers = list(pool.map(embed, starts))
        data: list[dict[str, Any]] = []
        usage: dict[str, int] = {"prompt_tokens": 0, "total_tokens": 0}
        for start, answer in zip(starts, answers, strict=True):
            for item in answer["data"]:
                data.append({**item, "index": start + int(item["index"])})
            for key, value in (answer.get("usage") or {}).items():
                if isinstance(value, int):
                    usage[key] = usage.get(key, 0) + value
        return {"object": "list", "data": data, "model": answers[0].get("model", model), "usage": usage}

    # ---------------------------------------------------------------- models

    def list_models(self) -> list[str]:
        """Return the ids of the models the endpoint serves (``GET /models``)."""
        response = self.http.request_json("GET", "models")
        data = response.get("data") if isinstance(response, dict) else response
        if not isinstance(data, list):
            raise _unexpected("model list", response)
        return [str(item["id"]) if isinstance(item, dict) and "id" in item else str(item) for item in data]

    def test_connection(self) -> tuple[bool, str]:
        """Make one authenticated request (list the models); never raises. Powers the UI's Test button."""
        try:
            models = self.list_models()
        except Exception as exc:  # the UI wants a message, not a traceback
            return False, str(exc)
        return True, f"Connected to OVHcloud AI Endpoints at {self.get_base_url()}: {len(models)} models available."

    def _log_usage(self, what: str, model: str, usage: Any, inputs: int | None = None) -> None:
        count = f", {inputs} inputs" if inputs is not None else ""
        if isinstance(usage, dict):
            self.log.info(
                "%s from model %s%s: prompt_tokens=%s completion_tokens=%s total_tokens=%s",
                what,
                model,
                count,
                usage.get("prompt_tokens"),
                usage.get("completion_tokens", 0),
                usage.get("total_tokens"),
            )
        else:
            self.log.info("%s from model %s%s (the service reported no token usage)", what, model, count)


# --------------------------------------------------------------------------- helpers


def _base_url(host: str | None, port: int | None, schema: str | None, default: str) -> str:
    return base_url_from_connection(host, port, schema, default=default, default_path="/v1")


def _unexpected(what: str, value: Any) -> OVHCloudAIRequestError:
    return unexpected_answer("AI Endpoints", what, value, "an OpenAI-compatible endpoint")


def _check_model(model: Any) -> None:
    if not isinstance(model, str) or not model.strip():
        raise OVHCloudAIInvalidInputError(
            f"Invalid request to OVHcloud AI Endpoints: 'model' must be a non-empty model name, got {model!r}."
        )


def _check_messages(messages: Any) -> None:
    prefix = "Invalid chat request to OVHcloud AI Endpoints"
    if isinstance(messages, (str, bytes, dict)) or not isinstance(messages, Sequence) or not messages:
        raise OVHCloudAIInvalidInputError(
            f"{prefix}: 'messages' must be a non-empty list of message dicts such as "
            f"{{'role': 'user', 'content': '...'}}, got {type(messages).__name__} {str(messages)[:100]!r}."
        )
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise OVHCloudAIInvalidInputError(
                f"{prefix}: messages[{i}] must be a dict, got {type(message).__name__} {str(message)[:100]!r}."
            )
        role = message.get("role")
        if not isinstance(role, str) or not role:
            raise OVHCloudAIInvalidInputError(
                f"{prefix}: messages[{i}] has no 'role' (expected 'system', 'user', 'assistant' or 'tool')."
            )
        content = message.get("content")
        if isinstance(content, (str, list)):
            continue
        if content is None and message.get("tool_calls"):
            continue
        raise OVHCloudAIInvalidInputError(
            f"{prefix}: messages[{i}] (role {role!r}) needs a 'content' string or list of parts"
            + (", or 'tool_calls'" if role == "assistant" else "")
            + f"; got content {content!r}."
        )


def _check_texts(texts: Any) -> None:
    prefix = "Invalid embedding request to OVHcloud AI Endpoints"
    if isinstance(texts, str):
        if not texts.strip():
            raise OVHCloudAIInvalidInputError(f"{prefix}: 'input' is an empty string.")
        return
    if isinstance(texts, (bytes, dict)) or not isinstance(texts, Sequence) or not texts:
        raise OVHCloudAIInvalidInputError(
            f"{prefix}: 'input' must be a string or a non-empty list of strings, "
            f"got {type(texts).__name__} {str(texts)[:100]!r}."
        )
    bad = [i for i, text in enumerate(texts) if not isinstance(text, str) or not text.strip()]
    if bad:
        shown = ", ".join(str(i) for i in bad[:20]) + (" ..." if len(bad) > 20 else "")
        raise OVHCloudAIInvalidInputError(
            f"{prefix}: inputs at positions {shown} are not non-empty strings "
            f"(e.g. {texts[bad[0]]!r}); every input must be a non-empty string."
        )


def assemble_chat_stream(chunks: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Fold streamed chunks into the ``chat.completion`` dict a non-streamed call would return.

    Content and reasoning deltas are concatenated, tool-call fragments are joined by their
    ``index``, and the usage chunk (sent with ``stream_options.include_usage``) is kept.
    """
    result: dict[str, Any] = {"id": None, "object": "chat.completion", "created": None, "model": None}
    choices: dict[int, dict[str, Any]] = {}
    usage: Any = None
    for chunk in chunks:
        for key in ("id", "created", "model", "system_fingerprint"):
            if result.get(key) is None and chunk.get(key) is not None:
                result[key] = chunk[key]
        if chunk.get("usage"):
            usage = chunk["usage"]
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            state = choices.setdefault(
                int(choice.get("index", 0)),
                {"role": None, "content": [], "reasoning": [], "tools": {}, "finish_reason": None},
            )
            delta = choice.get("delta") or {}
            state["role"] = state["role"] or delta.get("role")
            if isinstance(delta.get("content"), str):
                state["content"].append(delta["content"])
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str):
                state["reasoning"].append(reasoning)
            for call in delta.get("tool_calls") or ():
                slot = state["tools"].setdefault(
                    int(call.get("index", 0)), {"id": None, "type": "function", "name": [], "arguments": []}
                )
                slot["id"] = slot["id"] or call.get("id")
                slot["type"] = call.get("type") or slot["type"]
                function = call.get("function") or {}
                if function.get("name"):
                    slot["name"].append(function["name"])
                if function.get("arguments"):
                    slot["arguments"].append(function["arguments"])
            if choice.get("finish_reason"):
                state["finish_reason"] = choice["finish_reason"]
    result["choices"] = []
    for index in sorted(choices):
        state = choices[index]
        message: dict[str, Any] = {"role": state["role"] or "assistant", "content": "".join(state["content"])}
        if state["tools"]:
            message["tool_calls"] = [
                {
                    "id": slot["id"],
                    "type": slot["type"],
                    "function": {"name": "".join(slot["name"]), "arguments": "".join(slot["arguments"])},
                }
                for _, slot in sorted(state["tools"].items())
            ]
            if not message["content"]:
                message["content"] = None
        if state["reasoning"]:
            message["reasoning_content"] = "".join(state["reasoning"])
        result["choices"].append({"index": index, "message": message, "finish_reason": state["finish_reason"]})
    if usage is not None:
        result["usage"] = usage
    return result
