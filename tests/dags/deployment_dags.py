"""DAGs for the deployment findings of issue 14 (tests/test_deployment_fixes.py)."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, dag, task

# Written as OVHcloud's provider documented it, after the migration page's `sed`: package-level imports.
from airflow_ovhcloud.hooks import OVHCloudAITrainingHook
from airflow_ovhcloud.operators import (
    OVHCloudAIEndpointsChatCompletionsOperator,
    OVHCloudAITrainingGetLogsOperator,
    OVHCloudAITrainingSubmitJobOperator,
)

START = pendulum.datetime(2024, 1, 1, tz="UTC")

with DAG(dag_id="test_migrated_imports", start_date=START, schedule=None, catchup=False) as migrated:
    chat = OVHCloudAIEndpointsChatCompletionsOperator(
        task_id="chat",
        model="Meta-Llama-3_3-70B-Instruct",
        messages=[{"role": "user", "content": "Hello from {{ run_id }}"}],
        max_tokens=20,
    )
    train = OVHCloudAITrainingSubmitJobOperator(
        task_id="train",
        image="pytorch/pytorch:latest",
        name="migrated-{{ run_id }}",
        env_vars=OVHCloudAITrainingHook.build_env_vars({"EPOCHS": "1"}),
        wait_for_completion=True,
        check_interval=0,
    )
    logs = OVHCloudAITrainingGetLogsOperator(task_id="logs", job_id="{{ ti.xcom_pull(task_ids='train')['id'] }}")
    chat >> train >> logs


@dag(dag_id="test_deferred_training_rendered", start_date=START, schedule=None, catchup=False)
def deferred_training_rendered() -> None:
    @task.ovh_training(image="pytorch/pytorch", check_interval=0, deferrable=True)
    def train_one() -> dict[str, object]:
        return {
            "name": "deferred-one",
            "command": ["python", "train.py", "--epochs=1"],
            "env_vars": {"HF_TOKEN": "hf_SECRET-env-value-777"},
        }

    @task.ovh_training(image="pytorch/pytorch", check_interval=0, deferrable=True)
    def train_failing() -> dict[str, object]:
        return {"name": "deferred-failing", "command": ["python", "crash.py"]}

    train_one()
    train_failing()


deferred_training_rendered()
