"""DAGs the many-prompt tests run with dag.test() against the emulator."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, dag, task
from pydantic import BaseModel

from airflow_ovhcloud.operators.ai_endpoints import OVHCloudAIEndpointsChatCompletionsOperator

START = pendulum.datetime(2024, 1, 1, tz="UTC")
MODEL = "Meta-Llama-3_3-70B-Instruct"
FAILING = (3, 14, 27)


class Verdict(BaseModel):
    label: str
    confidence: float


@dag(dag_id="test_chat_many", start_date=START, schedule=None, catchup=False)
def chat_many() -> None:
    @task.ovh_chat(model=MODEL, system_prompt="Summarize in one sentence.", many=True, max_concurrency=16)
    def summarize() -> list[str]:
        return [f"Summarize: doc {i}" for i in range(500)]

    @task.ovh_chat(model=MODEL, many=True, response_format=Verdict, temperature=0)
    def classify() -> list[object]:
        items: list[object] = [f"Classify: review {i}" for i in range(20)]
        items[5] = {"prompt": "Just text, please", "response_format": None}  # a per-item override
        return items

    @task.ovh_chat(model=MODEL, many=True, on_error="skip", max_concurrency=4)
    def some_fail() -> list[object]:
        return [{"prompt": f"Q{i}", "model": "No-Such-Model"} if i in FAILING else f"Q{i}" for i in range(30)]

    @task
    def make(i: int) -> str:
        return f"text {i}"

    @task.ovh_chat(model=MODEL, many=True)
    def from_mapped(texts: list[str]) -> list[str]:
        return texts  # the lazy sequence of the mapped task's results, read in one request

    summarize()
    classify()
    some_fail()
    from_mapped(make.expand(i=list(range(40))))


@dag(dag_id="test_chat_many_resume", start_date=START, schedule=None, catchup=False)
def chat_many_resume() -> None:
    @task.ovh_chat(
        model=MODEL,
        many=True,
        response_format=Verdict,
        max_concurrency=4,
        retries=1,
        retry_delay=timedelta(seconds=0),
    )
    def label() -> list[str]:
        return [f"Label: item {i}" for i in range(200)]

    label()


with DAG("test_chat_many_operator", start_date=START, schedule=None, catchup=False) as classic:
    OVHCloudAIEndpointsChatCompletionsOperator(
        task_id="many",
        model=MODEL,
        messages=["One", [{"role": "user", "content": "Two"}], {"prompt": "Three", "model": "gpt-oss-20b"}],
        many=True,
        returns="answer",
        requests_per_minute=600,
    )


@dag(dag_id="test_chat_many_killed", start_date=START, schedule=None, catchup=False)
def chat_many_killed() -> None:
    # Airflow kills a try that runs past execution_timeout: the first try is killed mid-way.
    @task.ovh_chat(
        model=MODEL,
        many=True,
        max_concurrency=4,
        execution_timeout=timedelta(seconds=1),
        retries=3,
        retry_delay=timedelta(seconds=0),
    )
    def ask() -> list[str]:
        return [f"Ask: item {i}" for i in range(120)]

    ask()


@dag(dag_id="test_embed_batches_killed", start_date=START, schedule=None, catchup=False)
def embed_batches_killed() -> None:
    @task.ovh_embed(
        model="tiny-embed",  # 16 dimensions: the test adds it to the emulator
        batch_size=5,
        max_concurrency=1,
        execution_timeout=timedelta(seconds=1.5),
        retries=8,
        retry_delay=timedelta(seconds=0),
    )
    def embed() -> list[str]:
        return [f"text {i}" for i in range(100)]

    embed()


chat_many()
chat_many_resume()
chat_many_killed()
embed_batches_killed()
