"""DAGs the secret-hardening tests run: env values never reach the rendered fields, valid or not."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_ovhcloud.operators.ai_training import OVHCloudAITrainingSubmitJobOperator

START = pendulum.datetime(2024, 1, 1, tz="UTC")

with DAG("test_invalid_env_vars_hidden", start_date=START, schedule=None, catchup=False) as invalid_env:
    OVHCloudAITrainingSubmitJobOperator(
        task_id="submit",
        image="pytorch/pytorch",
        # Not the documented shape (a dict): refused, but the values must not be stored for the UI.
        env_vars=["HF_TOKEN=hf_SECRET-env-value-777", {"name": "B", "value": "train-secret-123"}, 42],  # type: ignore[arg-type]
    )
    OVHCloudAITrainingSubmitJobOperator(
        task_id="submit_ok",
        image="pytorch/pytorch",
        env_vars={"SHORT": "abc", "LONG": "train-secret-123"},
        check_interval=0,
    )
