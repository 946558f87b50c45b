"""A tiny local server that answers however a test tells it to: proxies gone wrong, echoing debug pages.

Loopback only, bounded: every scripted answer writes a fixed number of bytes or stops when the
client goes away, and the server is shut down when the test ends.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: ``answer(handler, body)`` writes the whole answer with ``handler.send_response`` / ``wfile``.
Answer = Callable[[BaseHTTPRequestHandler, bytes], None]


class HostileServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[dict[str, Any]] = []
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HostileServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers)})
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up, as it should
            self.server.answer(self, body)

    do_GET = do_POST = do_PUT = do_DELETE = _handle


@contextmanager
def hostile_server(answer: Answer) -> Iterator[HostileServer]:
    server = HostileServer(answer)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes | str,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> None:
    """One complete answer."""
    data = body.encode() if isinstance(body, str) else body
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)


def send_json(handler: BaseHTTPRequestHandler, status: int, payload: Any, **kwargs: Any) -> None:
    send(handler, status, json.dumps(payload), **kwargs)


def connection(url: str, token: str, conn_type: str = "ovhcloud_ai_endpoints", **extra: Any) -> str:
    """An ``AIRFLOW_CONN_*`` value pointing at ``url``, with fast retries unless told otherwise."""
    return json.dumps(
        {"conn_type": conn_type, "host": url, "password": token, "extra": {"backoff_factor": 0.01, **extra}}
    )
