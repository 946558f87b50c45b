"""A local, real-HTTP stand-in for OVHcloud AI Endpoints.

Tests and demos need a server that speaks the same wire format as the real service, fails on
demand and keeps a journal, without a network or an API key. The emulator is written against the
wire format only (standard library, no import from Airflow or from the hooks) so that it stays an
independent check on the client code.

Routes live in a table keyed by method and path pattern, so further services (AI Training's
``/v1/job...``) can be added to the same server later.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import hmac
import http
import itertools
import json
import math
import random
import re
import socket
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from email.message import Message
    from types import TracebackType

__all__ = ["MAX_BODY_BYTES", "OVHCloudAIEmulator", "RecordedRequest"]

#: The real service refuses request bodies above 2 MB.
MAX_BODY_BYTES = 2 * 1024 * 1024

_CHAT_MODELS = (
    "Meta-Llama-3_3-70B-Instruct",
    "gpt-oss-120b",
    "gpt-oss-20b",
    "Mistral-Small-3.2-24B-Instruct-2506",
    "Qwen2.5-VL-72B-Instruct",
    "Mixtral-8x7B-Instruct-v0.1",
    "Qwen3-32B",
    "Llama-3.1-8B-Instruct",
    "Mistral-Nemo-Instruct-2407",
    "DeepSeek-R1-Distill-Llama-70B",
)
_EMBEDDING_MODELS = (
    ("BGE-M3", 1024),
    ("bge-m3", 1024),
    ("bge-multilingual-gemma2", 3584),
    ("bge-base-en-v1.5", 768),
    ("Qwen3-Embedding-8B", 4096),
)
# A fixed creation date keeps /v1/models answers identical from run to run.
_MODEL_CREATED = 1_735_689_600

# Headers that can carry a credential: never kept in the journal.
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "api-key", "x-api-key"})

_STREAM_WORDS_PER_CHUNK = 2
_TOOL_ARGUMENT_FRAGMENT = 8


# --------------------------------------------------------------------------------------------------
# Public records
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# Internal plumbing
# --------------------------------------------------------------------------------------------------


@dataclass
class _Reply:
    """What a route answers; ``events`` makes it a chunked Server-Sent Events stream."""

    status: int = 200
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    events: list[bytes] | None = None


@dataclass
class _Call:
    """A request that passed the fault, size and auth gates, handed to a route."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    params: dict[str, str]
    record: RecordedRequest


_RouteHandler = Callable[[_Call], _Reply]


@dataclass(frozen=True)
class _Route:
    pattern: re.Pattern[str]
    methods: dict[str, _RouteHandler]
    # How errors are shaped on this route: "openai" ({"error": {...}}); other services may differ.
    style: str = "openai"


@dataclass
class _Fault:
    remaining: int
    path: str | None
    status: int = 0
    retry_after: str | int | None = None
    message: str | None = None
    body: str | bytes | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class _StreamFault:
    kind: str  # "cut" | "error"
    after_chunks: int
    message: str = ""
    code: int | str = 500


@dataclass(frozen=True)
class _Scripted:
    content: str | None
    tool_calls: tuple[tuple[str, str], ...] | None
    finish_reason: str | None
    reasoning: str | None
    usage: dict[str, Any] | None


@dataclass(frozen=True)
class _Model:
    kind: str  # "chat" | "embedding"
    dimensions: int | None = None


@dataclass
class _Completion:
    content: str | None
    tool_calls: list[dict[str, Any]]
    finish_reason: str
    reasoning: str | None
    usage: dict[str, Any]


class _ClientError(Exception):
    """Raised by validation to turn into an OpenAI-style error reply."""

    def __init__(self, status: int, message: str, code: str, type_: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.type = type_


def _json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def _json_reply(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> _Reply:
    return _Reply(status=status, body=_json_bytes(payload), headers=dict(headers or {}))


def _error_kind(status: int) -> tuple[str, str]:
    """OpenAI-style (type, code) for a status, so injected failures look like real ones."""
    if status == 401:
        return "authentication_error", "invalid_api_key"
    if status == 403:
        return "permission_error", "permission_denied"
    if status == 429:
        return "rate_limit_error", "rate_limit_exceeded"
    try:
        code = http.HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        code = f"http_{status}"
    return ("server_error" if status >= 500 else "invalid_request_error"), code


def _error_reply(
    status: int,
    message: str,
    *,
    code: str | None = None,
    type_: str | None = None,
    style: str = "openai",
    headers: dict[str, str] | None = None,
) -> _Reply:
    default_type, default_code = _error_kind(status)
    if style == "openai":
        payload: dict[str, Any] = {
            "error": {"message": message, "type": type_ or default_type, "code": code or default_code}
        }
    else:
        payload = {"message": message}
    return _json_reply(payload, status, headers)


def _path_matches(request_path: str, wanted: str | None) -> bool:
    return wanted is None or request_path == wanted or request_path.endswith(wanted)


def _compile_route(template: str) -> re.Pattern[str]:
    """``/v1/job/{job_id}/log`` → a regex with named groups; a parameter never spans a slash."""
    parts = re.split(r"(\{[A-Za-z_][A-Za-z0-9_]*\})", template)
    regex = "".join(
        f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{") and part.endswith("}") else re.escape(part) for part in parts
    )
    return re.compile(regex)


def _parse_body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")


def _words(text: str | None) -> int:
    return len(text.split()) if text else 0


def _content_text(content: Any) -> str:
    """Text of a message's content: a string, or the ``text`` parts of a list (images add nothing)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [
            part["text"]
            for part in content
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
        ]
        return " ".join(texts)
    return ""


def _split_words(text: str, per_chunk: int = _STREAM_WORDS_PER_CHUNK) -> list[str]:
    """Stream pieces of a few words each whose concatenation is exactly ``text``."""
    if not text:
        return []
    starts = [m.start() for m in re.finditer(r"\S+", text)]
    cuts = [0, *starts[per_chunk::per_chunk], len(text)]
    return [text[a:b] for a, b in itertools.pairwise(cuts) if a < b]


def _short_hash(*parts: str, length: int = 24) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:length]


# --------------------------------------------------------------------------------------------------
# Embedding vectors
# --------------------------------------------------------------------------------------------------

_BLOCK = 64
_BLOCK_VARIANTS = 256


@functools.lru_cache(maxsize=64)
def _block_pool(dims: int, size: int) -> tuple[str, ...]:
    """Pre-formatted random blocks whose squared norms add up to 1 over a whole vector.

    Formatting floats is what makes large embedding answers slow; building each vector from
    pre-formatted blocks keeps 10,000 x 1024 well under a second on the server side.
    """
    rng = random.Random(f"ovhcloud-emulator:{dims}:{size}")
    scale = math.sqrt(size / dims)
    pool = []
    for _ in range(_BLOCK_VARIANTS):
        values = [rng.gauss(0.0, 1.0) for _ in range(size)]
        factor = scale / math.sqrt(math.fsum(v * v for v in values))
        pool.append(",".join(f"{v * factor:.6f}" for v in values))
    return tuple(pool)


def _embedding_json(model: str, dims: int, text: str) -> str:
    """A deterministic unit vector for (model, text), as a JSON array; 6 decimals per component."""
    full, rest = divmod(dims, _BLOCK)
    choices = hashlib.shake_256(f"{model}\0{text}".encode()).digest(full + (1 if rest else 0))
    parts: list[str] = []
    if full:
        pool = _block_pool(dims, _BLOCK)
        parts = [pool[c] for c in choices[:full]]
    if rest:
        parts.append(_block_pool(dims, rest)[choices[-1]])
    return "[" + ",".join(parts) + "]"


# --------------------------------------------------------------------------------------------------
# JSON-schema example values
# --------------------------------------------------------------------------------------------------

_FORMAT_EXAMPLES = {
    "date": "2024-01-01",
    "date-time": "2024-01-01T00:00:00Z",
    "time": "12:00:00",
    "duration": "PT1H",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "iri": "https://example.com/",
    "uri-reference": "https://example.com/",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uuid": "123e4567-e89b-42d3-a456-426614174000",
}
_SHALLOW_DEPTH = 6
_MAX_DEPTH = 40


class _SchemaExample:
    """Builds one deterministic value that validates against a JSON schema (pydantic's dialect).

    Tool-call arguments and structured outputs must validate on the client side, which is the
    behaviour a real model is asked for; this reproduces it without a model.
    """

    def __init__(self, root: Any) -> None:
        self.root = root

    def resolve(self, schema: Any) -> Any:
        seen = 0
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and seen < _MAX_DEPTH:
            ref: str = schema["$ref"]
            target: Any = self.root
            if ref.startswith("#"):
                for token in ref[1:].split("/"):
                    if not token:
                        continue
                    key = token.replace("~1", "/").replace("~0", "~")
                    if isinstance(target, dict) and key in target:
                        target = target[key]
                    elif isinstance(target, list) and key.isdigit() and int(key) < len(target):
                        target = target[int(key)]
                    else:
                        target = {}
                        break
            else:
                target = {}
            siblings = {k: v for k, v in schema.items() if k not in ("$ref", "default", "description")}
            schema = {**target, **siblings} if isinstance(target, dict) and siblings else target
            seen += 1
        return schema

    def _is_null(self, schema: Any) -> bool:
        schema = self.resolve(schema)
        if not isinstance(schema, dict):
            return False
        return schema.get("type") == "null" or ("const" in schema and schema["const"] is None)

    def _merge(self, schemas: list[Any]) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for item in schemas:
            item = self.resolve(item)
            if not isinstance(item, dict):
                continue
            if "allOf" in item:
                item = {**self._merge(item["allOf"]), **{k: v for k, v in item.items() if k != "allOf"}}
            for key, value in item.items():
                if key == "properties" and isinstance(value, dict):
                    merged.setdefault("properties", {}).update(value)
                elif key == "required" and isinstance(value, list):
                    merged["required"] = [*merged.get("required", []), *value]
                else:
                    merged.setdefault(key, value)
        return merged

    def value(self, schema: Any, depth: int = 0, variant: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            return None
        schema = self.resolve(schema)
        if schema is True or schema is None:
            return "example"
        if schema is False or not isinstance(schema, dict):
            return None
        if "const" in schema:
            return copy.deepcopy(schema["const"])
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            return copy.deepcopy(enum[variant % len(enum)])
        if isinstance(schema.get("allOf"), list):
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            return self.value(self._merge([*schema["allOf"], rest]), depth + 1, variant)
        for key in ("anyOf", "oneOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                usable = [o for o in options if not self._is_null(o)]
                if not usable or (depth >= _SHALLOW_DEPTH and len(usable) < len(options)):
                    return None
                return self.value(usable[0], depth + 1, variant)
        kind = schema.get("type")
        if isinstance(kind, list):
            concrete = [k for k in kind if k != "null"]
            if not concrete or (depth >= _SHALLOW_DEPTH and "null" in kind):
                return None
            kind = concrete[0]
        if kind is None:
            if any(k in schema for k in ("properties", "additionalProperties", "required")):
                kind = "object"
            elif "items" in schema or "prefixItems" in schema:
                kind = "array"
            elif "default" in schema:
                return copy.deepcopy(schema["default"])
            else:
                return "example" if depth else {}
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, depth)
        if kind == "string":
            return self._string(schema, variant)
        if kind == "integer":
            return int(self._number(schema, variant, integer=True))
        if kind == "number":
            return float(self._number(schema, variant, integer=False))
        if kind == "boolean":
            return variant % 2 == 0
        if kind == "null":
            return None
        return "example"

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        required = [r for r in schema.get("required") or [] if isinstance(r, str)]
        out: dict[str, Any] = {}
        for name, sub in properties.items():
            if depth >= _SHALLOW_DEPTH and name not in required:
                continue
            out[name] = self.value(sub, depth + 1)
        extra = schema.get("additionalProperties")
        for name in required:
            if name not in out:
                out[name] = self.value(extra if isinstance(extra, dict) else True, depth + 1)
        minimum = schema.get("minProperties")
        index = 0
        while isinstance(minimum, int) and len(out) < minimum and extra is not False:
            index += 1
            out.setdefault(f"key{index}", self.value(extra if isinstance(extra, dict) else True, depth + 1))
        return out

    def _array(self, schema: dict[str, Any], depth: int) -> list[Any]:
        raw_min, raw_max = schema.get("minItems"), schema.get("maxItems")
        min_items = raw_min if isinstance(raw_min, int) else 0
        max_items = raw_max if isinstance(raw_max, int) else None
        raw_prefix = schema.get("prefixItems")
        prefix: list[Any] = raw_prefix if isinstance(raw_prefix, list) else []
        items = schema.get("items", True)
        if isinstance(items, list):  # draft-07 tuple form
            prefix, items = items, schema.get("additionalItems", True)
        floor = min_items if depth >= _SHALLOW_DEPTH else max(1, min_items)
        count = max(floor, len(prefix))
        if items is False:
            count = min(count, len(prefix))
        if max_items is not None:
            count = min(count, max_items)
        return [self.value(prefix[i] if i < len(prefix) else items, depth + 1, variant=i) for i in range(count)]

    @staticmethod
    def _string(schema: dict[str, Any], variant: int) -> str:
        fmt = schema.get("format")
        text = _FORMAT_EXAMPLES.get(fmt, "example") if isinstance(fmt, str) else "example"
        if variant and text == "example":
            text = f"example{variant}"
        min_length = schema.get("minLength")
        if isinstance(min_length, int) and len(text) < min_length:
            text += "x" * (min_length - len(text))
        max_length = schema.get("maxLength")
        if isinstance(max_length, int) and len(text) > max_length:
            text = text[:max_length]
        return text

    @staticmethod
    def _number(schema: dict[str, Any], variant: int, *, integer: bool) -> float:
        def num(key: str) -> float | None:
            value = schema.get(key)
            return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

        low, high = num("minimum"), num("maximum")
        low_open, high_open = num("exclusiveMinimum"), num("exclusiveMaximum")
        # Draft-04 spelling: exclusiveMinimum/Maximum are booleans qualifying minimum/maximum.
        if schema.get("exclusiveMinimum") is True and low is not None:
            low, low_open = None, low
        if schema.get("exclusiveMaximum") is True and high is not None:
            high, high_open = None, high
        if integer:
            if low_open is not None:
                low = max(low if low is not None else -math.inf, math.floor(low_open) + 1)
            if high_open is not None:
                high = min(high if high is not None else math.inf, math.ceil(high_open) - 1)
            low = math.ceil(low) if low is not None else None
            high = math.floor(high) if high is not None else None
        else:
            if low_open is not None:
                bound = high if high is not None else high_open
                candidate = low_open + 1 if bound is None or low_open + 1 < bound else (low_open + bound) / 2
                low = max(low if low is not None else -math.inf, candidate)
            if high_open is not None:
                candidate = high_open - 1 if low is None or high_open - 1 > low else (low + high_open) / 2
                high = min(high if high is not None else math.inf, candidate)
        value = 1.0 + variant
        if low is not None and value < low:
            value = low + variant
        if high is not None and value > high:
            value = high
            if low is not None and value < low:
                value = low
        multiple = num("multipleOf")
        if multiple and multiple > 0:
            value = math.ceil(value / multiple) * multiple
            if high is not None and value > high:
                value = math.floor(high / multiple) * multiple
        return value


# --------------------------------------------------------------------------------------------------
# HTTP server
# --------------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], emulator: OVHCloudAIEmulator) -> None:
        self.emulator = emulator
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
                if size <= MAX_BODY_BYTES:
                    kept.append(data)
                else:
                    kept = []
            return (b"".join(kept) if size <= MAX_BODY_BYTES else b""), size
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length <= MAX_BODY_BYTES:
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
            self._send(_error_reply(400, "Malformed request body framing", code="bad_request"))
            return
        reply = self._server.emulator._process(self.command, self.path, self.headers, body, size)
        if reply is None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(reply)

    def _send(self, reply: _Reply) -> None:
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

    def _send_stream(self, reply: _Reply) -> None:
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


# --------------------------------------------------------------------------------------------------
# The emulator
# --------------------------------------------------------------------------------------------------


def _sse(payload: Any) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data: {data}\n\n".encode()


class OVHCloudAIEmulator:
    """OVHcloud AI Endpoints over real HTTP on 127.0.0.1, with scripting, fault injection and a journal.

    Use it as a context manager (or ``start()``/``stop()``); point clients at ``endpoints_url`` with
    ``token`` as the bearer key. Knobs (``latency``, ``embedding_input_limit``, ``require_auth``,
    ``reverse_embedding_data``) are plain attributes that may change at any time.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = "emulator-token",
        latency: float = 0.0,
        embedding_input_limit: int | None = None,
        require_auth: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.token = token
        self.latency = latency
        self.embedding_input_limit = embedding_input_limit
        self.require_auth = require_auth
        self.reverse_embedding_data = False
        self._defaults = (latency, embedding_input_limit, require_auth)

        self._lock = threading.RLock()
        self._journal: list[RecordedRequest] = []
        self._scripted: deque[_Scripted] = deque()
        self._failures: list[_Fault] = []
        self._drops: list[_Fault] = []
        self._stream_faults: deque[_StreamFault] = deque()
        self._models: dict[str, _Model] = self._builtin_models()

        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._serving = threading.Event()

        self._routes: list[_Route] = []
        self._register_endpoints_routes()

    # ---------------------------------------------------------------------------------- lifecycle

    def start(self) -> OVHCloudAIEmulator:
        """Serve in a daemon thread; returns self so ``emu = OVHCloudAIEmulator().start()`` reads well."""
        with self._lock:
            if self._thread is not None:
                return self
            server = self._bind()
            self._serving.set()
            self._thread = threading.Thread(
                target=self._serve, args=(server,), name=f"ovhcloud-emulator-{self.url}", daemon=True
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread (for a CLI) until KeyboardInterrupt or ``stop()``."""
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("the emulator is already serving in a background thread")
            server = self._bind()
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

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "not started"
        return f"<OVHCloudAIEmulator {where}>"

    def __enter__(self) -> OVHCloudAIEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _bind(self) -> _Server:
        if self._server is not None:
            raise RuntimeError("the emulator is already serving")
        self._server = _Server((self.host, self.port), self)
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

    # ---------------------------------------------------------------------------------- addresses

    @property
    def url(self) -> str:
        server = self._server
        if server is None:
            raise RuntimeError("the emulator is not started; call start() or use it as a context manager")
        host, port = server.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        return f"http://{host}:{port}"

    @property
    def endpoints_url(self) -> str:
        return self.url + "/v1"

    @property
    def training_url(self) -> str:
        return self.url

    def endpoints_connection(self, conn_type: str = "ovhcloud_ai_endpoints") -> dict[str, Any]:
        """An Airflow connection (as a dict) pointing at this emulator."""
        return {"conn_type": conn_type, "host": self.endpoints_url, "password": self.token}

    def endpoints_connection_json(self, conn_type: str = "ovhcloud_ai_endpoints") -> str:
        """The connection in Airflow's JSON form, for an ``AIRFLOW_CONN_*`` environment variable."""
        return json.dumps(self.endpoints_connection(conn_type))

    # ---------------------------------------------------------------------------------- journal

    @property
    def journal(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._journal)

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        """Recorded requests whose path equals ``path`` or ends with it (``"/chat/completions"``)."""
        with self._lock:
            return [
                r
                for r in self._journal
                if _path_matches(r.path, path) and (method is None or r.method.upper() == method.upper())
            ]

    def clear_journal(self) -> None:
        with self._lock:
            self._journal.clear()

    def reset(self) -> None:
        """Back to a fresh emulator (same socket and token): journal, scripts, faults, knobs, catalog."""
        with self._lock:
            self._journal.clear()
            self._scripted.clear()
            self._failures.clear()
            self._drops.clear()
            self._stream_faults.clear()
            self._models = self._builtin_models()
            self.latency, self.embedding_input_limit, self.require_auth = self._defaults
            self.reverse_embedding_data = False

    # ---------------------------------------------------------------------------------- scripting

    def script_chat(
        self,
        content: str | None = None,
        *,
        tool_calls: list[dict[str, Any]] | None = None,
        finish_reason: str | None = None,
        reasoning: str | None = None,
        usage: dict[str, Any] | None = None,
    ) -> None:
        """Queue the answer of the next chat completion (FIFO, streamed or not).

        ``tool_calls`` items are ``{"name": str, "arguments": dict | str}``; ids and types are added.
        """
        calls: tuple[tuple[str, str], ...] | None = None
        if tool_calls is not None:
            built = []
            for call in tool_calls:
                name = call.get("name")
                if not isinstance(name, str) or not name:
                    raise ValueError("each scripted tool call needs a non-empty 'name'")
                arguments = call.get("arguments", {})
                built.append((name, arguments if isinstance(arguments, str) else json.dumps(arguments)))
            calls = tuple(built)
        with self._lock:
            self._scripted.append(_Scripted(content, calls, finish_reason, reasoning, usage))

    def add_model(self, model_id: str, *, kind: str = "chat", dimensions: int | None = None) -> None:
        """Add a model to the catalog; an embedding model without ``dimensions`` gets 1024."""
        if kind not in ("chat", "embedding"):
            raise ValueError(f"kind must be 'chat' or 'embedding', not {kind!r}")
        if kind == "embedding":
            dimensions = 1024 if dimensions is None else dimensions
            if dimensions <= 0:
                raise ValueError("dimensions must be positive")
        with self._lock:
            self._models[model_id] = _Model(kind, dimensions if kind == "embedding" else None)

    @staticmethod
    def _builtin_models() -> dict[str, _Model]:
        models = {name: _Model("chat") for name in _CHAT_MODELS}
        models.update({name: _Model("embedding", dims) for name, dims in _EMBEDDING_MODELS})
        return models

    # ---------------------------------------------------------------------------------- faults

    def fail_next(
        self,
        count: int = 1,
        status: int = 503,
        *,
        path: str | None = None,
        retry_after: str | int | None = None,
        message: str | None = None,
        body: str | bytes | None = None,
        content_type: str | None = None,
    ) -> None:
        """Answer the next ``count`` matching requests with ``status``.

        The default body is an OpenAI-style error; ``body`` replaces it verbatim (plain text or
        another JSON shape) so clients can be tested against every error shape.
        """
        if count < 1:
            raise ValueError("count must be at least 1")
        fault = _Fault(count, path, status, retry_after, message, body, content_type)
        with self._lock:
            self._failures.append(fault)

    def drop_next(self, count: int = 1, *, path: str | None = None) -> None:
        """Read the next ``count`` matching requests, then close the socket without any answer."""
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._drops.append(_Fault(count, path))

    def cut_next_stream(self, after_chunks: int = 2) -> None:
        """End the next streamed chat answer cleanly after ``after_chunks`` events, without ``[DONE]``."""
        with self._lock:
            self._stream_faults.append(_StreamFault("cut", after_chunks))

    def error_next_stream(
        self,
        after_chunks: int = 2,
        message: str = "Internal error during generation",
        code: int | str = 500,
    ) -> None:
        """After ``after_chunks`` events of the next streamed chat answer, send an error event and end."""
        with self._lock:
            self._stream_faults.append(_StreamFault("error", after_chunks, message, code))

    @staticmethod
    def _take(faults: list[_Fault], path: str) -> _Fault | None:
        for fault in faults:
            if _path_matches(path, fault.path):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    faults.remove(fault)
                return fault
        return None

    def _fault_reply(self, fault: _Fault, style: str) -> _Reply:
        headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
        if fault.body is not None:
            raw = fault.body.encode("utf-8") if isinstance(fault.body, str) else fault.body
            return _Reply(fault.status, raw, fault.content_type or "text/plain; charset=utf-8", headers)
        try:
            phrase = http.HTTPStatus(fault.status).phrase
        except ValueError:
            phrase = "Error"
        message = fault.message or f"Injected failure: HTTP {fault.status} {phrase}"
        reply = _error_reply(fault.status, message, style=style, headers=headers)
        if fault.content_type:
            reply.content_type = fault.content_type
        return reply

    # ---------------------------------------------------------------------------------- routing

    def _add_route(self, template: str, method: str, handler: _RouteHandler, *, style: str = "openai") -> None:
        """Register ``handler`` for ``method`` on ``template`` (``{name}`` segments become params)."""
        pattern = _compile_route(template)
        for index, route in enumerate(self._routes):
            if route.pattern.pattern == pattern.pattern:
                self._routes[index] = replace(route, methods={**route.methods, method.upper(): handler})
                return
        self._routes.append(_Route(pattern, {method.upper(): handler}, style))

    def _resolve(self, path: str) -> tuple[_Route | None, dict[str, str]]:
        for route in self._routes:
            match = route.pattern.fullmatch(path)
            if match:
                return route, match.groupdict()
        return None, {}

    def _register_endpoints_routes(self) -> None:
        self._add_route("/v1/models", "GET", self._handle_models)
        self._add_route("/v1/models/{model_id}", "GET", self._handle_model)
        self._add_route("/v1/chat/completions", "POST", self._handle_chat)
        self._add_route("/v1/embeddings", "POST", self._handle_embeddings)

    def _auth_state(self, header: str | None) -> str:
        if not header:
            return "missing"
        scheme, _, credential = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            return "invalid"
        ok = hmac.compare_digest(credential.strip().encode("utf-8"), self.token.encode("utf-8"))
        return "ok" if ok else "invalid"

    def _process(self, method: str, raw_path: str, headers: Message, body: bytes, size: int) -> _Reply | None:
        """Journal, latency, faults, size, auth, route — in that order. ``None`` means drop the socket."""
        split = urlsplit(raw_path)
        path = split.path or "/"
        query = parse_qs(split.query, keep_blank_values=True)
        kept_headers: dict[str, str] = {}
        for name, value in headers.items():
            if name.lower() in _SECRET_HEADERS:
                continue
            kept_headers[name] = f"{kept_headers[name]}, {value}" if name in kept_headers else value
        oversized = size > MAX_BODY_BYTES
        parsed = None if oversized else _parse_body(body)
        auth = self._auth_state(headers.get("Authorization"))

        with self._lock:
            drop = self._take(self._drops, path)
            failure = None if drop else self._take(self._failures, path)
            fault = "drop" if drop else (f"status:{failure.status}" if failure else None)
            record = RecordedRequest(method, path, query, kept_headers, parsed, auth, fault)
            self._journal.append(record)

        if self.latency > 0:
            time.sleep(self.latency)
        if drop:
            return None
        route, params = self._resolve(path)
        style = route.style if route else "openai"
        if failure:
            return self._fault_reply(failure, style)
        if oversized:
            return _error_reply(
                413,
                f"Request body too large: {size} bytes; the limit is {MAX_BODY_BYTES} bytes (2 MB)",
                code="request_too_large",
                style=style,
            )
        if self.require_auth and auth != "ok":
            return _error_reply(
                401,
                "Invalid or missing API key. Send it as 'Authorization: Bearer <key>'.",
                type_="authentication_error",
                code="invalid_api_key",
                style=style,
            )
        if route is None:
            return _error_reply(404, f"Unknown route: {method} {path}", code="not_found", style=style)
        handler = route.methods.get(method.upper())
        if handler is None:
            allowed = ", ".join(sorted(route.methods))
            return _error_reply(
                405,
                f"Method {method} is not allowed on {path}; allowed: {allowed}",
                code="method_not_allowed",
                style=style,
                headers={"Allow": allowed},
            )
        call = _Call(method.upper(), path, query, kept_headers, parsed, params, record)
        try:
            return handler(call)
        except _ClientError as exc:
            return _error_reply(exc.status, exc.message, code=exc.code, type_=exc.type, style=style)
        except Exception as exc:  # a bug in the emulator must show up as a clear answer, not a hang
            return _error_reply(500, f"Emulator internal error: {exc!r}", code="internal_error", style=style)

    def _mark_fault(self, record: RecordedRequest, fault: str) -> None:
        with self._lock:
            for index, existing in enumerate(self._journal):
                if existing is record:
                    self._journal[index] = replace(record, fault=fault)
                    return

    # ---------------------------------------------------------------------------------- models

    def _model_object(self, model_id: str) -> dict[str, Any]:
        return {"id": model_id, "object": "model", "created": _MODEL_CREATED, "owned_by": "ovhcloud"}

    def _handle_models(self, call: _Call) -> _Reply:
        with self._lock:
            ids = list(self._models)
        return _json_reply({"object": "list", "data": [self._model_object(i) for i in ids]})

    def _handle_model(self, call: _Call) -> _Reply:
        model_id = call.params["model_id"]
        with self._lock:
            known = model_id in self._models
        if not known:
            raise self._model_not_found(model_id)
        return _json_reply(self._model_object(model_id))

    @staticmethod
    def _model_not_found(model: str) -> _ClientError:
        return _ClientError(404, f"The model `{model}` does not exist", "model_not_found")

    def _require_model(self, body: dict[str, Any], kind: str) -> tuple[str, _Model]:
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise _ClientError(400, "'model' is required and must be a non-empty string", "missing_model")
        with self._lock:
            info = self._models.get(model)
        if info is None:
            raise self._model_not_found(model)
        if info.kind != kind:
            what = "an embedding" if info.kind == "embedding" else "a chat"
            route = "chat completions" if kind == "chat" else "embeddings"
            raise _ClientError(
                400, f"The model `{model}` is {what} model and does not support {route}", "model_not_supported"
            )
        return model, info

    @staticmethod
    def _require_object(body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _ClientError(400, "The request body must be a JSON object", "invalid_body")
        return body

    # ---------------------------------------------------------------------------------- chat

    def _handle_chat(self, call: _Call) -> _Reply:
        body = self._require_object(call.body)
        model, _ = self._require_model(body, "chat")
        messages = body.get("messages")
        if (
            not isinstance(messages, list)
            or not messages
            or not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages)
        ):
            raise _ClientError(
                400, "'messages' must be a non-empty list of objects, each with a 'role'", "invalid_messages"
            )
        max_tokens = body.get("max_tokens", body.get("max_completion_tokens"))
        if max_tokens is not None and (
            not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1
        ):
            raise _ClientError(400, "'max_tokens' must be a positive integer", "invalid_max_tokens")
        stop = body.get("stop")
        stops = [stop] if isinstance(stop, str) else stop
        if stops is not None and not (isinstance(stops, list) and all(isinstance(s, str) for s in stops)):
            raise _ClientError(400, "'stop' must be a string or a list of strings", "invalid_stop")
        tools = self._validate_tools(body.get("tools"), body.get("tool_choice"))
        response_format = self._validate_response_format(body.get("response_format"))
        stream = body.get("stream", False)
        if not isinstance(stream, bool):
            raise _ClientError(400, "'stream' must be a boolean", "invalid_stream")
        stream_options = body.get("stream_options")
        include_usage = isinstance(stream_options, dict) and stream_options.get("include_usage") is True

        with self._lock:
            scripted = self._scripted.popleft() if self._scripted else None
        prompt_tokens = max(1, sum(_words(_content_text(m.get("content"))) for m in messages))
        if scripted is not None:
            completion = self._scripted_completion(scripted, model, messages, prompt_tokens)
        else:
            completion = self._generate(
                model, messages, tools, body.get("tool_choice"), response_format, max_tokens, stops or []
            )
            completion.usage = self._usage(prompt_tokens, completion)
        created = int(time.time())
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        if stream:
            return self._stream_reply(completion, completion_id, created, model, include_usage, call.record)
        message: dict[str, Any] = {"role": "assistant", "content": completion.content}
        if completion.tool_calls:
            message["tool_calls"] = completion.tool_calls
        if completion.reasoning is not None:
            message["reasoning_content"] = completion.reasoning
        return _json_reply(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": completion.finish_reason}],
                "usage": completion.usage,
            }
        )

    @staticmethod
    def _validate_tools(tools: Any, tool_choice: Any) -> list[dict[str, Any]]:
        if tools is None:
            tools = []
        if not isinstance(tools, list) or not all(
            isinstance(t, dict)
            and t.get("type", "function") == "function"
            and isinstance(t.get("function"), dict)
            and isinstance(t["function"].get("name"), str)
            and t["function"]["name"]
            and isinstance(t["function"].get("parameters", {}), dict)
            for t in tools
        ):
            raise _ClientError(
                400,
                '\'tools\' must be a list of {"type": "function", "function": {"name": ..., "parameters": {...}}}',
                "invalid_tools",
            )
        if tool_choice is None or tool_choice in ("auto", "none"):
            return tools
        if tool_choice == "required":
            if not tools:
                raise _ClientError(400, "tool_choice 'required' needs at least one tool", "invalid_tool_choice")
            return tools
        if isinstance(tool_choice, dict) and isinstance(tool_choice.get("function"), dict):
            name = tool_choice["function"].get("name")
            if name in {t["function"]["name"] for t in tools}:
                return tools
            raise _ClientError(400, f"tool_choice names an unknown tool: {name!r}", "invalid_tool_choice")
        raise _ClientError(
            400,
            'tool_choice must be \'auto\', \'none\', \'required\' or {"type": "function", "function": {"name": ...}}',
            "invalid_tool_choice",
        )

    @staticmethod
    def _validate_response_format(response_format: Any) -> dict[str, Any] | None:
        if response_format is None:
            return None
        kind = response_format.get("type") if isinstance(response_format, dict) else None
        if kind in ("text", "json_object"):
            return cast("dict[str, Any]", response_format)
        if kind == "json_schema":
            spec = response_format.get("json_schema")
            if (
                isinstance(spec, dict)
                and isinstance(spec.get("name"), str)
                and isinstance(spec.get("schema", {}), dict)
            ):
                return cast("dict[str, Any]", response_format)
            raise _ClientError(
                400,
                'response_format json_schema needs {"name": str, "schema": {...}, "strict": bool}',
                "invalid_response_format",
            )
        raise _ClientError(
            400, "response_format type must be 'text', 'json_object' or 'json_schema'", "invalid_response_format"
        )

    @staticmethod
    def _usage(prompt_tokens: int, completion: _Completion) -> dict[str, int]:
        completion_tokens = _words(completion.content) + _words(completion.reasoning)
        completion_tokens += sum(_words(c["function"]["arguments"]) for c in completion.tool_calls)
        return {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }

    @staticmethod
    def _tool_call(name: str, arguments: str, index: int, seed: str) -> dict[str, Any]:
        call_id = "call_" + _short_hash(seed, str(index), name, arguments)
        return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}

    def _scripted_completion(
        self, scripted: _Scripted, model: str, messages: list[Any], prompt_tokens: int
    ) -> _Completion:
        seed = model + json.dumps(messages, sort_keys=True, default=str)
        calls = [self._tool_call(n, a, i, seed) for i, (n, a) in enumerate(scripted.tool_calls or ())]
        content = scripted.content
        if content is None and not calls:
            content = ""
        finish = scripted.finish_reason or ("tool_calls" if calls else "stop")
        completion = _Completion(content, calls, finish, scripted.reasoning, {})
        completion.usage = (
            dict(scripted.usage) if scripted.usage is not None else self._usage(prompt_tokens, completion)
        )
        return completion

    def _generate(
        self,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        tool_choice: Any,
        response_format: dict[str, Any] | None,
        max_tokens: int | None,
        stops: list[str],
    ) -> _Completion:
        last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
        tool_results = [_content_text(m.get("content")) for m in messages[last_user + 1 :] if m.get("role") == "tool"]
        if tools and tool_choice != "none":
            chosen: dict[str, Any] | None = None
            if isinstance(tool_choice, dict):
                wanted = tool_choice["function"]["name"]
                chosen = next(t for t in tools if t["function"]["name"] == wanted)
            elif tool_choice == "required" or not tool_results:
                chosen = tools[0]
            if chosen is not None:
                function = chosen["function"]
                schema = function.get("parameters") or {"type": "object", "properties": {}}
                arguments = json.dumps(_SchemaExample(schema).value(schema))
                seed = model + json.dumps(messages, sort_keys=True, default=str)
                call = self._tool_call(function["name"], arguments, 0, seed)
                return _Completion(None, [call], "tool_calls", None, {})

        if tool_results:
            text = "Based on the tool results: " + "; ".join(tool_results)
        else:
            user_text = _content_text(messages[last_user].get("content")) if last_user >= 0 else ""
            text = f"This is a reply from {model} to: {user_text}"

        kind = response_format.get("type") if response_format else "text"
        if kind == "json_schema" and response_format is not None:
            schema = response_format["json_schema"].get("schema") or {"type": "object"}
            return _Completion(json.dumps(_SchemaExample(schema).value(schema)), [], "stop", None, {})
        if kind == "json_object":
            return _Completion(json.dumps({"answer": text}), [], "stop", None, {})

        finish = "stop"
        positions = [text.find(s) for s in stops if s and s in text]
        if positions:
            text = text[: min(positions)]
        words = text.split()
        if max_tokens is not None and len(words) > max_tokens:
            text = " ".join(words[:max_tokens])
            finish = "length"
        return _Completion(text, [], finish, None, {})

    def _stream_reply(
        self,
        completion: _Completion,
        completion_id: str,
        created: int,
        model: str,
        include_usage: bool,
        record: RecordedRequest,
    ) -> _Reply:
        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            payload: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            }
            if include_usage:
                payload["usage"] = None
            return payload

        payloads: list[dict[str, Any]] = [chunk({"role": "assistant", "content": ""})]
        payloads += [chunk({"reasoning_content": piece}) for piece in _split_words(completion.reasoning or "")]
        payloads += [chunk({"content": piece}) for piece in _split_words(completion.content or "")]
        for index, call in enumerate(completion.tool_calls):
            function = call["function"]
            head = {"index": index, "id": call["id"], "type": "function"}
            payloads.append(chunk({"tool_calls": [{**head, "function": {"name": function["name"], "arguments": ""}}]}))
            arguments = function["arguments"]
            for start in range(0, len(arguments), _TOOL_ARGUMENT_FRAGMENT):
                fragment = arguments[start : start + _TOOL_ARGUMENT_FRAGMENT]
                payloads.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}))
        payloads.append(chunk({}, completion.finish_reason))
        if include_usage:
            payloads.append(
                {
                    "id": completion_id,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [],
                    "usage": completion.usage,
                }
            )

        with self._lock:
            fault = self._stream_faults.popleft() if self._stream_faults else None
        events = [_sse(p) for p in payloads]
        if fault is None:
            events.append(_sse("[DONE]"))
        else:
            self._mark_fault(record, f"{fault.kind}_stream:{fault.after_chunks}")
            events = events[: max(0, fault.after_chunks)]
            if fault.kind == "error":
                events.append(_sse({"error": {"message": fault.message, "code": fault.code}}))
        return _Reply(200, events=events)

    # ---------------------------------------------------------------------------------- embeddings

    def _handle_embeddings(self, call: _Call) -> _Reply:
        body = self._require_object(call.body)
        model, info = self._require_model(body, "embedding")
        raw = body.get("input")
        inputs = [raw] if isinstance(raw, str) else raw
        if not isinstance(inputs, list) or not all(isinstance(t, str) for t in inputs):
            raise _ClientError(400, "'input' must be a string or a list of strings", "invalid_input")
        if not inputs:
            raise _ClientError(400, "'input' must not be an empty list", "invalid_input")
        empty = [i for i, text in enumerate(inputs) if not text]
        if empty:
            raise _ClientError(400, f"'input' contains an empty string at index {empty[0]}", "invalid_input")
        limit = self.embedding_input_limit
        if limit is not None and len(inputs) > limit:
            raise _ClientError(
                400,
                f"Too many inputs: {len(inputs)} in one request; the limit is {limit} inputs per request",
                "too_many_inputs",
            )
        dims = info.dimensions or 1024
        items = [
            f'{{"object":"embedding","index":{i},"embedding":{_embedding_json(model, dims, text)}}}'
            for i, text in enumerate(inputs)
        ]
        if self.reverse_embedding_data:
            items.reverse()
        tokens = sum(_words(text) for text in inputs)
        usage = json.dumps({"prompt_tokens": tokens, "total_tokens": tokens})
        text = (
            '{"object":"list","data":['
            + ",".join(items)
            + f'],"model":{json.dumps(model, ensure_ascii=False)},"usage":{usage}}}'
        )
        return _Reply(200, text.encode("utf-8"))
