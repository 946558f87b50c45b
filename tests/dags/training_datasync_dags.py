"""DAGs the data sync and restart tests run with dag.test() against the emulator."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, task

from airflow_ovhcloud.operators.ai_training import (
    OVHCloudAITrainingDataSyncOperator,
    OVHCloudAITrainingRestartJobOperator,
    OVHCloudAITrainingSubmitJobOperator,
    OVHCloudAITrainingWaitForJobOperator,
)

START = pendulum.datetime(2024, 1, 1, tz="UTC")
JOB_ID = "{{ ti.xcom_pull(task_ids='submit')['id'] }}"
OUTPUTS = {
    "mountPath": "/workspace/outputs",
    "permission": "RW",
    "dataStore": {"alias": "GRA", "container": "checkpoints"},
}
INPUTS = {
    "mountPath": "/workspace/data",
    "permission": "RO",
    "dataStore": {"alias": "GRA", "container": "datasets"},
}
#: Tests register callables here; the ``release`` task calls them with the job id (what the job's own
#: code does in real life: it finishes its work once the checkpoint is safe).
BETWEEN_HOOKS: list[Any] = []
#: Called between a failed try of the restart task and its retry.
RETRY_HOOKS: list[Any] = []


def _on_retry(context: Any) -> None:
    for hook in RETRY_HOOKS:
        hook(context)


@task
def between(job_id: str) -> None:
    for hook in BETWEEN_HOOKS:
        hook(job_id)


# The documented sequence for pushing outputs while a job still runs: submit without waiting, wait
# for RUNNING, push (and wait for the push), then wait for the job's end.
with DAG("test_training_datasync_push", start_date=START, schedule=None, catchup=False) as push_dag:
    submit = OVHCloudAITrainingSubmitJobOperator(
        task_id="submit", image="pytorch/pytorch:latest", volumes=[INPUTS, OUTPUTS]
    )
    running = OVHCloudAITrainingWaitForJobOperator(
        task_id="running", job_id=JOB_ID, target_states=["RUNNING"], check_interval=0
    )
    push = OVHCloudAITrainingDataSyncOperator(
        task_id="push",
        job_id=JOB_ID,
        direction="{{ params.direction }}",
        wait_for_completion=True,
        check_interval=0,
        params={"direction": "push"},
    )
    done = OVHCloudAITrainingWaitForJobOperator(task_id="done", job_id=JOB_ID, check_interval=0)
    submit >> running >> push >> between.override(task_id="release")(JOB_ID) >> done

with DAG("test_training_datasync_failure", start_date=START, schedule=None, catchup=False) as sync_failure:
    submit = OVHCloudAITrainingSubmitJobOperator(task_id="submit", image="pytorch/pytorch:latest", volumes=[OUTPUTS])
    running = OVHCloudAITrainingWaitForJobOperator(
        task_id="running", job_id=JOB_ID, target_states=["RUNNING"], check_interval=0
    )
    push = OVHCloudAITrainingDataSyncOperator(task_id="push", job_id=JOB_ID, wait_for_completion=True, check_interval=0)
    submit >> running >> push

with DAG("test_training_restart", start_date=START, schedule=None, catchup=False) as restart_dag:
    submit = OVHCloudAITrainingSubmitJobOperator(
        task_id="submit", image="pytorch/pytorch:latest", wait_for_completion=True, check_interval=0
    )
    again = OVHCloudAITrainingRestartJobOperator(
        task_id="restart", job_id=JOB_ID, wait_for_completion=True, check_interval=0
    )
    deferred = OVHCloudAITrainingRestartJobOperator(
        task_id="restart_deferred", job_id=JOB_ID, wait_for_completion=True, check_interval=0, deferrable=True
    )
    submit >> again >> deferred

with DAG("test_training_restart_retry", start_date=START, schedule=None, catchup=False) as restart_retry:
    submit = OVHCloudAITrainingSubmitJobOperator(
        task_id="submit", image="pytorch/pytorch:latest", wait_for_completion=True, check_interval=0
    )
    restart = OVHCloudAITrainingRestartJobOperator(
        task_id="restart",
        job_id=JOB_ID,
        wait_for_completion=True,
        check_interval=0.05,
        wait_timeout=0.5,
        retries=1,
        retry_delay=timedelta(seconds=0),
        on_retry_callback=_on_retry,
    )
    submit >> between.override(task_id="hold")(JOB_ID) >> restart
