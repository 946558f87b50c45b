"""Deferrable waiting for an AI Training job: the triggerer polls, no worker slot is held."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_ovhcloud.constants import TRAINING_CONN_ID
from airflow_ovhcloud.exceptions import OVHCloudAIError, OVHCloudAIRequestError
from airflow_ovhcloud.utils.jobs import JobWatch, error_event, success_event
from airflow_ovhcloud.utils.validation import check_number


class OVHCloudAITrainingJobTrigger(BaseTrigger):
    """Poll an AI Training job until it succeeds, fails or the wait times out, then fire one event.

    Each poll is one call of the synchronous hook in a worker thread (``asyncio.to_thread``): the
    event loop is never blocked, and retries, error mapping and token masking stay in the one HTTP
    core. ``deadline`` is wall-clock time (epoch seconds) so a trigger moved to another triggerer
    keeps its original time limit.

    Events (built and read back by :mod:`airflow_ovhcloud.utils.jobs`): ``{"status": "success",
    "job": ...}``, ``{"status": "failure", "state", "message", "job"}``, ``{"status": "timeout",
    "message"}`` or ``{"status": "error", "message", "permanent"}``; job dicts have their
    environment values redacted.
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
            },
        )

    def _hook(self) -> Any:
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
        try:
            while True:
                try:
                    job = await asyncio.to_thread(hook.get_job, self.job_id)
                except OVHCloudAIRequestError as exc:
                    watch.failed_poll(exc)  # re-raises what a retry cannot fix, or too many in a row
                else:
                    if watch.finished(job):  # raises on a failure state
                        yield TriggerEvent(success_event(self.job_id, job))
                        return
                await asyncio.sleep(watch.next_wait())  # raises once the deadline passed
        except OVHCloudAIError as exc:
            yield TriggerEvent(error_event(self.job_id, exc))
        finally:
            await asyncio.to_thread(hook.close)

    async def on_kill(self) -> None:
        """Airflow 3.3+: the deferred task was marked failed/cleared by a user, so stop the job."""
        if not self.stop_on_kill:
            return
        hook = self._hook()
        try:
            await asyncio.to_thread(hook.stop_job, self.job_id)
            self.log.info("Stopped AI Training job %s because its task was killed.", self.job_id)
        finally:
            await asyncio.to_thread(hook.close)
