"""OVHcloud AI Training: submit, inspect, wait for, stop, restart and delete jobs; sync their data; read their logs.

The hook is the REST calls plus ``wait_for_job``. What is not HTTP lives in modules that import
no ``requests``: the job spec in :mod:`airflow_ovhcloud.utils.job_spec`, job states and waiting
in :mod:`airflow_ovhcloud.utils.jobs`, redaction in :mod:`airflow_ovhcloud.utils.redaction`. The
names below are re-exported from there for code written against 0.1.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from airflow_ovhcloud._http_rules import base_url_from_connection
from airflow_ovhcloud.constants import TRAINING_CONN_ID, TRAINING_CONN_TYPE
from airflow_ovhcloud.exceptions import (
    OVHCloudAIClientError,
    OVHCloudAIConfigurationError,
    OVHCloudAIError,
    OVHCloudAIInvalidInputError,
    OVHCloudAIJobFailedError,
    OVHCloudAIJobTimeoutError,
    OVHCloudAIRequestError,
)
from airflow_ovhcloud.get_provider_info import ui_field_behaviour
from airflow_ovhcloud.hooks.base import OVHCloudBaseHook, mask
from airflow_ovhcloud.utils import job_spec
from airflow_ovhcloud.utils.datasync import (
    DATA_SYNC_JOB_STATES,
    RESTARTABLE_STATES,
    DataSyncWatch,
    RestartWatch,
    check_direction,
    check_sync_id,
    check_volume_id,
    data_sync_of,
    data_syncs,
    describe_sync,
)
from airflow_ovhcloud.utils.job_spec import (
    VOLUME_PERMISSIONS,
    JobSpec,
    build_job_spec,
    check_labels,
    spec_fields,
)
from airflow_ovhcloud.utils.joblog import (
    DEFAULT_MAX_LOG_LINES_PER_POLL,
    JobLogFollower,
    LogRequest,
    PollResult,
    drive_sync,
)
from airflow_ovhcloud.utils.jobs import (
    FAILURE_STATES,
    MAX_CONSECUTIVE_POLL_ERRORS,
    SUCCESS_STATES,
    TERMINAL_STATES,
    JobWatch,
    check_job_id,
    check_since,
    filter_log_since,
    job_failed_error,
    job_info_message,
    job_state,
    job_verdict,
)
from airflow_ovhcloud.utils.redaction import redact_job
from airflow_ovhcloud.utils.validation import check_bool, check_int, check_str_list

__all__ = [
    "FAILURE_STATES",
    "MAX_CONSECUTIVE_POLL_ERRORS",
    "SUCCESS_STATES",
    "TERMINAL_STATES",
    "VOLUME_PERMISSIONS",
    "JobSpec",
    "JobWatch",
    "OVHCloudAIJobFailedError",
    "OVHCloudAIJobTimeoutError",
    "OVHCloudAITrainingHook",
    "build_job_spec",
    "filter_log_since",
    "job_failed_error",
    "job_info_message",
    "job_state",
    "job_verdict",
    "redact_job",
]


class OVHCloudAITrainingHook(OVHCloudBaseHook):
    """Hook to interact with the OVHcloud AI Training API.

    The token comes from the connection's password. The region comes from the ``region``
    argument, else the connection's login, else its extra ``region``, else ``gra``; the
    connection's host, when set, replaces the region's base URL (a proxy, or the local emulator).

    :param ovh_conn_id: Airflow connection ID.
    :param region: ``gra`` or ``bhs`` (case-insensitive).
    :param timeout: request timeout in seconds; the connection extra ``timeout`` overrides it.
    :param max_retries: client-side retries (see :class:`OVHCloudAIEndpointsHook`).
    """

    REGIONS = {
        "gra": "https://gra.ai.cloud.ovh.net",
        "bhs": "https://bhs.ai.cloud.ovh.net",
    }
    DEFAULT_REGION = "gra"

    conn_name_attr = "ovh_conn_id"
    default_conn_name = TRAINING_CONN_ID
    conn_type = TRAINING_CONN_TYPE
    hook_name = "OVHcloud AI Training"
    service_name: ClassVar[str] = "AI Training"
    token_name: ClassVar[str] = "AI Training token"
    #: Submitting is not idempotent: a lost answer must not lead to a second job (reattach handles it).
    unsafe_posts: ClassVar[frozenset[str]] = frozenset({"v1/job"})

    def __init__(
        self,
        ovh_conn_id: str = default_conn_name,
        region: str | None = None,
        timeout: int = 120,
        max_retries: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(ovh_conn_id=ovh_conn_id, timeout=timeout, max_retries=max_retries, **kwargs)
        self._region_arg = self._check_region(region) if region else None

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Form layout for Airflow versions that read it from the hook (3.1); 3.2+ read provider info."""
        return ui_field_behaviour(cls.conn_type)

    @classmethod
    def _check_region(cls, region: Any) -> str:
        normalised = str(region).strip().lower()
        if normalised not in cls.REGIONS:
            raise OVHCloudAIConfigurationError(f"Invalid region '{region}'. Valid regions are: {list(cls.REGIONS)}")
        return normalised

    @property
    def region(self) -> str:
        """The region in use: the hook argument, the connection login, extra ``region``, else ``gra``."""
        if self._region_arg:
            return self._region_arg
        candidate = self.connection.login or self.extra_value("region") or self.DEFAULT_REGION
        return self._check_region(candidate)

    def get_token(self) -> str:
        """The AI Training token: every AI Training call needs it (no anonymous access)."""
        return self._token_from(self.connection.password, missing_message=self.missing_token_message())

    def missing_token_message(self) -> str:
        return (
            f"OVHcloud AI Training token not found in connection '{self.ovh_conn_id}'. Put an AI Training "
            "application token in the connection's 'AI Training token' field ('Password' in a generic "
            "connection); create one with `ovhai token create` or in the OVHcloud Control Panel."
        )

    def get_base_url(self) -> str:
        conn = self.connection
        return base_url_from_connection(
            conn.host,
            conn.port,
            conn.schema,
            default=self.REGIONS[self.region],
            strip_path="/v1",
            conn_id=self.ovh_conn_id,
        )

    def _job_hint(self, job_id: str) -> str:
        return (
            f"Job '{job_id}' was not found in region '{self.region}': check the job id and the region of "
            f"connection '{self.ovh_conn_id}' (jobs are listed with OVHCloudAITrainingHook().list_jobs())."
        )

    # ------------------------------------------------------------ static helpers

    build_volume = staticmethod(job_spec.build_volume)
    build_env_vars = staticmethod(job_spec.build_env_vars)

    # --------------------------------------------------------------------- jobs

    def submit_job(
        self,
        image: str | JobSpec,
        default_http_port: int | None = None,
        name: str | None = None,
        command: list[str] | None = None,
        env_vars: list[dict[str, str]] | Mapping[str, str] | None = None,
        gpu: int = 0,
        gpu_model: str | None = None,
        cpu: int | None = None,
        flavor: str | None = None,
        volumes: list[dict[str, Any]] | None = None,
        labels: dict[str, str] | None = None,
        ssh_public_keys: list[str] | None = None,
        timeout: int | None = None,
        timeout_auto_restart: bool | None = None,
        unsecure_http: bool = False,
        read_user: str | None = None,
        shutdown: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Submit a job and return it as the service answers (state ``QUEUED``).

        Resources: only what you ask for is sent. ``gpu=0`` (the default) sends no GPU count, so a
        GPU ``flavor`` alone is never contradicted by ``"gpu": 0``; with no ``gpu``, ``cpu`` or
        ``flavor`` at all, no ``resources`` are sent and OVHcloud's default resources apply.
        Extra keyword arguments are added to the JobSpec as given (use the API's camelCase names).
        A ready :class:`~airflow_ovhcloud.utils.job_spec.JobSpec` may be passed instead of ``image``
        (alone: its fields are the job's).
        """
        if isinstance(image, JobSpec):
            given = {**locals(), **kwargs}
            clashing = sorted(
                [*kwargs, *(f.name for f in spec_fields() if f.name != "image" and given[f.name] != f.default)]
            )
            if clashing:
                raise OVHCloudAIInvalidInputError(
                    f"submit_job() got a JobSpec and also {clashing}: put every field in the JobSpec."
                )
            job_spec_obj = image
        else:
            job_spec_obj = JobSpec(
                image=image,
                default_http_port=default_http_port,
                name=name,
                command=command,
                env_vars=env_vars,
                gpu=gpu,
                gpu_model=gpu_model,
                cpu=cpu,
                flavor=flavor,
                volumes=volumes,
                labels=labels,
                ssh_public_keys=ssh_public_keys,
                timeout=timeout,
                timeout_auto_restart=timeout_auto_restart,
                unsecure_http=unsecure_http,
                read_user=read_user,
                shutdown=shutdown,
                extra=kwargs,
            )
        spec = job_spec_obj.to_api()
        secrets = job_spec_obj.env_values()
        for value in secrets:
            mask(value)
        job = self._job_response(self.http.request_json("POST", "v1/job", json_body=spec, secrets=secrets), "submit")
        self.log.info(
            "Submitted AI Training job %s (%s) in region %s: %s",
            job.get("id"),
            spec.get("name") or spec["image"],
            self.region,
            job_state(job) or "state unknown",
        )
        return job

    def get_job(self, job_id: str) -> dict[str, Any]:
        """Return the job as the service describes it now."""
        job_id = check_job_id(job_id)
        return self._job_response(
            self.http.request_json("GET", f"v1/job/{job_id}", not_found_hint=self._job_hint(job_id)), "get"
        )

    def get_job_status(self, job_id: str) -> str:
        """Return the job's ``status.state`` (e.g. ``RUNNING``)."""
        state = job_state(self.get_job(job_id))
        if not state:
            raise self._unexpected("job", "no status.state in the answer")
        return state

    def list_jobs(
        self,
        page: int = 1,
        size: int = 100,
        state: str | Sequence[str] | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """List jobs, filtered by state(s) and labels; always ``{"items": [...], "metadata": {...}}``.

        ``metadata`` is the service's ``{"currentPage", "pageCount", "total", "links"}``. A bare list
        answer gets the same shape, inferred from the page: exactly ``size`` jobs announce one more
        page (which may be empty), so a loop until ``currentPage >= pageCount`` sees every job.
        """
        params: list[tuple[str, Any]] = [
            ("page", check_int("page", page, minimum=1)),
            ("size", check_int("size", size, minimum=1)),
        ]
        states = check_str_list("state", state, allow_str=True, allow_set=True, allow_none=True, non_empty_items=True)
        params += [("statusState", s.strip().upper()) for s in states or ()]
        if labels is not None and check_labels(labels):
            params.append(("labelSelector", ",".join(f"{key}={value}" for key, value in labels.items())))
        answer = self.http.request_json("GET", "v1/job", params=params)
        if isinstance(answer, list):
            metadata = {
                "currentPage": page,
                "pageCount": page + 1 if len(answer) == size else page,
                "total": (page - 1) * size + len(answer),
                "links": {},
            }
            answer = {"items": answer, "metadata": metadata}
        if not isinstance(answer, dict) or not isinstance(answer.get("items"), list):
            raise self._unexpected("job list", answer)
        for position, item in enumerate(answer["items"]):
            if not isinstance(item, dict) or not item.get("id"):
                problem = f"items[{position}] is not a job object with an 'id'"
                raise self._unexpected("job list", {"problem": problem, "item": item})
        return answer

    def stop_job(self, job_id: str) -> dict[str, Any]:
        """Ask the service to stop (kill) a job; it then goes INTERRUPTING → INTERRUPTED."""
        job_id = check_job_id(job_id)
        self.http.request("PUT", f"v1/job/{job_id}/kill", not_found_hint=self._job_hint(job_id)).close()
        self.log.info("Asked AI Training to stop job %s.", job_id)
        return {"id": job_id, "stopped": True}

    def delete_job(self, job_id: str) -> dict[str, Any]:
        """Delete a job (the service refuses a running one: stop it first)."""
        job_id = check_job_id(job_id)
        self.http.request("DELETE", f"v1/job/{job_id}", not_found_hint=self._job_hint(job_id)).close()
        self.log.info("Deleted AI Training job %s.", job_id)
        return {"id": job_id, "deleted": True}

    # ------------------------------------------------------------- data sync and restart

    def sync_job_data(
        self,
        job_id: str,
        direction: str = "push",
        volume: str | None = None,
        manual: bool | None = True,
    ) -> dict[str, Any]:
        """Start a data sync of a RUNNING job; return the service's DataSync object (``QUEUED`` at first).

        ``push`` copies the job's RW volumes to Object Storage while the job keeps running (a
        checkpoint others can read before the job ends); ``pull`` copies Object Storage into the
        volumes. ``volume`` (an ``id`` from the job's ``status.volumes``) limits the sync to that
        volume. ``manual`` is the API's flag for a sync a user asked for (sent unless ``None``).
        The service takes a sync only while the job is RUNNING (HTTP 409 otherwise, explained
        here): an ending job pushes its RW volumes itself, in FINALIZING. Follow the sync with
        :meth:`wait_for_data_sync`.
        """
        job_id = check_job_id(job_id)
        body: dict[str, Any] = {"direction": check_direction(direction)}
        volume_id = check_volume_id(volume)
        if volume_id is not None:
            body["volume"] = volume_id
        if check_bool("manual", manual, allow_none=True) is not None:
            body["manual"] = manual
        try:
            answer = self.http.request_json(
                "POST", f"v1/job/{job_id}/datasync", json_body=body, not_found_hint=self._job_hint(job_id)
            )
        except OVHCloudAIRequestError as exc:
            if exc.http_status != 409:
                raise
            advice = (
                "Wait for the job to be RUNNING first (OVHCloudAITrainingWaitForJobOperator with "
                "target_states=['RUNNING']). A job that ended already pushed its RW volumes in FINALIZING "
                "(SYNC_FAILED when that failed); restart it to run again."
            )
            raise self._wrong_state(exc, job_id, "start a data sync of", DATA_SYNC_JOB_STATES, advice) from None
        if not isinstance(answer, dict) or not answer.get("id"):
            raise self._unexpected("data sync", answer)
        self.log.info(
            "Started data sync %s (%s) of AI Training job %s.", answer["id"], describe_sync({"spec": body}), job_id
        )
        return answer

    def list_job_data_syncs(self, job_id: str) -> list[dict[str, Any]]:
        """The data syncs the job lists in ``status.dataSync``, oldest first as the service lists them."""
        return data_syncs(self.get_job(job_id))

    def get_job_data_sync(self, job_id: str, sync_id: str) -> dict[str, Any]:
        """One data sync of a job, read from the job (the API has no route for a sync alone)."""
        sync_id = check_sync_id(sync_id)
        job = self.get_job(job_id)
        sync = data_sync_of(job, sync_id)
        if sync is None:
            listed = [str(s.get("id")) for s in data_syncs(job)]
            raise OVHCloudAIRequestError(
                f"AI Training job {job_id} lists no data sync {sync_id} in status.dataSync (it lists "
                f"{listed or 'none'}). Check the sync id (sync_job_data returns it); a sync just started may "
                "take a moment to be listed."
            )
        return sync

    def wait_for_data_sync(
        self,
        job_id: str,
        sync_id: str,
        check_interval: float = 10,
        timeout: float = 3600,
    ) -> dict[str, Any]:
        """Poll the job until its data sync ``sync_id`` is DONE and return the sync.

        Raises :class:`~airflow_ovhcloud.exceptions.OVHCloudAIDataSyncFailedError` when the sync
        ends FAILED, ERROR or INTERRUPTED (or the job ends without ever listing it), and the
        timeout error after ``timeout`` seconds. The polling is ``wait_for_job``'s.
        """
        watch = DataSyncWatch(
            check_job_id(job_id), sync_id, check_interval=check_interval, timeout=timeout, log=self.log
        )
        self._follow(watch)
        if watch.sync is None:  # finished() only says True once it has the sync
            raise self._unexpected("data sync", {"job": job_id, "sync": sync_id})
        return watch.sync

    def restart_job(self, job_id: str, check_interval: float = 1, timeout: float = 60) -> dict[str, Any]:
        """Run an ended job again (``PUT /v1/job/{id}/start``) and return it as its new run shows it.

        Same id and spec, back to QUEUED. Only an ended job (DONE, FAILED, ERROR, INTERRUPTED,
        SYNC_FAILED) restarts; the service's refusal of any other state (409, or 400: the generated
        client documents 400 and no 409 for this route) is explained here. The job is then read
        until it shows the new run (every ``check_interval`` s, at most ``timeout`` s), so that its
        old ending is never mistaken for the new one's. Follow it with :meth:`wait_for_job`.
        """
        job_id = check_job_id(job_id)
        watch = RestartWatch(job_id, self.get_job(job_id), check_interval=check_interval, timeout=timeout, log=self.log)
        try:
            self.http.request("PUT", f"v1/job/{job_id}/start", not_found_hint=self._job_hint(job_id)).close()
        except OVHCloudAIRequestError as exc:
            if exc.http_status not in (400, 409):  # a PUT without a body: a refusal is about the job's state
                raise
            advice = "Wait for the job to end (wait_for_job), or stop it first (stop_job), then restart it."
            raise self._wrong_state(exc, job_id, "restart", RESTARTABLE_STATES, advice) from None
        job = self._follow(watch)
        self.log.info("Restarted AI Training job %s: %s.", job_id, job_state(job))
        return job

    def _wrong_state(
        self, exc: OVHCloudAIRequestError, job_id: str, action: str, allowed: Sequence[str], advice: str
    ) -> OVHCloudAIRequestError:
        """A refusal explained: which states allow ``action``, and the job's state now (read best-effort).

        The error keeps the kind of the original: a 409 stays retryable, a 400 permanent.
        """
        try:
            state: str | None = job_state(self.get_job(job_id))
        except OVHCloudAIError:
            state = None
        if state is None:
            now = "its current state could not be read"
        elif state in allowed:
            now = f"it is {state} now, so the conflict may be something else (another data sync still running?)"
        else:
            now = f"it is {state}"
        reason = "Conflict" if exc.http_status == 409 else "Bad Request"
        message = (
            f"Cannot {action} AI Training job {job_id}: HTTP {exc.http_status} {reason} ({exc.service_message}). "
            f"Only a job that is {' or '.join(allowed)} allows it; {now}. {advice}"
        )
        kind = OVHCloudAIClientError if isinstance(exc, OVHCloudAIClientError) else OVHCloudAIRequestError
        return kind(message, http_status=exc.http_status, service_message=exc.service_message)

    def get_job_logs(self, job_id: str, since: str | datetime | None = None, tail: int | None = None) -> str:
        """Return the job's log as text.

        ``tail`` is sent to the service. ``since`` (an ISO-8601 string or a datetime) is applied
        here, to lines that start with a timestamp; lines without one are kept, since their time
        is unknown.
        """
        job_id = check_job_id(job_id)
        params = {"tail": check_int("tail", tail)} if tail is not None else None
        threshold = check_since(since) if since is not None else None  # checked before the request
        text = self.http.request_text(
            "GET", f"v1/job/{job_id}/log", params=params, not_found_hint=self._job_hint(job_id)
        )
        return filter_log_since(text, threshold) if threshold is not None else text

    # ------------------------------------------------------------------ following the job's log

    def _log_fetcher(self, job_id: str) -> Any:
        def fetch(query: LogRequest) -> str:
            return self.http.request_text(
                "GET", f"v1/job/{job_id}/log", params=dict(query), not_found_hint=self._job_hint(job_id)
            )

        return fetch

    def set_job_label(self, job_id: str, name: str, value: str | None) -> None:
        """Set a label of a job (``value=None`` deletes it): ``PUT /v1/job/{id}/label``."""
        job_id = check_job_id(job_id)
        body = self._label_body(name, value)
        self.http.request(
            "PUT", f"v1/job/{job_id}/label", json_body=body, not_found_hint=self._job_hint(job_id)
        ).close()

    @staticmethod
    def _label_body(name: str, value: str | None) -> dict[str, Any]:
        """The body of ``PUT /v1/job/{id}/label``: no ``value`` deletes the label."""
        return {"name": name} if value is None else {"name": name, "value": value}

    def follow_job_log(self, follower: JobLogFollower, job: Mapping[str, Any]) -> PollResult | None:
        """Print the job's new log lines (one poll) and save the cursor on the job; never fails the wait.

        A log that cannot be read now is read at the next poll, from the same cursor.
        """
        try:
            result = drive_sync(follower.plan(job), self._log_fetcher(follower.job_id))
        except OVHCloudAIRequestError as exc:
            follower.read_failed(exc)
            return None
        if follower.emit(result) and follower.label:
            try:
                self.set_job_label(follower.job_id, follower.label, str(follower.position))
                follower.mark_saved()
            except OVHCloudAIRequestError as exc:
                follower.save_failed(exc)
        return result

    def job_log_follower(
        self,
        job_id: str,
        *,
        max_log_lines_per_poll: int = DEFAULT_MAX_LOG_LINES_PER_POLL,
        log_cursor_label: str | None = None,
        log_position: int = 0,
    ) -> JobLogFollower:
        """A follower of ``job_id``'s log whose lines go to this hook's log, secrets hidden."""
        return JobLogFollower(
            check_job_id(job_id),
            log=self.log,
            max_lines=max_log_lines_per_poll,
            label=log_cursor_label,
            position=log_position,
            redact=lambda text: self.http.redact(text) if "http" in self.__dict__ else self.ahttp.redact(text),
        )

    # ------------------------------------------------------------------ async (triggers)

    async def aget_job(self, job_id: str) -> dict[str, Any]:
        """:meth:`get_job` on the shared async client (inside ``async with hook.async_http():``)."""
        job_id = check_job_id(job_id)
        answer = await self.ahttp.request_json("GET", f"v1/job/{job_id}", not_found_hint=self._job_hint(job_id))
        return self._job_response(answer, "get", self.ahttp)

    async def astop_job(self, job_id: str) -> dict[str, Any]:
        """:meth:`stop_job` on the shared async client."""
        job_id = check_job_id(job_id)
        await self.ahttp.request("PUT", f"v1/job/{job_id}/kill", not_found_hint=self._job_hint(job_id))
        self.log.info("Asked AI Training to stop job %s.", job_id)
        return {"id": job_id, "stopped": True}

    async def aset_job_label(self, job_id: str, name: str, value: str | None) -> None:
        """:meth:`set_job_label` on the shared async client."""
        job_id = check_job_id(job_id)
        body = self._label_body(name, value)
        await self.ahttp.request("PUT", f"v1/job/{job_id}/label", json_body=body, not_found_hint=self._job_hint(job_id))

    async def afollow_job_log(self, follower: JobLogFollower, job: Mapping[str, Any]) -> PollResult | None:
        """:meth:`follow_job_log` on the shared async client; warnings go where the follower's lines go."""
        plan = follower.plan(job)
        path = f"v1/job/{follower.job_id}/log"
        try:
            query = next(plan)
            while True:
                text = await self.ahttp.request_text(
                    "GET", path, params=dict(query), not_found_hint=self._job_hint(follower.job_id)
                )
                query = plan.send(text)
        except StopIteration as stop:
            result: PollResult = stop.value
        except OVHCloudAIRequestError as exc:
            follower.read_failed(exc)
            return None
        if follower.emit(result) and follower.label:
            try:
                await self.aset_job_label(follower.job_id, follower.label, str(follower.position))
                follower.mark_saved()
            except OVHCloudAIRequestError as exc:
                follower.save_failed(exc)
        return result

    # ------------------------------------------------------------------ waiting

    def wait_for_job(
        self,
        job_id: str,
        target_states: list[str] | None = None,
        failure_states: list[str] | None = None,
        check_interval: int = 30,
        timeout: int = 3600,
        log_job_output: bool = False,
        max_log_lines_per_poll: int = DEFAULT_MAX_LOG_LINES_PER_POLL,
        log_cursor_label: str | None = None,
        log_position: int = 0,
    ) -> dict[str, Any]:
        """Poll until the job reaches a target state and return it; raise on a failure state or timeout.

        Default failure states are FAILED, ERROR, INTERRUPTED and SYNC_FAILED (the last one, a job
        whose outputs could not be synced back, is missing from OVHcloud's own provider). Up to
        three polls in a row may fail with a retryable error before waiting gives up.

        ``log_job_output``: print the job's new log lines at each poll (``[job <id>] ...``), at
        most ``max_log_lines_per_poll`` of them, from ``log_position`` or the cursor kept in the
        job's ``log_cursor_label`` label (see :mod:`airflow_ovhcloud.utils.joblog`).
        """
        watch = JobWatch(
            check_job_id(job_id),
            target_states=target_states,
            failure_states=failure_states,
            check_interval=check_interval,
            timeout=timeout,
            log=self.log,
        )
        follower = None
        if log_job_output:
            follower = self.job_log_follower(
                watch.job_id,
                max_log_lines_per_poll=max_log_lines_per_poll,
                log_cursor_label=log_cursor_label,
                log_position=log_position,
            )
        return self._follow(watch, follower)

    def _follow(self, watch: JobWatch, follower: JobLogFollower | None = None) -> dict[str, Any]:
        """The one blocking polling loop: fetch the job until ``watch`` says it is finished.

        ``watch`` decides what finished means (the job's state, or one of its data syncs'), raises
        the failure and timeout errors and paces the polls; ``wait_for_job`` and
        ``wait_for_data_sync`` both wait through here.
        """
        while True:
            try:
                job = self.get_job(watch.job_id)
            except OVHCloudAIRequestError as exc:
                watch.failed_poll(exc)  # re-raises what a retry cannot fix, or too many in a row
            else:
                if follower is not None:  # before the verdict: a failed job's last lines are shown too
                    self.follow_job_log(follower, job)
                if watch.finished(job):
                    return job
            time.sleep(watch.next_wait())

    def test_connection(self) -> tuple[bool, str]:
        """List one job (an authenticated call); never raises. Powers the UI's Test button."""
        try:
            page = self.list_jobs(page=1, size=1)
        except Exception as exc:
            return False, str(exc)
        total = page.get("metadata", {}).get("total")
        count = f"{total} jobs" if total is not None else "jobs listed"
        return True, f"Connected to OVHcloud AI Training in region {self.region} at {self.get_base_url()}: {count}."

    def _unexpected(self, what: str, value: Any, client: Any = None) -> OVHCloudAIRequestError:
        """The error for an answer of the wrong shape, env values redacted (``client``: the async one)."""
        return (client or self.http).unexpected_answer(what, redact_job(value), "the AI Training API")

    def _job_response(self, answer: Any, what: str, client: Any = None) -> dict[str, Any]:
        if not isinstance(answer, dict) or not answer.get("id"):
            raise self._unexpected(f"job {what}", answer, client)
        return answer
