"""The rules of talking to OVHcloud, written once for both transports (``requests`` and ``httpx``).

Which failures are retried (and which POSTs are never resent after an ambiguous failure), how long
each retry waits (backoff with jitter, ``Retry-After``, the caps), what a retry logs, how an error
answer or a network failure becomes the exception a person can act on, and how secrets are kept
out of every message. :mod:`airflow_ovhcloud._http` (urllib3 ``Retry`` as its retry engine) and
:mod:`airflow_ovhcloud._async_http` (``tenacity``) both call these functions and inherit
:class:`HTTPRules`; nothing here imports a transport, so the triggerer never imports ``requests``.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import re
import time
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from airflow_ovhcloud import __version__
from airflow_ovhcloud.constants import ANONYMOUS_REQUESTS_PER_MINUTE
from airflow_ovhcloud.exceptions import (
    PERMANENT_STATUSES,
    OVHCloudAIClientError,
    OVHCloudAIConfigurationError,
    OVHCloudAIInvalidInputError,
    OVHCloudAIRequestError,
)

USER_AGENT = f"airflow-ovhcloud/{__version__}"

#: Statuses worth retrying: timeouts, conflicts, rate limits and transient server errors.
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
#: Answers that say the request was refused, not carried out: the only ones an unsafe POST is resent after.
REFUSED_STATUSES = frozenset({429, 503})
DEFAULT_MAX_RETRIES = 3
DEFAULT_BACKOFF_FACTOR = 1.0
#: No single wait (backoff or Retry-After) lasts longer than this many seconds.
MAX_WAIT_PER_RETRY = 60.0
#: All waits of one request together never exceed this many seconds.
MAX_TOTAL_WAIT = 300.0
#: How much of a service's error body goes into an exception message.
MAX_SERVICE_MESSAGE = 500
#: Seconds a streamed answer may take from its first byte to ``[DONE]`` unless the connection says otherwise.
DEFAULT_STREAM_TIMEOUT = 600.0
#: Secrets shorter than this are not redacted from messages (they would blank out ordinary words);
#: Airflow's own masker draws the line at 5.
MIN_SECRET_LENGTH = 4

_RETRY_AFTER_SECONDS = re.compile(r"^\s*[0-9]+\s*$")
_LOOPBACK_HOSTS = ("localhost", "127.", "[::1]", "::1")


# ----------------------------------------------------------------------------- retry rules


def path_of(url: str | None) -> str:
    """The path of a URL (what messages name), or the text itself when it has none."""
    if not url:
        return ""
    return urlsplit(url).path or url


def may_resend(method: str | None, path: str, unsafe_posts: frozenset[str], status: int | None) -> bool:
    """Whether a failed attempt may be sent again (``status`` is ``None`` for a network failure).

    A POST that creates something (a training job) may have been carried out before its answer was
    lost: only an answer saying it was refused (429, 503) makes resending it safe.
    """
    if status is not None and status not in RETRY_STATUSES:
        return False
    if method == "POST" and path in unsafe_posts:
        return status is not None and status in REFUSED_STATUSES
    return True


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds (an integer or an HTTP date); ``None`` when absent or unreadable."""
    if value is None:
        return None
    if _RETRY_AFTER_SECONDS.match(value):
        seconds = float(int(value))
    else:
        parsed = email.utils.parsedate_tz(value)
        if parsed is None:
            return None  # neither seconds nor a date: plain backoff applies
        seconds = email.utils.mktime_tz(parsed) - (time.time() if now is None else now)
    return max(seconds, 0.0)


def backoff_seconds(retry_number: int, factor: float, jitter: float, cap: float = MAX_WAIT_PER_RETRY) -> float:
    """The wait before retry ``retry_number`` (1 for the first): ``factor * 2**(n-1)`` plus jitter, capped.

    urllib3 waits 0 s before the first retry; a rate-limited or overloaded service needs a pause
    then too, so the backoff applies from the first retry on.
    """
    if retry_number <= 0:
        return 0.0
    value = factor * (2 ** (retry_number - 1)) + random.uniform(0, jitter)
    return float(min(cap, value))


def choose_wait(retry_after: float | None, backoff: float, cap: float = MAX_WAIT_PER_RETRY) -> tuple[float, str]:
    """How long to wait before a retry, and why: what ``Retry-After`` asks (capped), else the backoff."""
    if retry_after is not None:
        return min(retry_after, cap), "as Retry-After asks"
    return backoff, "backoff"


def over_budget(waited: float, wait: float, budget: float = MAX_TOTAL_WAIT) -> bool:
    """True when this wait would take the request's total waiting past ``budget`` seconds."""
    return waited + wait > budget


def budget_spent_reason(budget: float = MAX_TOTAL_WAIT) -> str:
    return f"too many retries (waiting budget of {budget:.0f} s spent)"


def log_retry(
    logger: Any,
    label: str,
    method: str | None,
    path: str,
    why: str,
    attempt: int,
    retries: int,
    wait: float,
    why_wait: str,
) -> None:
    """The one line each retry logs, whatever the transport."""
    logger.warning(
        "%s: %s %s failed (%s); retry %d of %s in %.2f s (%s).",
        label,
        method,
        path,
        why,
        attempt,
        retries,
        wait,
        why_wait,
    )


# ----------------------------------------------------------------------------- network errors


def innermost(error: BaseException | None, *, chained: bool = False) -> BaseException | None:
    """Unwrap the transports' nested wrappers down to the error that really happened.

    urllib3 and requests carry the inner error in ``reason`` or ``args``; httpx and httpcore chain
    it (``raise ... from exc``), which ``chained=True`` follows.
    """
    for _ in range(10):
        if error is None:
            break
        inner = getattr(error, "reason", None) or getattr(error, "original_error", None)
        if not isinstance(inner, BaseException):
            inner = next((arg for arg in error.args if isinstance(arg, BaseException)), None)
        if inner is None and chained:
            inner = error.__cause__ or error.__context__
        if inner is None or inner is error:
            break
        error = inner
    return error


def describe_network_error(error: BaseException | None, *, chained: bool = False) -> str:
    error = innermost(error, chained=chained)
    if error is None:
        return "network error"
    text = str(error)
    # urllib3 prefixes some messages with the connection object's repr; keep what follows.
    if ">: " in text:
        text = text.split(">: ", 1)[1]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


# ----------------------------------------------------------------------------- messages


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


# ----------------------------------------------------------------------------- base URLs


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


class HTTPRules:
    """What a client of one OVHcloud service and one connection is, minus its transport.

    Both :class:`~airflow_ovhcloud._http.OVHCloudHTTPClient` and
    :class:`~airflow_ovhcloud._async_http.AsyncOVHCloudHTTPClient` inherit it: settings and their
    checks, secrets and redaction, and every message built from a failure. A transport says how
    to recognise its connect and timeout errors (:meth:`network_error_kind`).
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
        self._secrets: set[str] = set()
        #: Told of every 429 the service answers, retried or not (a client-side rate limiter slows down).
        self.rate_limit_listeners: list[Any] = []

    @property
    def anonymous(self) -> bool:
        """True when this client sends no ``Authorization`` header (the connection has no key)."""
        return not self._token

    @property
    def label(self) -> str:
        return f"OVHcloud {self.service}"

    def headers(self) -> dict[str, str]:
        """The headers every request carries; no ``Authorization`` at all for an anonymous call."""
        headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json", "Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _rate_limited(self) -> None:
        for listener in list(self.rate_limit_listeners):
            listener()

    def require_key(self) -> None:
        """Raise the documented configuration error when this client has no token to send."""
        if self.anonymous:
            raise OVHCloudAIConfigurationError(self.missing_token_message)

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

    def not_json_error(self, method: str, path: str, status: int, content: bytes) -> OVHCloudAIRequestError:
        """A 2xx answer that should be JSON and is not."""
        snippet = self.clip(content)
        return OVHCloudAIRequestError(
            f"Request to OVHcloud {self.service} failed: {method} {path} answered HTTP "
            f"{status} with a body that is not JSON: {snippet!r}. Check that the "
            f"connection '{self.conn_id}' points at the OVHcloud {self.service} API "
            f"(base URL {self.base_url}).",
            http_status=status,
            service_message=snippet,
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

    def prepare(
        self, method: str, path: str, json_body: Any, secrets: Iterable[str], require_key: bool
    ) -> tuple[str, str, bytes | None, bool]:
        """What every request does before it is sent, on both transports.

        Checks the key when the route needs one, remembers ``secrets`` for redaction, encodes the
        body; returns the URL, the path messages name, the body and whether the POST is unsafe to resend.
        """
        if require_key:
            self.require_key()
        self.add_secrets(secrets)
        url = self.url(path)
        path = "/" + path.lstrip("/")
        data = self._encode(method, path, json_body)
        unsafe = method == "POST" and urlsplit(url).path in self.unsafe_posts
        return url, path, data, unsafe

    def decode_json(self, method: str, path: str, status: int, body: bytes) -> Any:
        """A 2xx answer's JSON (``None`` for an empty answer such as 204), or the error saying it is not JSON."""
        if status == 204 or not body:
            return None
        try:
            return json.loads(body)
        except ValueError:
            raise self.not_json_error(method, "/" + path.lstrip("/"), status, body) from None

    def deadline_error(self, method: str, path: str, limit: float, what: str) -> OVHCloudAIRequestError:
        """The answer kept coming (or kept the connection open) past its deadline: retryable."""
        return OVHCloudAIRequestError(
            f"Request to OVHcloud {self.service} failed: {what} to {method} {path} was not complete within "
            f"{limit:g} s. The service (or a proxy) kept it open; a retry may succeed. Raise the `timeout` "
            f"(`stream_timeout` for streamed answers) extra of connection '{self.conn_id}' if answers are "
            "really that slow."
        )

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

    #: Whether the transport chains the errors it translates (httpx) rather than wrapping them (urllib3).
    chained_errors = False

    def network_error_kind(self, exc: BaseException) -> str:
        """``"connect"``, ``"timeout"`` or ``"other"``: the transport-independent part of the answer."""
        inner = innermost(exc, chained=self.chained_errors)
        if isinstance(inner, ConnectionRefusedError):
            return "connect"
        if isinstance(inner, TimeoutError):
            return "timeout"
        return "other"

    def network_error(
        self, method: str, path: str, exc: BaseException, *, during_stream: bool = False, not_resent: bool = False
    ) -> OVHCloudAIRequestError:
        """A failure with no HTTP answer at all: say what broke and what to check."""
        reason = self.redact(describe_network_error(exc, chained=self.chained_errors))
        kind = self.network_error_kind(exc)
        if during_stream and kind == "timeout":
            what = f"the answer stopped arriving for {self.timeout} s"
        elif during_stream:
            what = "the connection broke while the answer was arriving"
        elif kind == "connect":
            what = "could not connect to the service"
        elif kind == "timeout":
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
