"""The route table and the gate chain every request goes through: journal, latency, fault, size, auth, route.

Services contribute routes: each service's ``responses`` module registers its handlers on a
:class:`Router` (``register(router)``), with the error shape of that service, and may claim a path
prefix so that even unknown paths below it answer in its shape. The :class:`Gateway` knows no
service: it records the request, applies the injected fault, the body-size limit and the bearer
token, then hands a :class:`~airflow_ovhcloud.testing.emulator.wire.Call` to the matched handler.
"""

from __future__ import annotations

import hmac
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from airflow_ovhcloud.testing.emulator.errors import ErrorShape, ServiceError, openai_error
from airflow_ovhcloud.testing.emulator.faults import DROP, Fault, FaultInjector, fault_reply
from airflow_ovhcloud.testing.emulator.journal import Journal, RecordedRequest, redact_headers
from airflow_ovhcloud.testing.emulator.wire import MAX_BODY_BYTES, Call, Handler, Reply, error_reply, parse_body

if TYPE_CHECKING:
    from email.message import Message

T = TypeVar("T")


#: ``decode(body, content_type)`` → ``(what the journal keeps, what the handler gets as Call.payload)``.
BodyDecoder = Callable[[bytes, str], tuple[Any, Any]]


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    methods: dict[str, Handler]
    errors: ErrorShape
    anonymous: frozenset[str] = frozenset()  # the methods that answer without a key (unless strict)
    # Per method: a body limit other than MAX_BODY_BYTES (read when a request arrives, so it can be a knob),
    # a decoder for bodies that are not JSON (multipart uploads), and why a key is needed (said in the 401).
    max_body: tuple[tuple[str, Callable[[], int]], ...] = ()
    decoders: tuple[tuple[str, BodyDecoder], ...] = ()
    key_reasons: tuple[tuple[str, str], ...] = ()

    def limit_for(self, method: str) -> int:
        return next((limit() for m, limit in self.max_body if m == method), MAX_BODY_BYTES)

    def decoder_for(self, method: str) -> BodyDecoder | None:
        return next((decoder for m, decoder in self.decoders if m == method), None)

    def key_reason_for(self, method: str) -> str | None:
        return next((reason for m, reason in self.key_reasons if m == method), None)


def _per_method(pairs: tuple[tuple[str, T], ...], method: str, value: T | None) -> tuple[tuple[str, T], ...]:
    kept = tuple(pair for pair in pairs if pair[0] != method)
    return kept if value is None else (*kept, (method, value))


def compile_route(template: str) -> re.Pattern[str]:
    """``/v1/job/{job_id}/log`` → a regex with named groups; a parameter never spans a slash."""
    parts = re.split(r"(\{[A-Za-z_][A-Za-z0-9_]*\})", template)
    regex = "".join(
        f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{") and part.endswith("}") else re.escape(part) for part in parts
    )
    return re.compile(regex)


class Router:
    """Routes keyed by path pattern and method, and which error shape answers where."""

    def __init__(self, default_errors: ErrorShape = openai_error) -> None:
        self._routes: list[Route] = []
        self._prefixes: list[tuple[str, ErrorShape]] = []
        self._default_errors = default_errors
        self._reserved: list[str] = []  # the control API: no gate applies there

    def add(
        self,
        template: str,
        method: str,
        handler: Handler,
        *,
        errors: ErrorShape = openai_error,
        anonymous: bool = False,
        max_body: Callable[[], int] | None = None,
        decoder: BodyDecoder | None = None,
        key_reason: str | None = None,
    ) -> None:
        """Register ``handler`` for ``method`` on ``template`` (``{name}`` segments become params).

        ``anonymous``: the route also answers a request without any key (as AI Endpoints' chat,
        embeddings and models do), unless the gateway is strict (``require_auth``). A wrong key is
        refused everywhere. Otherwise a key is required, and ``key_reason`` (a sentence) says why in
        the 401 a call without one gets. ``max_body`` returns the body limit of this route (default
        :data:`~airflow_ovhcloud.testing.emulator.wire.MAX_BODY_BYTES`); ``decoder`` turns a body that
        is not JSON into what the journal keeps and what the handler reads (``Call.payload``).
        """
        pattern = compile_route(template)
        method = method.upper()
        open_to = frozenset({method}) if anonymous else frozenset()
        for index, route in enumerate(self._routes):
            if route.pattern.pattern == pattern.pattern:
                self._routes[index] = replace(
                    route,
                    methods={**route.methods, method: handler},
                    anonymous=(route.anonymous - {method}) | open_to,
                    max_body=_per_method(route.max_body, method, max_body),
                    decoders=_per_method(route.decoders, method, decoder),
                    key_reasons=_per_method(route.key_reasons, method, key_reason),
                )
                return
        self._routes.append(
            Route(
                pattern,
                {method: handler},
                errors,
                open_to,
                _per_method((), method, max_body),
                _per_method((), method, decoder),
                _per_method((), method, key_reason),
            )
        )

    def claim(self, prefix: str, errors: ErrorShape) -> None:
        """Unknown paths equal to ``prefix`` or below it (``prefix + "/..."``) answer errors in ``errors``."""
        self._prefixes.append((prefix.rstrip("/"), errors))
        self._prefixes.sort(key=lambda item: len(item[0]), reverse=True)

    def resolve(self, path: str) -> tuple[Route | None, dict[str, str]]:
        for route in self._routes:
            match = route.pattern.fullmatch(path)
            if match:
                return route, match.groupdict()
        return None, {}

    def errors_for(self, path: str) -> ErrorShape:
        """The error shape of an unknown path: that of the longest claimed prefix, else the default."""
        for prefix, errors in self._prefixes:
            if path == prefix or path.startswith(prefix + "/"):
                return errors
        return self._default_errors

    def reserve(self, prefix: str) -> None:
        """Paths equal to ``prefix`` or below it skip every gate (journal, latency, fault, size, auth).

        For the emulator's own control API: scripting a test must not show up in the journal it reads,
        nor meet the faults or the token it sets up for the client under test.
        """
        self._reserved.append(prefix.rstrip("/"))

    def is_reserved(self, path: str) -> bool:
        return any(path == prefix or path.startswith(prefix + "/") for prefix in self._reserved)


class Gateway:
    """The gate chain in front of the routes; ``token``, ``latency`` and ``require_auth`` may change any time.

    Auth, as on the real services: a wrong key (or a header that is not ``Bearer <key>``) is refused
    with 401 everywhere; a request without any key is refused on every route except those
    registered ``anonymous`` (AI Endpoints), which answer it unless ``require_auth`` (strict mode)
    is on. Anonymous calls are rate-limited by the route's service, not here.
    """

    def __init__(
        self, router: Router, journal: Journal, faults: FaultInjector, token: str, latency: float, require_auth: bool
    ) -> None:
        self.router, self.journal, self.faults = router, journal, faults
        self.token = token
        self._defaults = (latency, require_auth)
        self.reset()
        self._lock = threading.Lock()  # a fault drawn and its journal entry go together

    def reset(self) -> None:
        """Latency and auth back to their constructor values (the token stays)."""
        self.latency, self.require_auth = self._defaults

    def auth_state(self, header: str | None) -> str:
        if not header:
            return "missing"
        scheme, _, credential = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            return "invalid"
        ok = hmac.compare_digest(credential.strip().encode("utf-8"), self.token.encode("utf-8"))
        return "ok" if ok else "invalid"

    def _ungated(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> Reply:
        """A reserved (control) route: no journal entry, latency, fault, size limit or auth."""
        route, params = self.router.resolve(path)
        errors = route.errors if route else self.router.errors_for(path)
        handler = route.methods.get(method.upper()) if route else None
        if handler is None:
            allowed = ", ".join(sorted(route.methods)) if route else "none"
            status = 405 if route else 404
            return error_reply(errors, status, f"No control route {method} {path} (allowed: {allowed})")
        try:
            return handler(Call(RecordedRequest(method, path, query, {}, parse_body(body), "ok"), params))
        except ServiceError as exc:
            return error_reply(errors, exc.status, exc.message, code=exc.code, type_=exc.type)
        except Exception as exc:
            return error_reply(errors, 500, f"Emulator internal error: {exc!r}", code="internal_error")

    def body_limit(self, method: str, raw_path: str) -> int:
        """The largest body the route of ``raw_path`` takes (the server reads no more than this into memory)."""
        path = urlsplit(raw_path).path or "/"
        if self.router.is_reserved(path):
            return MAX_BODY_BYTES
        route, _ = self.router.resolve(path)
        return route.limit_for(method.upper()) if route else MAX_BODY_BYTES

    def process(self, method: str, raw_path: str, headers: Message, body: bytes, size: int) -> Reply | None:
        """Journal, latency, faults, size, auth, route — in that order. ``None`` means drop the socket."""
        split = urlsplit(raw_path)
        path = split.path or "/"
        query = parse_qs(split.query, keep_blank_values=True)
        if self.router.is_reserved(path):
            return self._ungated(method, path, query, body)
        kept_headers = redact_headers(headers.items())
        route, params = self.router.resolve(path)
        limit = route.limit_for(method.upper()) if route else MAX_BODY_BYTES
        oversized = size > limit
        decoder = route.decoder_for(method.upper()) if route else None
        payload: Any = None
        if oversized:
            parsed = None
        elif decoder is not None:  # the journal keeps a summary, not a second copy of a large upload
            try:
                parsed, payload = decoder(body, headers.get("Content-Type") or "")
            except Exception as exc:  # a decoder bug must reach the handler as a clear refusal, not a dropped socket
                parsed, payload = {"undecodable": repr(exc), "bytes": size}, ValueError(f"undecodable body: {exc!r}")
        else:
            parsed = parse_body(body)
        auth = self.auth_state(headers.get("Authorization"))

        with self._lock:
            drawn = self.faults.draw(path)
            failure = drawn if isinstance(drawn, Fault) else None
            fault = "drop" if drawn == DROP else (f"status:{failure.status}" if failure else None)
            record = RecordedRequest(method, path, query, kept_headers, parsed, auth, fault)
            self.journal.append(record)

        if self.latency > 0:
            time.sleep(self.latency)
        if drawn == DROP:
            return None
        errors = route.errors if route else self.router.errors_for(path)
        if failure:
            return fault_reply(failure, errors)
        if oversized:
            return error_reply(
                errors,
                413,
                f"Request body too large: {size} bytes; the limit is {limit} bytes ({_megabytes(limit)})",
                code="request_too_large",
            )
        if auth == "invalid" or (
            auth == "missing" and (self.require_auth or route is None or method.upper() not in route.anonymous)
        ):
            reason = route.key_reason_for(method.upper()) if route and auth == "missing" else None
            message = "Invalid or missing API key. Send it as 'Authorization: Bearer <key>'."
            if reason:
                message = f"No API key: {reason} Send it as 'Authorization: Bearer <key>'."
            return error_reply(errors, 401, message, type_="authentication_error", code="invalid_api_key")
        if route is None:
            return error_reply(errors, 404, f"Unknown route: {method} {path}", code="not_found")
        handler = route.methods.get(method.upper())
        if handler is None:
            allowed = ", ".join(sorted(route.methods))
            return error_reply(
                errors,
                405,
                f"Method {method} is not allowed on {path}; allowed: {allowed}",
                code="method_not_allowed",
                headers={"Allow": allowed},
            )
        call = Call(record, params, payload)
        try:
            return handler(call)
        except ServiceError as exc:
            return error_reply(errors, exc.status, exc.message, code=exc.code, type_=exc.type)
        except Exception as exc:  # a bug in the emulator must show up as a clear answer, not a hang
            return error_reply(errors, 500, f"Emulator internal error: {exc!r}", code="internal_error")


def _megabytes(size: int) -> str:
    megabytes = size / (1024 * 1024)
    return f"{megabytes:g} MB" if megabytes == int(megabytes) else f"{megabytes:.1f} MB"
