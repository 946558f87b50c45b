"""The HTTP server: sockets, body framing, writing replies and chunked Server-Sent Events, lifecycle.

The standard library's threading server, made strict where clients need it to be: request bodies
are always read whole (chunked or not) so an oversized one can still be answered, one SSE event goes
out per HTTP chunk so clients must cope with incremental reads, and stopping closes keep-alive
sockets too. Every request is handed to one ``process`` function (the gate chain); this module
knows nothing of routes or services.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, cast

from airflow_ovhcloud.testing.emulator.errors import openai_error
from airflow_ovhcloud.testing.emulator.wire import MAX_BODY_BYTES, Reply, error_reply

if TYPE_CHECKING:
    from email.message import Message

#: ``process(method, raw_path, headers, body, body_size)`` → the reply, or ``None`` to drop the socket.
Processor = Callable[[str, str, "Message", bytes, int], "Reply | None"]
#: ``limit(method, raw_path)`` → the largest body kept in memory for that request (larger ones are drained).
BodyLimit = Callable[[str, str], int]


def _default_limit(method: str, raw_path: str) -> int:
    return MAX_BODY_BYTES


class BindError(OSError):
    """The emulator cannot listen on ``host:port`` (a port already taken, a privileged port...).

    An ``OSError`` with the original ``errno``, whose message names the address, so that a command
    line can print one clear line instead of a traceback.
    """

    def __init__(self, host: str, port: int, cause: OSError) -> None:
        reason = cause.strerror or str(cause)
        super().__init__(cause.errno, f"cannot listen on {host}:{port}: {reason}")
        self.host, self.port = host, port

    def __str__(self) -> str:
        return str(self.strerror)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops connection attempts when a pool of clients connects
    # at once, and a dropped SYN is retried only after a second: far more than any test waits.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], process: Processor, body_limit: BodyLimit) -> None:
        self.process = process
        self.body_limit = body_limit
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up (keep-alive closes, drops) are normal; only real bugs are printed."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Close keep-alive sockets too, so a stopped emulator really stops answering."""
        with self.connections_lock:
            connections = list(self.connections)
            self.connections.clear()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "OVHCloudAIEmulator"

    @property
    def _server(self) -> _Server:
        return cast("_Server", self.server)

    def setup(self) -> None:
        super().setup()
        with self._server.connections_lock:
            self._server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self._server.connections_lock:
                self._server.connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read the journal instead of stderr."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def _read_body(self) -> tuple[bytes, int]:
        """The body (empty when over the limit) and its size; the whole body is always consumed."""
        limit = self._server.body_limit(self.command, self.path)
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            kept: list[bytes] = []
            size = 0
            while True:
                line = self.rfile.readline(65537)
                chunk_size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if chunk_size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                data = self.rfile.read(chunk_size)
                self.rfile.readline(65537)
                size += len(data)
                if size <= limit:
                    kept.append(data)
                else:
                    kept = []
            return (b"".join(kept) if size <= limit else b""), size
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length <= limit:
            return self.rfile.read(length), length
        remaining = length
        while remaining > 0:
            data = self.rfile.read(min(remaining, 1 << 16))
            if not data:
                break
            remaining -= len(data)
        return b"", length

    def _dispatch(self) -> None:
        try:
            body, size = self._read_body()
        except ValueError:
            self.close_connection = True
            self._send(error_reply(openai_error, 400, "Malformed request body framing", code="bad_request"))
            return
        reply = self._server.process(self.command, self.path, self.headers, body, size)
        if reply is None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        try:
            if reply.events is not None:
                self._send_stream(reply)
                return
            self.send_response(reply.status)
            if reply.content_type and reply.status not in (204, 304):
                self.send_header("Content-Type", reply.content_type)
            if reply.status not in (204, 304):
                self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if reply.body and reply.status not in (204, 304):
                self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send_stream(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        for event in reply.events or ():
            # One event per HTTP chunk, each in one send: clients must cope with real incremental reads.
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
        self.wfile.write(b"0\r\n\r\n")


class Listener:
    """One server socket, served from a daemon thread (``start``) or the calling thread (``serve_forever``)."""

    def __init__(self, process: Processor, body_limit: BodyLimit = _default_limit) -> None:
        self._process = process
        self._body_limit = body_limit
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._serving = threading.Event()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        server = self._server
        if server is None:
            raise RuntimeError("the emulator is not started; call start() or use it as a context manager")
        host, port = server.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        return f"http://{host}:{port}"

    def start(self, host: str, port: int) -> None:
        """Bind and serve in a daemon thread; nothing happens when it already does."""
        with self._lock:
            if self._thread is not None:
                return
            server = self._bind(host, port)
            self._serving.set()
            self._thread = threading.Thread(
                target=self._serve, args=(server,), name=f"ovhcloud-emulator-{self.url}", daemon=True
            )
            self._thread.start()

    def serve_forever(self, host: str, port: int) -> None:
        """Bind and serve in the calling thread until KeyboardInterrupt or ``stop()``."""
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("the emulator is already serving in a background thread")
            server = self._bind(host, port)
            self._serving.set()
        try:
            self._serve(server)
        except KeyboardInterrupt:
            pass
        finally:
            self._close()

    def stop(self) -> None:
        """Stop serving and close every socket; safe to call twice."""
        with self._lock:
            server, thread = self._server, self._thread
            serving = self._serving.is_set()
        if server is None:
            return
        if serving and thread is not threading.current_thread():
            server.shutdown()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        self._close()

    def _bind(self, host: str, port: int) -> _Server:
        if self._server is not None:
            raise RuntimeError("the emulator is already serving")
        try:
            self._server = _Server((host, port), self._process, self._body_limit)
        except OSError as exc:
            raise BindError(host, port, exc) from exc
        return self._server

    def _serve(self, server: _Server) -> None:
        try:
            server.serve_forever(poll_interval=0.02)
        finally:
            self._serving.clear()

    def _close(self) -> None:
        with self._lock:
            server, self._server, self._thread = self._server, None, None
        if server is not None:
            server.server_close()
            server.close_connections()
