"""Data syncs of AI Training jobs, and restarts: the rules, with no HTTP in them.

A data sync (``POST /v1/job/{id}/datasync``) copies a *running* job's volumes to Object Storage
(``push``, RW/RWD volumes) or from it (``pull``) while the job keeps running. The service answers
a DataSync object, and the job lists every sync it ran in ``status.dataSync``; there is no route
to read one sync alone, so following a sync means reading its job. The shapes below are the
ones OVHcloud's generated clients document (``ovhai`` Python SDK, the OVHcloud API schema):

- DataSync: ``{"id", "createdAt", "updatedAt", "spec": {"direction", "manual", "volume"?},
  "status": {"state", "queuedAt", "startedAt", "endedAt", "info": {"code", "message"},
  "progress": [Progress]}}``
- Progress (one per volume): ``{"id", "dataSyncId", "createdAt", "updatedAt", "direction", "state",
  "total", "processed", "completed", "skipped", "deleted", "failed", "transferredBytes", "info"
  (the container, ``container@GRA``), ...}``
- sync states: QUEUED, RUNNING, DONE, FAILED, ERROR, INTERRUPTED.

A finished job is restarted with ``PUT /v1/job/{id}/start``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from airflow_ovhcloud.exceptions import (
    OVHCloudAIDataSyncFailedError,
    OVHCloudAIInvalidInputError,
    OVHCloudAIJobTimeoutError,
)
from airflow_ovhcloud.utils.jobs import TERMINAL_STATES, JobWatch, job_info_message, job_state
from airflow_ovhcloud.utils.validation import path_segment, shown

#: ``push``: the job's RW volumes to Object Storage; ``pull``: Object Storage into the volumes.
DATA_SYNC_DIRECTIONS = ("push", "pull")
#: The states of a data sync, as the service defines them.
DATA_SYNC_SUCCESS_STATES = ("DONE",)
DATA_SYNC_FAILURE_STATES = ("FAILED", "ERROR", "INTERRUPTED")
#: The one job state in which the service takes a data sync ("on a running job").
DATA_SYNC_JOB_STATES = ("RUNNING",)
#: The job states from which ``PUT /v1/job/{id}/start`` restarts a job: the ended ones.
RESTARTABLE_STATES = TERMINAL_STATES


def check_direction(direction: Any) -> str:
    """``push`` or ``pull`` (any case), as the API spells it."""
    normalised = direction.strip().lower() if isinstance(direction, str) else None
    if normalised not in DATA_SYNC_DIRECTIONS:
        raise OVHCloudAIInvalidInputError(
            f"direction={shown(direction)} is not a data sync direction: use 'push' (the job's RW volumes to "
            "Object Storage) or 'pull' (Object Storage into the job's volumes)."
        )
    return normalised


def check_volume_id(volume: Any) -> str | None:
    """A volume id (``status.volumes[].id`` of the job), or ``None`` for every volume."""
    if volume is None:
        return None
    path_segment(volume, "volume id")
    return str(volume).strip()


def check_sync_id(sync_id: Any) -> str:
    return path_segment(sync_id, "data sync id")


def data_syncs(job: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The data syncs a job lists in ``status.dataSync`` (the ones that are objects with an id)."""
    status = job.get("status")
    listed = status.get("dataSync") if isinstance(status, Mapping) else None
    if not isinstance(listed, list):
        return []
    return [sync for sync in listed if isinstance(sync, dict) and sync.get("id")]


def data_sync_of(job: Mapping[str, Any], sync_id: str) -> dict[str, Any] | None:
    """The job's data sync ``sync_id``, or ``None`` while the job does not list it."""
    return next((sync for sync in data_syncs(job) if str(sync.get("id")) == sync_id), None)


def sync_progress(sync: Mapping[str, Any]) -> str:
    """A short account of the progress entries: ``2/3 files, 1.5 MB`` (empty when there are none)."""
    status = sync.get("status")
    entries = status.get("progress") if isinstance(status, Mapping) else None
    if not isinstance(entries, list) or not entries:
        return ""

    def total(field: str) -> int:
        values = [e.get(field) for e in entries if isinstance(e, Mapping)]
        return sum(v for v in values if type(v) is int)

    done, files, failed = total("processed"), total("total"), total("failed")
    text = f"{done}/{files} files, {total('transferredBytes') / 1e6:.1f} MB"
    return text + (f", {failed} failed" if failed else "")


def describe_sync(sync: Mapping[str, Any]) -> str:
    """``push of volume 'x'`` or ``pull of every volume``, from the sync's spec."""
    spec = sync.get("spec")
    spec = spec if isinstance(spec, Mapping) else {}
    volume = spec.get("volume")
    target = f"volume {volume!r}" if volume else "every volume"
    return f"{spec.get('direction') or 'data sync'} of {target}"


def data_sync_failed_error(job_id: str, sync: Mapping[str, Any]) -> OVHCloudAIDataSyncFailedError:
    state = job_state(sync)
    message = f"Data sync {sync.get('id')} ({describe_sync(sync)}) of AI Training job {job_id} ended {state}"
    info = job_info_message(sync)
    progress = sync_progress(sync)
    if info:
        message += f": {info}"
    if progress:
        message += f" ({progress})"
    message += (
        ". Check the job's volumes and their Object Storage containers (credentials, container names), then sync "
        "again while the job is RUNNING."
    )
    return OVHCloudAIDataSyncFailedError(message, data_sync=dict(sync), state=state)


class DataSyncWatch(JobWatch):
    """:class:`JobWatch` for one data sync of a job: the sync's own state decides, not the job's.

    The job is what gets polled (it lists its syncs); the pacing, the tolerance of failed polls
    and the deadline are :class:`JobWatch`'s. ``finished`` takes the job and keeps the sync in
    :attr:`sync`. A job that ended while the sync is still not listed fails the wait: the sync
    will never run.
    """

    def __init__(
        self,
        job_id: str,
        sync_id: str,
        *,
        check_interval: float = 10,
        timeout: float = 3600,
        log: Any = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(
            job_id,
            target_states=DATA_SYNC_SUCCESS_STATES,
            failure_states=DATA_SYNC_FAILURE_STATES,
            check_interval=check_interval,
            timeout=timeout,
            log=log,
            clock=clock,
        )
        self.sync_id = check_sync_id(sync_id)
        self.sync: dict[str, Any] | None = None

    def finished(self, job: Mapping[str, Any]) -> bool:
        self.errors = 0
        sync = data_sync_of(job, self.sync_id)
        if sync is None:
            if job_state(job) in TERMINAL_STATES:
                raise OVHCloudAIDataSyncFailedError(
                    f"AI Training job {self.job_id} ended ({job_state(job)}) without listing data sync "
                    f"{self.sync_id} in status.dataSync: the sync never ran. Start a data sync while the job is "
                    "RUNNING.",
                    data_sync=None,
                    state=None,
                )
            return False
        self.sync = sync
        state = job_state(sync)
        if state != self.last_state:
            if self.log is not None:
                progress = sync_progress(sync)
                self.log.info(
                    "Data sync %s (%s) of AI Training job %s is %s%s.",
                    self.sync_id,
                    describe_sync(sync),
                    self.job_id,
                    state,
                    f" ({progress})" if progress else "",
                )
            self.last_state = state
        if state in self.failures:
            raise data_sync_failed_error(self.job_id, sync)
        return state in self.targets

    def next_wait(self) -> float:
        try:
            return super().next_wait()
        except OVHCloudAIJobTimeoutError:
            raise OVHCloudAIJobTimeoutError(
                f"Timeout waiting for data sync {self.sync_id} of AI Training job {self.job_id} after "
                f"{self.timeout} s (last state: {self.last_state or 'not listed yet'}). The sync may still be "
                "running: wait longer (timeout) or check the job's status.dataSync."
            ) from None


def _run_marks(job: Mapping[str, Any]) -> tuple[str | None, Any, int]:
    """What tells one run of a job from the next: its state, ``status.queuedAt``, the history's length."""
    status = job.get("status")
    status = status if isinstance(status, Mapping) else {}
    history = status.get("history")
    return job_state(job), status.get("queuedAt"), len(history) if isinstance(history, list) else 0


class RestartWatch(JobWatch):
    """:class:`JobWatch` until a restarted job shows its new run (``PUT .../start`` answers before that).

    The new run shows as a state that is not an ended one, a new ``status.queuedAt`` or a longer
    ``status.history``, so a run that ended again between two polls is still seen. Until then the
    job reads as the run that ended, whose state must not be taken for the new run's result.
    """

    def __init__(self, job_id: str, ended: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(job_id, **kwargs)
        self.ended = _run_marks(ended)

    def finished(self, job: Mapping[str, Any]) -> bool:
        self.errors = 0
        state, queued_at, events = _run_marks(job)
        self.last_state = state
        return state not in TERMINAL_STATES or queued_at != self.ended[1] or events > self.ended[2]

    def next_wait(self) -> float:
        try:
            return super().next_wait()
        except OVHCloudAIJobTimeoutError:
            raise OVHCloudAIJobTimeoutError(
                f"AI Training job {self.job_id} still shows the run that ended ({self.last_state}) {self.timeout} s "
                "after it was restarted: check the job in the OVHcloud Control Panel (ovhai job get)."
            ) from None
