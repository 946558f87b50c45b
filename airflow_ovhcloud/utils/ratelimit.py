"""A client-side requests-per-minute limiter that holds under any reading of "per minute".

OVHcloud counts requests per project and model per minute. Whether it counts in fixed or sliding
windows, or smooths per second, is not documented, so the limiter meets the strictest reading:

- calls start evenly spaced, ``window / limit`` seconds apart (no burst that a per-second
  smoothing would refuse), and
- no ``window``-second span ever holds more than ``limit`` starts (a log of the last ``limit``
  starts; a token bucket that bursts a whole minute's worth and then refills would allow twice
  the limit in one window).

A small margin is added to the window for the time a request takes to reach the service. After
a 429 the limiter slows down (each 429 stretches the spacing by half, up to 8 times; successes bring
it back gradually). Slots are reserved in arrival order under a lock and slept outside it, so
threads are served first come, first served.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

#: Seconds added to the window: a request started just after the window ends may still arrive
#: at the service inside it.
WINDOW_MARGIN = 0.5
MAX_SLOWDOWN = 8.0
_EPSILON = 1e-6


@dataclass
class _Lane:
    starts: deque[float] = field(default_factory=deque)
    next_slot: float = 0.0


class RateLimiter:
    """At most ``limit`` calls start in any ``window`` seconds, per key (the model), evenly spaced."""

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        *,
        margin: float = WINDOW_MARGIN,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a positive integer, got {limit!r}")
        self.limit = limit
        self.window = float(window)
        self.margin = margin
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._lanes: dict[str, _Lane] = {}
        self.slowdown = 1.0
        #: Seconds callers spent waiting for a slot, for the progress lines and the benchmarks.
        self.waited = 0.0

    @property
    def interval(self) -> float:
        """Seconds between two starts in one lane right now."""
        return self.window / self.limit * self.slowdown

    def reserve(self, key: str = "") -> float:
        """Reserve the next slot of ``key`` and return when it is (on the limiter's clock)."""
        with self._lock:
            lane = self._lanes.setdefault(key, _Lane())
            now = self._clock()
            slot = max(now, lane.next_slot)
            span = self.window + self.margin + _EPSILON
            while lane.starts and lane.starts[0] + span <= slot:
                lane.starts.popleft()
            if len(lane.starts) >= self.limit:
                # Strictly after the window of the oldest start: even a closed window holds `limit`.
                slot = max(slot, lane.starts[0] + span)
                lane.starts.popleft()
            lane.starts.append(slot)
            lane.next_slot = slot + self.interval
            return slot

    def acquire(self, key: str = "") -> float:
        """Wait for a slot of ``key``; return the seconds waited."""
        wait = self.reserve(key) - self._clock()
        if wait > 0:
            self._sleep(wait)
            with self._lock:
                self.waited += wait
            return wait
        return 0.0

    def rate_limited(self) -> None:
        """The service answered 429 anyway: space calls out more."""
        with self._lock:
            self.slowdown = min(MAX_SLOWDOWN, self.slowdown * 1.5)

    def succeeded(self) -> None:
        """A call went through: ease back towards the configured rate."""
        if self.slowdown > 1.0:
            with self._lock:
                self.slowdown = max(1.0, self.slowdown * 0.98)
