"""What both OVHcloud hooks share: reading the Airflow connection and building the HTTP core."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import BaseHook

from airflow_ovhcloud._http_rules import (
    DEFAULT_BACKOFF_FACTOR,
    DEFAULT_MAX_RETRIES,
    DEFAULT_STREAM_TIMEOUT,
)
from airflow_ovhcloud.constants import ANONYMOUS_REQUESTS_PER_MINUTE
from airflow_ovhcloud.exceptions import OVHCloudAIConfigurationError

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Connection

    from airflow_ovhcloud._async_http import AsyncOVHCloudHTTPClient
    from airflow_ovhcloud._http import OVHCloudHTTPClient


def mask(secret: str) -> None:
    """Register a secret with Airflow's masker so it is replaced by *** in every log line."""
    from airflow_ovhcloud._compat import mask_secret

    if secret:
        mask_secret(secret)


#: Secrets already registered by :func:`amask` in this process (by hash): 5,000 triggers of one
#: connection send the supervisor one message, not 5,000.
_AMASKED: set[str] = set()


async def amask(secret: str) -> None:
    """:func:`mask` for an event loop: Airflow 3.3's ``amask_secret`` (no blocking call to the supervisor)."""
    import hashlib

    key = hashlib.sha256(secret.encode("utf-8")).hexdigest()
    if not secret or key in _AMASKED:
        return
    try:
        from airflow.sdk.log import amask_secret
    except ImportError:  # before 3.3: the connection's password was masked when Airflow read it
        return
    await amask_secret(secret)
    _AMASKED.add(key)


class OVHCloudBaseHook(BaseHook):
    """Connection reading and HTTP-core construction for the two service hooks.

    Connection extras understood by both: ``timeout`` (seconds, overrides the hook's default; it
    bounds each wait for the service and the whole body of a plain answer), ``stream_timeout``
    (seconds a streamed answer may take in all, default 600), ``max_retries`` (client retries, 0
    disables) and ``backoff_factor`` (seconds; the n-th retry waits ``factor * 2**(n-1)`` plus up
    to ``factor`` of jitter). A value that is not a finite number in range is a configuration error.
    """

    #: Display name used in every message, e.g. "AI Endpoints".
    service_name: ClassVar[str] = "AI"
    #: What users call the secret of this service in messages: the label of its field in the connection form.
    token_name: ClassVar[str] = "token"
    conn_name_attr = "ovh_conn_id"
    #: Paths whose POST creates something: not resent after an ambiguous failure (see the HTTP core).
    unsafe_posts: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        ovh_conn_id: str,
        timeout: int | float,
        max_retries: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(ovh_conn_id, str) or not ovh_conn_id.strip():
            raise OVHCloudAIConfigurationError(f"ovh_conn_id must be a connection id, got {ovh_conn_id!r}.")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < math.inf:
            raise OVHCloudAIConfigurationError(f"timeout must be a positive number of seconds, got {timeout!r}.")
        if max_retries is not None and (isinstance(max_retries, bool) or not isinstance(max_retries, int)):
            raise OVHCloudAIConfigurationError(f"max_retries must be an integer (0 disables), got {max_retries!r}.")
        self.ovh_conn_id = ovh_conn_id
        self.timeout = timeout
        self.max_retries = max_retries

    def __repr__(self) -> str:
        return f"<{type(self).__name__} ovh_conn_id={self.ovh_conn_id!r}>"

    @cached_property
    def connection(self) -> Connection:
        return self.get_connection(self.ovh_conn_id)

    @cached_property
    def extras(self) -> dict[str, Any]:
        """The connection's extras; malformed JSON is an error here (Airflow itself would log and ignore it)."""
        raw = getattr(self.connection, "extra", None)
        if raw in (None, ""):
            return {}
        if isinstance(raw, dict):
            return raw
        try:
            extra = json.loads(raw)
        except (TypeError, ValueError):
            raise OVHCloudAIConfigurationError(
                f"The extra of connection '{self.ovh_conn_id}' is not valid JSON: fix it in the "
                'connection\'s Extra field (a JSON object such as {"timeout": 30}).'
            ) from None
        if not isinstance(extra, dict):
            raise OVHCloudAIConfigurationError(
                f"The extra of connection '{self.ovh_conn_id}' must be a JSON object, got {type(extra).__name__}."
            )
        return extra

    def extra_value(self, key: str) -> Any:
        """Read an extra saved either plainly or with the old ``extra__<conn_type>__`` prefix."""
        extras = self.extras
        if extras.get(key) not in (None, ""):
            return extras[key]
        conn_type = getattr(self.connection, "conn_type", None) or ""
        prefixed = extras.get(f"extra__{conn_type}__{key}")
        return None if prefixed in (None, "") else prefixed

    def _number_extra(self, key: str, kind: type[int] | type[float], *, minimum: float, above: bool = False) -> Any:
        """A numeric extra, or ``None`` when unset; anything else than a finite number in range is refused."""
        value = self.extra_value(key)
        if value is None:
            return None
        try:
            if isinstance(value, bool):
                raise ValueError
            number = kind(value)
            if kind is int and float(value) != number:
                raise ValueError
            if not math.isfinite(number) or number < minimum or (above and number == minimum):
                raise ValueError
        except (TypeError, ValueError, OverflowError):
            bound = f"above {minimum:g}" if above else f"{minimum:g} or more"
            what = "an integer" if kind is int else "a finite number"
            raise OVHCloudAIConfigurationError(
                f"Connection '{self.ovh_conn_id}' has extra {key}={str(value)[:40]!r}: it must be {what} {bound} "
                "(or unset for the default)."
            ) from None
        return number

    def get_token(self) -> str:
        """The bearer token, ``""`` for anonymous calls where the service allows them (AI Endpoints).

        Subclasses say where the token may live; where it is required, a missing one raises
        :meth:`missing_token_message` as an :class:`OVHCloudAIConfigurationError`.
        """
        raise NotImplementedError

    def missing_token_message(self) -> str:
        """The documented error for a missing token: what is missing, where it goes, how to get one."""
        return (
            f"OVHcloud {self.service_name} {self.token_name} not found in connection '{self.ovh_conn_id}'. "
            f"Put it in the connection's '{self.token_name}' field ('Password' in a generic connection)."
        )

    def anonymous_hint(self) -> str:
        """How to add a key, said when a call without one is refused or rate-limited."""
        return (
            f"put the {self.token_name} in connection '{self.ovh_conn_id}' (the form's '{self.token_name}' field, "
            "'Password' in a generic connection)"
        )

    def require_key(self) -> str:
        """The token, or the documented "not found" error if the connection has none.

        For calls the service never serves anonymously (AI Training; AI Endpoints' Batch and Files
        routes): call this first, or send the request with ``require_key=True``.
        """
        token = self.get_token()
        if not token:
            raise OVHCloudAIConfigurationError(self.missing_token_message())
        return token

    def get_base_url(self) -> str:
        raise NotImplementedError

    def _token_from(self, *candidates: Any, missing_message: str | None = None) -> str:
        """The first non-blank candidate, checked; ``""`` when none, or ``missing_message`` raised if given."""
        for candidate in candidates:
            if isinstance(candidate, str) and candidate.strip():
                token = candidate.strip()
                bad = next((i for i, char in enumerate(token) if not "!" <= char <= "~"), None)
                if bad is not None:
                    # The token itself is never shown: only where the offending character sits.
                    raise OVHCloudAIConfigurationError(
                        f"The {self.token_name} of connection '{self.ovh_conn_id}' cannot be sent in an HTTP "
                        f"header: character {bad + 1} of {len(token)} is a space, a line break or not plain "
                        f"ASCII. Paste the {self.token_name} again, without surrounding text."
                    )
                if not getattr(self, "_async_masking", False):  # async: amask() in async_http()
                    mask(token)
                return token
        if missing_message is None:
            return ""
        raise OVHCloudAIConfigurationError(missing_message)

    @cached_property
    def http(self) -> OVHCloudHTTPClient:
        """The HTTP core for this hook: one session, reused by every call the hook makes.

        Without a token (AI Endpoints only) the calls are anonymous: no ``Authorization`` header,
        and the hook says so once in its log.
        """
        from airflow_ovhcloud._http import OVHCloudHTTPClient

        return OVHCloudHTTPClient(**self.http_settings())

    def http_settings(self) -> dict[str, Any]:
        """The HTTP core's arguments from the connection, the same for the sync and the async transport."""
        token = self.get_token()
        if not token and not getattr(self, "_said_anonymous", False):
            self._said_anonymous = True
            self.log.warning(
                "OVHcloud %s: connection '%s' has no %s, so calls are anonymous and rate-limited by OVHcloud "
                "(%d requests per minute per IP and model). To lift the limit, %s.",
                self.service_name,
                self.ovh_conn_id,
                self.token_name,
                ANONYMOUS_REQUESTS_PER_MINUTE,
                self.anonymous_hint(),
            )
        timeout = self._number_extra("timeout", float, minimum=0, above=True)
        if timeout is None:
            timeout = self.timeout
        max_retries = self.max_retries
        if max_retries is None:
            max_retries = self._number_extra("max_retries", int, minimum=0)
        backoff = self._number_extra("backoff_factor", float, minimum=0)
        stream_timeout = self._number_extra("stream_timeout", float, minimum=0, above=True)
        return dict(
            service=self.service_name,
            base_url=self.get_base_url(),
            token=token,
            conn_id=self.ovh_conn_id,
            timeout=timeout,
            max_retries=DEFAULT_MAX_RETRIES if max_retries is None else max_retries,
            backoff_factor=DEFAULT_BACKOFF_FACTOR if backoff is None else backoff,
            token_hint=(
                f"the {self.token_name} of Airflow connection '{self.ovh_conn_id}' (the form's '{self.token_name}' "
                "field, 'Password' in a generic connection): it may be wrong, expired or revoked"
            ),
            logger=self.log,
            unsafe_posts=self.unsafe_posts,
            stream_timeout=DEFAULT_STREAM_TIMEOUT if stream_timeout is None else stream_timeout,
            anonymous_hint=self.anonymous_hint(),
            missing_token_message=self.missing_token_message(),
        )

    def get_conn(self) -> Any:
        """The hook's pooled ``requests.Session`` (authenticated, retrying), for calls we do not wrap.

        OVHcloud's own provider returned the token string here; use :meth:`get_token` for that.
        """
        return self.http.session

    # ----------------------------------------------------------------------------- async

    async def aconnection(self) -> Connection:
        """The connection read the async way (Airflow 3.3's ``aget_connection``), cached on the hook.

        Triggers call this instead of touching :attr:`connection`, whose synchronous read would
        block the triggerer's event loop. Before 3.3, the synchronous read runs in a thread.
        """
        if "connection" not in self.__dict__:
            getter = getattr(type(self), "aget_connection", None)
            if getter is not None:
                conn = await getter(self.ovh_conn_id)
            else:  # Airflow 3.1/3.2
                from asgiref.sync import sync_to_async

                conn = await sync_to_async(self.get_connection)(self.ovh_conn_id)
            self.__dict__["connection"] = conn
            self._async_masking = True
        return self.__dict__["connection"]

    @asynccontextmanager
    async def async_http(self) -> AsyncIterator[AsyncOVHCloudHTTPClient]:
        """The pooled async client for this hook's connection, shared by every trigger using it.

        ``async with hook.async_http() as client:`` reads the connection without blocking, then
        joins (or opens) the one :class:`~airflow_ovhcloud._async_http.AsyncOVHCloudHTTPClient` of
        this connection in this event loop; it is closed when its last user leaves. While inside,
        the hook's async methods (``aget_job``...) use it.
        """
        from airflow_ovhcloud._async_http import shared_async_client

        await self.aconnection()
        settings = self.http_settings()
        await amask(settings["token"])
        async with shared_async_client(**settings) as client:
            previous: AsyncOVHCloudHTTPClient | None = getattr(self, "_ahttp", None)
            self._ahttp: AsyncOVHCloudHTTPClient | None = client
            try:
                yield client
            finally:
                self._ahttp = previous

    @property
    def ahttp(self) -> AsyncOVHCloudHTTPClient:
        """The async client of the current ``async with hook.async_http()`` block."""
        client = getattr(self, "_ahttp", None)
        if client is None:
            raise RuntimeError(f"{type(self).__name__}: use `async with hook.async_http():` before async calls.")
        return client

    def close(self) -> None:
        """Release pooled connections; the hook rebuilds its session if used again."""
        if "http" in self.__dict__:
            self.http.close()
            del self.__dict__["http"]
