"""A local, real-HTTP stand-in for OVHcloud AI Endpoints and AI Training.

Tests and demos need a server that speaks the same wire format as the real service, fails on
demand and keeps a journal, without a network or an API key. The emulator is written against the
wire format only (standard library, no import from Airflow or from the hooks) so that it stays an
independent check on the client code.

Routes live in a table keyed by method and path pattern. AI Endpoints answers under
``endpoints_url`` (``/v1/models``, ``/v1/chat/completions``, ``/v1/embeddings``; OpenAI-style errors);
AI Training answers under ``training_url`` (``/v1/job...``; errors as ``{"message": ...}``). Jobs move
along their lifecycle one step per ``GET /v1/job/{id}`` by default (``job_progress = "polls"``), or
one step per ``job_step_seconds`` of ``time.monotonic()`` (``job_progress = "time"``); see
:meth:`OVHCloudAIEmulator.script_job` for the scripted paths.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import enum
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
from collections.abc import Callable, Iterable, Iterator
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


@dataclass
class _Chaos:
    rate: float
    kinds: tuple[int | str, ...]
    retry_after: str | int | None
    path: str | None
    rng: random.Random


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
    events: Iterable[bytes] | None = None


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
# AI Training: job lifecycle and JobSpec validation
# --------------------------------------------------------------------------------------------------

_TRAINING_USER = "emulator-user"
_DEFAULT_JOB_TIMEOUT = 604_800  # seconds: the service's default JobSpec timeout (7 days)

_TERMINAL_STATES = frozenset({"DONE", "FAILED", "ERROR", "INTERRUPTED", "SYNC_FAILED"})
_JOB_STATES = (
    "QUEUED",
    "INITIALIZING",
    "PENDING",
    "RUNNING",
    "RESTARTING",
    "TIMEOUT",
    "INTERRUPTING",
    "FINALIZING",
    "DONE",
    "INTERRUPTED",
    "FAILED",
    "ERROR",
    "SYNC_FAILED",
)
_RUN_UP = ("QUEUED", "INITIALIZING", "PENDING", "RUNNING")
# The state sequence of a job per scripted ending; a state appears at most once in each plan.
_JOB_PLANS: dict[str, tuple[str, ...]] = {
    "DONE": (*_RUN_UP, "FINALIZING", "DONE"),
    "FAILED": (*_RUN_UP, "FINALIZING", "FAILED"),
    "SYNC_FAILED": (*_RUN_UP, "FINALIZING", "SYNC_FAILED"),
    "ERROR": ("QUEUED", "INITIALIZING", "ERROR"),
    "TIMEOUT": (*_RUN_UP, "TIMEOUT", "INTERRUPTING", "FINALIZING", "INTERRUPTED"),
    "INTERRUPTED": (*_RUN_UP, "INTERRUPTING", "FINALIZING", "INTERRUPTED"),
}
_KILL_PLAN = ("INTERRUPTING", "FINALIZING", "INTERRUPTED")
_DEFAULT_EXIT_CODES = {"DONE": 0, "FAILED": 1, "ERROR": 1, "SYNC_FAILED": 0, "INTERRUPTED": 143}
_STATE_MESSAGES = {
    "QUEUED": "Job is queued",
    "INITIALIZING": "Job is initializing: pulling the image and syncing input volumes",
    "PENDING": "Job is waiting for resources",
    "RUNNING": "Job is running",
    "RESTARTING": "Job is restarting",
    "TIMEOUT": "Job reached its timeout and is about to be interrupted",
    "INTERRUPTING": "Job is being interrupted",
    "FINALIZING": "Job is finalizing: syncing output volumes",
    "DONE": "Job finished successfully",
    "FAILED": "Job failed",
    "ERROR": "Job could not be started",
    "SYNC_FAILED": "Synchronisation of the output volumes failed",
    "INTERRUPTED": "Job was interrupted",
}

_RESOURCE_INT_KEYS = ("cpu", "gpu", "gpuMemory", "memory", "ephemeralStorage", "publicNetwork", "privateNetwork")
_RESOURCE_STR_KEYS = ("gpuModel", "gpuBrand", "flavor")
_VOLUME_SOURCES = ("dataStore", "publicGit", "publicSwift", "standalone", "privateSwift")
_VOLUME_PERMISSIONS = ("RO", "RW", "RWD")
_LABEL_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")
_LABEL_MAX = 63
_JOB_SORT_KEYS = ("createdAt", "updatedAt", "id", "name", "state")


class _Unset(enum.Enum):
    """Marks an option left out of ``set_job`` (``None`` is a meaningful value there)."""

    UNSET = 0


_UNSET = _Unset.UNSET


@dataclass(frozen=True)
class _JobScript:
    final_state: str = "DONE"
    exit_code: int | None = None
    info_message: str | None = None
    stick_in: str | None = None
    logs: tuple[str, ...] | None = None
    name: str | None = None


@dataclass
class _Job:
    job_id: str
    seq: int
    spec: dict[str, Any]
    script: _JobScript
    plan: tuple[str, ...]
    stick_in: str | None
    history: list[tuple[str, float]]
    created: float
    updated: float
    anchor_mono: float  # when the job last changed state, on the monotonic clock (time mode)
    anchor_wall: float  # the same instant on the wall clock
    run_start: int = 0  # index in history of the QUEUED entry that began the current run
    killed: bool = False
    exit_code: int | None = None
    info_message: str | None = None
    forced_end: tuple[int | None, str | None] | None = None  # from finish_job()

    @property
    def state(self) -> str:
        return self.history[-1][0]


def _iso(timestamp: float) -> str:
    """ISO-8601 UTC with milliseconds and a ``Z``: ``2025-01-31T12:00:00.123Z``."""
    moment = datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse_iso(text: str, what: str) -> float:
    try:
        moment = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise _ClientError(400, f"{what} must be an ISO-8601 date-time, not {text!r}", "invalid_date") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _bad_spec(message: str) -> _ClientError:
    return _ClientError(400, message, "invalid_job_spec")


def _check_label(key: Any, value: Any, where: str) -> None:
    """Kubernetes label rules; keys under ``ovh/`` belong to the platform."""
    if not isinstance(key, str) or not isinstance(value, str):
        raise _bad_spec(f"{where}: label keys and values must be strings")
    if key.startswith("ovh/"):
        raise _bad_spec(f"{where}: label key {key!r} is reserved: keys beginning with 'ovh/' belong to the platform")
    if len(key) > _LABEL_MAX or not _LABEL_RE.fullmatch(key):
        raise _bad_spec(
            f"{where}: invalid label key {key!r}: 1 to 63 letters, digits, '-', '_' or '.', "
            "beginning and ending with a letter or digit"
        )
    if value and (len(value) > _LABEL_MAX or not _LABEL_RE.fullmatch(value)):
        raise _bad_spec(
            f"{where}: invalid label value {value!r} for key {key!r}: empty, or at most 63 letters, digits, "
            "'-', '_' or '.', beginning and ending with a letter or digit"
        )


def _check_str_list(value: Any, field_name: str) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _bad_spec(f"'{field_name}' must be a list of strings")


def _check_resources(resources: Any) -> None:
    if not isinstance(resources, dict):
        raise _bad_spec("'resources' must be an object")
    known = (*_RESOURCE_INT_KEYS, *_RESOURCE_STR_KEYS)
    for key, value in resources.items():
        if key not in known:
            raise _bad_spec(f"resources: unknown field {key}; known fields: {', '.join(known)}")
        if value is None:
            continue
        if key in _RESOURCE_INT_KEYS and (not _is_int(value) or value < 0):
            raise _bad_spec(f"resources.{key} must be a non-negative integer, not {value!r}")
        if key in _RESOURCE_STR_KEYS and (not isinstance(value, str) or not value):
            raise _bad_spec(f"resources.{key} must be a non-empty string, not {value!r}")
    cpu: int = resources.get("cpu") or 0
    gpu: int | None = resources.get("gpu")
    flavor = str(resources.get("flavor") or "").lower()
    if "gpu" in flavor and gpu == 0:
        raise _bad_spec(
            f"resources: flavor {resources['flavor']!r} is a GPU flavor but gpu is 0; leave gpu out or set it >= 1"
        )
    if "cpu" in flavor and gpu:
        raise _bad_spec(f"resources: flavor {resources['flavor']!r} is a CPU flavor but gpu is {gpu}")
    if cpu > 0 and gpu:
        raise _bad_spec("resources: set either cpu or gpu, not both (the CPUs of a GPU job follow from its GPUs)")


def _check_volume(volume: Any, index: int) -> None:
    where = f"volumes[{index}]"
    if not isinstance(volume, dict):
        raise _bad_spec(f"{where} must be an object")
    for key in volume:
        if key not in ("mountPath", "permission", "cache", *_VOLUME_SOURCES):
            raise _bad_spec(f"{where}: unknown field {key}")
    mount = volume.get("mountPath")
    if not isinstance(mount, str) or not mount.startswith("/"):
        raise _bad_spec(f"{where}.mountPath is required: an absolute path such as '/workspace/data'")
    if volume.get("permission") not in _VOLUME_PERMISSIONS:
        raise _bad_spec(f"{where}.permission must be one of RO, RW, RWD, not {volume.get('permission')!r}")
    if volume.get("cache") is not None and not isinstance(volume["cache"], bool):
        raise _bad_spec(f"{where}.cache must be a boolean")
    sources = [key for key in _VOLUME_SOURCES if volume.get(key) is not None]
    if len(sources) != 1:
        raise _bad_spec(
            f"{where} needs exactly one source among {', '.join(_VOLUME_SOURCES)}; "
            f"got {', '.join(sources) if sources else 'none'}"
        )
    [source] = sources
    body = volume[source]
    if not isinstance(body, dict):
        raise _bad_spec(f"{where}.{source} must be an object")
    if source == "dataStore":
        for key in body:
            if key not in ("alias", "container", "prefix"):
                raise _bad_spec(f"{where}.dataStore: unknown field {key}")
        for key in ("alias", "container"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise _bad_spec(f"{where}.dataStore.{key} is required: a non-empty string")
        if body.get("prefix") is not None and not isinstance(body["prefix"], str):
            raise _bad_spec(f"{where}.dataStore.prefix must be a string")
    elif source in ("publicGit", "publicSwift") and (not isinstance(body.get("url"), str) or not body["url"]):
        raise _bad_spec(f"{where}.{source}.url is required: a non-empty string")


def _validate_job_spec(spec: Any) -> dict[str, Any]:
    """Reject what a strict AI Training server would; ``null`` counts as absent, unknown keys pass."""
    if not isinstance(spec, dict):
        raise _bad_spec("The request body must be a JSON object (a JobSpec)")
    image = spec.get("image")
    if not isinstance(image, str) or not image.strip():
        raise _bad_spec("'image' is required and must be a non-empty string")

    def given(key: str) -> bool:
        return spec.get(key) is not None

    if given("name") and not isinstance(spec["name"], str):
        raise _bad_spec("'name' must be a string")
    if given("command"):
        _check_str_list(spec["command"], "command")
    if given("sshPublicKeys"):
        _check_str_list(spec["sshPublicKeys"], "sshPublicKeys")
    if given("envVars"):
        env = spec["envVars"]
        if not isinstance(env, list):
            raise _bad_spec('\'envVars\' must be a list of {"name": str, "value": str}')
        for index, item in enumerate(env):
            if (
                not isinstance(item, dict)
                or set(item) != {"name", "value"}
                or not isinstance(item["name"], str)
                or not item["name"]
                or not isinstance(item["value"], str)
            ):
                raise _bad_spec(f'envVars[{index}] must be {{"name": str, "value": str}}, not {item!r}')
    if given("labels"):
        labels = spec["labels"]
        if not isinstance(labels, dict):
            raise _bad_spec("'labels' must be an object of string keys to string values")
        for key, value in labels.items():
            _check_label(key, value, "labels")
    if given("resources"):
        _check_resources(spec["resources"])
    if given("volumes"):
        if not isinstance(spec["volumes"], list):
            raise _bad_spec("'volumes' must be a list")
        for index, volume in enumerate(spec["volumes"]):
            _check_volume(volume, index)
    for key in ("defaultHttpPort", "grpcPort"):
        if given(key) and (not _is_int(spec[key]) or not 1 <= spec[key] <= 65535):
            raise _bad_spec(f"'{key}' must be an integer port (1-65535), not {spec[key]!r}")
    if given("timeout") and (not _is_int(spec["timeout"]) or spec["timeout"] < 1):
        raise _bad_spec(f"'timeout' must be a positive integer of seconds, not {spec['timeout']!r}")
    for key in ("timeoutAutoRestart", "unsecureHttp"):
        if given(key) and not isinstance(spec[key], bool):
            raise _bad_spec(f"'{key}' must be a boolean, not {spec[key]!r}")
    return spec


def _job_script(
    final_state: str,
    exit_code: int | None,
    info_message: str | None,
    stick_in: str | None,
    logs: list[str] | tuple[str, ...] | None,
    name: str | None,
) -> _JobScript:
    if final_state not in _JOB_PLANS:
        raise ValueError(f"final_state must be one of {', '.join(_JOB_PLANS)}, not {final_state!r}")
    plan = _JOB_PLANS[final_state]
    if stick_in is not None and (stick_in not in plan or stick_in in _TERMINAL_STATES):
        on_path = ", ".join(s for s in plan if s not in _TERMINAL_STATES)
        raise ValueError(
            f"stick_in must be a non-terminal state on the {final_state} path ({on_path}), not {stick_in!r}"
        )
    if exit_code is not None and not _is_int(exit_code):
        raise ValueError("exit_code must be an integer")
    if logs is not None and (isinstance(logs, str) or not all(isinstance(line, str) for line in logs)):
        raise ValueError("logs must be a list of strings")
    return _JobScript(final_state, exit_code, info_message, stick_in, None if logs is None else tuple(logs), name)


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
    """OVHcloud AI Endpoints and AI Training over real HTTP on 127.0.0.1, with scripting, faults and a journal.

    Use it as a context manager (or ``start()``/``stop()``); point clients at ``endpoints_url`` (AI
    Endpoints) or ``training_url`` (AI Training, paths under ``/v1/job``) with ``token`` as the bearer
    key. Knobs (``latency``, ``embedding_input_limit``, ``require_auth``, ``reverse_embedding_data``,
    ``training_region``, ``job_progress``, ``job_step_seconds``, ``job_list_style``) are plain
    attributes that may change at any time; ``reset()`` restores them.

    AI Training in short: ``POST /v1/job`` validates the JobSpec strictly and answers a QUEUED job;
    each ``GET /v1/job/{id}`` advances it one step *before* answering (in ``"polls"`` mode), so the
    first poll already shows INITIALIZING; listing, ``jobs`` and ``job()`` never advance a job.
    Faults reach training routes like any other: ``fail_next(path=f"/v1/job/{job_id}")`` hits only
    that job's polls (and its DELETE) — not ``/log``, ``/kill`` and the like, which ``path="/log"`` or
    ``path="/kill"`` target — and ``path="/v1/job"`` hits submissions and listings only. A failed
    poll does not advance the job.
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
        #: Seconds between two streamed events (a model generates tokens over time); 0 sends at once.
        self.stream_interval = 0.0
        self.embedding_input_limit = embedding_input_limit
        self.require_auth = require_auth
        self.reverse_embedding_data = False
        self._defaults = (latency, embedding_input_limit, require_auth)

        self._lock = threading.RLock()
        self._journal: list[RecordedRequest] = []
        self._scripted: deque[_Scripted] = deque()
        self._failures: list[_Fault] = []
        self._drops: list[_Fault] = []
        self._chaos: _Chaos | None = None
        self._stream_faults: deque[_StreamFault] = deque()
        self._models: dict[str, _Model] = self._builtin_models()

        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._serving = threading.Event()

        # AI Training knobs (plain attributes) and state; reset() restores them.
        self.training_region: str = "gra"
        self.job_progress: str = "polls"
        self.job_step_seconds: float = 1.0
        self.job_list_style: str = "paged"
        self._jobs: dict[str, _Job] = {}
        self._job_scripts: list[_JobScript] = []
        self._submitted = 0

        self._routes: list[_Route] = []
        self._register_endpoints_routes()
        self._register_training_routes()

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
            self._chaos = None
            self._stream_faults.clear()
            self._models = self._builtin_models()
            self.latency, self.embedding_input_limit, self.require_auth = self._defaults
            self.reverse_embedding_data = False
            self.stream_interval = 0.0
            self._reset_training()

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

    def random_faults(
        self,
        rate: float,
        *,
        statuses: tuple[int, ...] = (429, 503),
        drop: bool = True,
        retry_after: str | int | None = 0,
        path: str | None = None,
        seed: int = 0,
    ) -> None:
        """From now on, fail a random ``rate`` of the (matching) requests; ``rate=0`` stops it.

        Each faulty request gets one of ``statuses`` (429s carry ``Retry-After``) or, with
        ``drop``, a closed connection, chosen by a seeded generator so a soak test is repeatable.
        Explicit ``fail_next``/``drop_next`` faults take precedence.
        """
        if not 0 <= rate <= 1:
            raise ValueError(f"rate must be between 0 and 1, got {rate}")
        kinds: tuple[int | str, ...] = (*statuses, *(("drop",) if drop else ()))
        if rate and not kinds:
            raise ValueError("random_faults needs at least one status or drop=True")
        with self._lock:
            self._chaos = _Chaos(rate, kinds, retry_after, path, random.Random(seed)) if rate else None

    def _random_fault(self, path: str) -> _Fault | str | None:
        chaos = self._chaos
        if chaos is None or not _path_matches(path, chaos.path) or chaos.rng.random() >= chaos.rate:
            return None
        kind = chaos.rng.choice(chaos.kinds)
        if kind == "drop":
            return "drop"
        status = int(kind)
        return _Fault(1, None, status, chaos.retry_after if status in (429, 503) else None)

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
            drop: Any = self._take(self._drops, path)
            failure = None if drop else self._take(self._failures, path)
            if not drop and failure is None:
                chance = self._random_fault(path)
                if chance == "drop":
                    drop = chance
                elif isinstance(chance, _Fault):
                    failure = chance
            fault = "drop" if drop else (f"status:{failure.status}" if failure else None)
            record = RecordedRequest(method, path, query, kept_headers, parsed, auth, fault)
            self._journal.append(record)

        if self.latency > 0:
            time.sleep(self.latency)
        if drop:
            return None
        route, params = self._resolve(path)
        # Unknown paths under AI Training's /v1/job still answer in its error shape.
        style = route.style if route else ("ovh" if path == "/v1/job" or path.startswith("/v1/job/") else "openai")
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
        if fault is None:
            tail = [_sse("[DONE]")]
        else:
            self._mark_fault(record, f"{fault.kind}_stream:{fault.after_chunks}")
            payloads = payloads[: max(0, fault.after_chunks)]
            tail = [_sse({"error": {"message": fault.message, "code": fault.code}})] if fault.kind == "error" else []
        interval = self.stream_interval

        def events() -> Iterator[bytes]:
            # Encoded one by one as they are sent, paced like a model generating tokens.
            for payload in payloads:
                yield _sse(payload)
                if interval > 0:
                    time.sleep(interval)
            yield from tail

        return _Reply(200, events=events())

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

    # ---------------------------------------------------------------------------------- AI Training: public

    def training_connection(self, conn_type: str = "ovhcloud_ai_training", region: str | None = None) -> dict[str, Any]:
        """An AI Training Airflow connection (as a dict): host is ``training_url``, login the region.

        ``region`` defaults to ``training_region`` (``"gra"`` unless changed).
        """
        return {
            "conn_type": conn_type,
            "host": self.training_url,
            "login": self.training_region if region is None else region,
            "password": self.token,
        }

    def training_connection_json(self, conn_type: str = "ovhcloud_ai_training", region: str | None = None) -> str:
        """The training connection in Airflow's JSON form, for ``AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT``."""
        return json.dumps(self.training_connection(conn_type, region))

    def script_job(
        self,
        *,
        final_state: str = "DONE",
        exit_code: int | None = None,
        info_message: str | None = None,
        stick_in: str | None = None,
        logs: list[str] | None = None,
        name: str | None = None,
    ) -> None:
        """Script how the next submitted job lives and ends (FIFO; one script per job).

        ``final_state`` picks the path (each arrow is one step):

        - ``DONE``: QUEUED → INITIALIZING → PENDING → RUNNING → FINALIZING → DONE (exit code 0)
        - ``FAILED``: … RUNNING → FINALIZING → FAILED (exit code 1 unless ``exit_code``)
        - ``SYNC_FAILED``: … RUNNING → FINALIZING → SYNC_FAILED (exit code 0: the code ran, the output sync failed)
        - ``ERROR``: QUEUED → INITIALIZING → ERROR (exit code 1; it never ran)
        - ``TIMEOUT``: … RUNNING → TIMEOUT → INTERRUPTING → FINALIZING → INTERRUPTED (exit code 143)
        - ``INTERRUPTED``: … RUNNING → INTERRUPTING → FINALIZING → INTERRUPTED (stopped from elsewhere)

        ``exit_code`` and ``info_message`` (``status.info.message``, e.g. "CUDA out of memory") apply
        when the job reaches that scripted ending; a job killed through the API ends INTERRUPTED with
        exit code 143 instead. ``stick_in`` (a non-terminal state on the path, e.g. ``"RUNNING"``) stops
        automatic progress (polls or time) there until the job is killed, finished with
        ``finish_job()``, pushed with ``advance_job()`` or released with ``set_job(id, stick_in=None)``.
        ``logs`` replace the generated log lines. With ``name``, the script waits for the next job whose
        ``spec.name`` equals it; a job takes the first script naming it, else the first unnamed one.
        """
        script = _job_script(final_state, exit_code, info_message, stick_in, logs, name)
        with self._lock:
            self._job_scripts.append(script)

    def set_job(
        self,
        job_id: str,
        *,
        final_state: str | _Unset = _UNSET,
        exit_code: int | _Unset | None = _UNSET,
        info_message: str | _Unset | None = _UNSET,
        stick_in: str | _Unset | None = _UNSET,
        logs: list[str] | _Unset | None = _UNSET,
    ) -> None:
        """Change the script of an existing job; options left out keep their value (``None`` clears one).

        A new ``final_state`` re-routes a moving job: it continues along the new path from its current
        state, or goes straight to the new ending when its state is not on that path (a PENDING job set
        to ``ERROR`` errors at its next step). A killed job stays on its way to INTERRUPTED, and a
        terminal job keeps its state (the new script applies after a restart), but ``logs`` always apply.
        Raises ``KeyError`` for an unknown job and ``ValueError`` for invalid options.
        """
        with self._lock:
            job = self._job_or_key_error(job_id)
            old = job.script
            script = _job_script(
                old.final_state if isinstance(final_state, _Unset) else final_state,
                old.exit_code if isinstance(exit_code, _Unset) else exit_code,
                old.info_message if isinstance(info_message, _Unset) else info_message,
                job.stick_in if isinstance(stick_in, _Unset) else stick_in,
                old.logs if isinstance(logs, _Unset) else logs,
                old.name,
            )
            job.script = script
            if not isinstance(stick_in, _Unset) or not isinstance(final_state, _Unset):
                job.stick_in = script.stick_in
            if not job.killed and job.state not in _TERMINAL_STATES:
                job.plan = _JOB_PLANS[script.final_state]

    def finish_job(
        self,
        job_id: str,
        state: str = "DONE",
        *,
        exit_code: int | None = None,
        info_message: str | None = None,
    ) -> None:
        """Move a job straight to a terminal state (no intermediate steps); ``ValueError`` if it already ended."""
        if state not in _TERMINAL_STATES:
            raise ValueError(f"state must be one of {', '.join(sorted(_TERMINAL_STATES))}, not {state!r}")
        if exit_code is not None and not _is_int(exit_code):
            raise ValueError("exit_code must be an integer")
        with self._lock:
            job = self._job_or_key_error(job_id)
            self._sync_job(job)
            if job.state in _TERMINAL_STATES:
                raise ValueError(f"job {job_id} already ended in {job.state}")
            job.forced_end = (exit_code, info_message)
            job.stick_in = None
            self._enter(job, state, time.time(), time.monotonic())

    def advance_job(self, job_id: str, steps: int = 1) -> None:
        """Move a job ``steps`` steps along its path now, past a ``stick_in`` state too; stops at its end."""
        if not _is_int(steps) or steps < 0:
            raise ValueError("steps must be a non-negative integer")
        with self._lock:
            job = self._job_or_key_error(job_id)
            self._sync_job(job)
            for _ in range(steps):
                if not self._step(job, time.time(), time.monotonic(), respect_stick=False):
                    break

    @property
    def jobs(self) -> dict[str, dict[str, Any]]:
        """Every job as the API would show it (deep copies), by id in submission order; reading never advances."""
        with self._lock:
            for job in self._jobs.values():
                self._sync_job(job)
            return {job_id: self._job_json(job) for job_id, job in self._jobs.items()}

    def job(self, job_id: str) -> dict[str, Any]:
        """One job as the API would show it (a deep copy); ``KeyError`` if unknown or deleted. Never advances it."""
        with self._lock:
            job = self._job_or_key_error(job_id)
            self._sync_job(job)
            return self._job_json(job)

    @property
    def submitted_jobs(self) -> int:
        """How many ``POST /v1/job`` succeeded since the emulator was created or reset."""
        with self._lock:
            return self._submitted

    # ---------------------------------------------------------------------------------- AI Training: engine

    def _reset_training(self) -> None:
        self.training_region = "gra"
        self.job_progress = "polls"
        self.job_step_seconds = 1.0
        self.job_list_style = "paged"
        self._jobs = {}
        self._job_scripts = []
        self._submitted = 0

    def _job_or_key_error(self, job_id: str) -> _Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise KeyError(job_id)
        return job

    def _progress_mode(self) -> str:
        mode = self.job_progress
        if mode not in ("polls", "time"):
            raise ValueError(f"job_progress must be 'polls' or 'time', not {mode!r}")
        return mode

    def _enter(self, job: _Job, state: str, wall: float, mono: float) -> None:
        """Record a transition; a terminal state also fixes the exit code and the info message."""
        job.history.append((state, wall))
        job.updated = wall
        job.anchor_mono, job.anchor_wall = mono, wall
        if state not in _TERMINAL_STATES:
            return
        exit_code, message = None, None
        if job.forced_end is not None:
            exit_code, message = job.forced_end
        elif not job.killed and state == _JOB_PLANS[job.script.final_state][-1]:
            exit_code, message = job.script.exit_code, job.script.info_message
        if exit_code is None:
            exit_code = _DEFAULT_EXIT_CODES[state]
        if message is None:
            if state == "INTERRUPTED" and job.killed:
                message = "Job was stopped by the user"
            elif state == "INTERRUPTED" and any(s == "TIMEOUT" for s, _ in job.history[job.run_start :]):
                timeout = job.spec.get("timeout") or _DEFAULT_JOB_TIMEOUT
                message = f"Job reached its timeout ({timeout} s) and was interrupted"
            elif state == "FAILED":
                message = f"Job failed with exit code {exit_code}"
            else:
                message = _STATE_MESSAGES[state]
        job.exit_code, job.info_message = exit_code, message

    def _step(self, job: _Job, wall: float, mono: float, *, respect_stick: bool = True) -> bool:
        """One step along the job's plan; False when it cannot move (terminal, or held by ``stick_in``)."""
        state = job.state
        if state in _TERMINAL_STATES or (respect_stick and job.stick_in == state):
            return False
        plan = job.plan
        following = plan[plan.index(state) + 1] if state in plan else plan[-1]
        self._enter(job, following, wall, mono)
        return True

    def _sync_job(self, job: _Job) -> None:
        """In time mode, apply the steps due since the last transition (one per ``job_step_seconds``)."""
        if self._progress_mode() != "time":
            return
        now = time.monotonic()
        step = float(self.job_step_seconds)
        for _ in range(len(_JOB_STATES) * 2):  # a plan never has more steps than this
            due = job.anchor_mono + step if step > 0 else now
            if due > now or not self._step(job, job.anchor_wall + (due - job.anchor_mono), due):
                return

    def _take_job_script(self, name: Any) -> _JobScript:
        scripts = self._job_scripts
        for index, script in enumerate(scripts):
            if script.name is not None and script.name == name:
                return scripts.pop(index)
        for index, script in enumerate(scripts):
            if script.name is None:
                return scripts.pop(index)
        return _JobScript()

    def _job_json(self, job: _Job) -> dict[str, Any]:
        region = self.training_region
        run = job.history[job.run_start :]

        def first(state: str) -> float | None:
            return next((t for s, t in run if s == state), None)

        queued = run[0][1]
        started = first("RUNNING")
        stopped = None
        if started is not None:
            started_index = next(i for i, (s, _) in enumerate(run) if s == "RUNNING")
            stopped = run[started_index + 1][1] if started_index + 1 < len(run) else None
        finalized = run[-1][1] if job.state in _TERMINAL_STATES else None
        now = finalized if finalized is not None else max(time.time(), job.updated)
        duration = 0 if started is None else max(0, int((stopped if stopped is not None else now) - started))
        timeout: int = job.spec["timeout"] if _is_int(job.spec.get("timeout")) else _DEFAULT_JOB_TIMEOUT
        terminal = job.state in _TERMINAL_STATES
        message = job.info_message if terminal and job.info_message is not None else _STATE_MESSAGES[job.state]

        def date(value: float | None) -> str | None:
            return None if value is None else _iso(value)

        status: dict[str, Any] = {
            "state": job.state,
            "history": [{"state": s, "date": _iso(t)} for s, t in job.history],
            "info": {"code": f"JOB_{job.state}", "message": message},
            "url": f"https://{job.job_id}.job.{region}.ai.cloud.ovh.net",
            "sshUrl": f"ssh://{job.job_id}@{region}.training.ai.cloud.ovh.net",
            "monitoringUrl": f"https://monitoring.{region}.ai.cloud.ovh.net/d/job?var-job={job.job_id}",
            "infoUrl": f"https://ui.{region}.ai.cloud.ovh.net/job/{job.job_id}",
            "ip": None,
            "externalIp": None,
            "queuedAt": _iso(queued),
            "initializingAt": date(first("INITIALIZING")),
            "startedAt": date(started),
            "stoppedAt": date(stopped),
            "finalizedAt": date(finalized),
            "timeoutAt": date(None if started is None else started + timeout),
            "lastTransitionDate": _iso(job.history[-1][1]),
            "duration": duration,
            "volumes": [],
            "dataSync": [],
        }
        if terminal:
            status["exitCode"] = job.exit_code
        return {
            "id": job.job_id,
            "createdAt": _iso(job.created),
            "updatedAt": _iso(job.updated),
            "user": _TRAINING_USER,
            "spec": copy.deepcopy(job.spec),
            "status": status,
        }

    def _job_log_lines(self, job: _Job) -> list[str]:
        if job.script.logs is not None:
            base = next((t for s, t in job.history[job.run_start :] if s == "RUNNING"), job.created)
            return [f"{_iso(base + i / 1000)} {line}" for i, line in enumerate(job.script.logs)]
        lines = []
        last = len(job.history) - 1
        for index, (state, when) in enumerate(job.history):
            text = f"Job {job.job_id} entered {state}"
            if index == last and state in _TERMINAL_STATES:
                text += f" (exit code {job.exit_code}): {job.info_message}"
            lines.append(f"{_iso(when)} {text}")
        return lines

    # ---------------------------------------------------------------------------------- AI Training: routes

    def _register_training_routes(self) -> None:
        style = "ovh"
        self._add_route("/v1/job", "POST", self._handle_job_submit, style=style)
        self._add_route("/v1/job", "GET", self._handle_job_list, style=style)
        self._add_route("/v1/job/{job_id}", "GET", self._handle_job_get, style=style)
        self._add_route("/v1/job/{job_id}", "DELETE", self._handle_job_delete, style=style)
        self._add_route("/v1/job/{job_id}/kill", "PUT", self._handle_job_kill, style=style)
        self._add_route("/v1/job/{job_id}/start", "PUT", self._handle_job_start, style=style)
        self._add_route("/v1/job/{job_id}/label", "PUT", self._handle_job_label, style=style)
        self._add_route("/v1/job/{job_id}/log", "GET", self._handle_job_log, style=style)

    def _job_for(self, call: _Call) -> _Job:
        job_id = call.params["job_id"]
        job = self._jobs.get(job_id)
        if job is None:
            raise _ClientError(404, f"Job {job_id} not found", "job_not_found")
        self._sync_job(job)
        return job

    @staticmethod
    def _query_int(call: _Call, name: str, default: int | None, minimum: int) -> int | None:
        values = call.query.get(name)
        if not values:
            return default
        try:
            value = int(values[-1])
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise _ClientError(400, f"query parameter {name} must be an integer >= {minimum}", "invalid_query")
        return value

    def _handle_job_submit(self, call: _Call) -> _Reply:
        spec = _validate_job_spec(call.body)
        wall, mono = time.time(), time.monotonic()
        with self._lock:
            self._submitted += 1
            script = self._take_job_script(spec.get("name"))
            job = _Job(
                job_id=str(uuid.uuid4()),
                seq=self._submitted,
                spec=copy.deepcopy(spec),
                script=script,
                plan=_JOB_PLANS[script.final_state],
                stick_in=script.stick_in,
                history=[("QUEUED", wall)],
                created=wall,
                updated=wall,
                anchor_mono=mono,
                anchor_wall=wall,
            )
            self._jobs[job.job_id] = job
            return _json_reply(self._job_json(job))

    def _handle_job_get(self, call: _Call) -> _Reply:
        with self._lock:
            job = self._job_for(call)
            if self._progress_mode() == "polls":
                self._step(job, time.time(), time.monotonic())
            return _json_reply(self._job_json(job))

    def _handle_job_list(self, call: _Call) -> _Reply:
        query = call.query
        page = cast("int", self._query_int(call, "page", 1, 1))
        size = cast("int", self._query_int(call, "size", 100, 1))
        states = {s.strip() for value in query.get("statusState", []) for s in value.split(",") if s.strip()}
        unknown = sorted(states - set(_JOB_STATES))
        if unknown:
            raise _ClientError(400, f"statusState: unknown state {unknown[0]}", "invalid_query")
        selectors: list[tuple[str, str]] = []
        for value in query.get("labelSelector", []):
            for part in value.split(","):
                if not part.strip():
                    continue
                key, sep, wanted = part.partition("=")
                if not sep or not key.strip():
                    raise _ClientError(400, f"labelSelector: expected key=value, got {part!r}", "invalid_query")
                selectors.append((key.strip(), wanted.strip()))
        order = (query.get("order") or ["desc"])[-1].lower()
        if order not in ("asc", "desc"):
            raise _ClientError(400, f"order must be asc or desc, not {order!r}", "invalid_query")
        sort = (query.get("sort") or ["createdAt"])[-1]
        if sort not in _JOB_SORT_KEYS:
            raise _ClientError(400, f"sort must be one of {', '.join(_JOB_SORT_KEYS)}, not {sort!r}", "invalid_query")
        after = _parse_iso(query["updatedAfter"][-1], "updatedAfter") if query.get("updatedAfter") else None
        before = _parse_iso(query["updatedBefore"][-1], "updatedBefore") if query.get("updatedBefore") else None

        with self._lock:
            chosen = []
            for job in self._jobs.values():
                self._sync_job(job)
                labels = job.spec.get("labels") or {}
                if states and job.state not in states:
                    continue
                if any(labels.get(key) != wanted for key, wanted in selectors):
                    continue
                # Dates go out with millisecond precision; compare at that precision too.
                updated = math.floor(job.updated * 1000) / 1000
                if (after is not None and updated <= after) or (before is not None and updated >= before):
                    continue
                chosen.append(job)
            sort_keys: dict[str, Callable[[_Job], Any]] = {
                "createdAt": lambda j: (j.created, j.seq),
                "updatedAt": lambda j: (j.updated, j.seq),
                "id": lambda j: j.job_id,
                "name": lambda j: (str(j.spec.get("name") or ""), j.seq),
                "state": lambda j: (j.state, j.seq),
            }
            chosen.sort(key=sort_keys[sort], reverse=order == "desc")
            items = [self._job_json(j) for j in chosen[(page - 1) * size : page * size]]
            total = len(chosen)
        if self.job_list_style == "bare":
            return _json_reply(items)
        return _json_reply({"items": items, "metadata": {"page": page, "size": size, "total": total}})

    def _handle_job_kill(self, call: _Call) -> _Reply:
        with self._lock:
            job = self._job_for(call)
            already_stopping = job.plan[-1] == "INTERRUPTED" and job.state in ("INTERRUPTING", "FINALIZING")
            if job.state not in _TERMINAL_STATES and not (job.killed or already_stopping):
                job.killed = True
                job.stick_in = None
                job.plan = _KILL_PLAN
                self._enter(job, "INTERRUPTING", time.time(), time.monotonic())
            elif job.state not in _TERMINAL_STATES:
                job.stick_in = None  # already on its way to INTERRUPTED: only release a stick_in hold
        return _Reply(204, b"", None)

    def _handle_job_delete(self, call: _Call) -> _Reply:
        force = (call.query.get("force") or ["false"])[-1].strip().lower() in ("true", "1")
        with self._lock:
            job = self._job_for(call)
            if job.state not in _TERMINAL_STATES and not force:
                raise _ClientError(
                    400, f"Job {job.job_id} is {job.state}: stop it first or pass force=true", "job_not_stopped"
                )
            del self._jobs[job.job_id]
        return _Reply(204, b"", None)

    def _handle_job_start(self, call: _Call) -> _Reply:
        with self._lock:
            job = self._job_for(call)
            if job.state not in _TERMINAL_STATES:
                raise _ClientError(
                    409, f"Job {job.job_id} is {job.state}: only an ended job can be restarted", "job_not_stopped"
                )
            job.killed = False
            job.forced_end = None
            job.exit_code = job.info_message = None
            job.plan = _JOB_PLANS[job.script.final_state]
            job.stick_in = job.script.stick_in
            job.run_start = len(job.history)
            self._enter(job, "QUEUED", time.time(), time.monotonic())
        return _Reply(204, b"", None)

    def _handle_job_label(self, call: _Call) -> _Reply:
        body = call.body
        if not isinstance(body, dict) or "name" not in body or "value" not in body:
            raise _bad_spec('The request body must be {"name": str, "value": str}')
        _check_label(body["name"], body["value"], "label")
        with self._lock:
            job = self._job_for(call)
            labels = job.spec.get("labels")
            if not isinstance(labels, dict):
                labels = job.spec["labels"] = {}
            labels[body["name"]] = body["value"]
            job.updated = max(job.updated, time.time())
        return _Reply(204, b"", None)

    def _handle_job_log(self, call: _Call) -> _Reply:
        tail = self._query_int(call, "tail", None, 0)
        page = cast("int", self._query_int(call, "page", 1, 1))
        size = self._query_int(call, "size", None, 1)
        with self._lock:
            lines = self._job_log_lines(self._job_for(call))
        if tail is not None:
            lines = lines[len(lines) - tail :] if tail else []
        if size is not None:
            lines = lines[(page - 1) * size : page * size]
        text = "".join(line + "\n" for line in lines)
        return _Reply(200, text.encode("utf-8"), "text/plain; charset=utf-8")
