"""The AI Training operators and trigger, in real DAG runs (dag.test) and event loops, against the emulator."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import pytest

from airflow_ovhcloud.hooks.ai_training import OVHCloudAITrainingHook
from airflow_ovhcloud.operators.ai_training import (
    OVHCloudAITrainingGetJobOperator,
    OVHCloudAITrainingGetLogsOperator,
    OVHCloudAITrainingSubmitJobOperator,
    OVHCloudAITrainingWaitForJobOperator,
)
from airflow_ovhcloud.testing.dagrun import run_dag
from airflow_ovhcloud.triggers.ai_training import OVHCloudAITrainingJobTrigger
from tests.helpers import StubTaskInstance

FILE = "training_operator_dags.py"
ENV_SECRET = "hf_SECRET-env-value-777"


def test_documented_constructors_defaults_and_template_fields() -> None:
    submit = OVHCloudAITrainingSubmitJobOperator(task_id="s", image="i")
    assert (submit.ovh_conn_id, submit.region, submit.gpu, submit.wait_for_completion) == (
        "ovh_ai_training_default",
        None,
        0,
        False,
    )
    assert (submit.check_interval, submit.wait_timeout, submit.unsecure_http, submit.stop_on_kill) == (
        30,
        3600,
        False,
        True,
    )
    assert set(submit.template_fields) >= {
        "image",
        "name",
        "command",
        "env_vars",
        "labels",
        "volumes",
        "flavor",
        "region",
        "gpu_model",
    }
    wait = OVHCloudAITrainingWaitForJobOperator(task_id="w", job_id="j")
    assert (wait.check_interval, wait.timeout, wait.target_states, wait.failure_states) == (30, 3600, None, None)
    assert tuple(OVHCloudAITrainingGetJobOperator(task_id="g", job_id="j").template_fields) == ("job_id",)
    assert OVHCloudAITrainingGetLogsOperator(task_id="l", job_id="j").tail is None


def test_lifecycle_dag_submits_waits_inspects_reads_logs_and_deletes(
    emulator: Any, load_dag: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_dag(load_dag(FILE, "test_training_lifecycle"))
    assert result.state == "success", result.task_states

    final = result.value("submit")
    job_id = final["id"]
    assert final["status"]["state"] == "DONE" and emulator.submitted_jobs == 1
    body = emulator.requests_to("/v1/job", method="POST")[0].body
    assert body["image"] == "pytorch/pytorch:latest"
    assert body["name"] == f"train-{result.dag_run.logical_date:%Y%m%d}"
    assert body["resources"] == {"gpu": 1, "flavor": "ai1-1-gpu"}
    assert body["envVars"] == [{"name": "HF_TOKEN", "value": ENV_SECRET}]
    assert body["labels"]["airflow-dag"] == "test_training_lifecycle" and body["labels"]["airflow-task"] == "submit"

    assert result.value("get")["spec"]["envVars"] == [{"name": "HF_TOKEN", "value": "***"}]
    logs = result.value("logs")
    assert isinstance(logs, str) and len(logs.strip().splitlines()) == 2
    assert emulator.requests_to("/log")[-1].query == {"tail": ["2"]}  # after the wait's own log reads
    assert f"Log of AI Training job {job_id}:" in capsys.readouterr().out
    assert emulator.requests_to(f"/v1/job/{job_id}", method="DELETE")
    assert result.value("submit", key="ovh_job_url").startswith("https://")

    # the env secret appears nowhere Airflow keeps or shows things
    kept = json.dumps({str(k): v for k, v in result.xcoms.items()}) + json.dumps(
        {str(k): v for k, v in result.rendered.items()}, default=str
    )
    out = capsys.readouterr()
    assert ENV_SECRET not in kept + out.out + out.err + logs
    assert "***" in json.dumps(result.rendered[("submit", -1)]["env_vars"])


def test_deferrable_submit_runs_through_the_trigger(emulator: Any, load_dag: Any) -> None:
    result = run_dag(load_dag(FILE, "test_training_deferrable"))
    assert result.state == "success", result.task_states
    job = result.value("submit")
    assert job["status"]["state"] == "DONE"
    assert job["spec"]["envVars"] == [{"name": "HF_TOKEN", "value": "***"}]
    assert emulator.submitted_jobs == 1


def test_failed_job_fails_blocking_and_deferred_waits_with_state_and_message(
    emulator: Any, load_dag: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.script_job(final_state="FAILED", info_message="CUDA out of memory", exit_code=137)
    result = run_dag(load_dag(FILE, "test_training_wait_failure"), expect_failure=True)

    assert result.task_states[("submit", -1)] == "success"
    assert result.task_states[("wait", -1)] == "failed"
    assert result.task_states[("wait_deferred", -1)] == "failed"
    (job_id,) = emulator.jobs
    out = capsys.readouterr().out
    expected = f"AI Training job {job_id} entered failure state: FAILED (CUDA out of memory), exit code 137."
    assert out.count(expected) >= 2


def test_stop_operator_stops_the_job(emulator: Any, load_dag: Any) -> None:
    result = run_dag(load_dag(FILE, "test_training_stop"))
    assert result.state == "success"
    (job_id,) = emulator.jobs
    assert result.value("stop") == {"id": job_id, "stopped": True}
    assert emulator.requests_to(f"/v1/job/{job_id}/kill", method="PUT")


def test_a_retried_submit_reattaches_instead_of_starting_a_second_job(emulator: Any, load_dag: Any) -> None:
    emulator.script_job(stick_in="RUNNING")
    dag = load_dag(FILE, "test_training_reattach")
    hooks = next(m for name, m in sys.modules.items() if name.endswith("training_operator_dags")).RETRY_HOOKS
    hooks.append(lambda context: [emulator.finish_job(job_id, "DONE") for job_id in emulator.jobs])
    try:
        result = run_dag(dag)
    finally:
        hooks.clear()

    assert result.state == "success", result.task_states
    assert emulator.submitted_jobs == 1
    assert result.value("submit")["status"]["state"] == "DONE"


def test_on_kill_stops_the_job_unless_disabled(emulator: Any) -> None:
    job_id = OVHCloudAITrainingHook().submit_job(image="pytorch/pytorch:latest")["id"]
    keep = OVHCloudAITrainingWaitForJobOperator(task_id="keep", job_id=job_id, stop_on_kill=False)
    keep.job_id = job_id
    keep.on_kill()
    assert emulator.requests_to("/kill") == []

    waiting = OVHCloudAITrainingSubmitJobOperator(task_id="w", image="i")
    waiting.job_id = job_id  # what execute() records once it has submitted
    waiting.on_kill()
    assert [r.path for r in emulator.requests_to("/kill")] == [f"/v1/job/{job_id}/kill"]


# --------------------------------------------------------------------------- trigger


def run_trigger(trigger: OVHCloudAITrainingJobTrigger) -> list[dict[str, Any]]:
    async def collect() -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    return asyncio.run(collect())


def test_trigger_serializes_and_round_trips() -> None:
    trigger = OVHCloudAITrainingJobTrigger("job-1", region="bhs", check_interval=5, timeout=60, stop_on_kill=False)
    path, kwargs = trigger.serialize()
    assert path == "airflow_ovhcloud.triggers.ai_training.OVHCloudAITrainingJobTrigger"
    clone = OVHCloudAITrainingJobTrigger(**kwargs)
    assert clone.serialize() == (path, kwargs)
    assert kwargs["deadline"] == pytest.approx(trigger.deadline)


def test_trigger_reports_success_failure_timeout_and_errors(emulator: Any) -> None:
    hook = OVHCloudAITrainingHook()
    ok = hook.submit_job(image="i", env_vars={"K": ENV_SECRET})["id"]
    (event,) = run_trigger(OVHCloudAITrainingJobTrigger(ok, check_interval=0))
    assert event == {"status": "success", "job_id": ok, "state": "DONE"}  # small: the resumed task fetches the job
    assert ENV_SECRET not in json.dumps(event)

    emulator.script_job(final_state="SYNC_FAILED", info_message="could not sync outputs")
    bad = hook.submit_job(image="i")["id"]
    (event,) = run_trigger(OVHCloudAITrainingJobTrigger(bad, check_interval=0))
    assert (event["status"], event["state"]) == ("failure", "SYNC_FAILED")
    assert "could not sync outputs" in event["message"]

    emulator.script_job(stick_in="RUNNING")
    slow = hook.submit_job(image="i")["id"]
    (event,) = run_trigger(OVHCloudAITrainingJobTrigger(slow, check_interval=0.01, timeout=0.05))
    assert event["status"] == "timeout" and "last state: RUNNING" in event["message"]

    (event,) = run_trigger(OVHCloudAITrainingJobTrigger("no-such-job", check_interval=0))
    assert (event["status"], event["permanent"]) == ("error", True) and "HTTP 404" in event["message"]


def test_trigger_tolerates_transient_poll_errors(emulator: Any) -> None:
    job_id = OVHCloudAITrainingHook().submit_job(image="i")["id"]
    emulator.fail_next(8, status=503, path=f"/v1/job/{job_id}")  # two polls' worth of client retries
    (event,) = run_trigger(OVHCloudAITrainingJobTrigger(job_id, check_interval=0))
    assert event["status"] == "success"


def test_trigger_on_kill_stops_the_job(emulator: Any) -> None:
    job_id = OVHCloudAITrainingHook().submit_job(image="i")["id"]
    asyncio.run(OVHCloudAITrainingJobTrigger(job_id, stop_on_kill=False).on_kill())
    assert emulator.requests_to("/kill") == []
    asyncio.run(OVHCloudAITrainingJobTrigger(job_id).on_kill())
    assert len(emulator.requests_to(f"/v1/job/{job_id}/kill")) == 1


def test_labels_find_the_earlier_job_on_every_airflow_version(emulator: Any) -> None:
    operator = OVHCloudAITrainingSubmitJobOperator(task_id="train", image="pytorch/pytorch:latest")
    first = operator.execute({"ti": StubTaskInstance()})  # type: ignore[arg-type]
    again = operator.execute({"ti": StubTaskInstance()})  # type: ignore[arg-type]
    assert again["id"] == first["id"] and emulator.submitted_jobs == 1

    other_index = operator.execute({"ti": StubTaskInstance(map_index=2)})  # type: ignore[arg-type]
    assert other_index["id"] != first["id"] and emulator.submitted_jobs == 2

    emulator.finish_job(first["id"], "FAILED")
    fresh = operator.execute({"ti": StubTaskInstance()})  # type: ignore[arg-type]
    assert fresh["id"] != first["id"] and emulator.submitted_jobs == 3
    lookup = emulator.requests_to("/v1/job", method="GET")[0]
    assert lookup.query["labelSelector"][0].startswith("airflow-run-key=")
