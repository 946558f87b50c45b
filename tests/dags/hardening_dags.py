"""DAGs the input- and answer-hardening tests run: bad values fail clearly, never as raw Python errors."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

MODEL = "Meta-Llama-3_3-70B-Instruct"
START = pendulum.datetime(2024, 1, 1, tz="UTC")
#: Retries the tasks would use if their error were retryable: a permanent one must not use them.
RETRIES = {"retries": 2, "retry_delay": timedelta(seconds=0)}


@dag(dag_id="test_hardening_embed_hostile", start_date=START, schedule=None, catchup=False)
def embed_hostile() -> None:
    # The connection points at a test server whose answers lack 'embedding'.
    @task.ovh_embed(model="BGE-M3", ovh_conn_id="hardening_hostile", retries=1, retry_delay=timedelta(seconds=0))
    def embed_texts() -> list[str]:
        return ["first text", "second text"]

    embed_texts()


@dag(dag_id="test_hardening_chat_bad_override", start_date=START, schedule=None, catchup=False)
def chat_bad_override() -> None:
    @task.ovh_chat(model=MODEL, **RETRIES)
    def bad_response_format() -> dict[str, object]:
        return {"prompt": "Classify this", "response_format": "json"}

    @task.ovh_chat(model=MODEL, **RETRIES)
    def bad_temperature() -> dict[str, object]:
        return {"prompt": "Say hi", "temperature": float("nan")}

    @task.ovh_chat(model=MODEL, **RETRIES)
    def bytes_part() -> list[dict[str, object]]:
        return [{"role": "user", "content": [b"\x89PNG"]}]

    bad_response_format()
    bad_temperature()
    bytes_part()


embed_hostile()
chat_bad_override()
