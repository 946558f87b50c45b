"""Deferrable waiting for a Batch API batch: the triggerer polls, no worker slot is held."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_ovhcloud.constants import ENDPOINTS_CONN_ID
from airflow_ovhcloud.exceptions import OVHCloudAIError, OVHCloudAIRequestError
from airflow_ovhcloud.utils.batch import BatchWatch, batch_error_event, batch_event
from airflow_ovhcloud.utils.validation import check_number


class OVHCloudAIBatchTrigger(BaseTrigger):
    """Poll a batch every ``check_interval`` seconds until it is terminal, then fire one small event.

    Built like :class:`~airflow_ovhcloud.triggers.ai_training.OVHCloudAITrainingJobTrigger`: each
    poll is one ``GET /v1/batches/{id}`` of the hook's async method on the connection's shared
    async client (``async with hook.async_http()``), so no thread is held and many triggers share
    one pool. ``deadline`` is wall-clock time (epoch seconds): a trigger moved to another triggerer
    keeps its time limit. A progress line from ``request_counts`` is logged at most every few seconds.

    Events (built and read back by :mod:`airflow_ovhcloud.utils.batch`): ``{"status": "terminal",
    "batch_id", "state", "counts", "output_file_id", "error_file_id", "message"}`` for any terminal
    state (the resumed task decides), ``{"status": "timeout" | "error", "message", "permanent"}``.
    ``carry`` (small JSON: what the resumed task needs to read the answers) comes back in the
    terminal event as it was given.
    """

    def __init__(
        self,
        batch_id: str,
        ovh_conn_id: str = ENDPOINTS_CONN_ID,
        check_interval: float = 30,
        timeout: float = 90000,
        deadline: float | None = None,
        cancel_on_kill: bool = True,
        carry: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.batch_id = batch_id
        self.ovh_conn_id = ovh_conn_id
        self.check_interval = check_number("check_interval", check_interval, minimum=0)
        self.timeout = check_number("timeout", timeout, minimum=0)
        self.deadline = deadline if deadline is not None else time.time() + self.timeout
        self.cancel_on_kill = cancel_on_kill
        self.carry = carry

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "batch_id": self.batch_id,
                "ovh_conn_id": self.ovh_conn_id,
                "check_interval": self.check_interval,
                "timeout": self.timeout,
                "deadline": self.deadline,
                "cancel_on_kill": self.cancel_on_kill,
                "carry": self.carry,
            },
        )

    def _hook(self) -> Any:
        # The hook module imports no ``requests`` (the sync transport is imported when first used).
        from airflow_ovhcloud.hooks.ai_endpoints import OVHCloudAIEndpointsHook

        return OVHCloudAIEndpointsHook(ovh_conn_id=self.ovh_conn_id)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = self._hook()
        watch = BatchWatch(
            self.batch_id,
            check_interval=self.check_interval,
            timeout=self.timeout,
            log=self.log,
            clock=lambda: time.time(),
            deadline=self.deadline,
        )
        event: dict[str, Any]
        try:
            async with hook.async_http():
                while True:
                    try:
                        batch = await hook.aget_batch(self.batch_id)
                    except OVHCloudAIRequestError as exc:
                        watch.failed_poll(exc)  # re-raises what a retry cannot fix, or too many in a row
                    else:
                        if watch.finished(batch):
                            event = batch_event(batch, self.carry)
                            break
                    await asyncio.sleep(watch.next_wait())  # raises once the deadline passed
        except OVHCloudAIError as exc:
            event = batch_error_event(self.batch_id, exc)
        yield TriggerEvent(event)

    async def on_kill(self) -> None:
        """Airflow 3.3+: the deferred task was marked failed/cleared by a user, so cancel the batch."""
        if not self.cancel_on_kill:
            return
        hook = self._hook()
        try:
            async with hook.async_http():
                await hook.acancel_batch(self.batch_id)
        except OVHCloudAIError as exc:  # e.g. 409: it completed meanwhile; the task is already being killed
            self.log.warning("Could not cancel batch %s after its task was killed: %s", self.batch_id, exc)
        else:
            self.log.info("Cancelled batch %s because its task was killed.", self.batch_id)
