"""AI Endpoints' Batch API state: uploaded files, batches and their lifecycle, scripted outcomes.

No HTTP here: :mod:`~airflow_ovhcloud.testing.emulator.endpoints.batch_responses` parses uploads and
requests and shapes replies. A batch moves ``validating → in_progress → finalizing → completed`` one
step per poll of ``GET /v1/batches/{id}`` (``batch_progress = "polls"``: the step happens *before* the
answer) or one step per ``batch_step_seconds`` (``"time"``); listing never advances a batch.

- Validation (the step out of ``validating``) reads the input file: every line must be a JSON object
  with a unique string ``custom_id``, ``"method": "POST"``, ``url`` equal to the batch's endpoint and
  an object ``body``; any problem makes the batch ``failed`` with one ``errors.data`` entry per
  problem, each naming its line (1-based).
- Work: the first half of the requests are answered when the batch enters ``in_progress`` (so
  ``request_counts.completed`` visibly grows), the rest when it enters ``finalizing``; the output and
  error files are written when it ends. Each request is answered by ``answer(endpoint, body)``, the
  same code as a synchronous call (same content, usage, structured outputs, scripted chat answers);
  a request the synchronous route refuses (unknown model...) is an item failure, not a batch failure.
- Output order is shuffled, the same from run to run (seeded by the batch's rank since the last
  reset), and never the input order when a file holds two lines or more: clients must match lines by
  ``custom_id``. Ids differ from run to run, and never repeat after a reset.
- Failed items go to the error file as OpenAI documents it: ``response.status_code`` 4xx/5xx with
  the error as ``response.body``, ``"error": null``; requests never run (an expired or a cancelled
  batch) get ``"response": null`` and ``"error": {"code": "batch_expired" | "batch_cancelled",
  "message"}``. They all count in ``request_counts.failed``, so a finished batch has
  ``completed + failed == total``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from airflow_ovhcloud.testing.emulator.errors import Conflict, InvalidRequest, NotFound, ServiceError, openai_error

#: ``answer(endpoint, body)`` → the JSON bytes a synchronous call answers; raises ``ServiceError``.
Answer = Callable[[str, Any], bytes]

BATCH_ENDPOINTS = ("/v1/chat/completions", "/v1/embeddings")
COMPLETION_WINDOWS = ("24h",)
COMPLETION_WINDOW_SECONDS = 24 * 3600
BATCH_STATES = ("validating", "failed", "in_progress", "finalizing", "completed", "expired", "cancelling", "cancelled")
TERMINAL_STATES = frozenset({"failed", "completed", "expired", "cancelled"})
#: What ``script_next_batch`` may end a batch with.
SCRIPTED_ENDINGS = ("completed", "failed", "expired")
#: OpenAI's metadata rules: at most 16 pairs, keys up to 64 characters, values up to 512.
MAX_METADATA_KEYS, MAX_METADATA_KEY, MAX_METADATA_VALUE = 16, 64, 512
#: A batch lists at most this many validation errors (a broken million-line file stays readable).
MAX_LISTED_ERRORS = 1000
#: The largest file an upload may hold by default (OpenAI's batch input limit).
DEFAULT_FILE_SIZE_LIMIT = 200 * 1024 * 1024
FILE_PURPOSES = ("batch",)
_NOT_RUN = {
    "batch_expired": "This request could not be executed before the completion window expired.",
    "batch_cancelled": "The batch was cancelled before this request executed.",
}


class FileTooLarge(ServiceError):
    """An upload above ``file_size_limit`` (413, as a body above the route's limit)."""

    status = 413


@dataclass
class StoredFile:
    file_id: str
    seq: int
    filename: str
    purpose: str
    created_at: int
    data: bytes

    def render(self) -> dict[str, Any]:
        return {
            "id": self.file_id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        }


@dataclass(frozen=True)
class BatchScript:
    final_status: str = "completed"
    completed_before: int | None = None  # expired: how many requests ran before the window closed
    message: str | None = None  # failed: the validation error's message
    stick_in: str | None = None  # no automatic progress out of this state


@dataclass(frozen=True)
class ItemRule:
    contains: str
    status_code: int
    message: str


@dataclass
class Item:
    line: int
    custom_id: str
    body: Any


@dataclass
class Batch:
    batch_id: str
    seq: int
    endpoint: str
    input_file_id: str
    metadata: dict[str, str] | None
    created_at: int
    script: BatchScript
    anchor_mono: float
    status: str = "validating"
    times: dict[str, int] = field(default_factory=dict)  # "in_progress" → in_progress_at, ...
    items: list[Item] = field(default_factory=list)
    processed: int = 0
    outputs: list[bytes] = field(default_factory=list)
    error_lines: list[bytes] = field(default_factory=list)
    completed: int = 0
    failed: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: list[dict[str, Any]] | None = None


def batch_script(
    final_status: str, completed_before: int | None, message: str | None, stick_in: str | None
) -> BatchScript:
    """A script as ``script_next_batch`` describes it; ``ValueError`` for options that cannot apply."""
    if final_status not in SCRIPTED_ENDINGS:
        raise ValueError(f"final_status must be one of {', '.join(SCRIPTED_ENDINGS)}, not {final_status!r}")
    if completed_before is not None and (
        not isinstance(completed_before, int) or isinstance(completed_before, bool) or completed_before < 0
    ):
        raise ValueError(f"completed_before must be a non-negative integer or None, not {completed_before!r}")
    if completed_before is not None and final_status != "expired":
        raise ValueError("completed_before applies to an expired batch only")
    if stick_in is not None and stick_in not in ("validating", "in_progress", "finalizing"):
        raise ValueError(f"stick_in must be validating, in_progress or finalizing, not {stick_in!r}")
    return BatchScript(final_status, completed_before, message, stick_in)


def item_rule(contains: str, status_code: int, message: str) -> ItemRule:
    if not isinstance(contains, str) or not contains:
        raise ValueError("contains must be a non-empty string")
    if not isinstance(status_code, int) or isinstance(status_code, bool) or not 400 <= status_code <= 599:
        raise ValueError(f"status_code must be an HTTP error status (400-599), not {status_code!r}")
    return ItemRule(contains, status_code, str(message))


def check_metadata(metadata: Any) -> dict[str, str] | None:
    """OpenAI's rules for ``metadata``: None, or at most 16 string pairs of bounded length."""
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in metadata.items()
    ):
        raise InvalidRequest("'metadata' must be an object of string keys and string values", "invalid_metadata")
    if len(metadata) > MAX_METADATA_KEYS:
        raise InvalidRequest(
            f"'metadata' has {len(metadata)} keys; at most {MAX_METADATA_KEYS} are allowed", "invalid_metadata"
        )
    for key, value in metadata.items():
        if len(key) > MAX_METADATA_KEY:
            raise InvalidRequest(
                f"'metadata' key {key[:80]!r} is longer than {MAX_METADATA_KEY} characters", "invalid_metadata"
            )
        if len(value) > MAX_METADATA_VALUE:
            raise InvalidRequest(
                f"'metadata' value of {key!r} is longer than {MAX_METADATA_VALUE} characters", "invalid_metadata"
            )
    return dict(metadata)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def _problem(code: str, message: str, line: int | None) -> dict[str, Any]:
    return {"code": code, "message": message, "param": None, "line": line}


def parse_input(data: bytes, endpoint: str) -> tuple[list[Item], list[dict[str, Any]]]:
    """The requests of an input file, and the validation problems found (empty when it is valid)."""
    items: list[Item] = []
    problems: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            request = json.loads(raw)
        except ValueError:
            problems.append(_problem("invalid_json_line", f"Line {number} is not valid JSON.", number))
            continue
        if not isinstance(request, dict):
            problems.append(_problem("invalid_json_line", f"Line {number} is not a JSON object.", number))
            continue
        custom_id = request.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            problems.append(
                _problem("missing_custom_id", f"Line {number} has no 'custom_id' (a non-empty string).", number)
            )
        elif custom_id in seen:
            problems.append(
                _problem(
                    "duplicate_custom_id",
                    f"Line {number} repeats the custom_id {custom_id!r} of line {seen[custom_id]}; "
                    "custom_id must be unique in a batch.",
                    number,
                )
            )
        else:
            seen[custom_id] = number
        method = request.get("method")
        if method != "POST":
            problems.append(_problem("invalid_method", f"Line {number}: 'method' must be POST, not {method!r}", number))
        url = request.get("url")
        if url != endpoint:
            problems.append(
                _problem(
                    "mismatched_url",
                    f"Line {number}: 'url' {url!r} does not match the batch's endpoint {endpoint}; "
                    "every line of a batch must target the same endpoint.",
                    number,
                )
            )
        body = request.get("body")
        if not isinstance(body, dict):
            problems.append(_problem("invalid_body", f"Line {number}: 'body' must be a JSON object.", number))
        if isinstance(custom_id, str) and custom_id and isinstance(body, dict):
            items.append(Item(number, custom_id, body))
    if not problems and not items:
        problems.append(_problem("empty_file", "The input file holds no request.", None))
    return items, problems


def _output_line(batch_id: str, custom_id: str, status: int, body: bytes) -> bytes:
    request_hash = _digest(batch_id, custom_id)
    head = json.dumps(
        {"id": f"batch_req_{request_hash[:24]}", "custom_id": custom_id}, ensure_ascii=False, separators=(", ", ": ")
    )
    return (
        head[:-1].encode("utf-8")
        + b', "response": {"status_code": %d, "request_id": "req_%s", "body": ' % (status, request_hash[24:48].encode())
        + body
        + b'}, "error": null}'
    )


def _not_run_line(batch_id: str, custom_id: str, code: str) -> bytes:
    line = {
        "id": f"batch_req_{_digest(batch_id, custom_id)[:24]}",
        "custom_id": custom_id,
        "response": None,
        "error": {"code": code, "message": _NOT_RUN[code]},
    }
    return json.dumps(line, ensure_ascii=False).encode("utf-8")


def shuffled(lines: list[bytes], seed: str) -> list[bytes]:
    """``lines`` in an order fixed by ``seed`` and, for two lines or more, never their own order."""
    order = list(lines)
    random.Random(seed).shuffle(order)
    if len(order) > 1 and order == lines:
        order = order[1:] + order[:1]
    return order


class BatchBackend:
    """Files, batches, scripts and item-failure rules; the knobs ``batch_progress``,
    ``batch_step_seconds`` and ``file_size_limit`` may change at any time and ``reset()`` restores them.
    Thread-safe (one lock: a step that answers many requests holds it while it works)."""

    def __init__(self, answer: Answer) -> None:
        self._answer = answer
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            #: ``"polls"``: one step per ``GET /v1/batches/{id}``; ``"time"``: one per ``batch_step_seconds``.
            self.batch_progress: str = "polls"
            #: Seconds per batch step in ``"time"`` mode.
            self.batch_step_seconds: float = 0.05
            #: The largest file ``POST /v1/files`` accepts, in bytes (200 MB).
            self.file_size_limit: int = DEFAULT_FILE_SIZE_LIMIT
            self._files: dict[str, StoredFile] = {}
            self._batches: dict[str, Batch] = {}
            self._scripts: deque[BatchScript] = deque()
            self._rules: list[ItemRule] = []
            self._file_seq = 0
            self._batch_seq = 0
            # Ids never repeat, even across resets: a stale id a client kept must not name a new batch.
            self._nonce = uuid.uuid4().hex
            self.uploaded = 0
            self.created = 0

    # ---------------------------------------------------------------------------------- scripting

    def add_script(self, script: BatchScript) -> None:
        with self._lock:
            self._scripts.append(script)

    def add_rule(self, rule: ItemRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def advance(self, batch_id: str, steps: int) -> None:
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
            raise ValueError(f"steps must be a positive integer, not {steps!r}")
        with self._lock:
            batch = self._batch_or_key_error(batch_id)
            for _ in range(steps):
                if not self._step(batch, respect_stick=False):
                    return

    def finish(self, batch_id: str) -> None:
        """Every remaining step now, past ``stick_in`` too; ``ValueError`` if the batch already ended."""
        with self._lock:
            batch = self._batch_or_key_error(batch_id)
            if batch.status in TERMINAL_STATES:
                raise ValueError(f"batch {batch_id} already ended ({batch.status})")
            while self._step(batch, respect_stick=False):
                pass

    def batches(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            for batch in self._batches.values():
                self._sync(batch)
            return {batch_id: self._render(batch) for batch_id, batch in self._batches.items()}

    def batch(self, batch_id: str) -> dict[str, Any]:
        with self._lock:
            batch = self._batch_or_key_error(batch_id)
            self._sync(batch)
            return self._render(batch)

    def files(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {file_id: stored.render() for file_id, stored in self._files.items()}

    def file_bytes(self, file_id: str) -> bytes:
        with self._lock:
            stored = self._files.get(file_id)
            if stored is None:
                raise KeyError(file_id)
            return stored.data

    # ---------------------------------------------------------------------------------- files API

    def upload(self, filename: str, purpose: str, data: bytes) -> dict[str, Any]:
        if purpose not in FILE_PURPOSES:
            raise InvalidRequest(
                f"'purpose' must be one of {', '.join(FILE_PURPOSES)}, not {purpose!r}", "invalid_purpose"
            )
        if len(data) > self.file_size_limit:
            raise FileTooLarge(
                f"File too large: {len(data)} bytes; the limit is {self.file_size_limit} bytes", "file_too_large"
            )
        with self._lock:
            self.uploaded += 1
            return self._store(filename, purpose, data).render()

    def get_file(self, file_id: str) -> dict[str, Any]:
        with self._lock:
            return self._file(file_id).render()

    def file_content(self, file_id: str) -> bytes:
        with self._lock:
            return self._file(file_id).data

    def delete_file(self, file_id: str) -> dict[str, Any]:
        with self._lock:
            self._file(file_id)
            del self._files[file_id]
            return {"id": file_id, "object": "file", "deleted": True}

    def list_files(self, purpose: str | None, descending: bool) -> list[dict[str, Any]]:
        with self._lock:
            found = [f for f in self._files.values() if purpose is None or f.purpose == purpose]
            found.sort(key=lambda f: f.seq, reverse=descending)
            return [f.render() for f in found]

    # ---------------------------------------------------------------------------------- batches API

    def create(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise InvalidRequest("The request body must be a JSON object", "invalid_body")
        allowed = {"input_file_id", "endpoint", "completion_window", "metadata"}
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise InvalidRequest(f"Unknown parameter: {unknown[0]!r}", "unknown_parameter")
        endpoint = body.get("endpoint")
        if endpoint not in BATCH_ENDPOINTS:
            raise InvalidRequest(
                f"'endpoint' must be one of {', '.join(BATCH_ENDPOINTS)}, not {endpoint!r}", "invalid_endpoint"
            )
        window = body.get("completion_window")
        if window not in COMPLETION_WINDOWS:
            raise InvalidRequest(
                f"'completion_window' must be {' or '.join(COMPLETION_WINDOWS)}, not {window!r}",
                "invalid_completion_window",
            )
        metadata = check_metadata(body.get("metadata"))
        file_id = body.get("input_file_id")
        with self._lock:
            stored = self._files.get(file_id) if isinstance(file_id, str) else None
            if stored is None or not isinstance(file_id, str):
                raise InvalidRequest(f"'input_file_id': no file {file_id!r} was uploaded", "invalid_input_file")
            if stored.purpose != "batch":
                raise InvalidRequest(
                    f"'input_file_id': file {file_id} has purpose {stored.purpose!r}, not 'batch'",
                    "invalid_input_file",
                )
            self._batch_seq += 1
            self.created += 1
            seq = self._batch_seq
            batch_id = f"batch_{_digest('batch', str(seq), self._nonce)[:32]}"
            script = self._scripts.popleft() if self._scripts else BatchScript()
            batch = Batch(batch_id, seq, str(endpoint), file_id, metadata, int(time.time()), script, time.monotonic())
            self._batches[batch_id] = batch
            return self._render(batch)

    def poll(self, batch_id: str) -> dict[str, Any]:
        """``GET /v1/batches/{id}``: in polls mode one step first (unless held by ``stick_in``)."""
        with self._lock:
            batch = self._found(batch_id)
            if self._mode() == "polls":
                self._step(batch)
            return self._render(batch)

    def list_batches(self, limit: int, after: str | None) -> tuple[list[dict[str, Any]], bool]:
        """Newest first; ``after`` is the last id of the previous page. Returns the page and ``has_more``."""
        with self._lock:
            ordered = sorted(self._batches.values(), key=lambda b: b.seq, reverse=True)
            if after is not None:
                position = next((i for i, b in enumerate(ordered) if b.batch_id == after), None)
                if position is None:
                    raise InvalidRequest(f"'after': no batch {after!r}", "invalid_after")
                ordered = ordered[position + 1 :]
            page = ordered[:limit]
            for batch in page:
                self._sync(batch)
            return [self._render(b) for b in page], len(ordered) > limit

    def cancel(self, batch_id: str) -> dict[str, Any]:
        with self._lock:
            batch = self._found(batch_id)
            if batch.status in ("validating", "in_progress"):
                self._enter(batch, "cancelling")
            elif batch.status != "cancelling":  # cancelling twice is harmless, as a retried kill needs
                raise Conflict(
                    f"Cannot cancel batch {batch_id}: its status is {batch.status!r}; "
                    "only a validating or in_progress batch can be cancelled",
                    "batch_not_cancellable",
                )
            return self._render(batch)

    # ---------------------------------------------------------------------------------- the engine

    def _mode(self) -> str:
        mode = self.batch_progress
        if mode not in ("polls", "time"):
            raise ValueError(f"batch_progress must be 'polls' or 'time', not {mode!r}")
        return mode

    def _file(self, file_id: str) -> StoredFile:
        stored = self._files.get(file_id)
        if stored is None:
            raise NotFound(f"No such file: {file_id}", "file_not_found")
        return stored

    def _batch_or_key_error(self, batch_id: str) -> Batch:
        batch = self._batches.get(batch_id)
        if batch is None:
            raise KeyError(batch_id)
        return batch

    def _found(self, batch_id: str) -> Batch:
        batch = self._batches.get(batch_id)
        if batch is None:
            raise NotFound(f"No such batch: {batch_id}", "batch_not_found")
        self._sync(batch)
        return batch

    def _store(self, filename: str, purpose: str, data: bytes) -> StoredFile:
        self._file_seq += 1
        file_id = f"file-{_digest('file', str(self._file_seq), self._nonce)[:24]}"
        stored = StoredFile(file_id, self._file_seq, filename, purpose, int(time.time()), data)
        self._files[file_id] = stored
        return stored

    def _enter(self, batch: Batch, status: str) -> None:
        batch.status = status
        batch.times[status] = int(time.time())
        batch.anchor_mono = time.monotonic()

    def _sync(self, batch: Batch) -> None:
        """In time mode, apply the steps due since the last one (one per ``batch_step_seconds``)."""
        if self._mode() != "time":
            return
        step = float(self.batch_step_seconds)
        now = time.monotonic()
        for _ in range(len(BATCH_STATES)):
            due = batch.anchor_mono + step if step > 0 else now
            if due > now or not self._step(batch):
                return
            batch.anchor_mono = due  # the next step is due one step after this one was, not after now

    def _step(self, batch: Batch, *, respect_stick: bool = True) -> bool:
        """One step along the batch's way; False when it cannot move (ended, or held by ``stick_in``)."""
        status = batch.status
        if status in TERMINAL_STATES or (respect_stick and batch.script.stick_in == status):
            return False
        script = batch.script
        if status == "validating":
            self._validate(batch)
        elif status == "cancelling":
            self._close(batch, "batch_cancelled")
            self._enter(batch, "cancelled")
        elif status == "in_progress" and script.final_status == "expired":
            self._run(batch, self._expiry_point(batch))
            self._close(batch, "batch_expired")
            self._enter(batch, "expired")
        elif status == "in_progress":
            self._run(batch, len(batch.items))
            self._enter(batch, "finalizing")
        else:  # finalizing
            self._close(batch, None)
            self._enter(batch, "completed")
        return True

    def _validate(self, batch: Batch) -> None:
        script = batch.script
        stored = self._files.get(batch.input_file_id)
        if script.final_status == "failed":
            message = script.message or "The input file failed validation."
            problems = [_problem("invalid_input_file", message, None)]
        elif stored is None:
            problems = [_problem("invalid_input_file", f"The input file {batch.input_file_id} was deleted.", None)]
        else:
            batch.items, problems = parse_input(stored.data, batch.endpoint)
        if problems:
            batch.items = []
            batch.errors = problems[:MAX_LISTED_ERRORS]
            if len(problems) > MAX_LISTED_ERRORS:
                batch.errors.append(
                    _problem("too_many_errors", f"{len(problems) - MAX_LISTED_ERRORS} more problems not listed.", None)
                )
            self._enter(batch, "failed")
            return
        self._enter(batch, "in_progress")
        half = math.ceil(len(batch.items) / 2)
        self._run(batch, min(half, self._expiry_point(batch)) if script.final_status == "expired" else half)

    def _expiry_point(self, batch: Batch) -> int:
        wanted = batch.script.completed_before
        total = len(batch.items)
        return total // 2 if wanted is None else min(wanted, total)

    def _run(self, batch: Batch, until: int) -> None:
        """Answer the requests up to index ``until`` (exclusive) that have not run yet."""
        rules = list(self._rules)
        for item in batch.items[batch.processed : until]:
            failure = self._scripted_failure(item, rules)
            if failure is not None:
                status, body = failure
            else:
                try:
                    status, body = 200, self._answer(batch.endpoint, item.body)
                except ServiceError as exc:
                    status = exc.status
                    body = json.dumps(openai_error(exc.status, exc.message, exc.code, exc.type)).encode("utf-8")
                except Exception as exc:  # an emulator bug shows as a failed item, not a stuck batch
                    status = 500
                    body = json.dumps(openai_error(500, f"Emulator internal error: {exc!r}")).encode("utf-8")
            line = _output_line(batch.batch_id, item.custom_id, status, body)
            if status == 200:
                batch.outputs.append(line)
                batch.completed += 1
            else:
                batch.error_lines.append(line)
                batch.failed += 1
        batch.processed = max(batch.processed, min(until, len(batch.items)))

    @staticmethod
    def _scripted_failure(item: Item, rules: list[ItemRule]) -> tuple[int, bytes] | None:
        if not rules:
            return None
        text = json.dumps(item.body, ensure_ascii=False)
        for rule in rules:
            if rule.contains in text:
                error = openai_error(rule.status_code, rule.message, "scripted_failure", None)
                return rule.status_code, json.dumps(error, ensure_ascii=False).encode("utf-8")
        return None

    def _close(self, batch: Batch, not_run: str | None) -> None:
        """Requests that never ran go to the error file with ``not_run``; then the files are written."""
        if not_run is not None:
            for item in batch.items[batch.processed :]:
                batch.error_lines.append(_not_run_line(batch.batch_id, item.custom_id, not_run))
                batch.failed += 1
            batch.processed = len(batch.items)
        if batch.outputs:
            data = b"\n".join(shuffled(batch.outputs, f"{batch.seq}/outputs")) + b"\n"
            batch.output_file_id = self._store(f"{batch.batch_id}_output.jsonl", "batch_output", data).file_id
        if batch.error_lines:
            data = b"\n".join(shuffled(batch.error_lines, f"{batch.seq}/errors")) + b"\n"
            batch.error_file_id = self._store(f"{batch.batch_id}_error.jsonl", "batch_output", data).file_id
        batch.outputs, batch.error_lines = [], []

    @staticmethod
    def _render(batch: Batch) -> dict[str, Any]:
        times = batch.times
        total = len(batch.items) if batch.status != "validating" else 0
        return copy.deepcopy(
            {
                "id": batch.batch_id,
                "object": "batch",
                "endpoint": batch.endpoint,
                "errors": None if batch.errors is None else {"object": "list", "data": batch.errors},
                "input_file_id": batch.input_file_id,
                "completion_window": "24h",
                "status": batch.status,
                "output_file_id": batch.output_file_id,
                "error_file_id": batch.error_file_id,
                "created_at": batch.created_at,
                "in_progress_at": times.get("in_progress"),
                "expires_at": batch.created_at + COMPLETION_WINDOW_SECONDS,
                "finalizing_at": times.get("finalizing"),
                "completed_at": times.get("completed"),
                "failed_at": times.get("failed"),
                "expired_at": times.get("expired"),
                "cancelling_at": times.get("cancelling"),
                "cancelled_at": times.get("cancelled"),
                "request_counts": {"total": total, "completed": batch.completed, "failed": batch.failed},
                "metadata": batch.metadata,
            }
        )
