"""The one HTTP core both hooks use, on ``requests``: session, headers, timeouts, retries.

Everything that talks to an OVHcloud service from a worker goes through :class:`OVHCloudHTTPClient`.
The rules (what is retried, how long a retry waits, what every error says, redaction) live in
:mod:`airflow_ovhcloud._http_rules`, shared with the async client triggers use
(:mod:`airflow_ovhcloud._async_http`). Retries are urllib3's ``Retry`` mounted on the session's
adapter (no hand-written loop); the subclass below asks the shared rules what to resend and how
long to wait, logs each retry and caps the total time spent waiting.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from itertools import takewhile
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError as Urllib3HTTPError
from urllib3.exceptions import MaxRetryError, NewConnectionError, ResponseError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

from airflow_ovhcloud._http_rules import (
    DEFAULT_BACKOFF_FACTOR,
    DEFAULT_MAX_RETRIES,
    DEFAULT_STREAM_TIMEOUT,
    MAX_SERVICE_MESSAGE,
    MIN_SECRET_LENGTH,
    REFUSED_STATUSES,
    RETRY_STATUSES,
    USER_AGENT,
    HTTPRules,
    backoff_seconds,
    base_url_from_connection,
    budget_spent_reason,
    choose_wait,
    describe_network_error,
    innermost,
    log_retry,
    may_resend,
    over_budget,
    parse_retry_after,
    path_of,
    redact_secrets,
    service_message_of,
)
from airflow_ovhcloud._http_rules import MAX_TOTAL_WAIT as MAX_TOTAL_WAIT
from airflow_ovhcloud._http_rules import MAX_WAIT_PER_RETRY as MAX_WAIT_PER_RETRY
from airflow_ovhcloud.exceptions import OVHCloudAIRequestError

if TYPE_CHECKING:
    from urllib3.connectionpool import ConnectionPool
    from urllib3.response import BaseHTTPResponse

__all__ = [
    "DEFAULT_BACKOFF_FACTOR",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_STREAM_TIMEOUT",
    "MAX_SERVICE_MESSAGE",
    "MAX_TOTAL_WAIT",
    "MAX_WAIT_PER_RETRY",
    "MIN_SECRET_LENGTH",
    "POOL_SIZE",
    "RETRY_STATUSES",
    "USER_AGENT",
    "OVHCloudHTTPClient",
    "base_url_from_connection",
    "redact_secrets",
    "service_message_of",
]

#: Connections kept per host: the most requests one hook sends at once (embedding batches).
POOL_SIZE = 32


class _LoggingRetry(Retry):
    """urllib3 ``Retry`` that says why and how long it waits, and caps the waiting.

    urllib3 waits 0 s before the first retry; a rate-limited or overloaded service needs a pause
    then too, so the backoff here is ``factor * 2**(n-1)`` plus jitter from the first retry on.
    """

    RETRY_AFTER_STATUS_CODES = REFUSED_STATUSES

    def __init__(
        self,
        *args: Any,
        label: str = "OVHcloud AI",
        logger: Any = None,
        waited: float = 0.0,
        next_wait: float = 0.0,
        unsafe_posts: frozenset[str] = frozenset(),
        on_rate_limited: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.on_rate_limited = on_rate_limited
        self.label = label
        self.logger = logger or logging.getLogger(__name__)
        self.waited = waited
        self.next_wait = next_wait
        self.unsafe_posts = unsafe_posts

    def new(self, **kw: Any) -> _LoggingRetry:
        kw.setdefault("label", self.label)
        kw.setdefault("logger", self.logger)
        kw.setdefault("waited", self.waited)
        kw.setdefault("next_wait", 0.0)
        kw.setdefault("unsafe_posts", self.unsafe_posts)
        kw.setdefault("on_rate_limited", self.on_rate_limited)
        return super().new(**kw)

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        """The shared ``Retry-After`` reading: one that is neither seconds nor an HTTP date is ignored."""
        return parse_retry_after(response.headers.get("Retry-After"))

    def get_backoff_time(self) -> float:
        errors = len(list(takewhile(lambda h: h.redirect_location is None, reversed(self.history))))
        return backoff_seconds(
            errors, self.backoff_factor, self.backoff_jitter, min(self.backoff_max, MAX_WAIT_PER_RETRY)
        )

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: Any = None,
    ) -> _LoggingRetry:
        status = response.status if response is not None else None
        if not may_resend(method, path_of(url), self.unsafe_posts, status if status in RETRY_STATUSES else None):
            # Not resent after an ambiguous failure (see the shared rule); the operator's reattach covers it.
            raise MaxRetryError(_pool, url or "", error or ResponseError(f"HTTP {status}"))  # type: ignore[arg-type]
        if status == 429 and self.on_rate_limited is not None:
            self.on_rate_limited()
        new: _LoggingRetry = super().increment(method, url, response, error, _pool, _stacktrace)
        retry_after = new.get_retry_after(response) if response is not None else None
        wait, why_wait = choose_wait(retry_after, new.get_backoff_time(), MAX_WAIT_PER_RETRY)
        if over_budget(self.waited, wait, MAX_TOTAL_WAIT):
            reason = error or ResponseError(budget_spent_reason(MAX_TOTAL_WAIT))
            raise MaxRetryError(_pool, url or "", reason)  # type: ignore[arg-type]
        new.waited = self.waited + wait
        new.next_wait = wait
        why = f"HTTP {status}" if response is not None else describe_network_error(error)
        attempt = len(new.history)
        retries = attempt + (new.total if isinstance(new.total, int) else 0)
        log_retry(self.logger, self.label, method, path_of(url), why, attempt, retries, wait, why_wait)
        return new

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        if self.next_wait > 0:
            time.sleep(self.next_wait)


_path_of = path_of
_innermost = innermost
_describe_network_error = describe_network_error


class _DropUrllib3RetryWarning(logging.Filter):
    """urllib3 logs its own line for every retry after a network error; ours already said it."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not any(isinstance(arg, _LoggingRetry) for arg in args)


logging.getLogger("urllib3.connectionpool").addFilter(_DropUrllib3RetryWarning())


class OVHCloudHTTPClient(HTTPRules):
    """A pooled, retrying, error-mapping HTTP client for one OVHcloud service and one connection.

    :param service: the service's display name, e.g. ``"AI Endpoints"``; it starts every error.
    :param token: the bearer token; empty means anonymous calls (no ``Authorization`` header), which
        only AI Endpoints' chat, embeddings and models accept.
    :param token_hint: what to check when the service answers 401/403.
    :param anonymous_hint: how to add a key, said when an anonymous call is refused (401/403) or
        rate-limited (429).
    :param missing_token_message: the error of a request that needs the token (``require_key``)
        when there is none.
    :param unsafe_posts: paths whose POST creates something; they are retried only when refused.

    Settings, redaction and every error message come from :class:`~airflow_ovhcloud._http_rules.HTTPRules`,
    shared with the async client; this class adds the ``requests`` session and urllib3 retries.
    """

    _session: requests.Session | None = None

    def __repr__(self) -> str:
        return f"<OVHCloudHTTPClient {self.service} {self.base_url} conn_id={self.conn_id!r}>"

    @property
    def session(self) -> requests.Session:
        """The one session of this client, built on first use and reused for connection pooling."""
        if self._session is None:
            retry = _LoggingRetry(
                total=self.max_retries,
                connect=None,
                read=None,
                status=None,
                other=None,
                redirect=False,
                allowed_methods=None,
                status_forcelist=RETRY_STATUSES,
                backoff_factor=self.backoff_factor,
                backoff_jitter=self.backoff_factor,
                backoff_max=MAX_WAIT_PER_RETRY,
                raise_on_status=False,
                respect_retry_after_header=True,
                label=self.label,
                logger=self.log,
                unsafe_posts=self.unsafe_posts,
                on_rate_limited=self._rate_limited,
            )
            session = requests.Session()
            # Enough pooled connections for the embedding batches a hook may send concurrently.
            adapter = HTTPAdapter(max_retries=retry, pool_maxsize=POOL_SIZE)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers.update(self.headers())  # anonymous calls carry no Authorization header at all
            self._session = session
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        stream: bool = False,
        accept: str = "application/json",
        not_found_hint: str | None = None,
        secrets: Iterable[str] = (),
        require_key: bool = False,
        body: Any = None,
        content_type: str | None = None,
    ) -> requests.Response:
        """Send one request (with retries) and return the successful response, or raise mapped.

        A plain answer's body is read here and must be complete within ``timeout`` seconds of its
        headers (a body that trickles in cannot hold the task forever); a streamed one is read by
        :meth:`stream_lines`, within ``stream_timeout``. ``secrets`` (job env values) are hidden
        from every message this client builds from then on. ``require_key``: a route the service
        never serves anonymously (AI Endpoints' Batch and Files routes); without a token the
        documented "not found" error is raised before anything is sent. ``body`` (instead of
        ``json_body``) is sent as it is, with ``content_type``: bytes, or a re-iterable object with
        ``__len__`` whose bytes are streamed with a ``Content-Length`` (a Batch API upload).
        """
        url, path, data, unsafe = self.prepare(method, path, json_body, secrets, require_key)
        if body is not None:
            data = body
        headers = {"Accept": accept}
        if content_type is not None:
            headers["Content-Type"] = content_type
        try:
            response = self.session.request(
                method,
                url,
                data=data,
                params=params,
                stream=True,
                timeout=self.timeout,
                headers=headers,
            )
        except requests.RequestException as exc:
            raise self.network_error(method, path, exc, not_resent=unsafe) from None
        if response.status_code >= 400:
            try:
                body = self._read_body(response, method, path)
            except OVHCloudAIRequestError:
                body = b""
            raise self.error_for_status(method, path, response.status_code, body, not_found_hint, not_resent=unsafe)
        if not stream:
            # What requests' Response.content does, with a deadline: .content/.json()/.text then work.
            response._content = self._read_body(response, method, path)
        return response

    def _read_body(self, response: requests.Response, method: str, path: str) -> bytes:
        deadline = time.monotonic() + self.timeout
        chunks: list[bytes] = []
        try:
            for chunk in self._chunks(response):
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise self.deadline_error(method, path, self.timeout, "the answer")
        finally:
            response.close()
        return b"".join(chunks)

    def _chunks(self, response: requests.Response) -> Iterator[bytes]:
        """The body's bytes as they arrive (``read1``: whatever is there, never waiting for a full block)."""
        raw = response.raw
        try:
            while True:
                chunk = raw.read1(65536)
                if not chunk:
                    return
                yield chunk
        except (Urllib3HTTPError, requests.RequestException, OSError) as exc:
            raise self.network_error(
                response.request.method or "GET", urlsplit(response.url).path, exc, during_stream=True
            ) from None

    def request_json(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        not_found_hint: str | None = None,
        secrets: Iterable[str] = (),
        require_key: bool = False,
    ) -> Any:
        """Send a request and decode its JSON answer (``None`` for an empty answer such as 204)."""
        response = self.request(
            method,
            path,
            json_body=json_body,
            params=params,
            not_found_hint=not_found_hint,
            secrets=secrets,
            require_key=require_key,
        )
        return self.decode_json(method, path, response.status_code, response.content)

    def request_text(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        not_found_hint: str | None = None,
        require_key: bool = False,
    ) -> str:
        """Send a request whose answer is plain text (job logs)."""
        response = self.request(
            method,
            path,
            params=params,
            accept="text/plain, */*",
            not_found_hint=not_found_hint,
            require_key=require_key,
        )
        return response.content.decode(response.encoding or "utf-8", "replace")

    def stream_lines(self, response: requests.Response, stream_timeout: float | None = None) -> Iterator[bytes]:
        """Yield a streamed response's lines as the bytes arrive, until ``stream_timeout`` runs out."""
        limit = self.stream_timeout if stream_timeout is None else stream_timeout
        deadline = time.monotonic() + limit
        method, path = response.request.method or "POST", urlsplit(response.url).path
        buffer = b""
        try:
            for chunk in self._chunks(response):
                if time.monotonic() > deadline:
                    raise self.deadline_error(method, path, limit, "the streamed answer")
                buffer += chunk
                if b"\n" not in chunk:
                    continue
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    yield line.rstrip(b"\r")
        finally:
            response.close()
        if buffer:
            yield buffer.rstrip(b"\r")

    def network_error_kind(self, exc: BaseException) -> str:
        """How requests and urllib3 say "could not connect" and "timed out"."""
        inner = innermost(exc)
        if isinstance(inner, (NewConnectionError, ConnectionRefusedError)):  # urllib3 calls it a timeout too
            return "connect"
        if isinstance(exc, requests.Timeout) or isinstance(inner, (TimeoutError, Urllib3Timeout)):
            return "timeout"
        return "other"
