"""Durable progress: finished answers of a many-call task survive a failure, a kill and a retry.

Airflow 3.3+ gives each task instance a key-value *task state store* (``context["task_state_store"]``,
the one ``ResumableJobMixin`` keeps job ids in). Its values are JSON in a ``TEXT`` column (MySQL:
``MEDIUMTEXT``, 16 MB) and every read or write is one round trip to the API server, so answers are
kept in chunks of :data:`CHUNK` indices, one key each, written when a chunk fills up or every
:data:`FLUSH_SECONDS`, and once more when the task ends, fails or is killed; one more key lists
the chunks written, so a retry reads only those. The keys carry a
fingerprint of the requests: a retry whose inputs changed starts afresh instead of reusing answers
of other prompts. Where there is no store (Airflow before 3.3) or it refuses a value, the task
logs it once and a retry sends everything again.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

#: Answers per key: a chunk of 100 answers of 1 KB is a 100 KB value, one round trip.
CHUNK = 100
#: Seconds between two writes of unfinished chunks while calls run.
FLUSH_SECONDS = 2.0


def fingerprint(requests: Any) -> str:
    """A short stable hash of what is asked, so stored answers are only reused for the same requests."""
    encoded = json.dumps(requests, sort_keys=True, default=repr, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()[:20]


class DurableResults:
    """Finished results by index, kept in a task state store (or nowhere, when ``store`` is ``None``)."""

    def __init__(
        self,
        store: Any,
        name: str,
        fingerprint: str,
        total: int,
        log: Any,
        *,
        chunk: int = CHUNK,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.prefix = f"{name}:{fingerprint}"
        self.total = total
        self.log = log
        self.chunk = chunk
        self.clock = clock
        self.results: dict[int, Any] = {}
        self._dirty: set[int] = set()
        #: Chunks written so far, listed under one more key: a retry reads only those.
        self._written: set[int] = set()
        self._last_flush = clock()
        self.enabled = store is not None and hasattr(store, "get") and hasattr(store, "set")

    def _key(self, number: int | str) -> str:
        return f"{self.prefix}:{number}"

    def load(self) -> dict[int, Any]:
        """The results an earlier try of this task kept."""
        if not self.enabled:
            return {}
        try:
            written = self.store.get(self._key("chunks"))
        except Exception as exc:  # an unreachable store must not fail the task: it only costs a resend
            self._disable(f"reading it failed ({exc})")
            return {}
        self._written = {int(n) for n in written if isinstance(n, int)} if isinstance(written, list) else set()
        for number in sorted(self._written):
            try:
                stored = self.store.get(self._key(number))
            except Exception as exc:
                self._disable(f"reading it failed ({exc})")
                return {}
            if isinstance(stored, dict):
                for index, value in stored.items():
                    if str(index).isdigit() and int(index) < self.total:
                        self.results[int(index)] = value
        if self.results:
            self.log.info(
                "Resuming: %d of %d answers were kept by an earlier try and are not requested again.",
                len(self.results),
                self.total,
            )
        return dict(self.results)

    def add(self, index: int, value: Any) -> None:
        self.results[index] = value
        if not self.enabled:
            return
        number = index // self.chunk
        self._dirty.add(number)
        full = all(i in self.results for i in range(number * self.chunk, min(self.total, (number + 1) * self.chunk)))
        if full:
            self._write(number)
        if self.clock() - self._last_flush >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Write every chunk that changed since it was last written."""
        for number in sorted(self._dirty):
            if not self.enabled:
                return
            self._write(number)
        self._last_flush = self.clock()

    def _write(self, number: int) -> None:
        start, stop = number * self.chunk, min(self.total, (number + 1) * self.chunk)
        value = {str(i): self.results[i] for i in range(start, stop) if i in self.results}
        try:
            self.store.set(self._key(number), value)
            if number not in self._written:
                self._written.add(number)
                self.store.set(self._key("chunks"), sorted(self._written))
        except Exception as exc:
            self._disable(f"writing answers {start}-{stop - 1} failed ({exc})")
            return
        self._dirty.discard(number)

    def _disable(self, why: str) -> None:
        self.enabled = False
        self.log.warning(
            "Durable progress is off for this try: the task state store %s. A retry will request every answer again.",
            why,
        )
