"""Thousands to millions of prompts through OVHcloud's Batch API: cheaper, no rate limit, no worker held.

``@task.ovh_batch``: the function returns the items, the task uploads them as one JSONL file,
creates a batch, waits for it in the triggerer (``deferrable=True``: no worker slot is held for
the hours a batch may take) and returns the answers in input order. A retried task finds its
batch again instead of paying twice; a task marked failed cancels it.

The classic operator below does the same for items it is given, and writes its results to object
storage (``output_path``), keeping only a small manifest in XCom: the right choice when the
answers are too big for Airflow's metadata database (see docs/batch.md). Set the environment
variable ``OVHCLOUD_BATCH_RESULTS`` to where they belong (a folder URI ending in ``/``, such as
``s3://my-bucket/batch-results/``); without it they go to ``$AIRFLOW_HOME/ovhcloud-batch-results/``.
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import dag, task
from pydantic import BaseModel

from airflow_ovhcloud.operators.ai_endpoints_batch import OVHCloudAIEndpointsBatchOperator

MODEL = "Meta-Llama-3_3-70B-Instruct"
#: A folder (ends with /): the file is named after the task and its run fingerprint.
RESULTS = os.environ.get("OVHCLOUD_BATCH_RESULTS") or "file://{}/ovhcloud-batch-results/".format(
    os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow")
)


class Sentiment(BaseModel):
    """What the model answers for each review."""

    label: str
    confidence: float


@dag(
    dag_id="ovhcloud_batch",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule=None,
    catchup=False,
    tags=["ovhcloud", "example"],
)
def batch() -> None:
    @task
    def reviews() -> list[str]:
        return [f"Review {i}: the product {'works' if i % 3 else 'broke after a week'}." for i in range(200)]

    @task.ovh_batch(
        model=MODEL,
        system_prompt="Label the sentiment of the review.",
        response_format=Sentiment,
        deferrable=True,
        check_interval=300,  # batches take minutes to hours: poll every 5 minutes
        on_error="skip",
    )
    def label(texts: list[str]) -> list[str]:
        return [f"Review: {text}" for text in texts]

    @task
    def summary(labels: list[dict | None]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in labels:
            key = item["label"] if item else "failed"
            counts[key] = counts.get(key, 0) + 1
        return counts

    OVHCloudAIEndpointsBatchOperator(
        task_id="translate",
        model=MODEL,
        items=[f"Translate into French: sentence number {i}." for i in range(100)],
        returns="answer",
        deferrable=True,
        check_interval=300,
        output_path=RESULTS,
    )

    summary(label(reviews()))


batch()
