"""Thousands of prompts in one task, under OVHcloud's rate limit, sized for a cluster with a pool.

``@task.ovh_chat(many=True)``: the function returns the prompts, the task returns the answers in
input order. 16 calls are in flight at once and at most 300 start in any minute, evenly spaced.
On Airflow 3.3+ a retry after a failure does not ask again for the answers it already has.

Several such tasks (and mapped single-prompt tasks) on several workers share the model's limit of
400 requests per minute per project: the ``ovhcloud_llama_70b`` pool caps how many run at once
(create it with ``airflow pools set ovhcloud_llama_70b 1 "OVHcloud Llama 70B: 400 requests/min"``;
see docs/decorators.md for the sizing).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task
from pydantic import BaseModel

MODEL = "Meta-Llama-3_3-70B-Instruct"
#: One slot in the pool per 300 requests/minute: one such task at a time stays under 400.
POOL = "ovhcloud_llama_70b"


class Sentiment(BaseModel):
    """What the model answers for each review."""

    label: str
    confidence: float


@dag(
    dag_id="ovhcloud_many_prompts",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule=None,
    catchup=False,
    tags=["ovhcloud", "example"],
)
def many_prompts() -> None:
    @task
    def reviews() -> list[str]:
        return [f"Review {i}: the product {'works' if i % 3 else 'broke after a week'}." for i in range(120)]

    @task.ovh_chat(
        model=MODEL,
        system_prompt="Label the sentiment of the review.",
        response_format=Sentiment,
        many=True,
        max_concurrency=16,
        requests_per_minute=300,
        on_error="skip",
        pool=POOL,
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

    summary(label(reviews()))


many_prompts()
