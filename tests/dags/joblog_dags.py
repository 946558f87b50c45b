"""DAGs whose waiting tasks copy the job's own log into the task log (issue 13), run with dag.test()."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, dag, task

from airflow_ovhcloud.operators.ai_training import OVHCloudAITrainingSubmitJobOperator

START = pendulum.datetime(2024, 1, 1, tz="UTC")
ENV_SECRET = "wandb-SECRET-key-4242"

with DAG("test_joblog_blocking", start_date=START, schedule=None, catchup=False) as blocking:
    OVHCloudAITrainingSubmitJobOperator(
        task_id="train",
        image="pytorch/pytorch:latest",
        env_vars={"WANDB_API_KEY": ENV_SECRET},
        wait_for_completion=True,
        check_interval=0,
    )

with DAG("test_joblog_deferrable", start_date=START, schedule=None, catchup=False) as deferrable:
    OVHCloudAITrainingSubmitJobOperator(
        task_id="train",
        image="pytorch/pytorch:latest",
        env_vars={"WANDB_API_KEY": ENV_SECRET},
        wait_for_completion=True,
        deferrable=True,
        check_interval=0,
    )

with DAG("test_joblog_quiet", start_date=START, schedule=None, catchup=False) as quiet:
    OVHCloudAITrainingSubmitJobOperator(
        task_id="train",
        image="pytorch/pytorch:latest",
        wait_for_completion=True,
        check_interval=0,
        log_job_output=False,
    )

with DAG("test_joblog_flood", start_date=START, schedule=None, catchup=False) as flood:
    OVHCloudAITrainingSubmitJobOperator(
        task_id="train",
        image="pytorch/pytorch:latest",
        wait_for_completion=True,
        check_interval=0,
        max_log_lines_per_poll=5,
    )

with DAG("test_joblog_killed", start_date=START, schedule=None, catchup=False) as killed:
    # Airflow kills each try at its execution_timeout (in the sleep between two polls, half a
    # second apart); the retry reattaches to the running job and goes on from the saved cursor.
    OVHCloudAITrainingSubmitJobOperator(
        task_id="train",
        image="pytorch/pytorch:latest",
        wait_for_completion=True,
        check_interval=0.5,  # type: ignore[arg-type]  # any number of seconds works
        stop_on_kill=False,
        execution_timeout=timedelta(seconds=1.25),
        retries=8,
        retry_delay=timedelta(seconds=0),
    )


@dag(dag_id="test_joblog_decorator", start_date=START, schedule=None, catchup=False)
def joblog_decorator() -> None:
    @task.ovh_training(image="pytorch/pytorch:latest", check_interval=0, max_log_lines_per_poll=100)
    def train() -> dict[str, object]:
        return {"command": ["python", "train.py"], "env_vars": {"WANDB_API_KEY": ENV_SECRET}}

    train()


joblog_decorator()
