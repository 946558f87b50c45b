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
import time
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from itertools import takewhile
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError as Urllib3HTTPError
from urllib3.exceptions import MaxRetryError, NewConnectionError, ResponseError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

from airflow_ovhcloud import __version__
from airflow_ovhcloud.exceptions import (
    PERMANENT_STATUSES,
    OVHCloudAIClientError,
    OVHCloudAIConfigurationError,
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
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
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
        return super().new(**kw)

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


def service_message_of(body: bytes | str | None) -> str:
    """Extract the service's own message from an error body in any of the shapes it uses."""
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = text.strip()
    if not text:
        return ""
    try:
        data = json.loads(text)
    except ValueError:
        return text[:MAX_SERVICE_MESSAGE]
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
    return message[:MAX_SERVICE_MESSAGE]


def unexpected_answer(service: str, what: str, value: Any, expected: str) -> OVHCloudAIRequestError:
    """The error for a 2xx answer whose shape is not what the service documents."""
    snippet = json.dumps(value, default=str)[:200]
    return OVHCloudAIRequestError(
        f"Request to OVHcloud {service} failed: unexpected {what} response: {snippet}. Check that the "
        f"connection points at {expected}."
    )


def base_url_from_connection(
    host: str | None,
    port: int | None,
    schema: str | None,
    *,
    default: str,
    default_path: str = "",
    strip_path: str = "",
) -> str:
    """Return the base URL a connection asks for, or ``default`` when it names no host.

    ``host`` may be a full URL (``http://127.0.0.1:8080/v1``) or a bare host name; a bare
    loopback host gets ``http``, any other ``https``. ``port`` and ``schema`` (the path part of a
    connection URI) fill in what the host leaves out.
    """
    if not host:
        return default.rstrip("/")
    if "://" not in host:
        scheme = "http" if host.startswith(_LOOPBACK_HOSTS) else "https"
        host = f"{scheme}://{host}"
    parts = urlsplit(host)
    netloc = parts.netloc
    if port and parts.port is None:
        netloc = f"{netloc}:{port}"
    path = parts.path.rstrip("/")
    if not path and schema:
        path = "/" + schema.strip("/")
    if strip_path and path.endswith(strip_path):
        path = path[: -len(strip_path)]
    if not path and default_path:
        path = default_path
    return urlunsplit((parts.scheme, netloc, path, "", ""))


class OVHCloudHTTPClient:
    """A pooled, retrying, error-mapping HTTP client for one OVHcloud service and one connection.

    :param service: the service's display name, e.g. ``"AI Endpoints"``; it starts every error.
    :param token_hint: what to check when the service answers 401/403.
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
        self.max_retries = max_retries
        self.backoff_factor = backoff_factor
        self.token_hint = token_hint or f"the token in the password of Airflow connection '{conn_id}'"
        self.log = logger or logging.getLogger(__name__)
        self.unsafe_posts = frozenset(urlsplit(self.url(p)).path for p in unsafe_posts)
        self._session: requests.Session | None = None

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
                label=f"OVHcloud {self.service}",
                logger=self.log,
                unsafe_posts=self.unsafe_posts,
            )
            session = requests.Session()
            # Enough pooled connections for the embedding batches a hook may send concurrently.
            adapter = HTTPAdapter(max_retries=retry, pool_maxsize=POOL_SIZE)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers.update(
                {
                    "Authorization": f"Bearer {self._token}",
                    "User-Agent": USER_AGENT,
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                }
            )
            self._session = session
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

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
    ) -> requests.Response:
        """Send one request (with retries) and return the successful response, or raise mapped."""
        url = self.url(path)
        path = "/" + path.lstrip("/")
        try:
            response = self.session.request(
                method,
                url,
                json=json_body,
                params=params,
                stream=stream,
                timeout=self.timeout,
                headers={"Accept": accept},
            )
        except requests.RequestException as exc:
            unsafe = method == "POST" and urlsplit(url).path in self.unsafe_posts
            raise self.network_error(method, path, exc, not_resent=unsafe) from None
        if response.status_code >= 400:
            try:
                body = response.content
            except requests.RequestException:
                body = b""
            finally:
                response.close()
            unsafe = method == "POST" and urlsplit(url).path in self.unsafe_posts
            raise self.error_for_status(method, path, response.status_code, body, not_found_hint, not_resent=unsafe)
        return response

    def request_json(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        not_found_hint: str | None = None,
    ) -> Any:
        """Send a request and decode its JSON answer (``None`` for an empty answer such as 204)."""
        response = self.request(method, path, json_body=json_body, params=params, not_found_hint=not_found_hint)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            snippet = response.text[:200]
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
    ) -> str:
        """Send a request whose answer is plain text (job logs)."""
        response = self.request(method, path, params=params, accept="text/plain, */*", not_found_hint=not_found_hint)
        return response.text

    def stream_lines(self, response: requests.Response) -> Iterator[bytes]:
        """Yield a streamed response's lines as the bytes arrive (not after the whole body)."""
        raw = response.raw
        buffer = b""
        try:
            while True:
                chunk = raw.read1(65536)
                if not chunk:
                    break
                buffer += chunk
                if b"\n" not in chunk:
                    continue
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    yield line.rstrip(b"\r")
        except (Urllib3HTTPError, requests.RequestException, OSError) as exc:
            raise self.network_error("POST", urlsplit(response.url).path, exc, during_stream=True) from None
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
        message = self._redact(service_message_of(body)) or "(no message in the response)"
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
        head = f"Request to OVHcloud {self.service} failed: HTTP {status}"
        if reason:
            head += f" {reason}"
        text = f"{head} on {method} {path}: {message}"
        if status in (401, 403):
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
        return cls(f"{text}. {advice}", http_status=status, service_message=message)

    def network_error(
        self, method: str, path: str, exc: BaseException, *, during_stream: bool = False, not_resent: bool = False
    ) -> OVHCloudAIRequestError:
        """A failure with no HTTP answer at all: say what broke and what to check."""
        reason = self._redact(_describe_network_error(exc))
        if during_stream:
            what = "the connection broke while the answer was streaming"
        elif isinstance(_innermost(exc), (NewConnectionError, ConnectionRefusedError)):
            what = "could not connect to the service"
        elif isinstance(exc, requests.Timeout) or isinstance(_innermost(exc), (TimeoutError, Urllib3Timeout)):
            what = f"no answer within {self.timeout} s"
        else:
            what = "no answer from the service"
        if not_resent:
            retries = " (not resent: the service may have carried it out; a task retry looks for it first)"
        else:
            retries = "" if during_stream else f" after {self.max_retries} retries"
        return OVHCloudAIRequestError(
            f"Request to OVHcloud {self.service} failed: {what} on {method} {path}{retries} ({reason}). "
            f"Check that {self.base_url} is reachable from the worker (network, proxy, the host of "
            f"connection '{self.conn_id}') and the timeout ({self.timeout} s).",
        )
