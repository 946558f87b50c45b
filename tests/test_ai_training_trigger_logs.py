"""The trigger's side of issue 13: job log lines while deferred, a trigger re-created elsewhere, old kwargs."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator
from typing import Any, cast

import pytest

from airflow_ovhcloud.hooks.ai_training import OVHCloudAITrainingHook
from airflow_ovhcloud.triggers.ai_training import OVHCloudAITrainingJobTrigger
from airflow_ovhcloud.utils.joblog import cursor_label

LINES = [f"batch {i}" for i in range(12)]


async def run_for(trigger: OVHCloudAITrainingJobTrigger, seconds: float) -> dict[str, Any] | None:
    """Run a trigger until its event, or stop it after ``seconds`` as a dying triggerer would."""
    events = cast("AsyncGenerator[Any, None]", trigger.run())
    try:
        event = await asyncio.wait_for(events.__anext__(), seconds)
    except (asyncio.TimeoutError, TimeoutError):
        return None
    finally:
        await events.aclose()
    return event.payload


def printed(out: str, job_id: str) -> list[str]:
    return [m.split(" ", 1)[1] for m in re.findall(rf"\[job {re.escape(job_id)}\] (\S+ batch \d+)", out)]


def test_a_trigger_recreated_on_another_triggerer_prints_no_line_twice(
    emulator: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.log_lines_per_step = 2
    emulator.script_job(logs=LINES)
    job_id = OVHCloudAITrainingHook().submit_job(image="i")["id"]
    label = cursor_label("dag\x1ftask\x1frun\x1f-1")
    first = OVHCloudAITrainingJobTrigger(job_id, check_interval=0.1, log_job_output=True, log_cursor_label=label)
    _, kwargs = first.serialize()  # what the database keeps: the kwargs of the deferral, no progress

    assert asyncio.run(run_for(first, 0.75)) is None  # the first triggerer dies mid-way
    before = printed(capsys.readouterr().out, job_id)
    assert 0 < len(before) < len(LINES)
    assert emulator.job(job_id)["spec"]["labels"][label] == str(len(before))  # the cursor, on the job

    second = OVHCloudAITrainingJobTrigger(**kwargs)  # another triggerer re-creates it from the same kwargs
    event = asyncio.run(run_for(second, 30))
    assert event is not None and event["status"] == "success"
    after = printed(capsys.readouterr().out, job_id)
    assert before + after == LINES  # no repeat, no gap


def test_a_trigger_serialized_by_the_previous_version_still_runs(emulator: Any) -> None:
    job_id = OVHCloudAITrainingHook().submit_job(image="i")["id"]
    old = {  # the kwargs 0.2 stored, before log_job_output existed
        "job_id": job_id,
        "ovh_conn_id": "ovh_ai_training_default",
        "region": None,
        "target_states": None,
        "failure_states": None,
        "check_interval": 0,
        "timeout": 60,
        "deadline": None,
        "stop_on_kill": True,
    }
    trigger = OVHCloudAITrainingJobTrigger(**old)
    assert trigger.log_job_output is False and trigger.max_log_lines_per_poll == 1000
    assert asyncio.run(run_for(trigger, 30)) == {"status": "success", "job_id": job_id, "state": "DONE"}
    assert emulator.requests_to("/log") == []
    _, kwargs = trigger.serialize()
    assert OVHCloudAITrainingJobTrigger(**kwargs).serialize()[1] == kwargs


def test_a_failed_job_shows_its_last_lines_before_the_failure(
    emulator: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.script_job(final_state="FAILED", logs=["Traceback (most recent call last):", "CUDA out of memory"])
    job_id = OVHCloudAITrainingHook().submit_job(image="i")["id"]
    event = asyncio.run(run_for(OVHCloudAITrainingJobTrigger(job_id, check_interval=0, log_job_output=True), 30))
    assert event is not None and event["status"] == "failure"
    out = capsys.readouterr().out
    assert out.count("CUDA out of memory") == 1 and f"[job {job_id}]" in out


def test_an_unreadable_log_does_not_fail_the_wait(emulator: Any, capsys: pytest.CaptureFixture[str]) -> None:
    emulator.script_job(logs=["one", "two"])
    job_id = OVHCloudAITrainingHook().submit_job(image="i")["id"]
    emulator.fail_next(8, status=503, path="/log", retry_after=0)  # two polls' worth of client retries
    trigger = OVHCloudAITrainingJobTrigger(job_id, check_interval=0, log_job_output=True)
    assert asyncio.run(run_for(trigger, 30))["status"] == "success"  # type: ignore[index]
    out = capsys.readouterr().out
    assert "Could not read the log" in out
    assert [line.split(" ", 1)[1] for line in re.findall(rf"\[job {job_id}\] (\S+ \w+)", out)] == ["one", "two"]


@pytest.mark.parametrize(
    ("status", "message"), [(403, "this token may read jobs only"), (400, "a job has at most 50 labels")]
)
def test_a_refused_cursor_label_warns_once_and_the_wait_goes_on(
    status: int, message: str, emulator: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.log_lines_per_step = 2
    emulator.script_job(logs=LINES)
    job_id = OVHCloudAITrainingHook().submit_job(image="i", labels={f"team-{i}": "x" for i in range(50)})["id"]
    emulator.fail_next(1000, status=status, path="/label", message=message)
    label = cursor_label("dag\x1ftask\x1frun\x1f-1")
    trigger = OVHCloudAITrainingJobTrigger(job_id, check_interval=0.01, log_job_output=True, log_cursor_label=label)
    event = asyncio.run(run_for(trigger, 30))
    assert event is not None and event["status"] == "success"  # the wait went on
    out = capsys.readouterr().out
    assert printed(out, job_id) == LINES  # within one process the cursor still holds: each line once
    assert out.count("Could not save the log position") == 1  # one warning, not one per poll
    assert "may be printed again" in out and message in out
    assert len(emulator.requests_to(f"/v1/job/{job_id}/label")) == 1  # not asked again after the refusal
    emulator.clear_faults()


def test_a_multi_line_secret_printed_over_several_polls_is_masked(
    emulator: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    key_lines = ["MIIEvQIBADANBgkqhkiG9w0B", "AQEFAASCBKcwggSjAgEAAoIB"]
    secret = "\n".join(["-----BEGIN PRIVATE KEY-----", *key_lines, "-----END PRIVATE KEY-----"])
    emulator.log_lines_per_step = 1  # each line of the key in its own poll
    emulator.script_job(logs=["loading key:", *secret.splitlines(), f"token {emulator.token}", "done"])
    job_id = OVHCloudAITrainingHook().submit_job(image="i", env_vars={"SSH_KEY": secret})["id"]
    event = asyncio.run(run_for(OVHCloudAITrainingJobTrigger(job_id, check_interval=0, log_job_output=True), 30))
    assert event is not None and event["status"] == "success"
    out = capsys.readouterr().out
    assert f"[job {job_id}]" in out and "done" in out
    for piece in [*key_lines, emulator.token]:
        assert piece not in out
    assert "token ***" in out  # the connection's token too


def test_the_blocking_wait_also_warns_once_when_the_label_is_refused(
    emulator: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.log_lines_per_step = 3
    emulator.script_job(logs=LINES)
    hook = OVHCloudAITrainingHook()
    job_id = hook.submit_job(image="i")["id"]
    emulator.fail_next(1000, status=403, path="/label")
    label = cursor_label("dag\x1fblocking\x1frun\x1f-1")
    job = hook.wait_for_job(job_id, check_interval=0, log_job_output=True, log_cursor_label=label)
    assert job["status"]["state"] == "DONE"
    out = capsys.readouterr().out
    assert out.count("Could not save the log position") == 1
    assert printed(out, job_id) == LINES
    assert len(emulator.requests_to(f"/v1/job/{job_id}/label")) == 1
    emulator.clear_faults()
