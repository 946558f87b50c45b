"""Classic operators for OVHcloud AI Endpoints: a chat completion, an embedding, and a task using both.

Runs as is against OVHcloud (connection ``ovh_ai_endpoints_default`` with your API key in the
password) or against the local emulator (``airflow-ovhcloud emulator``).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task

from airflow_ovhcloud.operators.ai_endpoints import (
    OVHCloudAIEndpointsChatCompletionsOperator,
    OVHCloudAIEndpointsEmbeddingOperator,
)

with DAG(
    dag_id="ovhcloud_classic_endpoints",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule=None,
    catchup=False,
    tags=["ovhcloud", "example"],
    # Templates use params (or run_id), which every run has; ds fails in a run without a logical date.
    params={"audience": "a new data engineer"},
) as dag:
    chat = OVHCloudAIEndpointsChatCompletionsOperator(
        task_id="generate_response",
        model="Meta-Llama-3_3-70B-Instruct",
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Explain machine learning in simple terms for {{ params.audience }}."},
        ],
        temperature=0.7,
        max_tokens=500,
    )

    embed = OVHCloudAIEndpointsEmbeddingOperator(
        task_id="batch_embeddings",
        model="BGE-M3",
        input=[
            "First document to embed",
            "Second document to embed",
            "Third document to embed",
        ],
    )

    @task
    def report(response: dict, embeddings: dict) -> dict:
        """Keep what downstream work needs: the answer text and the vectors' shape."""
        answer = response["choices"][0]["message"]["content"]
        vectors = [item["embedding"] for item in embeddings["data"]]
        return {"answer": answer, "vectors": len(vectors), "dimensions": len(vectors[0])}

    report(chat.output, embed.output)
