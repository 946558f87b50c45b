"""Fault soak: with a fifth of requests failing (429 + Retry-After, 503, dropped connections) nothing is lost.

Sized to run in well under a minute; the emulator's faults are seeded so a failure is repeatable.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from airflow_ovhcloud.exceptions import OVHCloudAIRequestError
from airflow_ovhcloud.hooks.ai_endpoints import OVHCloudAIEndpointsHook
from airflow_ovhcloud.hooks.ai_training import OVHCloudAIJobTimeoutError, OVHCloudAITrainingHook
from airflow_ovhcloud.operators.ai_training import OVHCloudAITrainingSubmitJobOperator
from airflow_ovhcloud.triggers.ai_training import OVHCloudAITrainingJobTrigger
from tests.helpers import StubTaskInstance

CHATS = 1000
BATCHES = 200
BATCH_SIZE = 4
MODEL = "Meta-Llama-3_3-70B-Instruct"


def soak_workload(hook: OVHCloudAIEndpointsHook) -> tuple[list[str], list[list[float]]]:
    answers = [
        hook.chat_completion(model=MODEL, messages=[{"role": "user", "content": f"question {i}"}])["choices"][0][
            "message"
        ]["content"]
        for i in range(CHATS)
    ]
    texts = [f"passage {i}" for i in range(BATCHES * BATCH_SIZE)]
    response = hook.create_embeddings("soak-embed", texts, batch_size=BATCH_SIZE, max_concurrency=4)
    return answers, [item["embedding"] for item in response["data"]]


def test_endpoints_lose_nothing_under_20_percent_faults(emulator: Any, capsys: pytest.CaptureFixture[str]) -> None:
    emulator.add_model("soak-embed", kind="embedding", dimensions=16)
    clean = soak_workload(OVHCloudAIEndpointsHook())
    capsys.readouterr()
    emulator.clear_journal()

    emulator.random_faults(0.2, statuses=(429, 503), drop=True, retry_after=0, seed=7)
    # 8 client retries: the chance that one request fails 9 times in a row at 20% is 5e-7.
    faulty = soak_workload(OVHCloudAIEndpointsHook(max_retries=8))

    assert faulty == clean  # every answer and vector, in order
    faults = [r.fault for r in emulator.journal if r.fault]
    assert len(emulator.journal) == CHATS + BATCHES + len(faults)
    assert 0.15 < len(faults) / len(emulator.journal) < 0.25
    assert {"status:429", "status:503", "drop"} <= set(faults)
    log = capsys.readouterr().out
    assert log.count("; retry ") == len(faults)  # one log line per retry, saying why and how long


def test_training_jobs_reach_their_states_despite_failing_polls(emulator: Any) -> None:
    hook = OVHCloudAITrainingHook()
    expected = {}
    for i in range(49):
        final = ("DONE", "FAILED", "SYNC_FAILED", "ERROR", "DONE")[i % 5]
        emulator.script_job(final_state=final, name=f"job-{i}")
        expected[hook.submit_job(image="pytorch/pytorch", name=f"job-{i}")["id"]] = final
    emulator.random_faults(0.1, statuses=(503, 502), drop=True, seed=3)

    async def wait_all() -> list[dict[str, Any]]:
        async def one(job_id: str) -> dict[str, Any]:
            events = [e.payload async for e in OVHCloudAITrainingJobTrigger(job_id, check_interval=0.01).run()]
            return events[0]

        return await asyncio.gather(*(one(job_id) for job_id in expected))

    events = asyncio.run(wait_all())
    for job_id, event in zip(expected, events, strict=True):
        if expected[job_id] == "DONE":
            assert event["status"] == "success", event
        else:
            assert (event["status"], event["state"]) == ("failure", expected[job_id]), event

    # The fiftieth job belongs to a task that is killed while it waits, then retried.
    emulator.script_job(stick_in="RUNNING", name="killed")
    operator = OVHCloudAITrainingSubmitJobOperator(
        task_id="train",
        image="pytorch/pytorch",
        name="killed",
        wait_for_completion=True,
        check_interval=0,
        wait_timeout=0,
        stop_on_kill=False,
    )
    context: Any = {"ti": StubTaskInstance()}

    def run_with_airflow_retries() -> dict[str, Any]:
        for _ in range(10):  # what Airflow's task retries do with a retryable error
            try:
                return operator.execute(context)
            except OVHCloudAIJobTimeoutError:
                raise
            except OVHCloudAIRequestError:
                continue
        raise AssertionError("still failing after 10 task retries")

    with pytest.raises(OVHCloudAIJobTimeoutError):
        run_with_airflow_retries()
    operator.on_kill()
    killed = next(job_id for job_id, job in emulator.jobs.items() if job["spec"]["name"] == "killed")
    emulator.finish_job(killed, "DONE")
    operator.wait_timeout = 60
    assert run_with_airflow_retries()["id"] == killed  # reattached, not resubmitted
    assert emulator.submitted_jobs == 50
    assert sum(1 for r in emulator.journal if r.fault) > 10


@pytest.mark.parametrize("stop_on_kill", [False, True])
def test_a_killed_wait_is_reattached_or_stopped_as_configured(emulator: Any, stop_on_kill: bool) -> None:
    emulator.script_job(stick_in="RUNNING")
    emulator.random_faults(0.1, statuses=(503,), drop=True, seed=5)
    operator = OVHCloudAITrainingSubmitJobOperator(
        task_id="train",
        image="pytorch/pytorch",
        wait_for_completion=True,
        check_interval=0,
        wait_timeout=0,
        stop_on_kill=stop_on_kill,
    )
    context: Any = {"ti": StubTaskInstance()}
    with pytest.raises(OVHCloudAIJobTimeoutError):  # the first try is cut short while it waits...
        operator.execute(context)
    operator.on_kill()  # ...as when Airflow kills it
    (job_id,) = emulator.jobs
    if stop_on_kill:
        assert emulator.requests_to(f"/v1/job/{job_id}/kill", method="PUT")
        emulator.random_faults(0)
        assert OVHCloudAITrainingHook().wait_for_job(job_id, target_states=["INTERRUPTED"], check_interval=0)
        return
    emulator.finish_job(job_id, "DONE")
    retried = operator.execute(context)  # the retry finds the job by its labels instead of submitting
    assert retried["id"] == job_id and retried["status"]["state"] == "DONE"
    assert emulator.submitted_jobs == 1
