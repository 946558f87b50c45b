"""Fault injection: failed answers, dropped connections, broken streams and random chaos.

Clients are tested against the failures a real service has; this module holds what is queued and
decides, per request path, which fault (if any) a request meets. It knows no service: the HTTP
layer asks :meth:`FaultInjector.draw` before routing, and a streaming handler asks
:meth:`FaultInjector.take_stream_fault` before it sends its events.
"""

from __future__ import annotations

import http
import random
import threading
from collections import deque
from dataclasses import dataclass
from typing import Literal

from airflow_ovhcloud.testing.emulator.errors import ErrorShape
from airflow_ovhcloud.testing.emulator.journal import path_matches
from airflow_ovhcloud.testing.emulator.wire import Reply, error_reply

DROP: Literal["drop"] = "drop"


@dataclass
class Fault:
    """Answer the next ``remaining`` requests matching ``path`` with ``status`` (or just drop them)."""

    remaining: int
    path: str | None
    status: int = 0
    retry_after: str | int | None = None
    message: str | None = None
    body: str | bytes | None = None
    content_type: str | None = None

    def __post_init__(self) -> None:
        if self.remaining < 1:
            raise ValueError("count must be at least 1")


@dataclass(frozen=True)
class StreamFault:
    kind: str  # "cut" | "error"
    after_chunks: int
    message: str = ""
    code: int | str = 500


@dataclass
class Chaos:
    rate: float
    kinds: tuple[int | str, ...]
    retry_after: str | int | None
    path: str | None
    rng: random.Random


def chaos(
    rate: float, statuses: tuple[int, ...], drop: bool, retry_after: str | int | None, path: str | None, seed: int
) -> Chaos | None:
    """The random-fault setting ``random_faults`` asks for (``None`` when ``rate`` is 0)."""
    if not 0 <= rate <= 1:
        raise ValueError(f"rate must be between 0 and 1, got {rate}")
    kinds: tuple[int | str, ...] = (*statuses, *((DROP,) if drop else ()))
    if rate and not kinds:
        raise ValueError("random_faults needs at least one status or drop=True")
    return Chaos(rate, kinds, retry_after, path, random.Random(seed)) if rate else None


def _take(faults: list[Fault], path: str) -> Fault | None:
    for fault in faults:
        if path_matches(path, fault.path):
            fault.remaining -= 1
            if fault.remaining <= 0:
                faults.remove(fault)
            return fault
    return None


class FaultInjector:
    """The queued faults; thread-safe. Explicit faults come first: drops, then failures, then chaos."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: list[Fault] = []
        self._drops: list[Fault] = []
        self._chaos: Chaos | None = None
        self._stream_faults: deque[StreamFault] = deque()

    def clear(self) -> None:
        with self._lock:
            self._failures.clear()
            self._drops.clear()
            self._chaos = None
            self._stream_faults.clear()

    def add_failure(self, fault: Fault) -> None:
        with self._lock:
            self._failures.append(fault)

    def add_drop(self, fault: Fault) -> None:
        with self._lock:
            self._drops.append(fault)

    def add_stream_fault(self, fault: StreamFault) -> None:
        with self._lock:
            self._stream_faults.append(fault)

    def set_chaos(self, setting: Chaos | None) -> None:
        with self._lock:
            self._chaos = setting

    def draw(self, path: str) -> Fault | Literal["drop"] | None:
        """The fault the next request to ``path`` meets: ``"drop"``, a failure to answer, or none."""
        with self._lock:
            if _take(self._drops, path):
                return DROP
            return _take(self._failures, path) or self._random(path)

    def take_stream_fault(self) -> StreamFault | None:
        with self._lock:
            return self._stream_faults.popleft() if self._stream_faults else None

    def _random(self, path: str) -> Fault | Literal["drop"] | None:
        setting = self._chaos
        if setting is None or not path_matches(path, setting.path) or setting.rng.random() >= setting.rate:
            return None
        kind = setting.rng.choice(setting.kinds)
        if kind == DROP:
            return DROP
        status = int(kind)
        return Fault(1, None, status, setting.retry_after if status in (429, 503) else None)


def fault_reply(fault: Fault, shape: ErrorShape) -> Reply:
    """The answer of an injected failure: ``fault.body`` verbatim, else an error in the route's shape."""
    headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
    if fault.body is not None:
        raw = fault.body.encode("utf-8") if isinstance(fault.body, str) else fault.body
        return Reply(fault.status, raw, fault.content_type or "text/plain; charset=utf-8", headers)
    try:
        phrase = http.HTTPStatus(fault.status).phrase
    except ValueError:
        phrase = "Error"
    message = fault.message or f"Injected failure: HTTP {fault.status} {phrase}"
    reply = error_reply(shape, fault.status, message, headers=headers)
    if fault.content_type:
        reply.content_type = fault.content_type
    return reply
