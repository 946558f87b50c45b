"""The requests-per-minute limiter and the many-calls runner, on a fake clock (no sleeping)."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_ovhcloud.exceptions import OVHCloudAIClientError, OVHCloudAIRequestError
from airflow_ovhcloud.utils.many import Progress, describe_failures, run_many
from airflow_ovhcloud.utils.ratelimit import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def starts_of(limit: int, window: float, arrivals: list[float]) -> list[float]:
    clock = FakeClock()
    limiter = RateLimiter(limit, window, margin=0.0, clock=clock, sleep=clock.sleep)
    starts = []
    for gap in arrivals:
        clock.now += gap
        limiter.acquire("model")
        starts.append(clock.now)
    return starts


@settings(max_examples=200, deadline=None)
@given(
    limit=st.integers(min_value=1, max_value=30),
    arrivals=st.lists(st.floats(min_value=0, max_value=20, allow_nan=False), min_size=1, max_size=120),
)
def test_no_window_ever_holds_more_than_the_limit(limit: int, arrivals: list[float]) -> None:
    """Fixed or sliding, closed or open: any 60-second span holds at most `limit` starts."""
    starts = starts_of(limit, 60.0, arrivals)
    for i, first in enumerate(starts):
        in_window = [s for s in starts[i:] if s <= first + 60.0]
        assert len(in_window) <= limit
    for a, b in itertools.pairwise(starts):
        assert b - a >= 60.0 / limit - 1e-9  # evenly spaced: no burst a per-second smoothing would refuse


def test_a_token_bucket_burst_is_not_what_it_does() -> None:
    starts = starts_of(10, 60.0, [0.0] * 20)
    assert starts[9] - starts[0] == pytest.approx(54.0)  # 10 calls spread over the minute, not at once
    assert starts[10] - starts[0] >= 60.0


def test_a_429_slows_it_down_and_successes_ease_it_back() -> None:
    clock = FakeClock()
    limiter = RateLimiter(60, 60.0, clock=clock, sleep=clock.sleep)
    assert limiter.interval == pytest.approx(1.0)
    limiter.rate_limited()
    assert limiter.interval == pytest.approx(1.5)
    for _ in range(200):
        limiter.succeeded()
    assert limiter.interval == pytest.approx(1.0)


def test_threads_share_the_limit_first_come_first_served() -> None:
    limiter = RateLimiter(600, 1.0, margin=0.0)  # 600 per second: 1.67 ms apart
    starts: list[float] = []

    def worker() -> None:
        for _ in range(10):
            limiter.acquire("m")
            starts.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(starts) == 80
    assert max(starts) - min(starts) >= 79 / 600 * 0.9


def test_the_runner_keeps_input_order_and_stops_after_the_first_failure() -> None:
    def call(index: int, item: str) -> str:
        if index == 3:
            raise OVHCloudAIRequestError("boom")
        return item.upper()

    results, errors = run_many(list("abcdefgh"), call, max_concurrency=1, on_error="fail")
    assert results == {0: "A", 1: "B", 2: "C"} and list(errors) == [3]
    results, errors = run_many(list("abcdefgh"), call, max_concurrency=3, on_error="skip", skip={0})
    assert sorted(results) == [1, 2, 4, 5, 6, 7] and list(errors) == [3]


def test_a_permanent_error_stops_new_calls_even_when_skipping() -> None:
    calls: list[int] = []

    def call(index: int, item: Any) -> None:
        calls.append(index)
        raise OVHCloudAIClientError("HTTP 401", http_status=401)

    _, errors = run_many(list(range(50)), call, max_concurrency=2, on_error="skip")
    assert len(calls) <= 3 and len(errors) == len(calls)


def test_progress_lines_come_at_most_every_interval() -> None:
    clock = FakeClock()
    lines: list[str] = []

    class Log:
        def info(self, fmt: str, line: str) -> None:
            lines.append(line)

    progress = Progress(1000, "Chat completions", Log(), interval=5.0, clock=clock)
    for index in range(1000):
        clock.now += 0.01  # 100 calls per second for 10 s
        progress.record(failed=index == 700)
    progress.finish()
    assert len(lines) == 2  # about 5 s in, and the closing line: never one per call
    assert lines[0] == "Chat completions: 501/1000 done, 100.0 calls/s, about 5 s left."
    assert lines[-1].startswith("Chat completions: 1000/1000 done, 1 failed, 100.0 calls/s")


def test_failures_are_named_by_index() -> None:
    text = describe_failures("prompts", {i: OVHCloudAIRequestError(f"e{i}") for i in range(25)}, 100, shown=2)
    assert text.splitlines() == [
        "25 of 100 prompts failed:",
        "  [0] e0",
        "  [1] e1",
        "  ... and 23 more at indices " + str(list(range(2, 25))),
    ]
