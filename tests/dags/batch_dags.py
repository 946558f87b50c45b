"""DAGs the Batch API tests run with dag.test() against the emulator."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, dag, task
from pydantic import BaseModel

from airflow_ovhcloud.operators.ai_endpoints_batch import OVHCloudAIEndpointsBatchOperator

START = pendulum.datetime(2024, 1, 1, tz="UTC")
MODEL = "Meta-Llama-3_3-70B-Instruct"
#: Where the output_path DAGs write (a local object-storage folder, templated): the test gives its
#: ``tmp_path`` in the run's conf, so the suite leaves no file behind.
OUTPUT_DIR = "{{ dag_run.conf['output_dir'] }}"
#: Tests register callables here; the reattach DAG calls them between a killed try and its retry.
RETRY_HOOKS: list[Any] = []
#: Airflow 3.3's ResumableJobMixin takes ``durable=False`` (no task state store: reattach by fingerprint only).
try:
    from airflow.sdk import ResumableJobMixin  # noqa: F401

    NOT_DURABLE: dict[str, Any] = {"durable": False}
except ImportError:
    NOT_DURABLE = {}


def _on_retry(context: Any) -> None:
    for hook in RETRY_HOOKS:
        hook(context)


class Sentiment(BaseModel):
    label: str
    confidence: float


@dag(dag_id="test_batch_blocking", start_date=START, schedule=None, catchup=False)
def batch_blocking() -> None:
    @task.ovh_batch(model=MODEL, system_prompt="Label the sentiment.", response_format=Sentiment, deferrable=False)
    def label() -> list[object]:
        items: list[object] = [f"Review: item {i}" for i in range(40)]
        items[7] = {"prompt": "Just text, please", "response_format": None}  # a per-item override
        return items

    @task.ovh_batch(model=MODEL, deferrable=False, full_response=True)
    def whole() -> list[str]:
        return ["One", "Two"]

    label()
    whole()
    # .override: another task id and model from the same decorated function.
    whole.override(task_id="whole_other_model", model="gpt-oss-20b", full_response=False)()


@dag(dag_id="test_batch_deferrable", start_date=START, schedule=None, catchup=False)
def batch_deferrable() -> None:
    @task.ovh_batch(model=MODEL, system_prompt="Label the sentiment.", response_format=Sentiment, deferrable=True)
    def label() -> list[object]:
        items: list[object] = [f"Review: item {i}" for i in range(40)]
        items[7] = {"prompt": "Just text, please", "response_format": None}
        return items

    @task.ovh_batch(model=MODEL, deferrable=True)
    def mapped(prefix: str, reviews: list[str]) -> list[str]:
        return [f"{prefix}: {r}" for r in reviews]

    label()
    mapped.partial(prefix="Summarize").expand(reviews=[["a", "b"], ["c", "d", "e"]])


@dag(dag_id="test_batch_skip", start_date=START, schedule=None, catchup=False)
def batch_skip() -> None:
    @task.ovh_batch(model=MODEL, on_error="skip", deferrable=False)
    def some_fail() -> list[str]:
        return [f"FAILME {i}" if i in (3, 14) else f"Q{i}" for i in range(20)]

    @task.ovh_batch(model=MODEL, on_error="skip", deferrable=True)
    def some_fail_deferred() -> list[str]:
        return [f"FAILME {i}" if i in (3, 14) else f"Q{i}" for i in range(20)]

    some_fail()
    some_fail_deferred()


@dag(dag_id="test_batch_fail", start_date=START, schedule=None, catchup=False)
def batch_fail() -> None:
    @task.ovh_batch(model=MODEL, deferrable=False)
    def some_fail() -> list[str]:
        return [f"FAILME {i}" if i in (3, 14) else f"Q{i}" for i in range(20)]

    some_fail()


@dag(dag_id="test_batch_expired", start_date=START, schedule=None, catchup=False)
def batch_expired() -> None:
    @task.ovh_batch(model=MODEL, deferrable=False)
    def late() -> list[str]:
        return [f"Q{i}" for i in range(10)]

    late()


@dag(dag_id="test_batch_expired_output", start_date=START, schedule=None, catchup=False)
def batch_expired_output() -> None:
    @task.ovh_batch(model=MODEL, deferrable=True, output_path=f"file://{OUTPUT_DIR}/")
    def late() -> list[str]:
        return [f"Q{i}" for i in range(10)]

    late()


@dag(dag_id="test_batch_reattach", start_date=START, schedule=None, catchup=False)
def batch_reattach() -> None:
    # The first try is killed at its execution_timeout while the batch is still running; the retry
    # must find that batch (task state store on 3.3+, else the fingerprint) and not upload again.
    @task.ovh_batch(
        model=MODEL,
        deferrable=False,
        cancel_on_kill=False,
        execution_timeout=timedelta(seconds=1.5),
        retries=1,
        retry_delay=timedelta(seconds=0),
        on_retry_callback=_on_retry,
    )
    def ask() -> list[str]:
        return [f"Ask: item {i}" for i in range(12)]

    @task.ovh_batch(
        model=MODEL,
        deferrable=False,
        cancel_on_kill=False,
        execution_timeout=timedelta(seconds=1.5),
        retries=1,
        retry_delay=timedelta(seconds=0),
        on_retry_callback=_on_retry,
        **NOT_DURABLE,
    )
    def by_fingerprint() -> list[str]:
        return [f"Fingerprint: item {i}" for i in range(12)]

    ask() >> by_fingerprint()


@dag(dag_id="test_batch_items_changed", start_date=START, schedule=None, catchup=False)
def batch_items_changed() -> None:
    # The first try is killed while its batch runs (and not cancelled); the retry's items differ
    # (as after fixing prompts and clearing the task): it must not read the first batch's answers.
    retried = {
        "cancel_on_kill": False,
        "execution_timeout": timedelta(seconds=1.5),
        "retries": 1,
        "retry_delay": timedelta(seconds=0),
        "on_retry_callback": _on_retry,
    }

    @task.ovh_batch(model=MODEL, deferrable=False, **retried)
    def durable(ti: Any = None) -> list[str]:
        return [f"Try {ti.try_number}: item {i}" for i in range(6)]

    @task.ovh_batch(model=MODEL, deferrable=False, **retried, **NOT_DURABLE)
    def by_fingerprint(ti: Any = None) -> list[str]:
        return [f"Try {ti.try_number}: item {i}" for i in range(6)]

    durable() >> by_fingerprint()


@dag(dag_id="test_batch_cancel_on_kill", start_date=START, schedule=None, catchup=False)
def batch_cancel_on_kill() -> None:
    # The first try is killed while its batch runs: it cancels it; the retry starts a new one.
    @task.ovh_batch(
        model=MODEL,
        deferrable=False,
        execution_timeout=timedelta(seconds=1.5),
        retries=1,
        retry_delay=timedelta(seconds=0),
    )
    def ask() -> list[str]:
        return [f"Ask: item {i}" for i in range(5)]

    ask()


@dag(dag_id="test_batch_output_path", start_date=START, schedule=None, catchup=False)
def batch_output_path() -> None:
    @task.ovh_batch(model=MODEL, response_format=Sentiment, output_path=f"file://{OUTPUT_DIR}/", deferrable=True)
    def label() -> list[str]:
        return [f"Review: item {i}" for i in range(25)]

    @task
    def read(manifest: dict[str, Any]) -> int:
        return int(manifest["counts"]["completed"])

    read(label())


with DAG("test_batch_operator", start_date=START, schedule=None, catchup=False) as classic:
    OVHCloudAIEndpointsBatchOperator(
        task_id="batch",
        model=MODEL,
        items=["One", [{"role": "user", "content": "Two"}], {"prompt": "Three", "model": "gpt-oss-20b"}],
        returns="answer",
        deferrable=False,
    )
    OVHCloudAIEndpointsBatchOperator(
        task_id="embed",
        model="bge-base-en-v1.5",
        items=["first text", {"input": "second text"}],
        endpoint="/v1/embeddings",
        returns="answer",
        deferrable=True,
    )


batch_blocking()
batch_deferrable()
batch_skip()
batch_fail()
batch_expired()
batch_expired_output()
batch_reattach()
batch_items_changed()
batch_cancel_on_kill()
batch_output_path()
