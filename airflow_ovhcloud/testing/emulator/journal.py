"""The journal: every request the emulator saw, credential removed, for tests to read.

Tests assert on what a client really sent (path, query, headers, parsed body) and on which fault it
met, rather than on stderr. The record keeps no credential so a journal is safe to print or log.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

# Headers that can carry a credential: never kept in the journal.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "api-key", "x-api-key"})


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the emulator saw it; the credential is never kept, so journals are safe to print."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    auth: str
    fault: str | None = None


def path_matches(request_path: str, wanted: str | None) -> bool:
    """``wanted`` is None (any path), the path itself, or a suffix of it (``"/chat/completions"``)."""
    return wanted is None or request_path == wanted or request_path.endswith(wanted)


def redact_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The headers minus those that can carry a credential; repeated headers are joined with ``, ``."""
    kept: dict[str, str] = {}
    for name, value in headers:
        if name.lower() in SECRET_HEADERS:
            continue
        kept[name] = f"{kept[name]}, {value}" if name in kept else value
    return kept


class Journal:
    """The recorded requests in arrival order; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RecordedRequest] = []

    def append(self, record: RecordedRequest) -> None:
        with self._lock:
            self._records.append(record)

    def records(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._records)

    def matching(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [
                r
                for r in self._records
                if path_matches(r.path, path) and (method is None or r.method.upper() == method.upper())
            ]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def mark_fault(self, record: RecordedRequest, fault: str) -> None:
        """Note a fault met after the request was recorded (a stream cut mid-answer, a rate limit)."""
        with self._lock:
            records = self._records
            for index in range(len(records) - 1, -1, -1):  # newest first: the record is a recent one
                if records[index] is record:
                    records[index] = replace(record, fault=fault)
                    return
