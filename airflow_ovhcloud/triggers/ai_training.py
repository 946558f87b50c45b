"""Deferrable waiting for an AI Training job: the triggerer polls, no worker slot is held."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_ovhcloud.constants import TRAINING_CONN_ID
from airflow_ovhcloud.exceptions import OVHCloudAIError, OVHCloudAIRequestError
from airflow_ovhcloud.utils.joblog import DEFAULT_MAX_LOG_LINES_PER_POLL, JobLogFollower, check_max_lines
from airflow_ovhcloud.utils.jobs import JobWatch, error_event, success_event
from airflow_ovhcloud.utils.validation import check_int, check_number


class OVHCloudAITrainingJobTrigger(BaseTrigger):
    """Poll an AI Training job until it succeeds, fails or the wait times out, then fire one event.

    Polls go through the async HTTP client that every trigger of the same connection shares in the
    triggerer (``httpx``, pooled; :meth:`OVHCloudBaseHook.async_http`), with the retries, error
    messages and token masking of the synchronous core: nothing here imports ``requests``, sleeps
    or blocks the event loop, and the connection is read with Airflow's async ``aget_connection``.
    ``deadline`` is wall-clock time (epoch seconds) so a trigger moved to another triggerer keeps
    its original time limit.

    With ``log_job_output`` each poll also prints the job's new log lines into the task's log
    (``[job <id>] ...``, at most ``max_log_lines_per_poll``), continuing from ``log_position`` or
    from the cursor saved in the job's ``log_cursor_label`` label, whichever is further: a trigger
    re-created from these kwargs on another triggerer does not print a line twice.

    Events (built and read back by :mod:`airflow_ovhcloud.utils.jobs`): ``{"status": "success",
    "job_id", "state"}``, ``{"status": "failure", "state", "message"}``, ``{"status": "timeout",
    "message"}`` or ``{"status": "error", "message", "permanent"}``.
    """

    def __init__(
        self,
        job_id: str,
        ovh_conn_id: str = TRAINING_CONN_ID,
        region: str | None = None,
        target_states: list[str] | None = None,
        failure_states: list[str] | None = None,
        check_interval: float = 30,
        timeout: float = 3600,
        deadline: float | None = None,
        stop_on_kill: bool = True,
        log_job_output: bool = False,
        max_log_lines_per_poll: int = DEFAULT_MAX_LOG_LINES_PER_POLL,
        log_cursor_label: str | None = None,
        log_position: int = 0,
    ) -> None:
        super().__init__()
        self.job_id = job_id
        self.ovh_conn_id = ovh_conn_id
        self.region = region
        self.target_states = target_states
        self.failure_states = failure_states
        self.check_interval = check_number("check_interval", check_interval, minimum=0)
        self.timeout = check_number("timeout", timeout, minimum=0)
        self.deadline = deadline if deadline is not None else time.time() + self.timeout
        self.stop_on_kill = stop_on_kill
        self.log_job_output = bool(log_job_output)
        self.max_log_lines_per_poll = check_max_lines(max_log_lines_per_poll)
        self.log_cursor_label = log_cursor_label
        self.log_position = check_int("log_position", log_position, minimum=0)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_id": self.job_id,
                "ovh_conn_id": self.ovh_conn_id,
                "region": self.region,
                "target_states": self.target_states,
                "failure_states": self.failure_states,
                "check_interval": self.check_interval,
                "timeout": self.timeout,
                "deadline": self.deadline,
                "stop_on_kill": self.stop_on_kill,
                "log_job_output": self.log_job_output,
                "max_log_lines_per_poll": self.max_log_lines_per_poll,
                "log_cursor_label": self.log_cursor_label,
                "log_position": self.log_position,
            },
        )

    def _hook(self) -> Any:
        # The hook module imports no ``requests`` (the sync transport is imported when first used).
        from airflow_ovhcloud.hooks.ai_training import OVHCloudAITrainingHook

        return OVHCloudAITrainingHook(ovh_conn_id=self.ovh_conn_id, region=self.region)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = self._hook()
        watch = JobWatch(
            self.job_id,
            target_states=self.target_states,
            failure_states=self.failure_states,
            check_interval=self.check_interval,
            timeout=self.timeout,
            log=self.log,
            clock=lambda: time.time(),
            deadline=self.deadline,
        )
        follower = None
        if self.log_job_output:
            follower = JobLogFollower(
                self.job_id,
                log=self.log,
                max_lines=self.max_log_lines_per_poll,
                label=self.log_cursor_label,
                position=self.log_position,
                redact=lambda text: hook.ahttp.redact(text),
            )
        event: dict[str, Any]
        try:
            async with hook.async_http():
                while True:
                    try:
                        job = await hook.aget_job(self.job_id)
                    except OVHCloudAIRequestError as exc:
                        watch.failed_poll(exc)  # re-raises what a retry cannot fix, or too many in a row
                    else:
                        if follower is not None:  # before the verdict: a failed job's last lines are shown too
                            await hook.afollow_job_log(follower, job)
                        if watch.finished(job):  # raises on a failure state
                            event = success_event(self.job_id, job)
                            break
                    await asyncio.sleep(watch.next_wait())  # raises once the deadline passed
        except OVHCloudAIError as exc:
            event = error_event(self.job_id, exc)
        yield TriggerEvent(event)

    async def on_kill(self) -> None:
        """Airflow 3.3+: the deferred task was marked failed/cleared by a user, so stop the job."""
        if not self.stop_on_kill:
            return
        hook = self._hook()
        async with hook.async_http():
            await hook.astop_job(self.job_id)
        self.log.info("Stopped AI Training job %s because its task was killed.", self.job_id)
