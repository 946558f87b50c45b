"""Batch API logic shared by the hook, the batch operator and its trigger, with no HTTP in it.

What a batch run needs besides requests: the run fingerprint that lets a retried task find its
batch (in the batch's ``metadata`` and in every ``custom_id``), the JSONL input lines built one
item at a time, the output and error files read back into input order, summed usage, failure
descriptions, the states and the small trigger events, and the ``output_path`` manifest.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from airflow_ovhcloud.exceptions import (
    OVHCloudAIClientError,
    OVHCloudAIError,
    OVHCloudAIInvalidInputError,
    OVHCloudAIJobFailedError,
    OVHCloudAIJobTimeoutError,
    OVHCloudAIPermanentError,
    OVHCloudAIRequestError,
)
from airflow_ovhcloud.utils.chat import (
    ChatItemError,
    call_from,
    chat_answer,
    is_model_class,
    response_format_of,
    with_system_prompt,
)
from airflow_ovhcloud.utils.jobs import RUN_KEY_LABEL, JobWatch, run_labels
from airflow_ovhcloud.utils.many import PROGRESS_INTERVAL, add_usage
from airflow_ovhcloud.utils.validation import path_segment, shown

CHAT_ENDPOINT = "/v1/chat/completions"
#: Embedding lines follow the same wire format; that the service accepts them is **unverified**.
EMBEDDINGS_ENDPOINT = "/v1/embeddings"
BATCH_ENDPOINTS = (CHAT_ENDPOINT, EMBEDDINGS_ENDPOINT)
#: The only completion window the service accepts today.
COMPLETION_WINDOW = "24h"

ACTIVE_STATES = ("validating", "in_progress", "finalizing", "cancelling")
SUCCESS_STATE = "completed"
FAILURE_STATES = ("failed", "expired", "cancelled")
#: Terminal failures after which the requests already processed stay in the output file.
PARTIAL_STATES = ("expired", "cancelled")
TERMINAL_STATES = (SUCCESS_STATE, *FAILURE_STATES)

#: Batch metadata key holding the run fingerprint (a retried task looks its batch up by it).
RUN_KEY_METADATA = "airflow_run_key"
#: Batch metadata key holding the number of requests (a batch of another size is not reattached).
ITEMS_METADATA = "airflow_items"
#: Batch metadata key holding a digest of the input file: a try whose items changed (a task cleared
#: after its prompts were fixed) gets a new batch, not the answers to the old items.
INPUT_METADATA = "airflow_input"
#: Hex characters of that digest (128 bits of SHA-256).
INPUT_DIGEST_LENGTH = 32
#: Hex characters of the run fingerprint: 64 bits, and short in each of a million ``custom_id``s.
FINGERPRINT_LENGTH = 16
#: Above this many bytes of results the operator warns that XCom is the wrong place (use ``output_path``).
XCOM_WARN_BYTES = 5_000_000
#: Reattach looks at most this many pages of the most recent batches.
REATTACH_PAGES = 5
REATTACH_PAGE_SIZE = 100
#: How a batch's own service is named in messages.
SERVICE = "OVHcloud AI Endpoints"


def check_batch_id(value: Any) -> str:
    """A batch id fit to go into a URL path."""
    return path_segment(value, "batch id")


def check_file_id(value: Any) -> str:
    """A file id fit to go into a URL path."""
    return path_segment(value, "file id")


def check_endpoint(value: Any) -> str:
    if value not in BATCH_ENDPOINTS:
        raise OVHCloudAIInvalidInputError(
            f"endpoint must be one of {list(BATCH_ENDPOINTS)} (every line of a batch targets it), got {shown(value)}."
        )
    return str(value)


def run_fingerprint(ti: Any) -> str:
    """The same for every try of one task instance (DAG, task, run, map index): a retry finds its batch."""
    return run_labels(ti)[RUN_KEY_LABEL][:FINGERPRINT_LENGTH]


def custom_id(fingerprint: str, index: int) -> str:
    return f"{fingerprint}-{index}"


def index_of(value: Any, fingerprint: str, total: int) -> int | None:
    """The input index a ``custom_id`` stands for, or ``None`` if it is not one of this run's."""
    if not isinstance(value, str) or not value.startswith(fingerprint + "-"):
        return None
    number = value[len(fingerprint) + 1 :]
    # ASCII only: "\u00b2" and "\u0661" pass isdigit(); int() refuses the first, reads the second as 1.
    if not (number.isascii() and number.isdigit()) or (len(number) > 1 and number[0] == "0"):
        return None
    index = int(number)
    return index if index < total else None


def batch_status(batch: Mapping[str, Any]) -> str:
    status = batch.get("status")
    return status if isinstance(status, str) else ""


def batch_counts(batch: Mapping[str, Any]) -> dict[str, int]:
    """``request_counts`` as ``{"total", "completed", "failed"}`` (0 for what the service left out)."""
    counts = batch.get("request_counts")
    counts = counts if isinstance(counts, Mapping) else {}
    return {
        key: value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0
        for key, value in ((k, counts.get(k)) for k in ("total", "completed", "failed"))
    }


def batch_reason(batch: Mapping[str, Any]) -> str:
    """The service's own reason for a failed batch: its ``errors`` (validation), else nothing."""
    errors = batch.get("errors")
    data = errors.get("data") if isinstance(errors, Mapping) else errors
    reasons = []
    for error in data if isinstance(data, list) else []:
        if not isinstance(error, Mapping):
            continue
        text = str(error.get("message") or error.get("code") or "")[:300]
        line = error.get("line")
        if text:
            reasons.append(f"line {line}: {text}" if isinstance(line, int) else text)
    if len(reasons) > 5:
        reasons = [*reasons[:5], f"... and {len(reasons) - 5} more"]
    return "; ".join(reasons)


def describe_batch(batch: Mapping[str, Any]) -> str:
    counts = batch_counts(batch)
    return f"{counts['completed']}/{counts['total']} done, {counts['failed']} failed"


# ------------------------------------------------------------------------------------ input lines


@dataclass
class BatchPlan:
    """What every item of a batch shares, and how each item becomes one request body.

    ``options`` are request fields sent as they are (``temperature``, ``max_tokens``, ``extra_body``
    fields...); ``None`` values are left out. An item may override the model and the chat options
    the way a ``@task.ovh_chat`` item does; the items whose answers are read differently (another
    ``response_format`` or ``full_response``) are remembered in :attr:`overrides` only.
    """

    model: str | None
    endpoint: str = CHAT_ENDPOINT
    system_prompt: str | None = None
    response_format: Any = None
    returns: str = "answer"
    options: dict[str, Any] = field(default_factory=dict)
    who: str = "batch"
    #: index -> (returns, response_format) for items whose answers are not read the default way.
    overrides: dict[int, tuple[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_endpoint(self.endpoint)
        self._wire_format = response_format_of(self.response_format)
        # What every plain-prompt line shares, built once (a million lines pay for it once).
        self._shared = {k: v for k, v in self.options.items() if v is not None}
        if self._wire_format is not None:
            self._shared["response_format"] = self._wire_format
        self._system = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []

    def body(self, index: int, item: Any) -> dict[str, Any]:
        """The request body of item ``index``; an unusable item raises naming its index."""
        if self.endpoint == EMBEDDINGS_ENDPOINT:
            return self._embedding_body(index, item)
        if type(item) is str and self.model and item.strip():  # the common case, without call_from
            body: dict[str, Any] = {"model": self.model, "messages": [*self._system, {"role": "user", "content": item}]}
            body.update(self._shared)
            return body
        try:
            messages, overrides = call_from(item)
        except ChatItemError as exc:
            raise OVHCloudAIInvalidInputError(f"{self.who}: item {index}: {exc}; got {shown(item)}.") from None
        overrides.pop("stream", None)  # a batch line has no stream
        returns = self.returns
        if "full_response" in overrides:
            returns = "response" if overrides.pop("full_response") else "answer"
        model = overrides.pop("model", self.model)
        if not model:
            raise OVHCloudAIInvalidInputError(
                f"{self.who}: item {index} has no model: set model= or give the item a 'model'."
            )
        system_prompt = overrides.pop("system_prompt", self.system_prompt)
        if "response_format" in overrides:
            response_format = overrides.pop("response_format")
            wire = response_format_of(response_format)
        else:
            response_format, wire = self.response_format, self._wire_format
        if returns != self.returns or response_format is not self.response_format:
            self.overrides[index] = (returns, response_format)
        body = {"model": model, "messages": with_system_prompt(messages, system_prompt)}
        body.update((k, v) for k, v in self.options.items() if v is not None and k not in overrides)
        body.update((k, v) for k, v in overrides.items() if v is not None)
        if wire is not None:
            body["response_format"] = wire
        return body

    def _embedding_body(self, index: int, item: Any) -> dict[str, Any]:
        model = self.model
        text = item
        if isinstance(item, Mapping):
            unknown = sorted(str(k) for k in set(item) - {"input", "model"})
            if unknown or "input" not in item:
                raise OVHCloudAIInvalidInputError(
                    f"{self.who}: item {index}: an embedding item is a text or a dict with 'input' (and optionally "
                    f"'model'); got {shown(item)}."
                )
            text, model = item["input"], item.get("model", model)
        if not isinstance(text, str) or not text.strip():
            raise OVHCloudAIInvalidInputError(f"{self.who}: item {index}: the text to embed is empty or not a string.")
        if not model:
            raise OVHCloudAIInvalidInputError(f"{self.who}: item {index} has no model: set model=.")
        body: dict[str, Any] = {"model": model, "input": text}
        body.update((k, v) for k, v in self.options.items() if v is not None)
        return body

    def reading(self, index: int) -> tuple[str, Any]:
        """How item ``index``'s answer is read: ``(returns, response_format)``."""
        return self.overrides.get(index, (self.returns, self.response_format))

    def answer(self, index: int, body: Mapping[str, Any]) -> Any:
        """What the task returns for item ``index`` from its response body (as ``@task.ovh_chat`` would)."""
        reading = self.overrides.get(index)
        returns, response_format = reading if reading is not None else (self.returns, self.response_format)
        if returns == "response":
            return dict(body)
        if self.endpoint == EMBEDDINGS_ENDPOINT:
            try:
                vector = body["data"][0]["embedding"]
            except (KeyError, IndexError, TypeError):
                vector = None
            if not _is_vector(vector):
                raise OVHCloudAIError(
                    f"{self.who} item {index}: the response has no embedding (a list of numbers): "
                    f"{shown(body.get('data'), 200)}."
                )
            return vector
        if response_format is None:  # plain text, the common case: what chat_answer does, without its checks
            choices = body.get("choices")
            first = choices[0] if type(choices) is list and choices else None
            message = first.get("message") if type(first) is dict else None
            if type(message) is dict and not message.get("tool_calls"):
                return message.get("content") or ""
        return chat_answer(body, response_format, f"{self.who} item {index}")

    def portable_overrides(self) -> dict[str, list[Any]]:
        """:attr:`overrides` as JSON (for a trigger's resume): a pydantic class becomes ``module:qualname``."""
        portable: dict[str, list[Any]] = {}
        for index, (returns, response_format) in self.overrides.items():
            if is_model_class(response_format):
                portable[str(index)] = [returns, f"class:{response_format.__module__}:{response_format.__qualname__}"]
            else:
                portable[str(index)] = [returns, response_format]
        return portable

    def restore_overrides(self, portable: Any) -> None:
        """The reverse of :meth:`portable_overrides`: a class is found again in the loaded modules.

        A class that cannot be found (its DAG file is not loaded) is read as its JSON schema: the
        answer is parsed JSON, not validated by the model.
        """
        for key, value in (portable if isinstance(portable, Mapping) else {}).items():
            if not str(key).isdigit() or not isinstance(value, list) or len(value) != 2:
                continue
            returns, response_format = value
            if isinstance(response_format, str) and response_format.startswith("class:"):
                response_format = _find_class(response_format[6:]) or {"type": "json_object"}
            self.overrides[int(key)] = (str(returns), response_format)


def _is_vector(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value)
    )


def _find_class(path: str) -> Any:
    module_name, _, qualname = path.partition(":")
    target: Any = sys.modules.get(module_name)
    for part in qualname.split("."):
        target = getattr(target, part, None)
    return target if is_model_class(target) else None


#: One encoder for every line: ``json.dumps`` with options builds a new encoder per call.
_LINE_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def jsonl_line(custom_id_: str, url: str, body: Mapping[str, Any], who: str = "batch") -> bytes:
    """One input line; a body that is not JSON raises naming the line's ``custom_id``."""
    try:
        text = _LINE_ENCODER.encode({"custom_id": custom_id_, "method": "POST", "url": url, "body": body})
    except (TypeError, ValueError) as exc:
        raise OVHCloudAIInvalidInputError(
            f"{who}: request {custom_id_} cannot be sent as JSON ({exc}). Pass strings, numbers, booleans, lists "
            "and dicts only."
        ) from None
    return text.encode("utf-8") + b"\n"


def jsonl_lines(plan: BatchPlan, items: Iterable[Any], fingerprint: str) -> Iterator[bytes]:
    """The input file, one line per item, built as it is read (never the whole file at once)."""
    for index, item in enumerate(items):
        yield jsonl_line(custom_id(fingerprint, index), plan.endpoint, plan.body(index, item), plan.who)


def spool_lines(lines: Iterable[bytes], handle: IO[bytes]) -> str:
    """Write the input lines to ``handle`` as they are built; return the input digest (:data:`INPUT_METADATA`)."""
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line)
        handle.write(line)
    return digest.hexdigest()[:INPUT_DIGEST_LENGTH]


def request_lines(requests: Iterable[Mapping[str, Any]], fingerprint: str, endpoint: str) -> Iterator[bytes]:
    """Input lines from ready request bodies (the hook's ``run_batch``)."""
    for index, body in enumerate(requests):
        if not isinstance(body, Mapping) or not body.get("model"):
            raise OVHCloudAIInvalidInputError(
                f"Invalid batch request {index}: each request is a request body dict with a 'model', got {shown(body)}."
            )
        yield jsonl_line(custom_id(fingerprint, index), endpoint, body)


# ----------------------------------------------------------------------------------- output lines


@dataclass
class BatchResults:
    """A finished batch read back: values and errors by input index, summed usage."""

    total: int
    results: dict[int, Any] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)
    usage: dict[str, int] = field(default_factory=dict)
    #: Bytes of the output file's lines read (what the results weigh, roughly, as JSON).
    size: int = 0
    #: The batch they come from, when known.
    batch: dict[str, Any] | None = None

    def ordered(self) -> list[Any]:
        """The values in input order, ``None`` where an item failed or has no answer."""
        results = self.results
        return [results.get(index) for index in range(self.total)]

    def missing(self) -> list[int]:
        return [index for index in range(self.total) if index not in self.results and index not in self.errors]

    def counts(self) -> dict[str, int]:
        return {"total": self.total, "completed": len(self.results), "failed": len(self.errors)}


class BadBatchLine(ValueError):
    """A line of an output or error file that is not what the Batch API documents."""


def _line_object(line: bytes | str) -> dict[str, Any] | None:
    if not line or line.isspace():
        return None
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deep to parse
        raise BadBatchLine("a line is not JSON") from None
    if not isinstance(value, dict):
        raise BadBatchLine("a line is not a JSON object")
    return value


def item_error(line: Mapping[str, Any]) -> str | None:
    """The failure a result line describes (``error``, or a ``response`` with an HTTP error), else ``None``."""
    response = line.get("response")
    response = response if isinstance(response, Mapping) else {}
    status = response.get("status_code")
    error = line.get("error")
    body = response.get("body")
    if not error and (not isinstance(status, int) or status < 400):
        return None
    message: Any = None
    code: Any = None
    if isinstance(error, Mapping):
        message, code = error.get("message"), error.get("code")
    elif isinstance(error, str):
        message = error
    if message is None and isinstance(body, Mapping):
        inner = body.get("error")
        if isinstance(inner, Mapping):
            message, code = inner.get("message"), code or inner.get("code")
        else:
            message = inner or body.get("message") or body.get("detail")
    head = f"HTTP {status}" if isinstance(status, int) else "failed"
    if code not in (None, ""):
        head += f" ({str(code)[:60]})"
    text = str(message)[:500] if message not in (None, "") else "(no message in the error file)"
    return f"{head}: {text}"


def read_results(
    output_lines: Iterable[bytes | str],
    error_lines: Iterable[bytes | str],
    fingerprint: str,
    total: int,
    keep: Callable[[int, Mapping[str, Any]], Any] | None = None,
) -> BatchResults:
    """Both files back into input order, matched by ``custom_id`` (the output order is not guaranteed).

    ``keep(index, body)`` turns a response body into what is kept (the answer); an error it raises
    fails that index only. A line of another run, a duplicate or a line that is not the documented
    shape raises :class:`BadBatchLine`.
    """
    results = BatchResults(total=total)
    seen: set[int] = set()
    for name, lines in (("output", output_lines), ("error", error_lines)):
        for number, raw in enumerate(lines, start=1):
            line = _line_object(raw)
            if line is None:
                continue
            index = index_of(line.get("custom_id"), fingerprint, total)
            if index is None:
                raise BadBatchLine(
                    f"line {number} of the {name} file has custom_id {shown(line.get('custom_id'), 80)}, not one of "
                    f"this batch's ({fingerprint}-0 ... {fingerprint}-{total - 1})"
                )
            if index in seen:
                raise BadBatchLine(f"line {number} of the {name} file repeats custom_id {fingerprint}-{index}")
            seen.add(index)
            failure = item_error(line)
            if failure is not None:
                results.errors[index] = failure
                continue
            response = line.get("response")
            body = response.get("body") if isinstance(response, Mapping) else None
            if not isinstance(body, Mapping):
                raise BadBatchLine(f"line {number} of the {name} file has no response body")
            results.size += len(raw)
            add_usage(results.usage, body.get("usage"))
            try:
                results.results[index] = keep(index, body) if keep is not None else body
            except OVHCloudAIError as exc:
                results.errors[index] = str(exc)
    return results


def describe_item_errors(errors: Mapping[int, str], total: int, *, shown_count: int = 20) -> str:
    """One message naming every failed index (the first ``shown_count`` with their errors)."""
    lines = [f"{len(errors)} of {total} batch requests failed:"]
    ordered = sorted(errors)
    for index in ordered[:shown_count]:
        lines.append(f"  [{index}] {errors[index]}")
    if len(ordered) > shown_count:
        lines.append(f"  ... and {len(ordered) - shown_count} more at indices {ordered[shown_count:][:200]}")
    return "\n".join(lines)


_RESULT_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


def result_lines(results: BatchResults, fingerprint: str) -> Iterator[bytes]:
    """The ``output_path`` file: one JSON line per input item, in input order."""
    for index in range(results.total):
        error = results.errors.get(index)
        if error is None and index not in results.results:
            error = "no answer (the batch ended before this request was processed)"
        line = {
            "index": index,
            "custom_id": custom_id(fingerprint, index),
            "result": results.results.get(index),
            "error": error,
        }
        yield _RESULT_ENCODER.encode(line).encode("utf-8") + b"\n"


def manifest(path: str, batch_id: str, status: str, results: BatchResults) -> dict[str, Any]:
    """The small XCom value that stands for results written to ``output_path``."""
    return {
        "path": path,
        "batch_id": batch_id,
        "status": status,
        "counts": results.counts(),
        "usage": dict(results.usage),
        "format": "jsonl: one line per input item, in input order: {index, custom_id, result, error}",
    }


# -------------------------------------------------------------------------------------- waiting


class BatchWatch(JobWatch):
    """The bookkeeping of waiting for a batch, shared by the blocking wait and the trigger.

    :class:`JobWatch`'s deadline and tolerated polling errors, with the batch states, and a
    progress line from ``request_counts`` at most every ``progress_interval`` seconds.
    """

    def __init__(
        self,
        batch_id: str,
        *,
        check_interval: float = 30,
        timeout: float = 90000,
        log: Any = None,
        clock: Callable[[], float] | None = None,
        deadline: float | None = None,
        progress_interval: float = PROGRESS_INTERVAL,
    ) -> None:
        super().__init__(
            batch_id, check_interval=check_interval, timeout=timeout, log=None, clock=clock, deadline=deadline
        )
        self.batch_log = log
        self.progress_interval = progress_interval
        self.last_line: float | None = None
        self.last_batch: Mapping[str, Any] | None = None

    def finished(self, job: Mapping[str, Any]) -> bool:
        """True when the batch reached a terminal state (success or not: the caller reads the verdict)."""
        self.errors = 0
        self.last_batch = job
        state = batch_status(job)
        now = self.clock()
        changed = state != self.last_state
        due = self.last_line is None or now - self.last_line >= self.progress_interval
        if self.batch_log is not None and (changed or due or state in TERMINAL_STATES):
            self.batch_log.info("Batch %s is %s: %s.", self.job_id, state or "(no status)", describe_batch(job))
            self.last_line = now
        self.last_state = state
        if not state:
            raise OVHCloudAIRequestError(
                f"Request to {SERVICE} failed: batch {self.job_id} was answered without a status: "
                f"{shown(dict(job), 200)}. Check that the connection points at the OpenAI-compatible Batch API."
            )
        return state in TERMINAL_STATES

    def failed_poll(self, exc: OVHCloudAIError) -> None:
        if isinstance(exc, OVHCloudAIPermanentError) or not isinstance(exc, OVHCloudAIRequestError):
            raise exc
        super().failed_poll(exc)
        if self.batch_log is not None:
            self.batch_log.warning(
                "Polling batch %s failed (%d in a row), will retry: %s", self.job_id, self.errors, exc
            )

    def next_wait(self) -> float:
        try:
            return super().next_wait()
        except OVHCloudAIJobTimeoutError:
            raise OVHCloudAIJobTimeoutError(
                f"Timeout waiting for batch {self.job_id} after {self.timeout:g} s (last status: {self.last_state}). "
                "The batch keeps running on the service: a retry of the task waits for it again (it is found by "
                "its run fingerprint), or cancel it with OVHCloudAIEndpointsHook().cancel_batch()."
            ) from None


# --------------------------------------------------------------------------------- trigger events


def batch_event(batch: Mapping[str, Any], carry: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The event of a batch in a terminal state: ids, status, counts, file ids, reason, and ``carry``.

    A few hundred bytes (Airflow logs each event), plus ``carry``: what the resumed task needs
    (the run fingerprint, the number of items, how items with their own format are read). It
    travels in the event because ``dag.test()`` drops the ``kwargs`` given to ``defer``.
    """
    return {
        "carry": dict(carry or {}),
        "status": "terminal",
        "batch_id": str(batch.get("id")),
        "state": batch_status(batch),
        "counts": batch_counts(batch),
        "output_file_id": batch.get("output_file_id") if isinstance(batch.get("output_file_id"), str) else None,
        "error_file_id": batch.get("error_file_id") if isinstance(batch.get("error_file_id"), str) else None,
        "message": batch_reason(batch)[:1000],
    }


def batch_error_event(batch_id: str, exc: OVHCloudAIError) -> dict[str, Any]:
    """The event standing for a waiting error; :func:`batch_of_event` raises it again."""
    kind = "timeout" if isinstance(exc, OVHCloudAIJobTimeoutError) else "error"
    return {
        "status": kind,
        "batch_id": batch_id,
        "message": str(exc),
        "permanent": isinstance(exc, OVHCloudAIPermanentError),
    }


def batch_of_event(event: Any) -> dict[str, Any]:
    """The batch (as much of it as the event carries) a terminal event stands for; other events raise."""
    if not isinstance(event, Mapping):
        raise OVHCloudAIRequestError(f"Unexpected trigger event for a batch: {shown(event)}.")
    if event.get("status") == "terminal" and isinstance(event.get("batch_id"), str):
        return {
            "id": event["batch_id"],
            "status": event.get("state"),
            "request_counts": event.get("counts") or {},
            "output_file_id": event.get("output_file_id"),
            "error_file_id": event.get("error_file_id"),
            "errors": {"data": [{"message": event["message"]}]} if event.get("message") else None,
        }
    message = str(event.get("message") or f"Unexpected trigger event for a batch: {shown(event)}.")
    if event.get("status") == "timeout":
        raise OVHCloudAIJobTimeoutError(message)
    if event.get("permanent"):
        raise OVHCloudAIClientError(message)
    raise OVHCloudAIRequestError(message)


def batch_failed_error(batch: Mapping[str, Any], where_partial: str | None = None) -> OVHCloudAIJobFailedError:
    """The error of a batch that ended ``failed``, ``expired`` or ``cancelled``, with the service's reason."""
    state = batch_status(batch)
    message = f"{SERVICE} batch {batch.get('id')} ended {state} ({describe_batch(batch)})"
    reason = batch_reason(batch)
    if reason:
        message += f": {reason}"
    elif state == "expired":
        message += (
            f": not finished within its completion window ({batch.get('completion_window') or COMPLETION_WINDOW})"
        )
    elif state == "cancelled":
        message += ": it was cancelled"
    if state == "failed":
        message += ". The input file was refused: check the requests (model names, fields)."
    else:
        message += "."
    if where_partial:
        message += f" The requests it processed are kept: {where_partial}."
    return OVHCloudAIJobFailedError(message, job=dict(batch), state=state)


def wall_clock() -> float:
    """Epoch seconds (a trigger's deadline survives a move to another triggerer)."""
    return time.time()
