"""The flagship pipeline: documents → summaries → embeddings → a fine-tuning job on AI Training.

``airflow-ovhcloud demo`` runs it end to end on the embedded emulator; with connections to
OVHcloud it runs as is (``airflow-ovhcloud demo --live``).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

CHAT_MODEL = "Meta-Llama-3_3-70B-Instruct"
EMBEDDING_MODEL = "BGE-M3"


@dag(
    dag_id="ovhcloud_flagship",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule=None,
    catchup=False,
    tags=["ovhcloud", "example"],
)
def flagship() -> None:
    @task
    def load_documents() -> list[str]:
        """Read your documents here (object storage, a database, an API)."""
        return [
            "Apache Airflow schedules and monitors workflows written in Python.",
            "OVHcloud AI Endpoints serves open models behind an OpenAI-compatible API.",
            "OVHcloud AI Training runs containers on GPUs and bills by the minute.",
        ]

    @task.ovh_chat(model=CHAT_MODEL, system_prompt="Answer in one sentence.", max_tokens=200)
    def summarize(text: str) -> str:
        return f"Summarize: {text}"

    @task.ovh_embed(model=EMBEDDING_MODEL)
    def embed(summaries: list[str]) -> list[str]:
        # As it is: the decorator reads a mapped task's results in one request; list(...) would read one per item.
        return summaries

    @task
    def build_dataset(summaries: list[str], vectors: list[list[float]]) -> dict:
        """Pair each summary with its vector; a real pipeline writes them to object storage."""
        # summaries[:] reads the mapped results in one request (iterating reads them one by one).
        pairs = zip(summaries[:], vectors, strict=True)
        rows = [{"text": text, "dimensions": len(vector)} for text, vector in pairs]
        return {"rows": len(rows), "dimensions": rows[0]["dimensions"]}

    @task.ovh_training(image="pytorch/pytorch:latest", flavor="ai1-1-gpu", gpu=1, check_interval=30)
    def fine_tune(dataset: dict) -> dict:
        return {
            "name": "flagship-fine-tune",
            "command": ["python", "train.py", f"--rows={dataset['rows']}", f"--dim={dataset['dimensions']}"],
        }

    summaries = summarize.expand(text=load_documents())
    vectors = embed(summaries)
    fine_tune(build_dataset(summaries, vectors))


flagship()
