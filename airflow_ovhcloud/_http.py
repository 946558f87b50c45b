"""The one HTTP core both hooks use: session, headers, timeouts, retries, error mapping, masking.

Everything that talks to an OVHcloud service goes through :class:`OVHCloudHTTPClient`, so a retry
rule, a header or an error message is written once. Retries are urllib3's ``Retry`` mounted on the
session's adapter (no hand-written loop); the subclass below only adds a per-retry log line and a
cap on the total time spent waiting.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from http import HTTPStatus
from itertools import takewhile
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError as Urllib3HTTPError
from urllib3.exceptions import InvalidHeader, MaxRetryError, NewConnectionError, ResponseError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

from airflow_ovhcloud import __version__
from airflow_ovhcloud.constants import ANONYMOUS_REQUESTS_PER_MINUTE
from airflow_ovhcloud.exceptions import (
    PERMANENT_STATUSES,
    OVHCloudAIClientError,
    OVHCloudAIConfigurationError,
    OVHCloudAIInvalidInputError,
    OVHCloudAIRequestError,
)

if TYPE_CHECKING:
    from urllib3.connectionpool import ConnectionPool
    from urllib3.response import BaseHTTPResponse

USER_AGENT = f"airflow-ovhcloud/{__version__}"

#: Statuses worth retrying: timeouts, conflicts, rate limits and transient server errors.
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
DEFAULT_MAX_RETRIES = 3
DEFAULT_BACKOFF_FACTOR = 1.0
#: No single wait (backoff or Retry-After) lasts longer than this many seconds.
MAX_WAIT_PER_RETRY = 60.0
#: All waits of one request together never exceed this many seconds.
MAX_TOTAL_WAIT = 300.0
#: Connections kept per host: the most requests one hook sends at once (embedding batches).
POOL_SIZE = 32
#: How much of a service's error body goes into an exception message.
MAX_SERVICE_MESSAGE = 500
#: Seconds a streamed answer may take from its first byte to ``[DONE]`` unless the connection says otherwise.
DEFAULT_STREAM_TIMEOUT = 600.0
#: Secrets shorter than this are not redacted from messages (they would blank out ordinary words);
#: Airflow's own masker draws the line at 5.
MIN_SECRET_LENGTH = 4

_LOOPBACK_HOSTS = ("localhost", "127.", "[::1]", "::1")


class _LoggingRetry(Retry):
    """urllib3 ``Retry`` that says why and how long it waits, and caps the waiting.

    urllib3 waits 0 s before the first retry; a rate-limited or overloaded service needs a pause
    then too, so the backoff here is ``factor * 2**(n-1)`` plus jitter from the first retry on.
    """

    RETRY_AFTER_STATUS_CODES = frozenset({429, 503})

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
        """A ``Retry-After`` that is neither seconds nor an HTTP date is ignored: plain backoff applies."""
        try:
            return super().get_retry_after(response)
        except InvalidHeader:
            return None

    def get_backoff_time(self) -> float:
        errors = len(list(takewhile(lambda h: h.redirect_location is None, reversed(self.history))))
        if errors == 0:
            return 0.0
        value = self.backoff_factor * (2 ** (errors - 1)) + random.uniform(0, self.backoff_jitter)
        return float(min(self.backoff_max, value))

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: Any = None,
    ) -> _LoggingRetry:
        if method == "POST" and _path_of(url) in self.unsafe_posts:
            # A POST that creates something (a training job) may have been carried out before the
            # answer was lost: resending it could create a second one. Only answers that say the
            # request was refused (429, 503) are safe to retry; the operator's reattach covers the rest.
            refused = response is not None and response.status in self.RETRY_AFTER_STATUS_CODES
            if not refused:
                raise MaxRetryError(_pool, url or "", error or ResponseError(f"HTTP {response and response.status}"))  # type: ignore[arg-type]
        if response is not None and response.status == 429 and self.on_rate_limited is not None:
            self.on_rate_limited()
        new: _LoggingRetry = super().increment(method, url, response, error, _pool, _stacktrace)
        retry_after = new.get_retry_after(response) if response is not None else None
        if retry_after is not None:
            wait, why_wait = min(retry_after, MAX_WAIT_PER_RETRY), "as Retry-After asks"
        else:
            wait, why_wait = new.get_backoff_time(), "backoff"
        if self.waited + wait > MAX_TOTAL_WAIT:
            reason = error or ResponseError(f"too many retries (waiting budget of {MAX_TOTAL_WAIT:.0f} s spent)")
            raise MaxRetryError(_pool, url or "", reason)  # type: ignore[arg-type]
        new.waited = self.waited + wait
        new.next_wait = wait
        why = f"HTTP {response.status}" if response is not None else _describe_network_error(error)
        attempt = len(new.history)
        self.logger.warning(
            "%s: %s %s failed (%s); retry %d of %s in %.2f s (%s).",
            self.label,
            method,
            _path_of(url),
            why,
            attempt,
            attempt + (new.total if isinstance(new.total, int) else 0),
            wait,
            why_wait,
        )
        return new

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        if self.next_wait > 0:
            time.sleep(self.next_wait)


def _path_of(url: str | None) -> str:
    if not url:
        return ""
    return urlsplit(url).path or url


def _innermost(error: BaseException | None) -> BaseException | None:
    """Unwrap urllib3/requests' nested wrappers down to the error that really happened."""
    for _ in range(10):
        if error is None:
            break
        inner = getattr(error, "reason", None) or getattr(error, "original_error", None)
        if not isinstance(inner, BaseException):
            inner = next((arg for arg in error.args if isinstance(arg, BaseException)), None)
        if inner is None or inner is error:
            break
        error = inner
    return error


def _describe_network_error(error: BaseException | None) -> str:
    error = _innermost(error)
    if error is None:
        return "network error"
    text = str(error)
    # urllib3 prefixes some messages with the connection object's repr; keep what follows.
    if ">: " in text:
        text = text.split(">: ", 1)[1]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class _DropUrllib3RetryWarning(logging.Filter):
    """urllib3 logs its own line for every retry after a network error; ours already said it."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not any(isinstance(arg, _LoggingRetry) for arg in args)


logging.getLogger("urllib3.connectionpool").addFilter(_DropUrllib3RetryWarning())


def service_message_of(body: bytes | str | None, limit: int | None = MAX_SERVICE_MESSAGE) -> str:
    """Extract the service's own message from an error body in any of the shapes it uses (``limit`` characters)."""
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = text.strip()
    if not text:
        return ""
    try:
        data = json.loads(text)
    except ValueError:
        return text[:limit]
    message: Any = None
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            message = err.get("message") or err.get("detail")
        elif isinstance(err, str):
            message = err
        message = message or data.get("message") or data.get("detail")
    if message is None:
        message = text
    if not isinstance(message, str):
        message = json.dumps(message)
    return message[:limit]


def redact_secrets(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each secret replaced by ``***``: raw, JSON-escaped, ``repr``-escaped, percent-encoded."""
    forms: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        forms.update(
            {
                secret,
                json.dumps(secret)[1:-1],
                json.dumps(secret, ensure_ascii=False)[1:-1],
                repr(secret)[1:-1],
                repr(secret.encode("utf-8", "backslashreplace"))[2:-1],
                quote(secret, safe=""),
            }
        )
    for form in sorted((f for f in forms if f), key=len, reverse=True):
        text = text.replace(form, "***")
    return text


def base_url_from_connection(
    host: str | None,
    port: int | None,
    schema: str | None,
    *,
    default: str,
    default_path: str = "",
    strip_path: str = "",
    conn_id: str = "",
) -> str:
    """Return the base URL a connection asks for, or ``default`` when it names no host.

    ``host`` may be a full URL (``http://127.0.0.1:8080/v1``) or a bare host name; a bare
    loopback host gets ``http``, any other ``https``. ``port`` and ``schema`` (the path part of a
    connection URI) fill in what the host leaves out. A host that is not http(s), has a bad port
    or IPv6 literal, or carries credentials is a configuration error (credentials never shown).
    """
    if not host:
        return default.rstrip("/")
    where = f"connection '{conn_id}'" if conn_id else "the connection"
    if not isinstance(host, str) or any(c.isspace() for c in host.strip()):
        raise OVHCloudAIConfigurationError(f"The host of {where} must be a URL or a host name without spaces.")
    host = host.strip()
    if "://" not in host:
        scheme = "http" if host.startswith(_LOOPBACK_HOSTS) else "https"
        host = f"{scheme}://{host}"
    try:
        parts = urlsplit(host)
        host_port = parts.port
        hostname = parts.hostname
    except ValueError as exc:  # a non-numeric or out-of-range port, a broken IPv6 literal
        raise OVHCloudAIConfigurationError(
            f"The host of {where} is not a valid URL ({_without_userinfo(str(exc))}): use "
            "https://host[:port][/path], with an IPv6 address in brackets."
        ) from None
    if parts.username is not None or parts.password is not None:
        raise OVHCloudAIConfigurationError(
            f"The host of {where} carries credentials (user:password@...): remove them from the host; the "
            "API key or token goes in the connection's 'API key' / 'AI Training token' field ('Password' in a "
            "generic connection)."
        )
    if parts.scheme not in ("http", "https"):
        raise OVHCloudAIConfigurationError(
            f"The host of {where} uses the scheme {parts.scheme[:20]!r}: only http:// and https:// are supported."
        )
    if not hostname:
        raise OVHCloudAIConfigurationError(f"The host of {where} names no host: use https://host[:port][/path].")
    netloc = parts.netloc
    if port and host_port is None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise OVHCloudAIConfigurationError(f"The port of {where} must be 1-65535, got {str(port)[:20]!r}.")
        netloc = f"{netloc}:{port}"
    path = parts.path.rstrip("/")
    if not path and schema:
        path = "/" + schema.strip("/")
    if strip_path and path.endswith(strip_path):
        path = path[: -len(strip_path)]
    if not path and default_path:
        path = default_path
    return urlunsplit((parts.scheme, netloc, path, "", ""))


def _without_userinfo(text: str) -> str:
    return re.sub(r"//[^/@\s]*@", "//", text)


class OVHCloudHTTPClient:
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
    """

    def __init__(
        self,
        *,
        service: str,
        base_url: str,
        token: str,
        conn_id: str,
        timeout: float,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff_factor: float = DEFAULT_BACKOFF_FACTOR,
        token_hint: str | None = None,
        logger: Any = None,
        unsafe_posts: frozenset[str] = frozenset(),
        stream_timeout: float = DEFAULT_STREAM_TIMEOUT,
        anonymous_hint: str | None = None,
        missing_token_message: str | None = None,
    ) -> None:
        if max_retries < 0:
            raise OVHCloudAIConfigurationError(f"max_retries must be 0 or more, got {max_retries}.")
        if timeout <= 0:
            raise OVHCloudAIConfigurationError(f"timeout must be a positive number of seconds, got {timeout}.")
        self.service = service
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.conn_id = conn_id
        self.timeout = timeout
        self.stream_timeout = stream_timeout
        self.max_retries = max_retries
        self.backoff_factor = backoff_factor
        self.token_hint = token_hint or f"the token of Airflow connection '{conn_id}'"
        self.anonymous_hint = anonymous_hint or f"put the token in Airflow connection '{conn_id}'"
        self.missing_token_message = missing_token_message or (
            f"OVHcloud {service}: this request needs a token and connection '{conn_id}' has none."
        )
        self.log = logger or logging.getLogger(__name__)
        self.unsafe_posts = frozenset(urlsplit(self.url(p)).path for p in unsafe_posts)
        self._session: requests.Session | None = None
        self._secrets: set[str] = set()
        #: Told of every 429 the service answers, retried or not (a client-side rate limiter slows down).
        self.rate_limit_listeners: list[Any] = []

    def __repr__(self) -> str:
        return f"<OVHCloudHTTPClient {self.service} {self.base_url} conn_id={self.conn_id!r}>"

    @property
    def anonymous(self) -> bool:
        """True when this client sends no ``Authorization`` header (the connection has no key)."""
        return not self._token

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
                label=f"OVHcloud {self.service}",
                logger=self.log,
                unsafe_posts=self.unsafe_posts,
                on_rate_limited=self._rate_limited,
            )
            session = requests.Session()
            # Enough pooled connections for the embedding batches a hook may send concurrently.
            adapter = HTTPAdapter(max_retries=retry, pool_maxsize=POOL_SIZE)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers.update(
                {"User-Agent": USER_AGENT, "Content-Type": "application/json", "Accept": "application/json"}
            )
            if self._token:  # anonymous calls carry no Authorization header at all
                session.headers["Authorization"] = f"Bearer {self._token}"
            self._session = session
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _rate_limited(self) -> None:
        for listener in list(self.rate_limit_listeners):
            listener()

    def add_secrets(self, values: Iterable[str]) -> None:
        """Values this client sent (job env values) that no message may repeat; ``redact`` hides them."""
        self._secrets.update(v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_LENGTH)

    def redact(self, text: str) -> str:
        """The one redaction step: every message built from a service's or network's answer passes here.

        Hides the token and the secrets this client sent, raw and in the escaped forms an echo may
        carry them in (JSON, Python ``repr``, percent-encoding).
        """
        return redact_secrets(text, [self._token, *self._secrets])

    def clip(self, value: Any, limit: int = 200) -> str:
        """At most ``limit`` characters of a value from the network, redacted before it is cut."""
        if isinstance(value, (bytes, bytearray)):
            value = bytes(value[: limit * 8 + 4096]).decode("utf-8", "replace")
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        slack = 8 * max((len(s) for s in (self._token, *self._secrets)), default=0) + 16
        return self.redact(text[: limit + slack])[:limit]

    def unexpected_answer(self, what: str, value: Any, expected: str) -> OVHCloudAIRequestError:
        """The error for a 2xx answer whose shape is not what the service documents."""
        snippet = self.clip(value)
        return OVHCloudAIRequestError(
            f"Request to OVHcloud {self.service} failed: unexpected {what} response: {snippet}. Check that the "
            f"connection '{self.conn_id}' points at {expected} (base URL {self.base_url})."
        )

    def _encode(self, method: str, path: str, json_body: Any) -> bytes | None:
        """The JSON body, or a permanent error naming what cannot be sent (bytes, sets, NaN...)."""
        if json_body is None:
            return None
        try:
            return json.dumps(json_body, allow_nan=False).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise OVHCloudAIInvalidInputError(
                f"Invalid request to OVHcloud {self.service}: the body of {method} {path} cannot be sent as "
                f"JSON ({exc}). Pass strings, numbers, booleans, lists and dicts only."
            ) from None

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
    ) -> requests.Response:
        """Send one request (with retries) and return the successful response, or raise mapped.

        A plain answer's body is read here and must be complete within ``timeout`` seconds of its
        headers (a body that trickles in cannot hold the task forever); a streamed one is read by
        :meth:`stream_lines`, within ``stream_timeout``. ``secrets`` (job env values) are hidden
        from every message this client builds from then on. ``require_key``: a route the service
        never serves anonymously (AI Endpoints' Batch and Files routes); without a token the
        documented "not found" error is raised before anything is sent.
        """
        if require_key:
            self.require_key()
        self.add_secrets(secrets)
        url = self.url(path)
        path = "/" + path.lstrip("/")
        data = self._encode(method, path, json_body)
        unsafe = method == "POST" and urlsplit(url).path in self.unsafe_posts
        try:
            response = self.session.request(
                method,
                url,
                data=data,
                params=params,
                stream=True,
                timeout=self.timeout,
                headers={"Accept": accept},
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

    def require_key(self) -> None:
        """Raise the documented configuration error when this client has no token to send."""
        if self.anonymous:
            raise OVHCloudAIConfigurationError(self.missing_token_message)

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

    def deadline_error(self, method: str, path: str, limit: float, what: str) -> OVHCloudAIRequestError:
        """The answer kept coming (or kept the connection open) past its deadline: retryable."""
        return OVHCloudAIRequestError(
            f"Request to OVHcloud {self.service} failed: {what} to {method} {path} was not complete within "
            f"{limit:g} s. The service (or a proxy) kept it open; a retry may succeed. Raise the `timeout` "
            f"(`stream_timeout` for streamed answers) extra of connection '{self.conn_id}' if answers are "
            "really that slow."
        )

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
        if response.status_code == 204 or not response.content:
            return None
        try:
            return json.loads(response.content)
        except ValueError:
            snippet = self.clip(response.content)
            raise OVHCloudAIRequestError(
                f"Request to OVHcloud {self.service} failed: {method} {path} answered HTTP "
                f"{response.status_code} with a body that is not JSON: {snippet!r}. Check that the "
                f"connection '{self.conn_id}' points at the OVHcloud {self.service} API "
                f"(base URL {self.base_url}).",
                http_status=response.status_code,
                service_message=snippet,
            ) from None

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

    def error_for_status(
        self,
        method: str,
        path: str,
        status: int,
        body: bytes | str | None,
        not_found_hint: str | None = None,
        *,
        not_resent: bool = False,
    ) -> OVHCloudAIRequestError:
        """Map an HTTP error answer to the exception a person can act on."""
        message = self.clip(service_message_of(body, limit=None), MAX_SERVICE_MESSAGE) or "(no message in the response)"
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
        head = f"Request to OVHcloud {self.service} failed: HTTP {status}"
        if reason:
            head += f" {reason}"
        text = f"{head} on {method} {path}: {message}"
        if status in (401, 403) and self.anonymous:
            advice = (
                f"The request was sent without a key (connection '{self.conn_id}' has none): {self.anonymous_hint}."
            )
        elif status in (401, 403):
            advice = f"Check {self.token_hint}."
        elif status == 404:
            advice = not_found_hint or f"Check the base URL {self.base_url} of connection '{self.conn_id}'."
        elif status == 413:
            advice = "The request body is too large (the service accepts at most 2 MB): send less per request."
        elif not_resent and status >= 500:
            advice = (
                "Not resent: the service may have carried the request out; a task retry looks for the job "
                "before submitting again."
            )
        elif status == 429 and self.anonymous:
            advice = (
                f"Rate limit still hit after {self.max_retries} retries. Calls without a key are limited by "
                f"OVHcloud to {ANONYMOUS_REQUESTS_PER_MINUTE} requests per minute per IP and model: "
                f"{self.anonymous_hint}, or lower the request rate (extra requests_per_minute)."
            )
        elif status == 429:
            advice = (
                f"Rate limit still hit after {self.max_retries} retries; lower the request rate, or let "
                "Airflow retry the task later (retries, retry_delay)."
            )
        elif status >= 500:
            advice = (
                f"The service failed after {self.max_retries} retries; Airflow will retry the task if it "
                "has retries left."
            )
        elif status in RETRY_STATUSES:
            advice = f"Still failing after {self.max_retries} retries."
        else:
            advice = "Check the request parameters."
        cls = OVHCloudAIClientError if status in PERMANENT_STATUSES else OVHCloudAIRequestError
        # The service's own message often ends a sentence already: no doubled period.
        end = " " if text.endswith((".", "!", "?")) else ". "
        return cls(f"{text}{end}{advice}", http_status=status, service_message=message)

    def network_error(
        self, method: str, path: str, exc: BaseException, *, during_stream: bool = False, not_resent: bool = False
    ) -> OVHCloudAIRequestError:
        """A failure with no HTTP answer at all: say what broke and what to check."""
        reason = self.redact(_describe_network_error(exc))
        timed_out = isinstance(exc, requests.Timeout) or isinstance(_innermost(exc), (TimeoutError, Urllib3Timeout))
        if during_stream and timed_out:
            what = f"the answer stopped arriving for {self.timeout} s"
        elif during_stream:
            what = "the connection broke while the answer was arriving"
        elif isinstance(_innermost(exc), (NewConnectionError, ConnectionRefusedError)):
            what = "could not connect to the service"
        elif timed_out:
            what = f"no answer within {self.timeout} s"
        else:
            what = "no answer from the service"
        if not_resent:
            retries = " (not resent: the service may have carried it out; a task retry looks for it first)"
        else:
            retries = "" if during_stream else f" after {self.max_retries} retries"
        return OVHCloudAIRequestError(
            f"Request to OVHcloud {self.service} failed: {what} on {method} {path}{retries} ({reason}). "
            f"Check that {self.base_url} is reachable from where this runs (the worker, the triggerer, or the "
            f"API server for the connection Test button: network, proxy, the host of connection "
            f"'{self.conn_id}') and the timeout ({self.timeout} s).",
        )
