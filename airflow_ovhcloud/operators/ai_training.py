"""Classic operators for OVHcloud AI Training: Airflow glue around :class:`OVHCloudAITrainingHook`.

Cheap to import (DAG parsing pays for it): the hook, ``requests`` and the trigger are imported
when a task runs. What the submit operator adds on top of the hook:

- **Waiting**, in the worker (``wait_for_completion=True``) or deferred to the triggerer
  (``deferrable=True``), where it holds no worker slot.
- **Reattach on retry**: each job is labelled with a hash of (DAG id, task id, run id, map
  index). Before submitting, the operator looks that label up and reattaches to an active or
  finished job instead of starting a second one; only a failed or stopped job is resubmitted.
  On Airflow 3.3+ the job id is also kept in the task state store (``ResumableJobMixin``).
- **Stop on kill**: a killed waiting task stops its job (``on_kill`` in the worker; the trigger's
  ``on_kill`` on Airflow 3.3+ in deferrable mode). ``stop_on_kill=False`` keeps the job running.
- **No secrets in XCom**: returned jobs have their environment values replaced by ``***``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import closing
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator, conf

from airflow_ovhcloud._compat import ResumableJobMixin
from airflow_ovhcloud.constants import TRAINING_CONN_ID
from airflow_ovhcloud.links.ai_training import JOB_URL_XCOM_KEY, OVHCloudAITrainingJobLink, job_url
from airflow_ovhcloud.utils.datasync import RESTARTABLE_STATES, check_direction, check_volume_id
from airflow_ovhcloud.utils.job_spec import JobSpec, spec_fields
from airflow_ovhcloud.utils.joblog import DEFAULT_MAX_LOG_LINES_PER_POLL, check_max_lines, cursor_label
from airflow_ovhcloud.utils.jobs import (
    FAILURE_STATES,
    RUN_KEY_LABEL,
    TERMINAL_STATES,
    JobWatch,
    job_state,
    result_of_event,
    run_labels,
)
from airflow_ovhcloud.utils.redaction import env_secrets, redact_env_vars, redact_job
from airflow_ovhcloud.utils.validation import argument_errors, check_bool, check_int, check_number, invalid

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_ovhcloud.hooks.ai_training import OVHCloudAITrainingHook

__all__ = [
    "RUN_KEY_LABEL",
    "OVHCloudAITrainingDataSyncOperator",
    "OVHCloudAITrainingDeleteJobOperator",
    "OVHCloudAITrainingGetJobOperator",
    "OVHCloudAITrainingGetLogsOperator",
    "OVHCloudAITrainingRestartJobOperator",
    "OVHCloudAITrainingStopJobOperator",
    "OVHCloudAITrainingSubmitJobOperator",
    "OVHCloudAITrainingWaitForJobOperator",
]


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _default_deferrable() -> bool:
    return conf.getboolean("operators", "default_deferrable", fallback=False)


class _TrainingOperator(BaseOperator):
    """What every AI Training operator shares: the connection and the region."""

    ui_color = "#dbe7ff"

    def __init__(self, *, ovh_conn_id: str = TRAINING_CONN_ID, region: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ovh_conn_id = ovh_conn_id
        self.region = region

    def get_hook(self) -> OVHCloudAITrainingHook:
        from airflow_ovhcloud.hooks.ai_training import OVHCloudAITrainingHook

        return OVHCloudAITrainingHook(ovh_conn_id=self.ovh_conn_id, region=self.region)

    def _share(self, context: Context, job: dict[str, Any]) -> dict[str, Any]:
        """Push the job page for the extra link and return the job with its secrets redacted."""
        context["ti"].xcom_push(key=JOB_URL_XCOM_KEY, value=job_url(job))
        return redact_job(job)


class _JobOperator(_TrainingOperator):
    """An operator that acts on one existing job, named by its (templated) ``job_id``."""

    template_fields: Sequence[str] = ("job_id",)

    def __init__(
        self, *, job_id: str, ovh_conn_id: str = TRAINING_CONN_ID, region: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(ovh_conn_id=ovh_conn_id, region=region, **kwargs)
        self.job_id = job_id


class _WaitingOperator(_TrainingOperator):
    """Blocking or deferred waiting, and stopping the job when the waiting task is killed."""

    operator_extra_links = (OVHCloudAITrainingJobLink(),)
    job_id: str | None

    def __init__(
        self,
        *,
        check_interval: int = 30,
        deferrable: bool | None = None,
        stop_on_kill: bool = True,
        log_job_output: bool = True,
        max_log_lines_per_poll: int = DEFAULT_MAX_LOG_LINES_PER_POLL,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        with argument_errors():
            self.check_interval = check_number("check_interval", check_interval, minimum=0)
            self.log_job_output = check_bool("log_job_output", log_job_output)
            self.max_log_lines_per_poll = check_max_lines(max_log_lines_per_poll)
        self.deferrable = _default_deferrable() if deferrable is None else deferrable
        self.stop_on_kill = stop_on_kill

    def _watch(self, job_id: str, timeout: Any, target_states: Any = None, failure_states: Any = None) -> JobWatch:
        """The waiting settings, checked (again: a subclass or a user may have changed them since)."""
        return JobWatch(
            job_id,
            target_states=target_states,
            failure_states=failure_states,
            check_interval=self.check_interval,
            timeout=timeout,
        )

    def _wait(
        self,
        context: Context,
        hook: OVHCloudAITrainingHook,
        job_id: str,
        *,
        timeout: int,
        target_states: list[str] | None = None,
        failure_states: list[str] | None = None,
    ) -> dict[str, Any]:
        self.job_id = job_id
        watch = self._watch(job_id, timeout, target_states, failure_states)  # before any request
        # The log cursor lives on the job, under a label of this task instance: the trigger, a
        # trigger moved to another triggerer and a retry that reattaches all continue from it.
        logs: dict[str, Any] = {"log_job_output": self.log_job_output}
        if self.log_job_output:
            logs["max_log_lines_per_poll"] = self.max_log_lines_per_poll
            logs["log_cursor_label"] = cursor_label(run_labels(context["ti"])[RUN_KEY_LABEL])
        if self.deferrable:
            from airflow_ovhcloud.triggers.ai_training import OVHCloudAITrainingJobTrigger

            job = hook.get_job(job_id)
            if self.log_job_output:  # the lines so far, here; the trigger goes on from the cursor
                follower = hook.job_log_follower(
                    job_id,
                    max_log_lines_per_poll=self.max_log_lines_per_poll,
                    log_cursor_label=logs["log_cursor_label"],
                )
                hook.follow_job_log(follower, job)
                logs["log_position"] = follower.position
            trigger = OVHCloudAITrainingJobTrigger(
                job_id=job_id,
                ovh_conn_id=self.ovh_conn_id,
                region=self.region,
                target_states=target_states,
                failure_states=failure_states,
                check_interval=self.check_interval,
                timeout=timeout,
                stop_on_kill=self.stop_on_kill,
                **logs,
            )
            if watch.finished(job):
                return self._share(context, job)
            context["ti"].xcom_push(key=JOB_URL_XCOM_KEY, value=job_url(job))
            self.defer(trigger=trigger, method_name="execute_complete")
        job = hook.wait_for_job(
            job_id,
            target_states=target_states,
            failure_states=failure_states,
            check_interval=self.check_interval,
            timeout=timeout,
            **logs,
        )
        return self._share(context, job)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Turn the trigger's event into the task's result, or into the documented exception.

        The event names the job (its id and state); the job the task returns is fetched here.
        """
        with closing(self.get_hook()) as hook:
            job = result_of_event(event, hook.get_job)
        return self._share(context, job)

    def on_kill(self) -> None:
        """The waiting task was killed: stop the job it was waiting for, unless told not to."""
        job_id = getattr(self, "job_id", None)
        if not self.stop_on_kill or not job_id:
            return
        with closing(self.get_hook()) as hook:
            hook.stop_job(job_id)
            self.log.info("Stopped AI Training job %s because the task was killed.", job_id)


class OVHCloudAITrainingSubmitJobOperator(ResumableJobMixin, _WaitingOperator):
    """Submit an AI Training job; return it, or with ``wait_for_completion=True`` its final state.

    Job-spec parameters are the fields of :class:`~airflow_ovhcloud.utils.job_spec.JobSpec`, as
    :meth:`OVHCloudAITrainingHook.submit_job` takes them; ``env_vars`` is a dict of names to values
    (masked in logs, redacted in the returned job), ``job_timeout`` is the job's own time limit
    and ``wait_timeout`` bounds the waiting. ``deferrable`` (default: Airflow's
    ``[operators] default_deferrable``) waits in the triggerer. ``stop_on_kill`` (default True)
    stops the job when the waiting task is killed.
    """

    #: The job spec's templated fields (from :class:`JobSpec`), and the region.
    template_fields: Sequence[str] = (*(f.operator_name for f in spec_fields() if f.templated), "region")
    template_fields_renderers = {"env_vars": "json", "labels": "json", "volumes": "json", "command": "json"}
    external_id_key = "ovh_ai_training_job_id"

    def __init__(
        self,
        *,
        image: str,
        ovh_conn_id: str = TRAINING_CONN_ID,
        region: str | None = None,
        name: str | None = None,
        command: list[str] | None = None,
        env_vars: dict[str, str] | None = None,
        gpu: int = 0,
        gpu_model: str | None = None,
        cpu: int | None = None,
        flavor: str | None = None,
        volumes: list[dict[str, Any]] | None = None,
        labels: dict[str, str] | None = None,
        ssh_public_keys: list[str] | None = None,
        default_http_port: int | None = None,
        job_timeout: int | None = None,
        unsecure_http: bool = False,
        timeout_auto_restart: bool | None = None,
        read_user: str | None = None,
        shutdown: str | None = None,
        wait_for_completion: bool = False,
        check_interval: int = 30,
        wait_timeout: int = 3600,
        deferrable: bool | None = None,
        stop_on_kill: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            ovh_conn_id=ovh_conn_id,
            region=region,
            check_interval=check_interval,
            deferrable=deferrable,
            stop_on_kill=stop_on_kill,
            **kwargs,
        )
        self.image = image
        self.name = name
        self.command = command
        self.env_vars = env_vars
        self.gpu = gpu
        self.gpu_model = gpu_model
        self.cpu = cpu
        self.flavor = flavor
        self.volumes = volumes
        self.labels = labels
        self.ssh_public_keys = ssh_public_keys
        self.default_http_port = default_http_port
        self.job_timeout = job_timeout
        self.unsecure_http = unsecure_http
        self.timeout_auto_restart = timeout_auto_restart
        self.read_user = read_user
        self.shutdown = shutdown
        self.wait_for_completion = wait_for_completion
        with argument_errors():
            self.wait_timeout = check_number("wait_timeout", wait_timeout, minimum=0)
            if labels is not None and not isinstance(labels, (str, Mapping)):  # a str may be a template
                raise invalid("labels", "a dict of label names to values", labels)
            # The fields that are never templates are checked now; the others when the task runs.
            fixed = {f.operator_name: getattr(self, f.operator_name) for f in spec_fields() if not f.templated}
            JobSpec.from_fields({**fixed, "image": "checked-when-the-task-runs"})
        self.job_id = None
        self._env_values: Any = None
        self._env_shown: Any = None

    def render_template_fields(self, context: Context, jinja_env: Any = None) -> None:
        """Hide env values before Airflow stores the rendered fields for the UI."""
        super().render_template_fields(context, jinja_env)
        self.hide_env_vars()

    def hide_env_vars(self) -> None:
        """Move env values out of ``env_vars``, which Airflow shows and stores; register them as secrets.

        ``env_vars`` then holds the names with ``***`` values, valid shape or not, so the rendered
        fields never hold a value (Airflow's masker skips values shorter than 5 characters); the
        job is submitted with the real ones.
        """
        from airflow_ovhcloud._compat import mask_secret

        if self.env_vars is None or self.env_vars is self._env_shown:
            return
        for value in env_secrets(self.env_vars):
            mask_secret(value)
        self._env_values = self.env_vars
        self._env_shown = self.env_vars = redact_env_vars(self.env_vars)

    def execute(self, context: Context) -> dict[str, Any]:
        self.hide_env_vars()
        if not self.wait_for_completion:
            with closing(self.get_hook()) as hook:
                return self._share(context, self._submit_or_reattach(hook, context))
        return self.execute_resumable(context)

    def job_spec(self, extra_labels: dict[str, str] | None = None) -> JobSpec:
        """The job this task submits, from its (rendered) job-spec fields; ``extra_labels`` win."""
        fields = {f.operator_name: getattr(self, f.operator_name) for f in spec_fields()}
        if self.env_vars is not None and self.env_vars is self._env_shown:
            fields["env_vars"] = self._env_values
        if extra_labels and (self.labels is None or isinstance(self.labels, Mapping)):
            fields["labels"] = {**(self.labels or {}), **extra_labels}
        return JobSpec.from_fields(fields)

    def _submit_or_reattach(self, hook: OVHCloudAITrainingHook, context: Context) -> dict[str, Any]:
        labels = run_labels(context["ti"])
        spec = self.job_spec(extra_labels=labels)  # a bad field fails here, before any request
        previous = hook.list_jobs(page=1, size=20, labels={RUN_KEY_LABEL: labels[RUN_KEY_LABEL]})["items"]
        for job in sorted(previous, key=lambda j: str(j.get("createdAt") or ""), reverse=True):
            state = job_state(job)
            if state and state not in FAILURE_STATES:
                self.log.info(
                    "Reattaching to AI Training job %s (%s) submitted by an earlier try of this task.",
                    job.get("id"),
                    state,
                )
                self.job_id = str(job["id"])
                return job
        job = hook.submit_job(spec)
        self.job_id = str(job["id"])
        return job

    # ResumableJobMixin protocol (Airflow 3.3+ keeps the id in the task state store) -------------

    def submit_job(self, context: Context) -> str:
        with closing(self.get_hook()) as hook:
            job = self._submit_or_reattach(hook, context)
        context["ti"].xcom_push(key=JOB_URL_XCOM_KEY, value=job_url(job))
        return str(job["id"])

    def get_job_status(self, external_id: Any, context: Context) -> str:
        with closing(self.get_hook()) as hook:
            return hook.get_job_status(str(external_id))

    def is_job_active(self, status: str) -> bool:
        return status not in TERMINAL_STATES

    def is_job_succeeded(self, status: str) -> bool:
        return status == "DONE"

    # The mixin returns this value as the task's result when it reconnects to a running job.
    def poll_until_complete(self, external_id: Any, context: Context) -> dict[str, Any]:  # type: ignore[override]
        with closing(self.get_hook()) as hook:
            return self._wait(context, hook, str(external_id), timeout=self.wait_timeout)

    def get_job_result(self, external_id: Any, context: Context) -> dict[str, Any]:
        with closing(self.get_hook()) as hook:
            return self._share(context, hook.get_job(str(external_id)))


class OVHCloudAITrainingGetJobOperator(_JobOperator):
    """Return an AI Training job (environment values redacted)."""

    operator_extra_links = (OVHCloudAITrainingJobLink(),)

    def execute(self, context: Context) -> dict[str, Any]:
        with closing(self.get_hook()) as hook:
            return self._share(context, hook.get_job(self.job_id))


class OVHCloudAITrainingWaitForJobOperator(_WaitingOperator):
    """Wait for an AI Training job to reach a target state and return it (redacted).

    Default failure states: FAILED, ERROR, INTERRUPTED and SYNC_FAILED. ``deferrable`` waits in
    the triggerer; ``stop_on_kill`` (default True) stops the job if this task is killed.
    """

    template_fields: Sequence[str] = ("job_id",)

    def __init__(
        self,
        *,
        job_id: str,
        ovh_conn_id: str = TRAINING_CONN_ID,
        region: str | None = None,
        target_states: list[str] | None = None,
        failure_states: list[str] | None = None,
        check_interval: int = 30,
        timeout: int = 3600,
        deferrable: bool | None = None,
        stop_on_kill: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            ovh_conn_id=ovh_conn_id,
            region=region,
            check_interval=check_interval,
            deferrable=deferrable,
            stop_on_kill=stop_on_kill,
            **kwargs,
        )
        self.job_id = job_id
        self.target_states = target_states
        self.failure_states = failure_states
        self.timeout = timeout
        with argument_errors():
            self._watch(str(job_id), timeout, target_states, failure_states)

    def execute(self, context: Context) -> dict[str, Any]:
        with closing(self.get_hook()) as hook:
            return self._wait(
                context,
                hook,
                str(self.job_id),
                timeout=self.timeout,
                target_states=self.target_states,
                failure_states=self.failure_states,
            )


class OVHCloudAITrainingStopJobOperator(_JobOperator):
    """Stop a running AI Training job."""

    def execute(self, context: Context) -> dict[str, Any]:
        with closing(self.get_hook()) as hook:
            return hook.stop_job(self.job_id)


class OVHCloudAITrainingDeleteJobOperator(_JobOperator):
    """Delete an AI Training job (stop it first: the service refuses to delete a running job)."""

    def execute(self, context: Context) -> dict[str, Any]:
        with closing(self.get_hook()) as hook:
            return hook.delete_job(self.job_id)


class OVHCloudAITrainingGetLogsOperator(_JobOperator):
    """Return an AI Training job's log text, and copy it into this task's log."""

    def __init__(
        self,
        *,
        job_id: str,
        ovh_conn_id: str = TRAINING_CONN_ID,
        region: str | None = None,
        tail: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(job_id=job_id, ovh_conn_id=ovh_conn_id, region=region, **kwargs)
        with argument_errors():
            self.tail = check_int("tail", tail, allow_none=True)

    def execute(self, context: Context) -> str:
        with closing(self.get_hook()) as hook:
            text = hook.get_job_logs(self.job_id, tail=self.tail)
        self.log.info("Log of AI Training job %s:\n%s", self.job_id, text)
        return text


class OVHCloudAITrainingDataSyncOperator(_JobOperator):
    """Sync a RUNNING job's volumes with Object Storage while it runs; return the DataSync object.

    ``direction="push"`` (the default) copies the job's RW volumes to Object Storage (a checkpoint
    that later tasks can read before the job ends), ``"pull"`` copies Object Storage into its
    volumes; ``volume`` (an id from the job's ``status.volumes``) limits it to one volume. With
    ``wait_for_completion=True`` the task polls the job every ``check_interval`` s until the sync
    is DONE (at most ``timeout`` s) and fails if it ends FAILED, ERROR or INTERRUPTED. The service
    takes a sync only while the job is RUNNING: a job that ends pushes its RW volumes by itself.
    """

    template_fields: Sequence[str] = ("job_id", "direction", "volume")

    def __init__(
        self,
        *,
        job_id: str,
        direction: str = "push",
        volume: str | None = None,
        wait_for_completion: bool = False,
        check_interval: int = 10,
        timeout: int = 3600,
        ovh_conn_id: str = TRAINING_CONN_ID,
        region: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(job_id=job_id, ovh_conn_id=ovh_conn_id, region=region, **kwargs)
        self.direction = direction
        self.volume = volume
        with argument_errors():
            # Checked now unless a template fills them in (then the hook checks them when the task runs).
            if not _is_template(direction):
                check_direction(direction)
            if not _is_template(volume):
                check_volume_id(volume)
            self.wait_for_completion = check_bool("wait_for_completion", wait_for_completion)
            self.check_interval = check_number("check_interval", check_interval, minimum=0)
            self.timeout = check_number("timeout", timeout, minimum=0)

    def execute(self, context: Context) -> dict[str, Any]:
        with closing(self.get_hook()) as hook:
            sync = hook.sync_job_data(self.job_id, direction=self.direction, volume=self.volume)
            if not self.wait_for_completion:
                return sync
            return hook.wait_for_data_sync(
                self.job_id, str(sync["id"]), check_interval=self.check_interval, timeout=self.timeout
            )


class OVHCloudAITrainingRestartJobOperator(_WaitingOperator):
    """Run an ended AI Training job again (same id and spec); return it, or with ``wait_for_completion`` its end.

    Only an ended job (DONE, FAILED, ERROR, INTERRUPTED, SYNC_FAILED) restarts. Waiting is the
    submit operator's: in the worker, or deferred to the triggerer with ``deferrable=True``,
    bounded by ``wait_timeout``; a killed waiting task stops the job unless ``stop_on_kill=False``.
    A retry of this task whose job is already running again waits for that run instead of
    restarting it a second time.
    """

    template_fields: Sequence[str] = ("job_id",)

    def __init__(
        self,
        *,
        job_id: str,
        wait_for_completion: bool = False,
        check_interval: int = 30,
        wait_timeout: int = 3600,
        deferrable: bool | None = None,
        stop_on_kill: bool = True,
        ovh_conn_id: str = TRAINING_CONN_ID,
        region: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            ovh_conn_id=ovh_conn_id,
            region=region,
            check_interval=check_interval,
            deferrable=deferrable,
            stop_on_kill=stop_on_kill,
            **kwargs,
        )
        self.job_id = job_id
        with argument_errors():
            self.wait_for_completion = check_bool("wait_for_completion", wait_for_completion)
            self.wait_timeout = check_number("wait_timeout", wait_timeout, minimum=0)

    def execute(self, context: Context) -> dict[str, Any]:
        job_id = str(self.job_id)
        with closing(self.get_hook()) as hook:
            job = None
            if getattr(context["ti"], "try_number", 1) > 1:
                current = hook.get_job(job_id)
                if job_state(current) not in RESTARTABLE_STATES:
                    self.log.info(
                        "AI Training job %s is %s: an earlier try of this task restarted it; waiting for that run.",
                        job_id,
                        job_state(current),
                    )
                    job = current
            if job is None:
                job = hook.restart_job(job_id, check_interval=min(self.check_interval, 5), timeout=self.wait_timeout)
            if not self.wait_for_completion:
                self.job_id = job_id
                return self._share(context, job)
            return self._wait(context, hook, job_id, timeout=self.wait_timeout)
