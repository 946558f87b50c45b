"""Many calls in one task: bounded concurrency, answers in input order, progress lines, errors per index.

Shared by many-prompt chat (``@task.ovh_chat(many=True)``) and batched embeddings, so both report
progress, stop and fail the same way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

from airflow_ovhcloud.exceptions import (
    OVHCloudAIConfigurationError,
    OVHCloudAIError,
    OVHCloudAIInvalidInputError,
    OVHCloudAIPermanentError,
)

T = TypeVar("T")
R = TypeVar("R")

#: Seconds between two progress lines, at most one line per interval whatever the call rate.
PROGRESS_INTERVAL = 5.0
ON_ERROR = ("fail", "skip")


class Progress:
    """Thread-safe counters and a progress line at most every ``interval`` seconds."""

    def __init__(
        self,
        total: int,
        what: str,
        log: Any,
        *,
        already_done: int = 0,
        interval: float = PROGRESS_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.what = what
        self.log = log
        self.interval = interval
        self.clock = clock
        self.started = clock()
        self.last_line = self.started
        self.already_done = already_done
        self.done = already_done
        self.failed = 0
        self.lines = 0
        self._lock = threading.Lock()

    def record(self, *, failed: bool = False) -> None:
        with self._lock:
            self.done += 1
            self.failed += int(failed)
            now = self.clock()
            if now - self.last_line < self.interval:
                return
            self.last_line = now
            line = self.line(now)
        self._emit(line)

    def line(self, now: float | None = None) -> str:
        now = self.clock() if now is None else now
        elapsed = max(now - self.started, 1e-9)
        rate = (self.done - self.already_done) / elapsed
        left = self.total - self.done
        eta = f", about {left / rate:.0f} s left" if rate > 0 and left else ""
        failed = f", {self.failed} failed" if self.failed else ""
        return f"{self.what}: {self.done}/{self.total} done{failed}, {rate:.1f} calls/s{eta}."

    def finish(self) -> None:
        self.lines += 1
        if self.log is not None:
            self.log.info("%s", self.line())

    def _emit(self, line: str) -> None:
        self.lines += 1
        if self.log is not None:
            self.log.info("%s", line)


def add_usage(total: dict[str, int], usage: Any) -> None:
    """Sum the integer counters of one response's ``usage`` into ``total``."""
    for key, value in (usage if isinstance(usage, dict) else {}).items():
        if isinstance(value, int) and not isinstance(value, bool):
            total[key] = total.get(key, 0) + value


def materialize(value: Any, what: str) -> list[Any]:
    """A list of the items of ``value``: a list, a tuple, or the lazy sequence of a mapped task's results.

    Airflow's lazy sequence reads one XCom per item when iterated; a slice reads them all in one
    request, so the slice is taken.
    """
    if isinstance(value, (str, bytes, bytearray, Mapping)) or not isinstance(value, (Sequence, Collection)):
        raise OVHCloudAIInvalidInputError(f"{what} must be a list (or tuple) of items, got {type(value).__name__}.")
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, Sequence):
        try:
            return list(value[:])
        except (TypeError, KeyError, IndexError):
            pass
    return list(value)


def check_many_options(max_concurrency: Any, on_error: Any, *, limit: int = 64) -> None:
    if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) or not 1 <= max_concurrency <= limit:
        raise OVHCloudAIInvalidInputError(
            f"max_concurrency must be an integer from 1 to {limit}, got {max_concurrency!r}."
        )
    check_on_error(on_error)


def check_on_error(on_error: Any) -> None:
    """``on_error`` of many prompts in one task and of a batch: the same two choices, one check."""
    if on_error not in ON_ERROR:
        raise OVHCloudAIInvalidInputError(f"on_error must be one of {list(ON_ERROR)}, got {on_error!r}.")


def run_many(
    items: Sequence[T],
    call: Callable[[int, T], R],
    *,
    max_concurrency: int,
    on_error: str = "fail",
    skip: Collection[int] = (),
    progress: Progress | None = None,
    on_result: Callable[[int, R], None] | None = None,
) -> tuple[dict[int, R], dict[int, OVHCloudAIError]]:
    """Call ``call(index, item)`` for every item not in ``skip``, ``max_concurrency`` at a time.

    Returns the results and the errors by index. With ``on_error="fail"`` nothing new starts after
    the first error (the calls in flight finish); with ``"skip"`` every item is tried, except after
    an error that every other call would meet too (a refused key, a broken connection setting).
    ``on_result`` sees each result as it arrives (to keep durable progress).
    """
    results: dict[int, R] = {}
    errors: dict[int, OVHCloudAIError] = {}
    pending = (i for i in range(len(items)) if i not in skip)
    stop = False
    with ThreadPoolExecutor(max_workers=max_concurrency) as pool:
        in_flight: dict[Future[R], int] = {}

        def start_more() -> None:
            while not stop and len(in_flight) < max_concurrency:
                index = next(pending, None)
                if index is None:
                    return
                in_flight[pool.submit(call, index, items[index])] = index

        start_more()
        while in_flight:
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in finished:
                index = in_flight.pop(future)
                try:
                    result = future.result()
                except OVHCloudAIError as exc:
                    errors[index] = exc
                    if on_error == "fail" or _fails_every_call(exc):
                        stop = True
                    if progress is not None:
                        progress.record(failed=True)
                    continue
                results[index] = result
                if on_result is not None:
                    on_result(index, result)
                if progress is not None:
                    progress.record()
            start_more()
    return results, errors


def _fails_every_call(exc: OVHCloudAIError) -> bool:
    """A refused key or an unusable connection: no point in trying the other items."""
    return isinstance(exc, OVHCloudAIConfigurationError) or (
        isinstance(exc, OVHCloudAIPermanentError) and exc.http_status in (401, 403)
    )


def describe_failures(what: str, errors: dict[int, OVHCloudAIError], total: int, *, shown: int = 20) -> str:
    """One message naming every failed index (the first ``shown`` with their errors)."""
    lines = [f"{len(errors)} of {total} {what} failed:"]
    for index in sorted(errors)[:shown]:
        lines.append(f"  [{index}] {errors[index]}")
    if len(errors) > shown:
        lines.append(f"  ... and {len(errors) - shown} more at indices {sorted(errors)[shown:][:200]}")
    return "\n".join(lines)
