"""Classic AI Training operators: submit a job and wait for it in the triggerer, read its logs, clean up.

Runs against OVHcloud (connection ``ovh_ai_training_default``: region as login, AI Training token as
password) or the local emulator (``airflow-ovhcloud emulator``).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_ovhcloud.hooks.ai_training import OVHCloudAITrainingHook
from airflow_ovhcloud.operators.ai_training import (
    OVHCloudAITrainingDeleteJobOperator,
    OVHCloudAITrainingGetLogsOperator,
    OVHCloudAITrainingSubmitJobOperator,
)

JOB_ID = "{{ ti.xcom_pull(task_ids='train')['id'] }}"

with DAG(
    dag_id="ovhcloud_classic_training",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule=None,
    catchup=False,
    tags=["ovhcloud", "example"],
) as dag:
    train = OVHCloudAITrainingSubmitJobOperator(
        task_id="train",
        image="pytorch/pytorch:latest",
        # run_id exists in every run; ds/ds_nodash do not in an API-triggered run without a logical date.
        name="train-{{ run_id }}",
        command=["python", "train.py", "--epochs", "3"],
        env_vars={"WANDB_MODE": "offline"},
        flavor="ai1-1-gpu",
        gpu=1,
        volumes=[
            OVHCloudAITrainingHook.build_volume(
                container="my-dataset", mount_path="/workspace/data", alias="GRA", permission="RO"
            ),
        ],
        labels={"project": "demo"},
        wait_for_completion=True,
        deferrable=True,
        # Not a few seconds: a trigger that fires within seconds of deferring can race the scheduler
        # (see docs/ai-training.md, "Waiting").
        check_interval=30,
        wait_timeout=6 * 3600,
    )

    logs = OVHCloudAITrainingGetLogsOperator(task_id="logs", job_id=JOB_ID, tail=50)
    cleanup = OVHCloudAITrainingDeleteJobOperator(task_id="cleanup", job_id=JOB_ID)

    train >> logs >> cleanup
