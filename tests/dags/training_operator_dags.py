"""DAGs the AI Training operator tests run with dag.test() against the emulator."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG

from airflow_ovhcloud.operators.ai_training import (
    OVHCloudAITrainingDeleteJobOperator,
    OVHCloudAITrainingGetJobOperator,
    OVHCloudAITrainingGetLogsOperator,
    OVHCloudAITrainingStopJobOperator,
    OVHCloudAITrainingSubmitJobOperator,
    OVHCloudAITrainingWaitForJobOperator,
)

START = pendulum.datetime(2024, 1, 1, tz="UTC")
ENV_SECRET = "hf_SECRET-env-value-777"
JOB_ID = "{{ ti.xcom_pull(task_ids='submit')['id'] }}"
#: Tests register callables here; the reattach DAG calls them between a failed try and its retry.
RETRY_HOOKS: list[Any] = []


def _on_retry(context: Any) -> None:
    for hook in RETRY_HOOKS:
        hook(context)


with DAG("test_training_lifecycle", start_date=START, schedule=None, catchup=False) as lifecycle:
    submit = OVHCloudAITrainingSubmitJobOperator(
        task_id="submit",
        image="{{ params.image }}",
        name="train-{{ ds_nodash }}",
        command=["python", "train.py"],
        env_vars={"HF_TOKEN": ENV_SECRET},
        flavor="ai1-1-gpu",
        gpu=1,
        wait_for_completion=True,
        check_interval=0,
        params={"image": "pytorch/pytorch:latest"},
    )
    get = OVHCloudAITrainingGetJobOperator(task_id="get", job_id=JOB_ID)
    logs = OVHCloudAITrainingGetLogsOperator(task_id="logs", job_id=JOB_ID, tail=2)
    delete = OVHCloudAITrainingDeleteJobOperator(task_id="delete", job_id=JOB_ID)
    submit >> get >> logs >> delete

with DAG("test_training_deferrable", start_date=START, schedule=None, catchup=False) as deferrable:
    OVHCloudAITrainingSubmitJobOperator(
        task_id="submit",
        image="pytorch/pytorch:latest",
        env_vars={"HF_TOKEN": ENV_SECRET},
        wait_for_completion=True,
        deferrable=True,
        check_interval=0,
    )

with DAG("test_training_wait_failure", start_date=START, schedule=None, catchup=False) as wait_failure:
    submit_only = OVHCloudAITrainingSubmitJobOperator(task_id="submit", image="pytorch/pytorch:latest")
    blocking = OVHCloudAITrainingWaitForJobOperator(task_id="wait", job_id=JOB_ID, check_interval=0)
    deferred = OVHCloudAITrainingWaitForJobOperator(
        task_id="wait_deferred", job_id=JOB_ID, check_interval=0, deferrable=True
    )
    submit_only >> [blocking, deferred]

with DAG("test_training_stop", start_date=START, schedule=None, catchup=False) as stop_dag:
    started = OVHCloudAITrainingSubmitJobOperator(task_id="submit", image="pytorch/pytorch:latest")
    started >> OVHCloudAITrainingStopJobOperator(task_id="stop", job_id=JOB_ID)

with DAG("test_training_reattach", start_date=START, schedule=None, catchup=False) as reattach:
    OVHCloudAITrainingSubmitJobOperator(
        task_id="submit",
        image="pytorch/pytorch:latest",
        wait_for_completion=True,
        check_interval=0,
        wait_timeout=0,
        retries=1,
        retry_delay=timedelta(seconds=0),
        on_retry_callback=_on_retry,
    )
