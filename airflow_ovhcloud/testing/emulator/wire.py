"""What the HTTP layer and the request handlers hand each other: a parsed :class:`Call` in, a :class:`Reply` out.

Handlers (the ``responses`` modules of each service) never touch sockets: they read a ``Call`` and
return a ``Reply``, JSON or a lazily encoded stream of Server-Sent Events. Keeping these records
apart from the server lets a service module be written and tested without the HTTP machinery.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from airflow_ovhcloud.testing.emulator.errors import ErrorShape
from airflow_ovhcloud.testing.emulator.journal import RecordedRequest

#: The real service refuses request bodies above 2 MB.
MAX_BODY_BYTES = 2 * 1024 * 1024


@dataclass
class Reply:
    """What a route answers; ``events`` makes it a chunked Server-Sent Events stream."""

    status: int = 200
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    events: Iterable[bytes] | None = None


@dataclass
class Call:
    """A request that passed the fault, size and auth gates, handed to a route's handler.

    What was sent is its journal record; ``params`` are the route's ``{name}`` segments; ``payload`` is
    what the route's body decoder made of a body that is not JSON (a multipart upload), else None.
    """

    record: RecordedRequest
    params: dict[str, str]
    payload: Any = None

    @property
    def query(self) -> dict[str, list[str]]:
        return self.record.query

    @property
    def body(self) -> Any:
        return self.record.body


Handler = Callable[[Call], Reply]


def json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def json_reply(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status=status, body=json_bytes(payload), headers=dict(headers or {}))


def no_content() -> Reply:
    return Reply(204, b"", None)


def text_reply(text: str) -> Reply:
    return Reply(200, text.encode("utf-8"), "text/plain; charset=utf-8")


def error_reply(
    shape: ErrorShape,
    status: int,
    message: str,
    *,
    code: str | None = None,
    type_: str | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    return json_reply(shape(status, message, code, type_), status, headers)


def parse_body(raw: bytes) -> Any:
    """JSON when it parses, else the text; ``None`` for an empty body."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")


def sse_event(payload: Any) -> bytes:
    """One ``data:`` event; a string goes out as is (``[DONE]``), anything else as JSON."""
    data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data: {data}\n\n".encode()
