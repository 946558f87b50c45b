"""OVHcloud AI Endpoints: OpenAI-compatible chat completions (plain and streamed) and embeddings."""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

from airflow_ovhcloud._http_rules import MAX_SERVICE_MESSAGE, base_url_from_connection, service_message_of
from airflow_ovhcloud.constants import (
    ANONYMOUS_REQUESTS_PER_MINUTE,
    EMBEDDING_BATCH_SIZE,
    EMBEDDING_MAX_CONCURRENCY,
    ENDPOINTS_CONN_ID,
    ENDPOINTS_CONN_TYPE,
    MANY_MAX_CONCURRENCY,
    TEST_CHAT_MODEL,
)
from airflow_ovhcloud.exceptions import (
    OVHCloudAIConfigurationError,
    OVHCloudAIError,
    OVHCloudAIInvalidInputError,
    OVHCloudAIRequestError,
    OVHCloudAIStreamError,
)
from airflow_ovhcloud.get_provider_info import ui_field_behaviour
from airflow_ovhcloud.hooks.base import OVHCloudBaseHook
from airflow_ovhcloud.utils.batch import (
    CHAT_ENDPOINT,
    COMPLETION_WINDOW,
    FAILURE_STATES,
    REATTACH_PAGE_SIZE,
    REATTACH_PAGES,
    SUCCESS_STATE,
    BadBatchLine,
    BatchResults,
    BatchWatch,
    batch_failed_error,
    batch_status,
    check_batch_id,
    check_endpoint,
    check_file_id,
    read_results,
    request_lines,
)
from airflow_ovhcloud.utils.chat import check_chat_parameters
from airflow_ovhcloud.utils.many import Progress, add_usage, check_many_options, run_many
from airflow_ovhcloud.utils.ratelimit import RateLimiter
from airflow_ovhcloud.utils.validation import check_int, check_mapping, check_str, shown

CATALOG_URL = "https://endpoints.ai.cloud.ovh.net/catalog"
#: Seconds a Batch API file download may take from its first byte to its last, at least.
FILE_DOWNLOAD_TIMEOUT = 3600.0
KEY_HOWTO = "create one in the OVHcloud Control Panel under Public Cloud > AI Endpoints > API keys"
#: Model ids that name embedding, speech or image models: never the Test button's chat model.
_NOT_CHAT = ("embed", "bge", "e5-", "whisper", "diffusion", "sdxl", "rerank", "tts", "nvr")


@dataclass
class ManyResults:
    """What a many-call returns: results and errors by input index, and the summed token usage."""

    results: dict[int, Any] = field(default_factory=dict)
    errors: dict[int, OVHCloudAIError] = field(default_factory=dict)
    usage: dict[str, int] = field(default_factory=dict)
    total: int = 0

    def ordered(self) -> list[Any]:
        """The results in input order, ``None`` where a call failed or was not made."""
        return [self.results.get(index) for index in range(self.total)]


class OVHCloudAIEndpointsHook(OVHCloudBaseHook):
    """Hook to interact with the OVHcloud AI Endpoints API.

    The API key comes from the connection's password (the form's "API key" field), else its extra
    ``api_key``. Without one, chat, embeddings and models go anonymous, as OVHcloud allows (rate
    limited: the hook logs it once); a route that needs a key calls :meth:`require_key`. The
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
    #: Creating a batch is not idempotent: a lost answer is not resent (the batch operator reattaches).
    unsafe_posts: ClassVar[frozenset[str]] = frozenset({"batches"})

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
        """The API key, or ``""``: chat, embeddings and models then go anonymous (rate-limited)."""
        return self._token_from(self.connection.password, self.extra_value("api_key"))

    def missing_token_message(self) -> str:
        """Raised by routes that need a key (:meth:`require_key`, ``require_key=True``), never by chat or embeddings."""
        return (
            f"OVHcloud AI Endpoints API key not found in connection '{self.ovh_conn_id}'. "
            "Put the API key in the connection's 'API key' field ('Password' in a generic connection, or "
            f"extra 'api_key'); {KEY_HOWTO}."
        )

    def anonymous_hint(self) -> str:
        return (
            f"put an API key in connection '{self.ovh_conn_id}' (the form's 'API key' field, 'Password' in a "
            f"generic connection, or extra 'api_key'); {KEY_HOWTO}"
        )

    def get_base_url(self) -> str:
        conn = self.connection
        return base_url_from_connection(
            conn.host, conn.port, conn.schema, default=self.BASE_URL, default_path="/v1", conn_id=self.ovh_conn_id
        )

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
        try:
            check_chat_parameters(optional)
        except OVHCloudAIInvalidInputError as exc:
            raise OVHCloudAIInvalidInputError(f"Invalid chat request to OVHcloud AI Endpoints: {exc}") from None
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
        response = self._complete(model, messages, temperature, max_tokens, top_p, stream, stop, **kwargs)
        self._log_usage("Chat completion", model, response.get("usage"))
        return response

    def _complete(
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
        """One chat completion without the usage log line (many-calls log progress lines instead)."""
        if stream:
            return assemble_chat_stream(
                self.stream_chat_completion(model, messages, temperature, max_tokens, top_p, stop=stop, **kwargs)
            )
        body = self._chat_body(model, messages, temperature, max_tokens, top_p, False, stop, kwargs)
        response = self.http.request_json(
            "POST", "chat/completions", json_body=body, not_found_hint=self._model_hint(model)
        )
        if not isinstance(response, dict) or not isinstance(response.get("choices"), list):
            raise self._unexpected("chat completion", response)
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

    def _decode_chunk(self, payload: str) -> dict[str, Any]:
        try:
            chunk = json.loads(payload)
        except ValueError:
            raise OVHCloudAIStreamError(
                f"Request to OVHcloud AI Endpoints failed: the stream sent an event that is not JSON: "
                f"{self.http.clip(payload)!r}."
            ) from None
        if not isinstance(chunk, dict):
            raise self._unexpected("stream chunk", chunk)
        error = chunk.get("error")
        if error:
            message = self.http.clip(service_message_of(json.dumps(chunk), limit=None), MAX_SERVICE_MESSAGE)
            code = error.get("code") if isinstance(error, dict) else None
            suffix = f" (code {self.http.clip(code, 40)})" if code not in (None, "") else ""
            raise OVHCloudAIStreamError(
                f"Request to OVHcloud AI Endpoints failed: the service sent an error in the middle of "
                f"the stream{suffix}: {message}. A retry may succeed.",
                service_message=message,
                http_status=code if isinstance(code, int) and not isinstance(code, bool) else None,
            )
        return chunk

    def chat_completions(
        self,
        requests: Sequence[Mapping[str, Any]],
        *,
        max_concurrency: int = MANY_MAX_CONCURRENCY,
        requests_per_minute: int | None = None,
        on_error: str = "fail",
        skip: Collection[int] = (),
        keep: Callable[[int, dict[str, Any]], Any] | None = None,
        on_result: Callable[[int, Any, Any], None] | None = None,
    ) -> ManyResults:
        """Run many chat completions, ``max_concurrency`` at a time, each as :meth:`chat_completion` would.

        ``requests`` are :meth:`chat_completion` keyword dicts. ``requests_per_minute`` (else the
        connection extra of that name) limits each model's calls with a :class:`RateLimiter`;
        ``keep(index, response)`` turns each response into what is kept (by default the response;
        the chat operator keeps only the answer, so 10,000 responses are never held at once).
        With ``on_error="fail"`` no new call starts after a failure; with ``"skip"`` every request
        is tried. Indices in ``skip`` are not sent (their answers are already known). A progress
        line is logged at most every few seconds; ``on_result(index, kept, usage)`` sees each answer as
        it arrives (to keep durable progress).
        """
        check_many_options(max_concurrency, on_error)
        items = list(requests)
        for index, request in enumerate(items):
            if not isinstance(request, Mapping) or "model" not in request or "messages" not in request:
                raise OVHCloudAIInvalidInputError(
                    f"Invalid chat request {index}: each request is a dict of chat_completion() arguments with "
                    f"'model' and 'messages', got {shown(request)}."
                )
        limiter = self._rate_limiter(requests_per_minute)
        usage: dict[str, int] = {}
        results: dict[int, Any] = {}
        progress = Progress(len(items), "Chat completions", self.log, already_done=len(set(skip)))

        def call(index: int, request: Mapping[str, Any]) -> tuple[Any, Any]:
            if limiter is not None:
                limiter.acquire(str(request["model"]))
            response = self._complete(**request)
            if limiter is not None:
                limiter.succeeded()
            # Turned into what is kept here, in the worker thread: a bad answer fails its own index.
            return (keep(index, response) if keep is not None else response), response.get("usage")

        def kept(index: int, outcome: tuple[Any, Any]) -> None:
            value, response_usage = outcome
            add_usage(usage, response_usage)
            results[index] = value
            if on_result is not None:
                on_result(index, value, response_usage)

        with self._listening(limiter):
            _, errors = run_many(
                items,
                call,
                max_concurrency=max_concurrency,
                on_error=on_error,
                skip=skip,
                progress=progress,
                on_result=kept,
            )
        progress.finish()
        return ManyResults(results=results, errors=errors, usage=usage, total=len(items))

    def _rate_limiter(self, requests_per_minute: int | None) -> RateLimiter | None:
        if requests_per_minute is None:
            requests_per_minute = self._number_extra("requests_per_minute", int, minimum=1)
        if requests_per_minute is None:
            return None
        check_int("requests_per_minute", requests_per_minute, minimum=1)
        return RateLimiter(requests_per_minute)

    @contextmanager
    def _listening(self, limiter: RateLimiter | None) -> Iterator[None]:
        """Tell ``limiter`` of every 429 while a many-call runs."""
        if limiter is None:
            yield
            return
        self.http.rate_limit_listeners.append(limiter.rate_limited)
        try:
            yield
        finally:
            self.http.rate_limit_listeners.remove(limiter.rate_limited)

    # ------------------------------------------------------------ embeddings

    def create_embedding(self, model: str, input: str | list[str], **kwargs: Any) -> dict[str, Any]:
        """Embed one text or a list of texts; the answer's ``data`` is sorted by ``index``."""
        _check_model(model)
        _check_texts(input)
        check_int("dimensions", kwargs.get("dimensions"), minimum=1, allow_none=True)
        check_str("encoding_format", kwargs.get("encoding_format"), allow_none=True)
        body: dict[str, Any] = {"model": model, "input": input if isinstance(input, str) else list(input)}
        body.update({key: value for key, value in kwargs.items() if value is not None})
        response = self.http.request_json("POST", "embeddings", json_body=body, not_found_hint=self._model_hint(model))
        data = response.get("data") if isinstance(response, dict) else None
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise self._unexpected("embedding", response)
        expected = 1 if isinstance(input, str) else len(input)
        try:
            data.sort(key=lambda item: int(item["index"]))
        except (KeyError, TypeError, ValueError, OverflowError):
            raise self._unexpected("embedding", {"data": "[items without an integer 'index']"}) from None
        if len(data) != expected:
            raise OVHCloudAIRequestError(
                f"Request to OVHcloud AI Endpoints failed: sent {expected} inputs to model '{model}' "
                f"but got {len(data)} embeddings back.",
            )
        base64_ok = kwargs.get("encoding_format") == "base64"
        for position, item in enumerate(data):
            if not _is_vector(item.get("embedding"), base64_ok):
                problem = f"data[{position}] has no 'embedding' list of numbers"
                raise self._unexpected("embedding", {"problem": problem, "item": item})
        self._log_usage("Embedding", model, response.get("usage"), inputs=expected)
        return response

    def create_embeddings(
        self,
        model: str,
        texts: Sequence[str],
        *,
        batch_size: int = EMBEDDING_BATCH_SIZE,
        max_concurrency: int = EMBEDDING_MAX_CONCURRENCY,
        requests_per_minute: int | None = None,
        done: Mapping[int, Mapping[str, Any]] | None = None,
        on_batch: Callable[[int, dict[str, Any]], None] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Embed many texts in batches of ``batch_size`` requests, ``max_concurrency`` at a time.

        Every input is checked before the first request. Each batch is one request with the HTTP
        core's retries, paced by ``requests_per_minute`` (else the connection extra) like
        :meth:`chat_completions`; if a batch still fails, the error names its input range. The
        answer has the shape of one big embedding response: ``data`` in input order (global
        ``index``) and the batches' usage summed. ``done`` maps batch numbers to answers already
        known (durable progress: they are not sent again); ``on_batch`` sees each new answer.
        """
        _check_model(model)
        check_int("batch_size", batch_size, minimum=1)
        check_int("max_concurrency", max_concurrency, minimum=1, maximum=32)
        check_int("dimensions", kwargs.get("dimensions"), minimum=1, allow_none=True)
        check_str("encoding_format", kwargs.get("encoding_format"), allow_none=True)
        if isinstance(texts, (str, bytes, bytearray, Mapping)) or not isinstance(texts, Iterable):
            raise OVHCloudAIInvalidInputError(
                "Invalid embedding request to OVHcloud AI Endpoints: 'texts' must be a list of strings "
                f"(create_embedding() embeds a single text), got {type(texts).__name__} {shown(texts)}."
            )
        items = list(texts)
        if not items:
            return {"object": "list", "data": [], "model": model, "usage": {"prompt_tokens": 0, "total_tokens": 0}}
        _check_texts(items)
        batches = [items[start : start + batch_size] for start in range(0, len(items), batch_size)]
        limiter = self._rate_limiter(requests_per_minute)
        answers: dict[int, Any] = {int(k): v for k, v in (done or {}).items() if 0 <= int(k) < len(batches)}

        def embed(number: int, chunk: list[str]) -> dict[str, Any]:
            start = number * batch_size
            if limiter is not None:
                limiter.acquire(model)
            try:
                answer = self.create_embedding(model, chunk, **kwargs)
            except OVHCloudAIError as exc:
                raise type(exc)(
                    f"Embedding inputs {start} to {start + len(chunk) - 1} (of {len(items)}) failed: {exc}",
                    http_status=exc.http_status,
                    service_message=exc.service_message,
                ) from exc
            if limiter is not None:
                limiter.succeeded()
            return answer

        def kept(number: int, answer: dict[str, Any]) -> None:
            answers[number] = answer
            if on_batch is not None:
                on_batch(number, answer)

        progress = Progress(
            len(batches), f"Embedding batches ({len(items)} inputs)", self.log, already_done=len(answers)
        )
        with self._listening(limiter):
            _, errors = run_many(
                batches,
                embed,
                max_concurrency=max_concurrency,
                skip=set(answers),
                progress=progress if len(batches) > 1 else None,
                on_result=kept,
            )
        if errors:
            raise errors[min(errors)]
        if len(batches) > 1:
            progress.finish()
        if len(batches) == 1:
            return dict(answers[0])  # one batch: the service's answer as it is
        data: list[dict[str, Any]] = []
        usage: dict[str, int] = {"prompt_tokens": 0, "total_tokens": 0}
        for number in range(len(batches)):
            answer = answers[number]
            for item in answer["data"]:
                data.append({**item, "index": number * batch_size + int(item["index"])})
            add_usage(usage, answer.get("usage"))
        return {"object": "list", "data": data, "model": answers[0].get("model", model), "usage": usage}

    # ----------------------------------------------------------------- batch API

    def _require_batch_key(self) -> None:
        """Files and batches are never served anonymously: say so before anything is sent."""
        try:
            self.require_key()
        except OVHCloudAIConfigurationError:
            raise OVHCloudAIConfigurationError(
                "OVHcloud AI Endpoints: an API key is required for the Batch API (files and batches are never "
                f"served anonymously). {self.missing_token_message()}"
            ) from None

    def _batch_hint(self, batch_id: str) -> str:
        return (
            f"Batch '{batch_id}' was not found: check the batch id and that connection '{self.ovh_conn_id}' uses the "
            "API key (project) that created it; list batches with OVHCloudAIEndpointsHook().list_batches()."
        )

    def _file_hint(self, file_id: str) -> str:
        return (
            f"File '{file_id}' was not found: files are kept only for a retention period after their batch; check "
            f"the file id and the API key of connection '{self.ovh_conn_id}'."
        )

    def upload_file(
        self,
        file: str | os.PathLike[str] | bytes | Iterable[str | bytes],
        purpose: str = "batch",
        *,
        filename: str | None = None,
    ) -> dict[str, Any]:
        """Upload a file (``POST /v1/files``, multipart) and return the file object (``id``...).

        ``file`` is a local path, the bytes, an open binary file (read from its start), or an
        iterable of lines (``str`` lines get a line break if they lack one) or byte chunks, written
        once to a temporary file. The body is streamed with a ``Content-Length``: the file is never
        held in memory.
        """
        self._require_batch_key()
        check_str("purpose", purpose)
        with _upload_source(file, filename) as (source, size, name):
            body = _MultipartBody({"purpose": purpose}, name, source, size)
            response = self.http.request("POST", "files", body=body, content_type=body.content_type, require_key=True)
        try:
            answer: Any = json.loads(response.content)
        except ValueError:
            answer = response.content
        if not isinstance(answer, dict) or not isinstance(answer.get("id"), str) or not answer["id"]:
            raise self._unexpected("file upload", answer)
        try:
            check_file_id(answer["id"])
        except OVHCloudAIInvalidInputError:
            raise self._unexpected(
                "file upload", {"problem": "an id unfit for a URL path", "id": answer["id"]}
            ) from None
        self.log.info("Uploaded %s (%d bytes) for the Batch API as file %s.", name, size, answer["id"])
        return answer

    def get_file(self, file_id: str) -> dict[str, Any]:
        """The file object (``GET /v1/files/{id}``)."""
        self._require_batch_key()
        file_id = check_file_id(file_id)
        answer = self.http.request_json("GET", f"files/{file_id}", not_found_hint=self._file_hint(file_id))
        if not isinstance(answer, dict) or not isinstance(answer.get("id"), str):
            raise self._unexpected("file", answer)
        return answer

    def get_file_content(self, file_id: str) -> Iterator[bytes]:
        """The lines of a file (``GET /v1/files/{id}/content``) as they arrive, never the whole file at once."""
        self._require_batch_key()
        file_id = check_file_id(file_id)
        response = self.http.request(
            "GET",
            f"files/{file_id}/content",
            stream=True,
            accept="application/jsonl, application/json, */*",
            not_found_hint=self._file_hint(file_id),
        )
        # A result file of a million answers is hundreds of MB: an hour at least, more if the connection says so.
        return self.http.stream_lines(response, stream_timeout=max(self.http.stream_timeout, FILE_DOWNLOAD_TIMEOUT))

    def delete_file(self, file_id: str) -> dict[str, Any]:
        """Delete a file (``DELETE /v1/files/{id}``)."""
        self._require_batch_key()
        file_id = check_file_id(file_id)
        answer = self.http.request_json("DELETE", f"files/{file_id}", not_found_hint=self._file_hint(file_id))
        if answer is not None and not isinstance(answer, dict):
            raise self._unexpected("file deletion", answer)
        self.log.info("Deleted Batch API file %s.", file_id)
        return {"id": file_id, "deleted": True, **(answer or {})}

    def create_batch(
        self,
        input_file_id: str,
        endpoint: str = CHAT_ENDPOINT,
        completion_window: str = COMPLETION_WINDOW,
        metadata: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Create a batch from an uploaded JSONL file (``POST /v1/batches``) and return it.

        Not resent after an ambiguous failure (no answer, a 5xx): the batch may exist already. The
        operator finds it again by the run fingerprint in its ``metadata``.
        """
        self._require_batch_key()
        body: dict[str, Any] = {
            "input_file_id": check_file_id(input_file_id),
            "endpoint": check_endpoint(endpoint),
            "completion_window": check_str("completion_window", completion_window),
        }
        if metadata is not None:
            check_mapping("metadata", metadata)
            if len(metadata) > 16 or not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
                raise OVHCloudAIInvalidInputError(
                    f"metadata must be at most 16 string keys and string values, got {shown(metadata)}."
                )
            body["metadata"] = dict(metadata)
        batch = self._batch_answer(self.http.request_json("POST", "batches", json_body=body), "batch creation")
        self.log.info("Created batch %s (%s) from file %s.", batch["id"], batch["status"], body["input_file_id"])
        return batch

    def get_batch(self, batch_id: str) -> dict[str, Any]:
        """The batch as the service describes it now (``GET /v1/batches/{id}``)."""
        self._require_batch_key()
        batch_id = check_batch_id(batch_id)
        answer = self.http.request_json("GET", f"batches/{batch_id}", not_found_hint=self._batch_hint(batch_id))
        return self._batch_answer(answer, "batch")

    def list_batches(self, limit: int = 20, after: str | None = None) -> dict[str, Any]:
        """One page of batches, newest first: ``{"data": [...], "has_more", "last_id"}``."""
        self._require_batch_key()
        params: dict[str, Any] = {"limit": check_int("limit", limit, minimum=1, maximum=100)}
        if after is not None:
            params["after"] = check_batch_id(after)
        answer = self.http.request_json("GET", "batches", params=params)
        if not isinstance(answer, dict) or not isinstance(answer.get("data"), list):
            raise self._unexpected("batch list", answer)
        for position, item in enumerate(answer["data"]):
            if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
                raise self._unexpected("batch list", {"problem": f"data[{position}] is not a batch with an 'id'"})
        if not isinstance(answer.get("has_more", False), bool):
            raise self._unexpected("batch list", {"has_more": answer.get("has_more")})
        return answer

    def iter_batches(self, page_size: int = 100, max_pages: int | None = None) -> Iterator[dict[str, Any]]:
        """Every batch, newest first, page after page (at most ``max_pages`` pages)."""
        after: str | None = None
        pages = 0
        while max_pages is None or pages < max_pages:
            page = self.list_batches(limit=page_size, after=after)
            pages += 1
            yield from page["data"]
            last = page.get("last_id") or (page["data"][-1]["id"] if page["data"] else None)
            if not page.get("has_more") or not page["data"] or not isinstance(last, str) or last == after:
                return
            try:
                check_batch_id(last)
            except OVHCloudAIInvalidInputError:  # the service's cursor, not the caller's value
                raise self._unexpected("batch list", {"last_id": last}) from None
            after = last

    def find_batch(
        self,
        metadata: Mapping[str, str],
        *,
        max_pages: int = REATTACH_PAGES,
        skip_states: Collection[str] = FAILURE_STATES,
    ) -> dict[str, Any] | None:
        """The newest recent batch whose ``metadata`` holds every pair of ``metadata`` (not one that failed)."""
        for batch in self.iter_batches(page_size=REATTACH_PAGE_SIZE, max_pages=max_pages):
            found = batch.get("metadata")
            if not isinstance(found, Mapping) or any(found.get(k) != v for k, v in metadata.items()):
                continue
            if batch_status(batch) in skip_states:
                continue
            return self._batch_answer(batch, "batch list")
        return None

    def cancel_batch(self, batch_id: str) -> dict[str, Any]:
        """Cancel a batch (``POST /v1/batches/{id}/cancel``); requests already processed stay in its output."""
        self._require_batch_key()
        batch_id = check_batch_id(batch_id)
        answer = self.http.request_json("POST", f"batches/{batch_id}/cancel", not_found_hint=self._batch_hint(batch_id))
        batch = self._batch_answer(answer, "batch cancellation")
        self.log.info("Asked the Batch API to cancel batch %s (%s).", batch_id, batch["status"])
        return batch

    async def aget_batch(self, batch_id: str) -> dict[str, Any]:
        """:meth:`get_batch` on the shared async client (inside ``async with hook.async_http():``)."""
        self._require_batch_key()
        batch_id = check_batch_id(batch_id)
        client = self.ahttp
        answer = await client.request_json("GET", f"batches/{batch_id}", not_found_hint=self._batch_hint(batch_id))
        return self._batch_answer(answer, "batch", client)

    async def acancel_batch(self, batch_id: str) -> dict[str, Any]:
        """:meth:`cancel_batch` on the shared async client."""
        self._require_batch_key()
        batch_id = check_batch_id(batch_id)
        client = self.ahttp
        answer = await client.request_json(
            "POST", f"batches/{batch_id}/cancel", not_found_hint=self._batch_hint(batch_id)
        )
        batch = self._batch_answer(answer, "batch cancellation", client)
        self.log.info("Asked the Batch API to cancel batch %s (%s).", batch_id, batch["status"])
        return batch

    def wait_for_batch(self, batch_id: str, check_interval: float = 30, timeout: float = 90000) -> dict[str, Any]:
        """Poll until the batch is in a terminal state and return it (failed, expired or cancelled too).

        A progress line from ``request_counts`` is logged at most every few seconds; up to three
        polls in a row may fail with a retryable error.
        """
        watch = BatchWatch(check_batch_id(batch_id), check_interval=check_interval, timeout=timeout, log=self.log)
        while True:
            try:
                batch = self.get_batch(watch.job_id)
            except OVHCloudAIRequestError as exc:
                watch.failed_poll(exc)
            else:
                if watch.finished(batch):
                    return batch
            time.sleep(watch.next_wait())

    def read_batch(
        self,
        batch: Mapping[str, Any],
        fingerprint: str,
        total: int,
        keep: Callable[[int, Mapping[str, Any]], Any] | None = None,
    ) -> BatchResults:
        """Download a finished batch's output and error files into input order (see :func:`read_results`).

        Indices with no line in either file (an expired or cancelled batch) are in neither
        ``results`` nor ``errors``: :meth:`BatchResults.missing`.
        """

        def lines(key: str) -> Iterator[bytes]:
            file_id = batch.get(key)
            if isinstance(file_id, str) and file_id:
                yield from self.get_file_content(file_id)

        try:
            return read_results(lines("output_file_id"), lines("error_file_id"), fingerprint, total, keep)
        except BadBatchLine as exc:
            raise self._unexpected("batch result file", str(exc)) from None

    def run_batch(
        self,
        requests: Iterable[Mapping[str, Any]],
        *,
        endpoint: str = CHAT_ENDPOINT,
        metadata: Mapping[str, str] | None = None,
        wait: bool = True,
        check_interval: float = 30,
        timeout: float = 90000,
        fingerprint: str | None = None,
    ) -> BatchResults | dict[str, Any]:
        """Run a whole batch: upload the request bodies as JSONL, create the batch, wait, read the results.

        ``requests`` are request bodies (``{"model", "messages", ...}`` for chat). Returns the
        :class:`~airflow_ovhcloud.utils.batch.BatchResults` (response bodies and errors by input
        index, summed usage), or with ``wait=False`` the created batch. A batch that ends
        ``failed``, ``expired`` or ``cancelled`` raises :class:`OVHCloudAIJobFailedError`.
        """
        check_endpoint(endpoint)
        fingerprint = fingerprint or uuid.uuid4().hex[:16]
        counter = _Counter(request_lines(requests, fingerprint, endpoint))
        uploaded = self.upload_file(counter, filename=f"batch-{fingerprint}.jsonl")
        batch = self.create_batch(uploaded["id"], endpoint, metadata=metadata)
        if not wait:
            return batch
        batch = self.wait_for_batch(batch["id"], check_interval=check_interval, timeout=timeout)
        if batch_status(batch) != SUCCESS_STATE:
            raise batch_failed_error(batch, None)
        results = self.read_batch(batch, fingerprint, counter.count)
        results.batch = batch
        return results

    def _batch_answer(self, answer: Any, what: str, client: Any = None) -> dict[str, Any]:
        """A batch object as documented: an ``id`` fit for a URL and a ``status`` string, file ids fit for one."""
        if (
            not isinstance(answer, dict)
            or not isinstance(answer.get("id"), str)
            or not answer["id"]
            or not isinstance(answer.get("status"), str)
        ):
            raise self._unexpected(what, answer, client)
        try:
            check_batch_id(answer["id"])
        except OVHCloudAIInvalidInputError:
            raise self._unexpected(
                what, {"problem": "an id unfit for a URL path", "id": answer["id"]}, client
            ) from None
        counts = answer.get("request_counts")
        if counts is not None and not isinstance(counts, dict):
            raise self._unexpected(what, {"request_counts": counts}, client)
        for key in ("output_file_id", "error_file_id"):  # read later from a URL path: never a guess
            file_id = answer.get(key)
            if file_id is None or file_id == "":
                continue
            try:
                check_file_id(file_id)
            except OVHCloudAIInvalidInputError:
                raise self._unexpected(what, {key: file_id}, client) from None
        return answer

    # ---------------------------------------------------------------- models

    def list_models(self) -> list[str]:
        """Return the ids of the models the endpoint serves (``GET /models``)."""
        response = self.http.request_json("GET", "models")
        data = response.get("data") if isinstance(response, dict) else response
        if not isinstance(data, list):
            raise self._unexpected("model list", response)
        return [str(item["id"]) if isinstance(item, dict) and "id" in item else str(item) for item in data]

    def test_connection(self) -> tuple[bool, str]:
        """The connection Test button: a call the service authenticates, at the lowest cost; never raises.

        The model list is served without a key (a wrong key would pass it), so with a key this
        also asks for a 1-token chat completion (``max_tokens=1``, a one-word prompt: about a
        dozen tokens) on :meth:`test_model`. Without a key the connection is anonymous: the test
        lists the models and says the calls are rate-limited. Every message is in docs/connections.md.
        """
        try:
            where = self.get_base_url()
            models = self.list_models()
            if self.http.anonymous:
                return True, (
                    f"Connected to OVHcloud AI Endpoints at {where} without an API key: the connection is "
                    f"anonymous, so calls are rate-limited by OVHcloud ({ANONYMOUS_REQUESTS_PER_MINUTE} requests "
                    f"per minute per IP and model); {len(models)} models available. To lift the limit, put an API "
                    f"key in the connection's 'API key' field; {KEY_HOWTO}."
                )
            model = self.test_model(models)
            if model is None:
                return False, (
                    f"The API key was not checked: OVHcloud AI Endpoints at {where} lists no chat model to send "
                    "the 1-token test call to. Set the connection's extra 'test_model' to a chat model id."
                )
            self._complete(model, [{"role": "user", "content": "ping"}], max_tokens=1)
        except OVHCloudAIError as exc:
            return False, self._test_failure(exc)
        except Exception as exc:  # the UI wants a message, not a traceback
            return False, str(exc)
        return True, (
            f"Connected to OVHcloud AI Endpoints at {where}: the API key works (a 1-token chat completion on "
            f"{model}); {len(models)} models available."
        )

    def test_model(self, models: Sequence[str]) -> str | None:
        """The Test button's model: extra ``test_model``, else a small documented one, else the first chat model."""
        chosen = self.extra_value("test_model")
        if isinstance(chosen, str) and chosen.strip():
            return chosen.strip()
        if TEST_CHAT_MODEL in models:
            return TEST_CHAT_MODEL
        return next((m for m in models if not any(part in m.lower() for part in _NOT_CHAT)), None)

    def _test_failure(self, exc: OVHCloudAIError) -> str:
        # No connection id here: the UI's Test button runs the hook on a transient copy with a random id.
        if exc.http_status in (401, 403) and not self.http.anonymous:
            said = f" The service said: {exc.service_message}" if exc.service_message else ""
            return (
                f"OVHcloud AI Endpoints refused the API key (HTTP {exc.http_status}): it is wrong, expired or "
                f"revoked. Paste it again in the connection's 'API key' field, or {KEY_HOWTO}.{said}"
            )
        if exc.http_status in (400, 404, 422):
            return (
                "The API key was not checked: the 1-token test call was refused for another reason than the key. "
                f"Set the connection's extra 'test_model' to a chat model id. {exc}"
            )
        return str(exc)

    def _unexpected(self, what: str, value: Any, client: Any = None) -> OVHCloudAIRequestError:
        """The error for an answer of the wrong shape; ``client``: the async one, in a trigger."""
        rules = self.http if client is None else client
        return rules.unexpected_answer(what, value, "an OpenAI-compatible endpoint")

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


def _check_model(model: Any) -> None:
    if not isinstance(model, str) or not model.strip():
        raise OVHCloudAIInvalidInputError(
            f"Invalid request to OVHcloud AI Endpoints: 'model' must be a non-empty model name, got {shown(model)}."
        )


def _check_messages(messages: Any) -> None:
    prefix = "Invalid chat request to OVHcloud AI Endpoints"
    if isinstance(messages, (str, bytes, dict)) or not isinstance(messages, Sequence) or not messages:
        raise OVHCloudAIInvalidInputError(
            f"{prefix}: 'messages' must be a non-empty list of message dicts such as "
            f"{{'role': 'user', 'content': '...'}}, got {type(messages).__name__} {shown(messages, 100)}."
        )
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise OVHCloudAIInvalidInputError(
                f"{prefix}: messages[{i}] must be a dict, got {type(message).__name__} {shown(message, 100)}."
            )
        role = message.get("role")
        if not isinstance(role, str) or not role:
            raise OVHCloudAIInvalidInputError(
                f"{prefix}: messages[{i}] has no 'role' (expected 'system', 'user', 'assistant' or 'tool')."
            )
        content = message.get("content")
        if isinstance(content, str):
            continue
        if isinstance(content, list):
            _check_content_parts(i, content)
            continue
        if content is None and message.get("tool_calls"):
            continue
        raise OVHCloudAIInvalidInputError(
            f"{prefix}: messages[{i}] (role {shown(role)}) needs a 'content' string or list of parts"
            + (", or 'tool_calls'" if role == "assistant" else "")
            + f"; got content {shown(content, 100)}."
        )


def _check_content_parts(i: int, parts: list[Any]) -> None:
    for j, part in enumerate(parts):
        if isinstance(part, dict) and isinstance(part.get("type"), str) and part["type"]:
            continue
        hint = (
            " (for an image, send {'type': 'image_url', 'image_url': {'url': 'data:image/png;base64,...'}})"
            if isinstance(part, (bytes, bytearray))
            else ""
        )
        raise OVHCloudAIInvalidInputError(
            f"Invalid chat request to OVHcloud AI Endpoints: messages[{i}].content[{j}] must be a content part dict "
            f"with a 'type', such as {{'type': 'text', 'text': '...'}}{hint}; got {type(part).__name__} {shown(part)}."
        )


def _is_vector(value: Any, base64_ok: bool) -> bool:
    """A non-empty list of finite numbers (a string with ``encoding_format="base64"``); bools are not numbers."""
    if isinstance(value, str):
        return base64_ok and bool(value)
    if not isinstance(value, list) or not value or not set(map(type, value)) <= {float, int}:
        return False
    try:
        return math.isfinite(sum(value))
    except OverflowError:  # ints too large for a float
        return False


def _check_texts(texts: Any) -> None:
    prefix = "Invalid embedding request to OVHcloud AI Endpoints"
    if isinstance(texts, str):
        if not texts.strip():
            raise OVHCloudAIInvalidInputError(f"{prefix}: 'input' is an empty string.")
        return
    if isinstance(texts, (bytes, dict)) or not isinstance(texts, Sequence) or not texts:
        raise OVHCloudAIInvalidInputError(
            f"{prefix}: 'input' must be a string or a non-empty list of strings, "
            f"got {type(texts).__name__} {shown(texts, 100)}."
        )
    bad = [i for i, text in enumerate(texts) if not isinstance(text, str) or not text.strip()]
    if bad:
        positions = ", ".join(str(i) for i in bad[:20]) + (" ..." if len(bad) > 20 else "")
        raise OVHCloudAIInvalidInputError(
            f"{prefix}: inputs at positions {positions} are not non-empty strings "
            f"(e.g. {shown(texts[bad[0]])}); every input must be a non-empty string."
        )


def assemble_chat_stream(chunks: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Fold streamed chunks into the ``chat.completion`` dict a non-streamed call would return.

    Content and reasoning deltas are concatenated, tool-call fragments are joined by their
    ``index``, and the usage chunk (sent with ``stream_options.include_usage``) is kept. A chunk
    of another shape (``choices`` not a list, a ``delta`` or tool call that is not an object, an
    ``index`` that is not an integer) raises :class:`~airflow_ovhcloud.exceptions.OVHCloudAIStreamError`.
    """
    result: dict[str, Any] = {"id": None, "object": "chat.completion", "created": None, "model": None}
    choices: dict[int, dict[str, Any]] = {}
    usage: Any = None
    for number, chunk in enumerate(chunks, start=1):
        if not isinstance(chunk, Mapping):
            raise _bad_chunk(number, "the chunk", chunk, "an object")
        for key in ("id", "created", "model", "system_fingerprint"):
            if result.get(key) is None and chunk.get(key) is not None:
                result[key] = chunk[key]
        if chunk.get("usage"):
            usage = chunk["usage"]
        for where, choice in _stream_list(number, "choices", chunk.get("choices")):
            state = choices.setdefault(
                _stream_index(number, where, choice),
                {"role": None, "content": [], "reasoning": [], "tools": {}, "finish_reason": None},
            )
            delta = _stream_object(number, f"{where}.delta", choice.get("delta"))
            if state["role"] is None and isinstance(delta.get("role"), str):
                state["role"] = delta["role"]
            if isinstance(delta.get("content"), str):
                state["content"].append(delta["content"])
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str):
                state["reasoning"].append(reasoning)
            for call_where, call in _stream_list(number, f"{where}.delta.tool_calls", delta.get("tool_calls")):
                slot = state["tools"].setdefault(
                    _stream_index(number, call_where, call),
                    {"id": None, "type": "function", "name": [], "arguments": []},
                )
                slot["id"] = slot["id"] or call.get("id")
                slot["type"] = call.get("type") or slot["type"]
                function = _stream_object(number, f"{call_where}.function", call.get("function"))
                for part in ("name", "arguments"):
                    piece = function.get(part)
                    if piece in (None, ""):
                        continue
                    if not isinstance(piece, str):
                        raise _bad_chunk(number, f"{call_where}.function.{part}", piece, "a string")
                    slot[part].append(piece)
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


_JSON_KINDS = {
    type(None): "null",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    str: "a string",
    list: "a list",
    dict: "an object",
}


def _bad_chunk(number: int, where: str, value: Any, expected: str) -> OVHCloudAIStreamError:
    """A chunk not in the ``chat.completion.chunk`` shape; the message names types only, never the chunk."""
    got = _JSON_KINDS.get(type(value), f"a {type(value).__name__}")
    return OVHCloudAIStreamError(
        f"Request to OVHcloud AI Endpoints failed: streamed chunk {number} is not an OpenAI chat.completion.chunk: "
        f"{where} is {got}, not {expected}. The answer cannot be assembled; check that the connection points at "
        "an OpenAI-compatible endpoint. A retry may succeed."
    )


def _stream_object(number: int, where: str, value: Any) -> Mapping[str, Any]:
    """An object of a chunk (``delta``, ``function``); a missing or null one is empty."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _bad_chunk(number, where, value, "an object")
    return value


def _stream_list(number: int, where: str, value: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The objects of a list of a chunk (``choices``, ``tool_calls``), each with its place for messages."""
    if value is None:
        return
    if not isinstance(value, list):
        raise _bad_chunk(number, where, value, "a list")
    for position, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise _bad_chunk(number, f"{where}[{position}]", item, "an object")
        yield f"{where}[{position}]", item


def _stream_index(number: int, where: str, item: Mapping[str, Any]) -> int:
    index = item.get("index", 0)
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise _bad_chunk(number, f"{where}.index", index, "an integer ≥ 0")
    return index


# --------------------------------------------------------------------------- Batch API uploads


class _Counter:
    """Lines passed through, counted (``run_batch`` learns how many requests it sent)."""

    def __init__(self, lines: Iterable[bytes]) -> None:
        self.lines = lines
        self.count = 0

    def __iter__(self) -> Iterator[bytes]:
        for line in self.lines:
            self.count += 1
            yield line


@contextmanager
def _upload_source(file: Any, filename: str | None) -> Iterator[tuple[Any, int, str]]:
    """``(source, size, name)``: bytes, an open file of a path, or a temporary file the lines were written to."""
    if isinstance(file, (bytes, bytearray, memoryview)):
        yield bytes(file), len(file), filename or "batch.jsonl"
        return
    if isinstance(file, (str, os.PathLike)):
        path = os.fspath(file)
        if not os.path.isfile(path):
            raise OVHCloudAIInvalidInputError(f"upload_file: {shown(path)} is not a file.")
        with open(path, "rb") as handle:
            yield handle, os.path.getsize(path), filename or os.path.basename(path)
        return
    if isinstance(file, io.BufferedIOBase) or (hasattr(file, "read") and hasattr(file, "seek")):
        if isinstance(file, io.TextIOBase):
            raise OVHCloudAIInvalidInputError("upload_file: open the file in binary mode ('rb'), not text mode.")
        size = file.seek(0, os.SEEK_END)
        name = getattr(file, "name", None)  # an int (a descriptor) for a temporary file
        yield file, size, filename or (os.path.basename(name) if isinstance(name, str) else "") or "batch.jsonl"
        return
    if isinstance(file, Mapping) or not isinstance(file, Iterable):
        raise OVHCloudAIInvalidInputError(
            f"upload_file takes a path, bytes or an iterable of lines, got {type(file).__name__}."
        )
    with tempfile.TemporaryFile(prefix="ovh-batch-") as spool:
        for position, piece in enumerate(file):
            if isinstance(piece, str):
                spool.write(piece.encode("utf-8"))
                if not piece.endswith("\n"):
                    spool.write(b"\n")
            elif isinstance(piece, (bytes, bytearray, memoryview)):
                spool.write(piece)
            else:
                raise OVHCloudAIInvalidInputError(
                    f"upload_file: piece {position} is {type(piece).__name__}, not a str line or bytes."
                )
        size = spool.tell()
        yield spool, size, filename or "batch.jsonl"


class _MultipartBody:
    """A ``multipart/form-data`` body streamed from its source, with a known length.

    ``requests`` sends an iterable with ``__len__`` with a ``Content-Length`` (no chunked
    encoding), and iterates it again if urllib3 resends the request.
    """

    CHUNK = 1 << 20

    def __init__(self, fields: Mapping[str, str], filename: str, source: Any, size: int) -> None:
        boundary = uuid.uuid4().hex
        self.content_type = f"multipart/form-data; boundary={boundary}"
        safe_name = filename.replace('"', "").replace("\r", "").replace("\n", "")
        self.head = (
            b"".join(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
                for name, value in fields.items()
            )
            + (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{safe_name}"\r\n'
                "Content-Type: application/jsonl\r\n\r\n"
            ).encode()
        )
        self.tail = f"\r\n--{boundary}--\r\n".encode()
        self.source = source
        self.size = size

    def __len__(self) -> int:
        return len(self.head) + self.size + len(self.tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        if isinstance(self.source, bytes):
            yield self.source
        else:
            self.source.seek(0)
            while True:
                chunk = self.source.read(self.CHUNK)
                if not chunk:
                    break
                yield chunk
        yield self.tail
