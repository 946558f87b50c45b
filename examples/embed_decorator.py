"""``@task.ovh_embed``: embed many texts in batches and keep the vectors in input order."""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task


@dag(
    dag_id="ovhcloud_embed_decorator",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule=None,
    catchup=False,
    tags=["ovhcloud", "example"],
)
def embed_decorator() -> None:
    @task
    def paragraphs() -> list[str]:
        return [f"Paragraph {i} of the handbook." for i in range(200)]

    @task.ovh_embed(model="BGE-M3", batch_size=64, max_concurrency=4)
    def embed(texts: list[str]) -> list[str]:
        return texts

    @task
    def store(vectors: list[list[float]]) -> dict[str, int]:
        """Write the vectors to your vector store here."""
        return {"vectors": len(vectors), "dimensions": len(vectors[0])}

    store(embed(paragraphs()))


embed_decorator()
