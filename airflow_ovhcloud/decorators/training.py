"""``@task.ovh_training``: the function returns job-spec fields, the task returns the finished job.

A thin subclass of :class:`OVHCloudAITrainingSubmitJobOperator`: the returned fields override the
decorator's defaults, then the submit operator does the rest: waiting (in the worker or the
triggerer), reattach on retry, stop on kill, redaction of environment values. Each mapped task
instance owns exactly one job.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import (
    DecoratedOperator,
    TaskDecorator,
    task_decorator_factory,
)

from airflow_ovhcloud.constants import TRAINING_CONN_ID
from airflow_ovhcloud.decorators._common import call_function, check_decorator_kwargs
from airflow_ovhcloud.operators.ai_training import OVHCloudAITrainingSubmitJobOperator
from airflow_ovhcloud.utils.job_spec import spec_field_names
from airflow_ovhcloud.utils.joblog import DEFAULT_MAX_LOG_LINES_PER_POLL
from airflow_ovhcloud.utils.validation import shown

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

#: The job-spec fields a function may return: the submit operator's names for :class:`JobSpec`'s fields.
SPEC_FIELDS = tuple(spec_field_names())
#: XCom key of the fields a deferrable task's function returned (redacted), read back when it resumes.
SPEC_XCOM_KEY = "ovh_ai_training_spec"
_NO_IMAGE = ""


def refuse_sync_on_success(sync_on_success: Any) -> None:
    """``sync_on_success=True`` is refused: the service already pushes outputs when a job ends.

    A job's RW volumes are pushed to Object Storage in FINALIZING, before the job is DONE (a
    failed push ends it SYNC_FAILED, which fails the task), and ``POST .../datasync`` only takes a
    RUNNING job: the job's work ends when its process exits, which is what ends RUNNING, so there
    is no moment for an extra push between the end of the work and DONE. ``False`` is accepted.
    """
    if sync_on_success is False:
        return
    from airflow_ovhcloud.exceptions import OVHCloudAIInvalidArgumentError

    raise OVHCloudAIInvalidArgumentError(
        f"@task.ovh_training(sync_on_success={shown(sync_on_success)}) is refused: AI Training pushes a job's RW "
        "volumes to Object Storage itself when the job ends (FINALIZING, before DONE; a failed push ends the job "
        "SYNC_FAILED, which fails the task), and a data sync can only be started on a RUNNING job, so nothing "
        "is left to push once the job's work is done. To push outputs while the job still runs (a checkpoint), "
        "use the operators: OVHCloudAITrainingSubmitJobOperator(wait_for_completion=False) >> "
        "OVHCloudAITrainingWaitForJobOperator(target_states=['RUNNING']) >> "
        "OVHCloudAITrainingDataSyncOperator(direction='push', wait_for_completion=True) >> "
        "OVHCloudAITrainingWaitForJobOperator(); see 'Data sync' in docs/ai-training.md."
    )


class _OVHTrainingDecoratedOperator(DecoratedOperator, OVHCloudAITrainingSubmitJobOperator):
    """Runs the function, merges its spec over the decorator's defaults, and submits (and waits)."""

    template_fields: Sequence[str] = (
        *DecoratedOperator.template_fields,
        *OVHCloudAITrainingSubmitJobOperator.template_fields,
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        **DecoratedOperator.template_fields_renderers,
        **OVHCloudAITrainingSubmitJobOperator.template_fields_renderers,
    }
    custom_operator_name = "@task.ovh_training"
    overwrite_rtif_after_execution = True

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Collection[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        image: str = _NO_IMAGE,
        wait_for_completion: bool = True,
        sync_on_success: bool = False,
        **kwargs: Any,
    ) -> None:
        refuse_sync_on_success(sync_on_success)  # also reached through .override(sync_on_success=...)
        super().__init__(
            python_callable=python_callable,
            op_args=op_args,
            op_kwargs=op_kwargs,
            image=image,
            wait_for_completion=wait_for_completion,
            **kwargs,
        )

    def execute(self, context: Context) -> Any:
        from airflow_ovhcloud.exceptions import OVHCloudAIInvalidInputError

        returned = call_function(self, context)
        if returned is None:
            returned = {}
        if not isinstance(returned, Mapping):
            raise OVHCloudAIInvalidInputError(
                f"@task.ovh_training task '{self.task_id}': return a dict of job-spec fields, e.g. "
                f"{{'image': ..., 'command': [...]}}; the function returned {type(returned).__name__} "
                f"{shown(returned, 100)}."
            )
        unknown = sorted(set(returned) - set(SPEC_FIELDS))
        if unknown:
            raise OVHCloudAIInvalidInputError(
                f"@task.ovh_training task '{self.task_id}': unknown job-spec keys {unknown}; valid keys are "
                f"{list(SPEC_FIELDS)}."
            )
        for key, value in returned.items():
            setattr(self, key, value)
        if not isinstance(self.image, str) or not self.image.strip():
            raise OVHCloudAIInvalidInputError(
                f"@task.ovh_training task '{self.task_id}': no image: set image= on the decorator or return "
                "it, e.g. {'image': 'pytorch/pytorch:latest'}."
            )
        if returned and self.deferrable and self.wait_for_completion:
            self.keep_spec_for_resume(context, list(returned))
        return super().execute(context)

    def keep_spec_for_resume(self, context: Context, returned: Collection[str]) -> None:
        """Keep the returned fields, as the rendered-template view shows them, for a resumed deferred task.

        A deferred task resumes in a fresh operator whose function is not called again: Airflow
        renders and stores its template fields anew, and ``name``, ``command``... read ``None``.
        The fields are kept in XCom (key ``ovh_ai_training_spec``; XComs survive a deferral, and
        ``dag.test()`` keeps them too where it drops ``defer(kwargs=...)``), then set back in
        :meth:`execute_complete` before Airflow's overwrite after execution stores them. Env values
        are ``***`` and every secret the masker knows is redacted: nothing secret is kept.
        """
        from airflow_ovhcloud._compat import redact

        self.hide_env_vars()
        self.job_spec()  # a bad field fails with its documented message, before anything is kept
        shown = redact({name: getattr(self, name) for name in returned})
        context["ti"].xcom_push(key=SPEC_XCOM_KEY, value=shown)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Set the kept fields back (Airflow then stores them as rendered fields), then finish as the operator does."""
        ti = context["ti"]
        kept = ti.xcom_pull(task_ids=ti.task_id, key=SPEC_XCOM_KEY, map_indexes=ti.map_index)
        if isinstance(kept, Mapping):
            for key, value in kept.items():
                if key in SPEC_FIELDS:
                    setattr(self, key, value)
        return super().execute_complete(context, event)


def ovh_training_task(
    python_callable: Callable[..., Any] | None = None,
    *,
    ovh_conn_id: str = TRAINING_CONN_ID,
    region: str | None = None,
    wait_for_completion: bool = True,
    deferrable: bool | None = None,
    check_interval: int = 30,
    wait_timeout: int = 3600,
    stop_on_kill: bool = True,
    sync_on_success: bool = False,
    log_job_output: bool = True,
    max_log_lines_per_poll: int = DEFAULT_MAX_LOG_LINES_PER_POLL,
    **kwargs: Any,
) -> TaskDecorator:
    """``@task.ovh_training``: the function returns job-spec fields; the task returns the job.

    Any job-spec field (``image``, ``flavor``, ``gpu``, ``env_vars``, ``volumes``, ``labels``...)
    may be given here as a default; the function's returned dict overrides them. By default the
    task waits for the job (``wait_for_completion=True``) and returns it in its final state, with
    environment values redacted; while it waits, the job's own log lines appear in the task log
    (``log_job_output=False`` turns that off; ``max_log_lines_per_poll`` caps a flood).
    ``sync_on_success=True`` is refused with the reason and the
    operator sequence that pushes outputs while a job runs (see :func:`refuse_sync_on_success`).
    """
    refuse_sync_on_success(sync_on_success)
    check_decorator_kwargs("ovh_training", _OVHTrainingDecoratedOperator, kwargs)
    kwargs.setdefault("multiple_outputs", False)
    return task_decorator_factory(
        python_callable=python_callable,
        decorated_operator_class=_OVHTrainingDecoratedOperator,
        ovh_conn_id=ovh_conn_id,
        region=region,
        wait_for_completion=wait_for_completion,
        deferrable=deferrable,
        check_interval=check_interval,
        wait_timeout=wait_timeout,
        stop_on_kill=stop_on_kill,
        log_job_output=log_job_output,
        max_log_lines_per_poll=max_log_lines_per_poll,
        **kwargs,
    )
