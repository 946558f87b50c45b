"""AI Training job logic shared by the hook, the operators and the trigger, with no HTTP in it.

Job states, the bookkeeping of waiting (:class:`JobWatch`, used by the blocking wait and by the
trigger alike), the conversion between trigger events and exceptions (both directions live
here, so the trigger and ``execute_complete`` cannot drift apart), log filtering, and the
labels that let a retried task find its job.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timezone
from typing import Any

from airflow_ovhcloud.exceptions import (
    OVHCloudAIClientError,
    OVHCloudAIError,
    OVHCloudAIInvalidInputError,
    OVHCloudAIJobFailedError,
    OVHCloudAIJobTimeoutError,
    OVHCloudAIPermanentError,
    OVHCloudAIRequestError,
)
from airflow_ovhcloud.utils.redaction import redact_job
from airflow_ovhcloud.utils.validation import check_number, check_str_list, path_segment, shown

#: Terminal states, as the service defines them.
SUCCESS_STATES = ("DONE",)
FAILURE_STATES = ("FAILED", "ERROR", "INTERRUPTED", "SYNC_FAILED")
TERMINAL_STATES = SUCCESS_STATES + FAILURE_STATES
#: How many polls in a row may fail with a retryable error before waiting gives up.
MAX_CONSECUTIVE_POLL_ERRORS = 3
#: Label carrying the hash of (DAG id, task id, run id, map index): how a retry finds its job.
RUN_KEY_LABEL = "airflow-run-key"

_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_LOG_TIMESTAMP_RE = re.compile(r"^\[?(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)\]?\s")


def check_job_id(job_id: Any) -> str:
    """A job id fit to go into a URL path: it can never change the path, query or fragment."""
    return path_segment(job_id, "AI Training job id")


def job_state(job: Mapping[str, Any]) -> str | None:
    status = job.get("status")
    state = status.get("state") if isinstance(status, Mapping) else None
    return str(state).upper() if state else None


def job_info_message(job: Mapping[str, Any]) -> str | None:
    status = job.get("status")
    info = status.get("info") if isinstance(status, Mapping) else None
    message = info.get("message") if isinstance(info, Mapping) else None
    return str(message) if message else None


def job_verdict(job: Mapping[str, Any], targets: set[str] | frozenset[str], failures: set[str] | frozenset[str]) -> str:
    """``success``, ``failure`` or ``running``."""
    state = job_state(job)
    if state in targets:
        return "success"
    if state in failures:
        return "failure"
    return "running"


def job_failed_error(job_id: str, job: Mapping[str, Any]) -> OVHCloudAIJobFailedError:
    state = job_state(job)
    message = f"AI Training job {job_id} entered failure state: {state}"
    info = job_info_message(job)
    exit_code = job.get("status", {}).get("exitCode") if isinstance(job.get("status"), Mapping) else None
    if info:
        message += f" ({info})"
    if exit_code not in (None, 0):
        message += f", exit code {exit_code}"
    return OVHCloudAIJobFailedError(message + ".", job=job, state=state)


def check_states(name: str, states: Any) -> frozenset[str]:
    """Job states given as a list (or set) of names, upper-cased; empty when ``None`` or empty.

    One string is refused rather than read as its characters (``target_states="DONE"`` would
    otherwise wait for the states ``D``, ``O``, ``N`` and ``E``, and time out).
    """
    checked = check_str_list(name, states, allow_set=True, allow_none=True, non_empty_items=True)
    return frozenset(s.strip().upper() for s in checked or ())


class JobWatch:
    """The bookkeeping of waiting for a job, shared by ``wait_for_job`` and the deferrable trigger.

    It logs each state change once, tolerates a few failed polls in a row, raises the documented
    failure and timeout errors, and never sleeps past the deadline. ``clock`` is monotonic for a
    blocking wait; the trigger passes wall-clock time and a ``deadline`` that survives a restart.
    """

    def __init__(
        self,
        job_id: str,
        *,
        target_states: Sequence[str] | None = None,
        failure_states: Sequence[str] | None = None,
        check_interval: float = 30,
        timeout: float = 3600,
        log: Any = None,
        clock: Callable[[], float] | None = None,
        deadline: float | None = None,
    ) -> None:
        self.job_id = job_id
        self.targets = check_states("target_states", target_states) or frozenset(SUCCESS_STATES)
        self.failures = check_states("failure_states", failure_states) or frozenset(FAILURE_STATES)
        self.check_interval = check_number("check_interval", check_interval, minimum=0)
        self.timeout = check_number("timeout", timeout, minimum=0)
        self.log = log
        # Looked up at each call, not bound at import, so freezegun-driven tests can move the clock.
        self.clock = clock or (lambda: time.monotonic())
        self.deadline = deadline if deadline is not None else self.clock() + timeout
        self.last_state: str | None = None
        self.errors = 0

    def finished(self, job: Mapping[str, Any]) -> bool:
        """True when the job reached a target state; raises when it reached a failure state."""
        self.errors = 0
        state = job_state(job)
        if state != self.last_state:
            if self.log is not None:
                self.log.info("AI Training job %s is %s.", self.job_id, state)
            self.last_state = state
        verdict = job_verdict(job, self.targets, self.failures)
        if verdict == "failure":
            raise job_failed_error(self.job_id, job)
        return verdict == "success"

    def failed_poll(self, exc: OVHCloudAIError) -> None:
        """Count a polling error; re-raise it if a retry cannot fix it or too many came in a row."""
        if isinstance(exc, OVHCloudAIPermanentError) or not isinstance(exc, OVHCloudAIRequestError):
            raise exc
        self.errors += 1
        if self.errors >= MAX_CONSECUTIVE_POLL_ERRORS:
            raise exc
        if self.log is not None:
            self.log.warning(
                "Polling AI Training job %s failed (%d in a row), will retry: %s", self.job_id, self.errors, exc
            )

    def next_wait(self) -> float:
        """Seconds to sleep before the next poll; raises the timeout error once the deadline passed."""
        remaining = self.deadline - self.clock()
        if remaining <= 0:
            raise OVHCloudAIJobTimeoutError(
                f"Timeout waiting for AI Training job {self.job_id} after {self.timeout} s (last state: "
                f"{self.last_state}). The job may still be running: stop it or wait longer."
            )
        return float(min(self.check_interval, remaining))


# ------------------------------------------------------------------ trigger events <-> exceptions


# Events stay small (ids, state, message: a few hundred bytes, not the 2.5 KB job), since Airflow
# logs each fired event in the task log; the resumed task fetches the job it returns.


def success_event(job_id: str, job: Mapping[str, Any]) -> dict[str, Any]:
    """The trigger event of a job that reached a target state: its id and state, not the job."""
    return {"status": "success", "job_id": job_id, "state": job_state(job)}


def error_event(job_id: str, exc: OVHCloudAIError) -> dict[str, Any]:
    """The trigger event that stands for ``exc``; :func:`result_of_event` raises it again."""
    if isinstance(exc, OVHCloudAIJobFailedError):
        return {"status": "failure", "job_id": job_id, "state": exc.state, "message": str(exc)}
    if isinstance(exc, OVHCloudAIJobTimeoutError):
        return {"status": "timeout", "job_id": job_id, "message": str(exc)}
    return {
        "status": "error",
        "job_id": job_id,
        "message": str(exc),
        "permanent": isinstance(exc, OVHCloudAIPermanentError),
    }


def result_of_event(event: Any, get_job: Callable[[str], Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The job a success event stands for; any other event raises the exception it stands for.

    ``get_job`` (the hook's) fetches the job the event names, environment values redacted; a job
    carried by the event itself (an event fired by an earlier version) is used as it is. On a
    failure event the job is fetched too, for the exception's ``job``; if that fetch fails, the
    failure is raised without it.
    """
    status = event.get("status") if isinstance(event, Mapping) else None
    job_id = event.get("job_id") if isinstance(event, Mapping) else None
    carried = event.get("job") if isinstance(event, Mapping) else None
    if status == "success":
        if isinstance(carried, Mapping):
            return redact_job(dict(carried))
        if get_job is not None and isinstance(job_id, str) and job_id:
            return redact_job(dict(get_job(job_id)))
        if isinstance(job_id, str) and job_id:
            return {"id": job_id, "status": {"state": event.get("state")}}
    told = event.get("message") if isinstance(event, Mapping) else None
    message = str(told) if told else f"Unexpected trigger event for an AI Training job: {shown(event)}."
    if status == "failure":
        job = carried
        if job is None and get_job is not None and isinstance(job_id, str) and job_id:
            try:
                job = redact_job(dict(get_job(job_id)))
            except OVHCloudAIError:
                job = None
        raise OVHCloudAIJobFailedError(message, job=job, state=event.get("state"))
    if status == "timeout":
        raise OVHCloudAIJobTimeoutError(message)
    if isinstance(event, Mapping) and event.get("permanent"):
        raise OVHCloudAIClientError(message)
    raise OVHCloudAIRequestError(message)


# --------------------------------------------------------------------------------- job logs


def check_since(since: Any) -> datetime:
    """``since`` (an ISO-8601 string, a datetime or a date) as an aware datetime, UTC when naive."""
    threshold = _parse_time(since) if isinstance(since, (str, date)) else None
    if threshold is None:
        raise OVHCloudAIInvalidInputError(
            f"since={shown(since)} is not an ISO-8601 date-time: pass a string such as '2024-05-01T10:00:00Z' "
            "or a datetime."
        )
    return threshold


def filter_log_since(text: str, since: str | datetime) -> str:
    """Keep the log lines stamped at or after ``since`` (and every line without a timestamp)."""
    threshold = check_since(since)
    kept = []
    for line in text.splitlines(keepends=True):
        match = _LOG_TIMESTAMP_RE.match(line)
        stamp = _parse_time(match.group(1)) if match else None
        if stamp is None or stamp >= threshold:
            kept.append(line)
    return "".join(kept)


def _parse_time(value: str | date) -> datetime | None:
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00").replace(" ", "T"))
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


# ------------------------------------------------------------------------------ run labels


def run_labels(ti: Any) -> dict[str, str]:
    """Deterministic labels naming the task instance that owns a job (stable across its retries)."""
    map_index = getattr(ti, "map_index", -1)
    if map_index is None:
        map_index = -1
    identity = "\x1f".join([ti.dag_id, ti.task_id, ti.run_id, str(map_index)])

    def readable(value: str) -> str:
        return _LABEL_UNSAFE.sub("-", value)[:63].strip("-_.") or "x"

    return {
        RUN_KEY_LABEL: hashlib.sha256(identity.encode()).hexdigest()[:40],
        "airflow-dag": readable(ti.dag_id),
        "airflow-task": readable(ti.task_id),
        "airflow-map-index": str(map_index).replace("-", "m"),
    }
