"""The async transport of the HTTP core: ``httpx`` for triggers, with the rules of the sync one.

:class:`AsyncOVHCloudHTTPClient` inherits every rule (settings, redaction, error messages) from
:class:`~airflow_ovhcloud._http_rules.HTTPRules` and retries with ``tenacity`` whose predicate,
wait and log line are the shared functions the sync client's urllib3 ``Retry`` calls: what is
retried, how long a retry waits and what a failure says are the same on both transports.

:func:`shared_async_client` hands every trigger of one connection (same connection id, base URL
and token) in one event loop the same pooled client, counts its users and closes it when the last
one leaves. Nothing here imports ``requests`` or blocks: it runs on the triggerer's event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import ssl
import time
import weakref
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

from airflow_ovhcloud import _http_rules as rules
from airflow_ovhcloud._http_rules import (
    RETRY_STATUSES,
    HTTPRules,
    backoff_seconds,
    budget_spent_reason,
    choose_wait,
    describe_network_error,
    innermost,
    log_retry,
    may_resend,
    over_budget,
    parse_retry_after,
)

#: TLS contexts by CA bundle ("" for httpx's default), each made once per process.
_SSL: dict[str, ssl.SSLContext] = {}


def ca_bundle() -> str | None:
    """The CA bundle ``requests`` trusts when told (``REQUESTS_CA_BUNDLE``, else ``CURL_CA_BUNDLE``).

    The triggerer must trust what the worker trusts: behind a proxy with its own CA, a bundle set
    for the worker's ``requests`` would otherwise leave every trigger failing on certificates.
    """
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None


def ssl_context_for(bundle: str | None) -> ssl.SSLContext:
    """The TLS context trusting ``bundle`` (a file or a directory of CA certificates), or httpx's default.

    Blocking (it reads files): the async client calls it in a worker thread.
    """
    if not bundle:
        return httpx.create_ssl_context()
    try:
        if os.path.isdir(bundle):
            return ssl.create_default_context(capath=bundle)
        return ssl.create_default_context(cafile=bundle)
    except (OSError, ssl.SSLError) as exc:
        from airflow_ovhcloud.exceptions import OVHCloudAIConfigurationError

        raise OVHCloudAIConfigurationError(
            f"The CA bundle {bundle!r} named by REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE cannot be loaded "
            f"({type(exc).__name__}: {exc}). Point it at a readable PEM file (or directory) of CA certificates, "
            "or unset it to trust the default certificates; it must be set alike for workers and triggerers."
        ) from None


async def _ssl_context() -> ssl.SSLContext:
    """The TLS context for :func:`ca_bundle`, made once per process off the event loop."""
    bundle = ca_bundle()
    context = _SSL.get(bundle or "")
    if context is None:
        context = _SSL.setdefault(bundle or "", await asyncio.to_thread(ssl_context_for, bundle))
    return context


#: Connections one shared client keeps open, and requests it lets into httpx at once. At 20 ms an
#: answer, 8 carry 400 polls a second (5,000 triggers at the default 30 s need 167). More requests
#: waiting inside httpcore's pool cost it O(waiting x connections) at every step, so the rest wait
#: on a semaphore in front of it. Measured (tests/benchmarks/bench_triggers.py, 5,000 triggers asking
#: 1,000 polls/s, 20 ms latency, a quiet 2-core machine): 8 answered 291/s at 2.2 ms of loop CPU per
#: poll, lag p99 17 ms; 16 answered 337/s but at 2.9 ms per poll (the loop saturated), lag p99 54 ms.
#: One event loop on httpx cannot go much further whatever the cap (``bench_triggers.py --pool N``).
ASYNC_POOL_SIZE = 8


class _StatusFailure(Exception):
    """An error answer, carried through tenacity so the last one can be mapped once retries end."""

    def __init__(self, status: int, body: bytes, retry_after: str | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body
        self.retry_after = retry_after


class _NetworkFailure(Exception):
    """No answer at all (connect error, timeout, broken connection)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class _Budget:
    """The waiting of one request: what was waited so far and the wait chosen for the next retry."""

    waited: float = 0.0
    next_wait: float = 0.0
    spent: bool = False
    history: list[float] = field(default_factory=list)


class AsyncOVHCloudHTTPClient(HTTPRules):
    """A pooled, retrying, error-mapping ``httpx`` client for one OVHcloud service and one connection.

    Takes the same arguments as :class:`~airflow_ovhcloud._http.OVHCloudHTTPClient`; call
    :meth:`aclose` (or use :func:`shared_async_client`) when done.
    """

    chained_errors = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._client: httpx.AsyncClient | None = None
        self._slots: asyncio.Semaphore | None = None

    def __repr__(self) -> str:
        return f"<AsyncOVHCloudHTTPClient {self.service} {self.base_url} conn_id={self.conn_id!r}>"

    async def client(self) -> httpx.AsyncClient:
        """The one ``httpx.AsyncClient`` of this client, built on first use.

        Its TLS context (loading the CA bundle takes tens of milliseconds) is built once per
        process in a worker thread, so building a client never blocks the event loop.
        """
        if self._client is None:
            context = await _ssl_context()
            if self._client is None:
                self._client = httpx.AsyncClient(
                    headers=self.headers(),
                    timeout=httpx.Timeout(self.timeout),
                    limits=httpx.Limits(max_connections=ASYNC_POOL_SIZE, max_keepalive_connections=ASYNC_POOL_SIZE),
                    follow_redirects=False,
                    verify=context,
                )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    def network_error_kind(self, exc: BaseException) -> str:
        """How httpx says "could not connect" and "timed out"."""
        if isinstance(exc, httpx.TimeoutException):
            return "timeout"
        if isinstance(exc, httpx.ConnectError) or isinstance(innermost(exc, chained=True), ConnectionRefusedError):
            return "connect"
        return "other"

    # --------------------------------------------------------------------------- retries

    def _retrying(self, method: str, url_path: str, budget: _Budget) -> AsyncRetrying:
        """tenacity, driven by the shared rules: what may be resent, the wait, the caps, the log line."""

        def retryable(exc: BaseException) -> bool:
            if isinstance(exc, _StatusFailure):
                return exc.status in RETRY_STATUSES and may_resend(method, url_path, self.unsafe_posts, exc.status)
            return isinstance(exc, _NetworkFailure) and may_resend(method, url_path, self.unsafe_posts, None)

        def stop(state: RetryCallState) -> bool:
            if state.attempt_number > self.max_retries:
                return True
            failure = state.outcome.exception() if state.outcome is not None else None
            retry_after = parse_retry_after(failure.retry_after) if isinstance(failure, _StatusFailure) else None
            cap = rules.MAX_WAIT_PER_RETRY
            backoff = backoff_seconds(state.attempt_number, self.backoff_factor, self.backoff_factor, cap)
            wait, why_wait = choose_wait(retry_after, backoff, cap)
            if over_budget(budget.waited, wait, rules.MAX_TOTAL_WAIT):
                budget.spent = True
                return True
            budget.next_wait = wait
            budget.waited += wait
            why = f"HTTP {failure.status}" if isinstance(failure, _StatusFailure) else "network error"
            if isinstance(failure, _NetworkFailure):
                why = describe_network_error(failure.error, chained=True)
            log_retry(
                self.log, self.label, method, url_path, why, state.attempt_number, self.max_retries, wait, why_wait
            )
            return False

        return AsyncRetrying(
            retry=retry_if_exception(retryable),
            stop=stop,
            wait=lambda state: budget.next_wait,
            reraise=True,
            sleep=asyncio.sleep,
        )

    async def _send_once(
        self, method: str, url: str, path: str, data: bytes | None, params: Any, accept: str
    ) -> tuple[int, bytes]:
        """One attempt: the status and the whole body, read within ``timeout`` of the headers."""
        client = await self.client()
        if self._slots is None:
            self._slots = asyncio.Semaphore(ASYNC_POOL_SIZE)
        async with self._slots:
            return await self._send_on(client, method, url, path, data, params, accept)

    async def _send_on(
        self, client: httpx.AsyncClient, method: str, url: str, path: str, data: bytes | None, params: Any, accept: str
    ) -> tuple[int, bytes]:
        try:
            request = client.build_request(method, url, content=data, params=params, headers={"Accept": accept})
            response = await client.send(request, stream=True)
        except httpx.TransportError as exc:
            raise _NetworkFailure(exc) from exc
        try:
            deadline = time.monotonic() + self.timeout
            chunks: list[bytes] = []
            async for chunk in response.aiter_raw():
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise self.deadline_error(method, path, self.timeout, "the answer")
        except httpx.TransportError as exc:
            if response.status_code >= 400:
                chunks = []
            else:
                raise self.network_error(method, path, exc, during_stream=True) from None
        finally:
            await response.aclose()
        body = b"".join(chunks)
        if response.status_code == 429:
            self._rate_limited()
        if response.status_code >= 400:
            raise _StatusFailure(response.status_code, body, response.headers.get("Retry-After"))
        return response.status_code, body

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        accept: str = "application/json",
        not_found_hint: str | None = None,
        secrets: Iterable[str] = (),
        require_key: bool = False,
    ) -> tuple[int, bytes]:
        """Send one request (with retries) and return its status and body, or raise mapped."""
        url, path, data, unsafe = self.prepare(method, path, json_body, secrets, require_key)
        url_path = urlsplit(url).path
        budget = _Budget()
        try:
            return await self._retrying(method, url_path, budget)(
                self._send_once, method, url, path, data, params, accept
            )
        except _StatusFailure as failure:
            raise self.error_for_status(
                method, path, failure.status, failure.body, not_found_hint, not_resent=unsafe
            ) from None
        except _NetworkFailure as failure:
            error: BaseException = failure.error
            if budget.spent:
                error = RuntimeError(budget_spent_reason(rules.MAX_TOTAL_WAIT))
            raise self.network_error(method, path, error, not_resent=unsafe) from None

    async def request_json(
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
        status, body = await self.request(
            method,
            path,
            json_body=json_body,
            params=params,
            not_found_hint=not_found_hint,
            secrets=secrets,
            require_key=require_key,
        )
        return self.decode_json(method, path, status, body)

    async def request_text(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        not_found_hint: str | None = None,
        require_key: bool = False,
    ) -> str:
        """Send a request whose answer is plain text (job logs)."""
        _, body = await self.request(
            method,
            path,
            params=params,
            accept="text/plain, */*",
            not_found_hint=not_found_hint,
            require_key=require_key,
        )
        return body.decode("utf-8", "replace")


# ------------------------------------------------------------------------------- sharing


@dataclass
class _Shared:
    client: AsyncOVHCloudHTTPClient
    users: int = 0


#: Per event loop (an httpx client belongs to the loop it was used in): key → shared client.
_SHARED: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str, str], _Shared]] = (
    weakref.WeakKeyDictionary()
)


def client_key(conn_id: str, base_url: str, token: str) -> tuple[str, str, str]:
    """Connection id, base URL and a fingerprint of the token (never the token itself)."""
    return (conn_id, base_url.rstrip("/"), hashlib.sha256(token.encode("utf-8")).hexdigest()[:16])


def shared_clients() -> dict[tuple[str, str, str], _Shared]:
    """The clients shared in the running event loop (for tests and benchmarks to look at)."""
    return _SHARED.setdefault(asyncio.get_running_loop(), {})


@asynccontextmanager
async def shared_async_client(**settings: Any) -> AsyncIterator[AsyncOVHCloudHTTPClient]:
    """The client every user of the same connection shares in this event loop; closed after the last leaves.

    ``settings`` are :class:`AsyncOVHCloudHTTPClient`'s arguments. The first user's settings build
    the client (timeouts, retries); users of the same connection read the same connection, so they agree.
    """
    key = client_key(settings["conn_id"], settings["base_url"], settings["token"])
    clients = shared_clients()
    entry = clients.get(key)
    if entry is None:
        entry = clients[key] = _Shared(AsyncOVHCloudHTTPClient(**settings))
    entry.users += 1
    try:
        yield entry.client
    finally:
        entry.users -= 1
        if entry.users == 0 and clients.get(key) is entry:
            del clients[key]
            await entry.client.aclose()
