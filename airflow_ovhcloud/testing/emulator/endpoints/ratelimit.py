"""AI Endpoints' rate limits: at most N requests per model and caller in any sliding window.

The real service counts requests per model: 2 per minute per IP without a key, 400 per minute per
project with one, and answers 429 above. The emulator keeps, per (model, caller), the arrival times
of the requests it admitted within the last window (a deque, oldest first), so a check is a few
deque operations under one lock: cheap at thousands of requests per second. Refused requests are
not counted, so a client that honours ``Retry-After`` gets through.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

__all__ = ["SlidingWindow", "retry_after_header"]


class SlidingWindow:
    """Admission per key (model and caller): ``limit`` requests in any ``window`` seconds; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lanes: dict[tuple[str, str], deque[float]] = {}

    def admit(self, model: str, caller: str, limit: int, window: float, now: float | None = None) -> float | None:
        """Count the request and return ``None`` if it fits, else the seconds until a slot frees up."""
        now = time.monotonic() if now is None else now
        with self._lock:
            lane = self._lanes.get((model, caller))
            if lane is None:
                lane = self._lanes[(model, caller)] = deque()
            horizon = now - window
            while lane and lane[0] <= horizon:
                lane.popleft()
            if len(lane) < limit:
                lane.append(now)
                return None
            # The oldest request that must leave the window before another fits.
            return max(0.0, lane[len(lane) - limit] - horizon)

    def clear(self) -> None:
        with self._lock:
            self._lanes.clear()


def retry_after_header(seconds: float) -> str:
    """``Retry-After`` in whole seconds, rounded up, at least 1 (a 0 would invite an instant retry)."""
    return str(max(1, math.ceil(seconds)))
