"""AI Training's job state machine: scripted lifecycles, steps driven by polls or by time, kill and restart.

No HTTP here: the backend takes a validated JobSpec or a job id and returns jobs as the API shows
them (plain dicts); :mod:`~airflow_ovhcloud.testing.emulator.training.responses` shapes requests and
replies. Jobs move along their lifecycle one step per poll (``job_progress = "polls"``: each
:meth:`TrainingBackend.poll` advances the job *before* it is shown) or one step per
``job_step_seconds`` of ``time.monotonic()`` (``job_progress = "time"``). Reading a job otherwise
never advances it. The path a job takes is scripted per job (``JobScript``, FIFO or by job name).
"""

from __future__ import annotations

import copy
import datetime
import enum
import functools
import hashlib
import math
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from airflow_ovhcloud.testing.emulator.errors import Conflict, InvalidRequest, NotFound
from airflow_ovhcloud.testing.emulator.training.jobspec import check_label, is_int, validate_job_spec

_TRAINING_USER = "emulator-user"
_DEFAULT_JOB_TIMEOUT = 604_800  # seconds: the service's default JobSpec timeout (7 days)

TERMINAL_STATES = frozenset({"DONE", "FAILED", "ERROR", "INTERRUPTED", "SYNC_FAILED"})
JOB_STATES = (
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


class Unset(enum.Enum):
    """Marks an option left out of ``set_job`` (``None`` is a meaningful value there)."""

    UNSET = 0


UNSET = Unset.UNSET


@dataclass(frozen=True)
class JobScript:
    final_state: str = "DONE"
    exit_code: int | None = None
    info_message: str | None = None
    stick_in: str | None = None
    logs: tuple[str, ...] | None = None
    name: str | None = None


#: A data sync's path: QUEUED → RUNNING → its scripted ending (one step per poll or per time step).
DATA_SYNC_ENDINGS = ("DONE", "FAILED", "ERROR", "INTERRUPTED")
DATA_SYNC_STATES = ("QUEUED", "RUNNING", *DATA_SYNC_ENDINGS)
#: Files per volume in a sync's progress, and bytes per file: made-up but steady numbers.
_SYNC_FILES_PER_VOLUME = 4
_SYNC_BYTES_PER_FILE = 250_000
_SYNC_MESSAGES = {
    "QUEUED": "Data sync is queued",
    "RUNNING": "Data sync is running",
    "DONE": "Data sync is done",
    "FAILED": "Data sync failed: some files could not be transferred",
    "ERROR": "Data sync could not be carried out",
    "INTERRUPTED": "Data sync was interrupted",
}


@dataclass(frozen=True)
class DataSyncScript:
    """How the next data sync ends (``script_data_sync``); ``info_message`` overrides the default message."""

    final_state: str = "DONE"
    info_message: str | None = None


def data_sync_script(final_state: str, info_message: str | None) -> DataSyncScript:
    """A validated data sync script; ``ValueError`` names what is wrong."""
    if final_state not in DATA_SYNC_ENDINGS:
        raise ValueError(f"final_state must be one of {', '.join(DATA_SYNC_ENDINGS)}, not {final_state!r}")
    if info_message is not None and not isinstance(info_message, str):
        raise ValueError("info_message must be a string")
    return DataSyncScript(final_state, info_message)


@dataclass
class DataSync:
    """One ``POST /v1/job/{id}/datasync`` of a job, and where it got to."""

    sync_id: str
    direction: str
    volume: str | None
    manual: bool | None
    volumes: list[tuple[str, str]]  # (volume id, "container@alias" or mount path) the sync covers
    script: DataSyncScript
    history: list[tuple[str, float]]
    anchor_mono: float
    info_message: str | None = None

    @property
    def state(self) -> str:
        return self.history[-1][0]


@dataclass
class Job:
    job_id: str
    seq: int
    spec: dict[str, Any]
    script: JobScript
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
    released: int = 0  # scripted log lines printed so far in this run (``log_lines_per_step``)
    syncs: list[DataSync] = field(default_factory=list)  # POST datasync, oldest first

    @property
    def state(self) -> str:
        return self.history[-1][0]


# How a job list may be sorted, and the key of each sort (the submission order breaks ties). Any
# other field path of the job as the API shows it (``status.duration``, ``spec.image``) sorts too.
_SORT_KEYS: dict[str, Callable[[Job], Any]] = {
    "createdAt": lambda j: (j.created, j.seq),
    "updatedAt": lambda j: (j.updated, j.seq),
    "id": lambda j: j.job_id,
    "name": lambda j: (str(j.spec.get("name") or ""), j.seq),
    "spec.name": lambda j: (str(j.spec.get("name") or ""), j.seq),
    "state": lambda j: (j.state, j.seq),
    "status.state": lambda j: (j.state, j.seq),
}
JOB_SORT_KEYS = tuple(_SORT_KEYS)
_JOB_FIELDS = ("id", "createdAt", "updatedAt", "user", "spec", "status")
_FIELD_PATH = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*")

# A job submitted without a name gets one, as on the service (``funny-ubuntu``).
_NAME_ADJECTIVES = (
    "agile", "bold", "brave", "calm", "clever", "eager", "fancy", "funny", "gentle", "happy",
    "jolly", "keen", "lucky", "mighty", "nimble", "proud", "quick", "quiet", "shiny", "witty",
)  # fmt: skip
_NAME_NOUNS = (
    "alpine", "badger", "comet", "debian", "falcon", "fedora", "gopher", "heron", "koala", "lynx",
    "otter", "panda", "pelican", "python", "quokka", "raven", "tiger", "ubuntu", "walrus", "zebra",
)  # fmt: skip


def is_sort_path(path: str) -> bool:
    """A sort the listing accepts: a known key, or a field path under a job field (``status.state``)."""
    return path in _SORT_KEYS or (bool(_FIELD_PATH.fullmatch(path)) and path.split(".", 1)[0] in _JOB_FIELDS)


def _path_value(document: Any, path: str) -> Any:
    for part in path.split("."):
        document = document.get(part) if isinstance(document, dict) else None
    return document


def _sortable(value: Any) -> tuple[int, Any]:
    """Numbers, then strings, then anything else, then missing values (in ascending order)."""
    if isinstance(value, bool):
        return (2, str(value))
    if isinstance(value, (int, float)):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (3, "") if value is None else (2, repr(value))


def generated_name(job_id: str) -> str:
    """A readable name from the job id, ``adjective-noun`` like the service's (``funny-ubuntu``)."""
    digest = hashlib.sha256(job_id.encode("utf-8")).digest()
    return f"{_NAME_ADJECTIVES[digest[0] % len(_NAME_ADJECTIVES)]}-{_NAME_NOUNS[digest[1] % len(_NAME_NOUNS)]}"


@dataclass(frozen=True)
class JobQuery:
    """The filters, order and page of a job listing (all already validated)."""

    states: frozenset[str]
    labels: tuple[tuple[str, str], ...]
    updated_after: float | None
    updated_before: float | None
    sort: str
    descending: bool
    page: int
    size: int


@functools.lru_cache(maxsize=1 << 16)
def iso(timestamp: float) -> str:
    """ISO-8601 UTC with milliseconds and a ``Z``: ``2025-01-31T12:00:00.123Z``.

    Cached: every poll renders a job's whole history again, and formatting dates was a tenth of
    the emulator's time per poll in tests/benchmarks/bench_triggers.py.
    """
    moment = datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def job_script(
    final_state: str,
    exit_code: int | None,
    info_message: str | None,
    stick_in: str | None,
    logs: list[str] | tuple[str, ...] | None,
    name: str | None,
) -> JobScript:
    """A validated script (``script_job``'s options); ``ValueError`` names what is wrong."""
    if final_state not in _JOB_PLANS:
        raise ValueError(f"final_state must be one of {', '.join(_JOB_PLANS)}, not {final_state!r}")
    plan = _JOB_PLANS[final_state]
    if stick_in is not None and (stick_in not in plan or stick_in in TERMINAL_STATES):
        on_path = ", ".join(s for s in plan if s not in TERMINAL_STATES)
        raise ValueError(
            f"stick_in must be a non-terminal state on the {final_state} path ({on_path}), not {stick_in!r}"
        )
    if exit_code is not None and not is_int(exit_code):
        raise ValueError("exit_code must be an integer")
    if logs is not None and (isinstance(logs, str) or not all(isinstance(line, str) for line in logs)):
        raise ValueError("logs must be a list of strings")
    return JobScript(final_state, exit_code, info_message, stick_in, None if logs is None else tuple(logs), name)


class TrainingBackend:
    """The jobs, the queued scripts and the knobs ``training_region``, ``job_progress`` and
    ``job_step_seconds`` (plain attributes that may change at any time; ``reset()`` restores them)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._jobs: dict[str, Job] = {}
        self._scripts: list[JobScript] = []
        self._sync_scripts: list[DataSyncScript] = []
        self._submitted = 0
        self.reset()

    def reset(self) -> None:
        with self._lock:
            #: The region in job URLs and in the training connection's login.
            self.training_region: str = "gra"
            #: ``"polls"``: one step per poll; ``"time"``: one step per ``job_step_seconds``.
            self.job_progress: str = "polls"
            self.job_step_seconds: float = 1.0
            #: ``None``: a job's scripted log lines are all there at once; a number: while RUNNING, each
            #: step (poll or ``job_step_seconds``) prints that many more, and the job stays RUNNING
            #: until it printed them all.
            self.log_lines_per_step: int | None = None
            self._jobs = {}
            self._scripts = []
            self._sync_scripts = []
            self._submitted = 0

    # ---------------------------------------------------------------------------------- scripting

    def add_script(self, script: JobScript) -> None:
        with self._lock:
            self._scripts.append(script)

    def set_job(
        self,
        job_id: str,
        final_state: str | Unset,
        exit_code: int | Unset | None,
        info_message: str | Unset | None,
        stick_in: str | Unset | None,
        logs: list[str] | Unset | None,
    ) -> None:
        with self._lock:
            job = self._job_or_key_error(job_id)
            old = job.script
            script = job_script(
                old.final_state if isinstance(final_state, Unset) else final_state,
                old.exit_code if isinstance(exit_code, Unset) else exit_code,
                old.info_message if isinstance(info_message, Unset) else info_message,
                job.stick_in if isinstance(stick_in, Unset) else stick_in,
                old.logs if isinstance(logs, Unset) else logs,
                old.name,
            )
            job.script = script
            if not isinstance(stick_in, Unset) or not isinstance(final_state, Unset):
                job.stick_in = script.stick_in
            if not job.killed and job.state not in TERMINAL_STATES:
                job.plan = _JOB_PLANS[script.final_state]

    def finish_job(self, job_id: str, state: str, exit_code: int | None, info_message: str | None) -> None:
        if state not in TERMINAL_STATES:
            raise ValueError(f"state must be one of {', '.join(sorted(TERMINAL_STATES))}, not {state!r}")
        if exit_code is not None and not is_int(exit_code):
            raise ValueError("exit_code must be an integer")
        with self._lock:
            job = self._job_or_key_error(job_id)
            self._sync(job)
            if job.state in TERMINAL_STATES:
                raise ValueError(f"job {job_id} already ended in {job.state}")
            job.forced_end = (exit_code, info_message)
            job.stick_in = None
            self._enter(job, state, time.time(), time.monotonic())

    def advance_job(self, job_id: str, steps: int) -> None:
        if not is_int(steps) or steps < 0:
            raise ValueError("steps must be a non-negative integer")
        with self._lock:
            job = self._job_or_key_error(job_id)
            self._sync(job)
            for _ in range(steps):
                if not self._step(job, time.time(), time.monotonic(), respect_stick=False):
                    break

    def jobs(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            for job in self._jobs.values():
                self._sync(job)
            return {job_id: self._render(job) for job_id, job in self._jobs.items()}

    def job(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            job = self._job_or_key_error(job_id)
            self._sync(job)
            return self._render(job)

    @property
    def submitted(self) -> int:
        with self._lock:
            return self._submitted

    # ---------------------------------------------------------------------------------- the service

    def submit(self, spec: Any) -> dict[str, Any]:
        """Validate a JobSpec and queue the job; it takes the first script naming it, else the first unnamed."""
        spec = copy.deepcopy(validate_job_spec(spec))
        wall, mono = time.time(), time.monotonic()
        job_id = str(uuid.uuid4())
        with self._lock:
            self._submitted += 1
            script = self._take_script(spec.get("name"))
            if spec.get("name") is None:
                spec["name"] = generated_name(job_id)
            job = Job(
                job_id=job_id,
                seq=self._submitted,
                spec=spec,
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
            return self._render(job)

    def poll(self, job_id: str) -> dict[str, Any]:
        """The job, one step further first in ``"polls"`` mode."""
        with self._lock:
            job = self._found(job_id)
            if self._progress_mode() == "polls":
                self._step(job, time.time(), time.monotonic())
                for sync in job.syncs:
                    self._step_sync(job, sync, time.time(), time.monotonic())
            return self._render(job)

    def list_jobs(self, query: JobQuery) -> tuple[list[dict[str, Any]], int]:
        """One page of the jobs that pass the filters, and how many passed."""
        with self._lock:
            chosen = []
            for job in self._jobs.values():
                self._sync(job)
                labels = job.spec.get("labels") or {}
                if query.states and job.state not in query.states:
                    continue
                if any(labels.get(key) != wanted for key, wanted in query.labels):
                    continue
                # Dates go out with millisecond precision; compare at that precision too.
                updated = math.floor(job.updated * 1000) / 1000
                after, before = query.updated_after, query.updated_before
                if (after is not None and updated <= after) or (before is not None and updated >= before):
                    continue
                chosen.append(job)
            known = _SORT_KEYS.get(query.sort)
            if known is not None:
                chosen.sort(key=known, reverse=query.descending)
            else:
                keyed = [((_sortable(_path_value(self._render(j), query.sort)), j.seq), j) for j in chosen]
                keyed.sort(key=lambda pair: pair[0], reverse=query.descending)
                chosen = [j for _, j in keyed]
            page = chosen[(query.page - 1) * query.size : query.page * query.size]
            return [self._render(j) for j in page], len(chosen)

    def kill(self, job_id: str) -> None:
        """Stop a job (on to INTERRUPTED); a job already stopping only loses its ``stick_in`` hold."""
        with self._lock:
            job = self._found(job_id)
            already_stopping = job.plan[-1] == "INTERRUPTED" and job.state in ("INTERRUPTING", "FINALIZING")
            if job.state not in TERMINAL_STATES and not (job.killed or already_stopping):
                job.killed = True
                job.stick_in = None
                job.plan = _KILL_PLAN
                self._enter(job, "INTERRUPTING", time.time(), time.monotonic())
            elif job.state not in TERMINAL_STATES:
                job.stick_in = None  # already on its way to INTERRUPTED: only release a stick_in hold

    def delete(self, job_id: str, force: bool) -> None:
        with self._lock:
            job = self._found(job_id)
            if job.state not in TERMINAL_STATES and not force:
                raise InvalidRequest(
                    f"Job {job.job_id} is {job.state}: stop it first or pass force=true", "job_not_stopped"
                )
            del self._jobs[job.job_id]

    def restart(self, job_id: str) -> None:
        """Run an ended job again, along its script, from QUEUED."""
        with self._lock:
            job = self._found(job_id)
            if job.state not in TERMINAL_STATES:
                raise Conflict(
                    f"Job {job.job_id} is {job.state}: only an ended job can be restarted", "job_not_stopped"
                )
            job.killed = False
            job.forced_end = None
            job.exit_code = job.info_message = None
            job.plan = _JOB_PLANS[job.script.final_state]
            job.stick_in = job.script.stick_in
            job.run_start = len(job.history)
            job.released = 0
            self._enter(job, "QUEUED", time.time(), time.monotonic())

    def add_sync_script(self, script: DataSyncScript) -> None:
        with self._lock:
            self._sync_scripts.append(script)

    def data_sync(self, job_id: str, body: Any) -> dict[str, Any]:
        """Start a data sync of a RUNNING job (409 otherwise); ``body`` is ``{"direction", "volume"?, "manual"?}``.

        ``push`` covers the job's RW/RWD volumes, ``pull`` every volume; ``volume`` (a volume ``id``
        or ``userVolumeId`` from ``status.volumes``) narrows it to one, and pushing a read-only
        volume is refused (an emulator choice: the service's answer there is not documented).
        """
        if not isinstance(body, dict):
            raise InvalidRequest(
                'The request body must be {"direction": "push" | "pull", "volume"?: str, "manual"?: bool}',
                "invalid_data_sync",
            )
        # ovhai's DataSyncSpec also has jobId and appId (null here: the path names the job).
        unknown = sorted(set(body) - {"direction", "volume", "manual", "jobId", "appId"})
        if unknown:
            raise InvalidRequest(f"Unknown data sync field {unknown[0]!r}", "invalid_data_sync")
        direction = body.get("direction")
        if direction not in ("push", "pull"):
            raise InvalidRequest(f"direction must be push or pull, not {direction!r}", "invalid_data_sync")
        volume = body.get("volume")
        if volume is not None and (not isinstance(volume, str) or not volume):
            raise InvalidRequest("volume must be a volume id (a non-empty string)", "invalid_data_sync")
        manual = body.get("manual")
        if manual is not None and not isinstance(manual, bool):
            raise InvalidRequest("manual must be true or false", "invalid_data_sync")
        with self._lock:
            job = self._found(job_id)
            if job.state != "RUNNING":
                raise Conflict(
                    f"Job {job.job_id} is {job.state}: a data sync can only be started on a RUNNING job",
                    "job_not_running",
                )
            run = job.history[job.run_start :]
            covered = []
            for index, status in enumerate(self._volume_statuses(job, run)):
                spec = job.spec["volumes"][index]
                writable = isinstance(spec, dict) and spec.get("permission") in ("RW", "RWD")
                if volume is not None and volume not in (status["id"], status["userVolumeId"]):
                    continue
                if volume is not None and direction == "push" and not writable:
                    raise InvalidRequest(
                        f"Volume {volume} ({status['mountPath']}) is read-only: only RW or RWD volumes can be pushed",
                        "invalid_data_sync",
                    )
                if direction == "pull" or writable:
                    store = spec.get("dataStore") if isinstance(spec, dict) else None
                    where = (
                        f"{store.get('container')}@{store.get('alias')}"
                        if isinstance(store, dict)
                        else str(status["mountPath"])
                    )
                    covered.append((status["id"], where))
            if volume is not None and not covered:
                known = ", ".join(s["id"] for s in self._volume_statuses(job, run)) or "none"
                raise InvalidRequest(
                    f"Job {job.job_id} has no volume {volume} (its volumes: {known})", "invalid_data_sync"
                )
            script = self._sync_scripts.pop(0) if self._sync_scripts else DataSyncScript()
            sync = DataSync(
                sync_id=str(uuid.uuid4()),
                direction=direction,
                volume=volume,
                manual=manual,
                volumes=covered,
                script=script,
                history=[("QUEUED", time.time())],
                anchor_mono=time.monotonic(),
            )
            job.syncs.append(sync)
            return self._render_sync(sync)

    def data_syncs(self, job_id: str) -> list[dict[str, Any]]:
        """The job's data syncs as the API shows them; ``KeyError`` for an unknown job. Never advances."""
        with self._lock:
            job = self._job_or_key_error(job_id)
            self._sync(job)
            return [self._render_sync(sync) for sync in job.syncs]

    def label(self, job_id: str, name: Any, value: Any) -> None:
        """Set a label; ``value=None`` (a body without ``value``) deletes it, as on the service."""
        check_label(name, "" if value is None else value, "label")
        with self._lock:
            job = self._found(job_id)
            labels = job.spec.get("labels")
            if not isinstance(labels, dict):
                labels = job.spec["labels"] = {}
            if value is None:
                labels.pop(name, None)
            else:
                labels[name] = value
            job.updated = max(job.updated, time.time())

    def log_lines(self, job_id: str) -> list[str]:
        """The scripted log lines (stamped from the run's start), else one line per state change."""
        with self._lock:
            job = self._found(job_id)
            if job.script.logs is not None:
                base = next((t for s, t in job.history[job.run_start :] if s == "RUNNING"), job.created)
                logs = job.script.logs if self.log_lines_per_step is None else job.script.logs[: job.released]
                return [f"{iso(base + i / 1000)} {line}" for i, line in enumerate(logs)]
            lines = []
            last = len(job.history) - 1
            for index, (state, when) in enumerate(job.history):
                text = f"Job {job.job_id} entered {state}"
                if index == last and state in TERMINAL_STATES:
                    text += f" (exit code {job.exit_code}): {job.info_message}"
                lines.append(f"{iso(when)} {text}")
            return lines

    # ---------------------------------------------------------------------------------- the engine

    def _job_or_key_error(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise KeyError(job_id)
        return job

    def _found(self, job_id: str) -> Job:
        """The job, brought up to date; ``NotFound`` for an API caller."""
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"Job {job_id} not found", "job_not_found")
        self._sync(job)
        return job

    def _progress_mode(self) -> str:
        mode = self.job_progress
        if mode not in ("polls", "time"):
            raise ValueError(f"job_progress must be 'polls' or 'time', not {mode!r}")
        return mode

    def _enter(self, job: Job, state: str, wall: float, mono: float) -> None:
        """Record a transition; a terminal state also fixes the exit code and the info message."""
        job.history.append((state, wall))
        job.updated = wall
        job.anchor_mono, job.anchor_wall = mono, wall
        if state != "RUNNING":
            for sync in job.syncs:
                if sync.state not in DATA_SYNC_ENDINGS:
                    sync.info_message = f"The job left RUNNING ({state}) before the data sync ended"
                    sync.history.append(("INTERRUPTED", wall))
        if state not in TERMINAL_STATES:
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

    def _step(self, job: Job, wall: float, mono: float, *, respect_stick: bool = True) -> bool:
        """One step along the job's plan; False when it cannot move (terminal, or held by ``stick_in``)."""
        state = job.state
        per_step = self.log_lines_per_step
        logs = job.script.logs
        if state == "RUNNING" and per_step and logs is not None and job.released < len(logs):
            job.released = min(len(logs), job.released + max(1, int(per_step)))  # the job prints, then goes on
            job.anchor_mono, job.anchor_wall = mono, wall
            return True
        if state in TERMINAL_STATES or (respect_stick and job.stick_in == state):
            return False
        plan = job.plan
        following = plan[plan.index(state) + 1] if state in plan else plan[-1]
        self._enter(job, following, wall, mono)
        return True

    def _sync(self, job: Job) -> None:
        """In time mode, apply the steps due since the last transition (one per ``job_step_seconds``)."""
        if self._progress_mode() != "time":
            return
        now = time.monotonic()
        step = float(self.job_step_seconds)
        for _ in range(len(JOB_STATES) * 2):  # a plan never has more steps than this
            due = job.anchor_mono + step if step > 0 else now
            if due > now or not self._step(job, job.anchor_wall + (due - job.anchor_mono), due):
                break
        for sync in job.syncs:
            for _ in range(len(DATA_SYNC_STATES)):
                due = sync.anchor_mono + step if step > 0 else now
                if due > now or not self._step_sync(job, sync, time.time() - (now - due), due):
                    break

    @staticmethod
    def _step_sync(job: Job, sync: DataSync, wall: float, mono: float) -> bool:
        """One step of a data sync (QUEUED → RUNNING → its ending); False when it has ended."""
        if sync.state in DATA_SYNC_ENDINGS:
            return False
        following = "RUNNING" if sync.state == "QUEUED" else sync.script.final_state
        if following != "RUNNING":
            sync.info_message = sync.script.info_message
        sync.history.append((following, wall))
        sync.anchor_mono = mono
        job.updated = max(job.updated, wall)
        return True

    @staticmethod
    def _render_sync(sync: DataSync) -> dict[str, Any]:
        """A DataSync as the API shows it, progress per volume included."""
        state = sync.state
        created = sync.history[0][1]
        started = next((t for s, t in sync.history if s == "RUNNING"), None)
        ended = sync.history[-1][1] if state in DATA_SYNC_ENDINGS else None
        ran = started is not None
        total = _SYNC_FILES_PER_VOLUME
        progress = []
        for volume_id, where in sync.volumes:
            if state == "DONE":
                completed, failed = total, 0
            elif state == "FAILED":
                completed, failed = total // 2, total - total // 2
            elif ran:
                completed, failed = total // 2, 0
            else:
                completed, failed = 0, 0
            progress.append(
                {
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sync/{sync.sync_id}/{volume_id}")),
                    "dataSyncId": sync.sync_id,
                    "createdAt": iso(created),
                    "updatedAt": iso(sync.history[-1][1]),
                    "direction": sync.direction,
                    "state": state,
                    "total": total,
                    "processed": completed + failed,
                    "completed": completed,
                    "skipped": 0,
                    "deleted": 0,
                    "failed": failed,
                    "transferredBytes": completed * _SYNC_BYTES_PER_FILE,
                    "info": where,  # what the volume syncs with: "container@alias", as ovhai's example shows
                }
            )
        spec: dict[str, Any] = {"direction": sync.direction, "manual": bool(sync.manual)}
        if sync.volume is not None:
            spec["volume"] = sync.volume
        message = sync.info_message if sync.info_message is not None else _SYNC_MESSAGES[state]
        return {
            "id": sync.sync_id,
            "createdAt": iso(created),
            "updatedAt": iso(sync.history[-1][1]),
            "spec": spec,
            "status": {
                "state": state,
                "queuedAt": iso(created),
                "startedAt": None if started is None else iso(started),
                "endedAt": None if ended is None else iso(ended),
                "info": {"code": f"DATASYNC_{state}", "message": message},
                "progress": progress,
            },
        }

    def _take_script(self, name: Any) -> JobScript:
        scripts = self._scripts
        for index, script in enumerate(scripts):
            if script.name is not None and script.name == name:
                return scripts.pop(index)
        for index, script in enumerate(scripts):
            if script.name is None:
                return scripts.pop(index)
        return JobScript()

    @staticmethod
    def _volume_statuses(job: Job, run: list[tuple[str, float]]) -> list[dict[str, Any]]:
        """One entry per spec volume: pulled when the run initialized, pushed (RW) when it finalized."""
        pulled = next((t for s, t in run if s == "INITIALIZING"), None)
        pushed = next((t for s, t in run if s == "FINALIZING"), None)
        statuses = []
        for index, volume in enumerate(job.spec.get("volumes") or []):
            writable = isinstance(volume, dict) and volume.get("permission") in ("RW", "RWD")
            statuses.append(
                {
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"job/{job.job_id}/volume/{index}")),
                    "userVolumeId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"job/{job.job_id}/user-volume/{index}")),
                    "mountPath": volume.get("mountPath") if isinstance(volume, dict) else None,
                    "lastPulledCreatedAt": None if pulled is None else iso(pulled),
                    "lastPushedCreatedAt": None if pushed is None or not writable else iso(pushed),
                }
            )
        return statuses

    def _render(self, job: Job) -> dict[str, Any]:
        """The job as the API shows it (a deep copy of its spec)."""
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
        finalized = run[-1][1] if job.state in TERMINAL_STATES else None
        now = finalized if finalized is not None else max(time.time(), job.updated)
        duration = 0 if started is None else max(0, int((stopped if stopped is not None else now) - started))
        timeout: int = job.spec["timeout"] if is_int(job.spec.get("timeout")) else _DEFAULT_JOB_TIMEOUT
        terminal = job.state in TERMINAL_STATES
        message = job.info_message if terminal and job.info_message is not None else _STATE_MESSAGES[job.state]

        def date(value: float | None) -> str | None:
            return None if value is None else iso(value)

        status: dict[str, Any] = {
            "state": job.state,
            "history": [{"state": s, "date": iso(t)} for s, t in job.history],
            "info": {"code": f"JOB_{job.state}", "message": message},
            "url": f"https://{job.job_id}.job.{region}.ai.cloud.ovh.net",
            "sshUrl": f"ssh://{job.job_id}@{region}.training.ai.cloud.ovh.net",
            "monitoringUrl": f"https://monitoring.{region}.ai.cloud.ovh.net/d/job?var-job={job.job_id}",
            "infoUrl": f"https://ui.{region}.ai.cloud.ovh.net/job/{job.job_id}",
            "ip": None,
            "externalIp": None,
            "queuedAt": iso(queued),
            "initializingAt": date(first("INITIALIZING")),
            "startedAt": date(started),
            "stoppedAt": date(stopped),
            "finalizedAt": date(finalized),
            "timeoutAt": date(None if started is None else started + timeout),
            "lastTransitionDate": iso(job.history[-1][1]),
            "duration": duration,
            "volumes": self._volume_statuses(job, run),
            "dataSync": [self._render_sync(sync) for sync in job.syncs],
        }
        if terminal:
            status["exitCode"] = job.exit_code
        return {
            "id": job.job_id,
            "createdAt": iso(job.created),
            "updatedAt": iso(job.updated),
            "user": _TRAINING_USER,
            "spec": copy.deepcopy(job.spec),
            "status": status,
        }
