"""Data sync and restart of AI Training jobs: hook, emulator and operators (dag.test) over real HTTP."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_ovhcloud.exceptions import (
    OVHCloudAIClientError,
    OVHCloudAIDataSyncFailedError,
    OVHCloudAIInvalidArgumentError,
    OVHCloudAIInvalidInputError,
    OVHCloudAIJobTimeoutError,
    OVHCloudAIRequestError,
)
from airflow_ovhcloud.hooks.ai_training import OVHCloudAITrainingHook
from airflow_ovhcloud.operators.ai_training import (
    OVHCloudAITrainingDataSyncOperator,
    OVHCloudAITrainingRestartJobOperator,
)
from airflow_ovhcloud.testing.dagrun import parse_dags, run_dag
from airflow_ovhcloud.utils.datasync import check_direction, check_volume_id

FILE = "training_datasync_dags.py"
IMAGE = "pytorch/pytorch:latest"
OUTPUTS = {"mountPath": "/workspace/outputs", "permission": "RW", "dataStore": {"alias": "GRA", "container": "ckpt"}}
INPUTS = {"mountPath": "/workspace/data", "permission": "RO", "dataStore": {"alias": "GRA", "container": "data"}}


def running_job(emulator: Any, hook: OVHCloudAITrainingHook) -> dict[str, Any]:
    """A job held in RUNNING (until released), with a read-only input and a read-write output volume."""
    emulator.script_job(stick_in="RUNNING")
    job = hook.submit_job(image=IMAGE, volumes=[INPUTS, OUTPUTS])
    return hook.wait_for_job(job["id"], target_states=["RUNNING"], check_interval=0)


def sync_posts(emulator: Any) -> list[Any]:
    return emulator.requests_to("/datasync", method="POST")


def dags_module() -> Any:
    return next(m for name, m in sys.modules.items() if name.endswith("training_datasync_dags"))


# ------------------------------------------------------------------------------------ hook: data sync


def test_push_starts_a_sync_of_the_rw_volumes_and_waits_until_done(emulator: Any) -> None:
    hook = OVHCloudAITrainingHook()
    job = running_job(emulator, hook)

    sync = hook.sync_job_data(job["id"])
    assert sync["status"]["state"] == "QUEUED" and sync["spec"] == {"direction": "push", "manual": True}
    assert sync_posts(emulator)[0].body == {"direction": "push", "manual": True}

    done = hook.wait_for_data_sync(job["id"], sync["id"], check_interval=0)
    assert done["id"] == sync["id"] and done["status"]["state"] == "DONE"
    assert done["status"]["info"]["code"] == "DATASYNC_DONE" and done["status"]["endedAt"]
    # push covers the RW volume only; every file of it went out
    (progress,) = done["status"]["progress"]
    assert progress["info"] == "ckpt@GRA" and progress["completed"] == progress["total"] > 0
    # the job lists it, the emulator records it, and the job itself kept RUNNING
    assert hook.list_job_data_syncs(job["id"]) == [hook.get_job_data_sync(job["id"], sync["id"])]
    assert [s["status"]["state"] for s in emulator.data_syncs(job["id"])] == ["DONE"]
    assert emulator.job(job["id"])["status"]["state"] == "RUNNING"


def test_pull_of_one_volume_sends_its_id(emulator: Any) -> None:
    hook = OVHCloudAITrainingHook()
    job = running_job(emulator, hook)
    volume_id = job["status"]["volumes"][0]["id"]

    sync = hook.sync_job_data(job["id"], direction="PULL", volume=volume_id, manual=None)
    assert sync_posts(emulator)[0].body == {"direction": "pull", "volume": volume_id}
    done = hook.wait_for_data_sync(job["id"], sync["id"], check_interval=0)
    assert [p["info"] for p in done["status"]["progress"]] == ["data@GRA"]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"direction": "sideways"}, "direction='sideways' is not a data sync direction: use 'push'"),
        ({"direction": None}, "direction=None is not a data sync direction"),
        ({"volume": "../other-job"}, "Invalid volume id '../other-job'"),
        ({"volume": "a b"}, "Invalid volume id 'a b'"),
        ({"manual": "yes"}, "manual must be True or False"),
    ],
)
def test_bad_arguments_fail_before_any_request(emulator: Any, kwargs: dict[str, Any], expected: str) -> None:
    hook = OVHCloudAITrainingHook()
    with pytest.raises(OVHCloudAIInvalidInputError, match="^" + re.escape(expected)):
        hook.sync_job_data("0b4e4a7c-job", **kwargs)
    with pytest.raises(OVHCloudAIInvalidInputError, match="Invalid AI Training job id"):
        hook.sync_job_data("../v1/job")
    with pytest.raises(OVHCloudAIInvalidInputError, match="Invalid data sync id"):
        hook.wait_for_data_sync("0b4e4a7c-job", "x/y")
    assert emulator.journal == []


def test_unknown_volume_is_refused_by_the_service_with_its_message(emulator: Any) -> None:
    hook = OVHCloudAITrainingHook()
    job = running_job(emulator, hook)
    with pytest.raises(OVHCloudAIClientError) as caught:
        hook.sync_job_data(job["id"], volume="no-such-volume")
    assert caught.value.http_status == 400
    assert f"Job {job['id']} has no volume no-such-volume" in str(caught.value)
    # pushing a read-only volume is refused too (an emulator choice, documented)
    with pytest.raises(OVHCloudAIClientError, match="is read-only: only RW or RWD volumes can be pushed"):
        hook.sync_job_data(job["id"], volume=job["status"]["volumes"][0]["id"])
    assert emulator.data_syncs(job["id"]) == []


def test_a_job_that_is_not_running_gets_409_explained(emulator: Any) -> None:
    hook = OVHCloudAITrainingHook()
    job = hook.submit_job(image=IMAGE)  # QUEUED
    with pytest.raises(OVHCloudAIRequestError) as caught:
        hook.sync_job_data(job["id"])
    message = str(caught.value)
    assert caught.value.http_status == 409 and not isinstance(caught.value, OVHCloudAIClientError)
    assert message.startswith(f"Cannot start a data sync of AI Training job {job['id']}: HTTP 409 Conflict (")
    assert "a data sync can only be started on a RUNNING job" in message  # the service's own words
    assert "Only a job that is RUNNING allows it; it is INITIALIZING." in message
    assert "target_states=['RUNNING']" in message and "FINALIZING" in message

    # an ended job: its RW volumes were pushed in FINALIZING already
    finished = hook.wait_for_job(job["id"], check_interval=0)
    with pytest.raises(
        OVHCloudAIRequestError, match=re.escape("allows it; it is DONE. Wait for the job to be RUNNING")
    ):
        hook.sync_job_data(finished["id"])


def test_unknown_job_is_404_with_the_job_hint(emulator: Any) -> None:
    hook = OVHCloudAITrainingHook()
    with pytest.raises(OVHCloudAIClientError) as caught:
        hook.sync_job_data("5d1c2a8e-0000-4000-8000-000000000000")
    assert caught.value.http_status == 404
    assert "Job '5d1c2a8e-0000-4000-8000-000000000000' was not found in region 'gra'" in str(caught.value)
    with pytest.raises(OVHCloudAIClientError, match="HTTP 404"):
        hook.restart_job("5d1c2a8e-0000-4000-8000-000000000000")


def test_the_token_never_appears_in_a_sync_or_restart_error(emulator: Any) -> None:
    hook = OVHCloudAITrainingHook()
    job = running_job(emulator, hook)
    echo = json.dumps({"message": f"conflict for Bearer {emulator.token} on this job"})
    emulator.fail_next(4, 409, path="/datasync", body=echo, content_type="application/json")
    with pytest.raises(OVHCloudAIRequestError) as caught:
        hook.sync_job_data(job["id"])
    assert emulator.token not in str(caught.value) and "conflict for Bearer ***" in str(caught.value)
    assert emulator.token not in (caught.value.service_message or "")

    emulator.fail_next(4, 409, path="/start", body=echo, content_type="application/json")
    with pytest.raises(OVHCloudAIRequestError) as restart:
        hook.restart_job(job["id"])
    assert emulator.token not in str(restart.value) and "Cannot restart AI Training job" in str(restart.value)


def test_a_failed_sync_fails_the_wait_with_the_service_message_and_progress(emulator: Any) -> None:
    hook = OVHCloudAITrainingHook()
    job = running_job(emulator, hook)
    emulator.script_data_sync(final_state="FAILED", info_message="Access denied to container ckpt")
    sync = hook.sync_job_data(job["id"])
    with pytest.raises(OVHCloudAIDataSyncFailedError) as caught:
        hook.wait_for_data_sync(job["id"], sync["id"], check_interval=0)
    assert str(caught.value).startswith(
        f"Data sync {sync['id']} (push of every volume) of AI Training job {job['id']} ended FAILED: "
        "Access denied to container ckpt (4/4 files, 0.5 MB, 2 failed). Check the job's volumes"
    )
    assert caught.value.state == "FAILED" and caught.value.data_sync["id"] == sync["id"]


def test_a_job_leaving_running_interrupts_its_sync(emulator: Any) -> None:
    hook = OVHCloudAITrainingHook()
    job = running_job(emulator, hook)
    sync = hook.sync_job_data(job["id"])
    emulator.set_job(job["id"], stick_in=None)  # the job's code ends: RUNNING → FINALIZING at the next poll
    with pytest.raises(OVHCloudAIDataSyncFailedError, match="ended INTERRUPTED: The job left RUNNING"):
        hook.wait_for_data_sync(job["id"], sync["id"], check_interval=0)


def test_waiting_for_a_sync_times_out_with_its_last_state(emulator: Any) -> None:
    hook = OVHCloudAITrainingHook()
    job = running_job(emulator, hook)
    sync = hook.sync_job_data(job["id"])
    with pytest.raises(OVHCloudAIJobTimeoutError) as caught:
        hook.wait_for_data_sync(job["id"], sync["id"], check_interval=0, timeout=0)
    assert str(caught.value) == (
        f"Timeout waiting for data sync {sync['id']} of AI Training job {job['id']} after 0 s (last state: "
        "RUNNING). The sync may still be running: wait longer (timeout) or check the job's status.dataSync."
    )


def test_a_sync_the_job_never_lists_is_an_error(emulator: Any) -> None:
    hook = OVHCloudAITrainingHook()
    job = running_job(emulator, hook)
    with pytest.raises(OVHCloudAIRequestError, match=re.escape("lists no data sync 4f2a in status.dataSync")):
        hook.get_job_data_sync(job["id"], "4f2a")
    emulator.finish_job(job["id"])
    with pytest.raises(OVHCloudAIDataSyncFailedError, match="ended \\(DONE\\) without listing data sync 4f2a"):
        hook.wait_for_data_sync(job["id"], "4f2a", check_interval=0)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=40), st.none(), st.integers(), st.binary(max_size=8)))
def test_direction_and_volume_checks_accept_or_refuse_cleanly(value: Any) -> None:
    """Whatever a user passes, the checks answer a clean value or the documented error, nothing else."""
    try:
        assert check_direction(value) in ("push", "pull")
        assert isinstance(value, str) and value.strip().lower() in ("push", "pull")
    except OVHCloudAIInvalidInputError as exc:
        assert "is not a data sync direction" in str(exc)
    try:
        checked = check_volume_id(value)
    except OVHCloudAIInvalidInputError as exc:
        assert str(exc).startswith("Invalid volume id")
    else:
        assert checked is None if value is None else (checked == value.strip() and re.fullmatch(r"[\w.:~-]+", checked))


# ------------------------------------------------------------------------------------- hook: restart


def test_restart_runs_an_ended_job_again(emulator: Any) -> None:
    hook = OVHCloudAITrainingHook()
    emulator.script_job(final_state="FAILED", exit_code=2)
    job_id = hook.submit_job(image=IMAGE)["id"]
    with pytest.raises(Exception, match="FAILED"):
        hook.wait_for_job(job_id, check_interval=0)

    emulator.set_job(job_id, final_state="DONE", exit_code=None)  # the fix is in: the next run succeeds
    restarted = hook.restart_job(job_id, check_interval=0)
    # the new run (the emulator's poll already moved it on from QUEUED), never the old FAILED
    assert restarted["id"] == job_id and restarted["status"]["state"] == "INITIALIZING"
    assert len(emulator.requests_to(f"/v1/job/{job_id}/start", method="PUT")) == 1
    done = hook.wait_for_job(job_id, check_interval=0)
    assert done["status"]["state"] == "DONE" and done["status"]["exitCode"] == 0
    assert [h["state"] for h in done["status"]["history"]].count("QUEUED") == 2


def test_restarting_a_running_job_gets_409_explained(emulator: Any) -> None:
    hook = OVHCloudAITrainingHook()
    job = running_job(emulator, hook)
    with pytest.raises(OVHCloudAIRequestError) as caught:
        hook.restart_job(job["id"])
    assert str(caught.value).startswith(f"Cannot restart AI Training job {job['id']}: HTTP 409 Conflict (")
    assert "only an ended job can be restarted" in str(caught.value)
    assert "Only a job that is DONE or FAILED or ERROR or INTERRUPTED or SYNC_FAILED allows it; it is RUNNING." in str(
        caught.value
    )


def test_a_restart_refused_with_400_is_explained_and_permanent(emulator: Any) -> None:
    """OVHcloud's generated client documents 400 (not 409) for ``PUT .../start``: both are explained."""
    hook = OVHCloudAITrainingHook()
    job = running_job(emulator, hook)
    emulator.fail_next(1, 400, path="/start", body='{"message": "job is not stopped"}', content_type="application/json")
    with pytest.raises(OVHCloudAIClientError) as caught:  # permanent: no Airflow retry of the same mistake
        hook.restart_job(job["id"])
    assert str(caught.value).startswith(
        f"Cannot restart AI Training job {job['id']}: HTTP 400 Bad Request (job is not stopped). Only a job that is "
        "DONE or FAILED"
    )
    assert caught.value.http_status == 400


# ------------------------------------------------------------------------------------------ emulator


def test_ovhai_client_reads_the_emulators_data_syncs_and_restarts(emu: Any) -> None:
    """OVHcloud's own generated client (``ovhai``) starts a sync and a restart; its models know every field."""
    pytest.importorskip("ovhai.models")
    from ovhai import AuthenticatedClient
    from ovhai.api.job import job_data_sync, job_get, job_kill, job_new, job_start
    from ovhai.models.data_sync_spec import DataSyncSpec
    from ovhai.models.data_sync_spec_direction import DataSyncSpecDirection
    from ovhai.models.job_spec import JobSpec

    from tests.test_emulator_contract import _unknown_fields

    client = AuthenticatedClient(base_url=emu.training_url, token=emu.token, raise_on_unexpected_status=True)
    emu.script_job(stick_in="RUNNING")
    job = job_new.sync(client=client, body=JobSpec.from_dict({"image": IMAGE, "volumes": [INPUTS, OUTPUTS]}))
    assert job is not None
    emu.advance_job(job.id, 3)
    body = DataSyncSpec(direction=DataSyncSpecDirection.PUSH, manual=True)
    sync = job_data_sync.sync(job.id, client=client, body=body)
    assert sync is not None and sync.status.state == "QUEUED" and not list(_unknown_fields(sync, "sync"))
    for _ in range(2):
        polled = job_get.sync(client=client, id=job.id)
    assert polled is not None and not list(_unknown_fields(polled, "job"))
    (listed,) = polled.status.data_sync
    assert (listed.id, listed.status.state, listed.spec.direction) == (sync.id, "DONE", "push")
    (progress,) = listed.status.progress
    assert (progress.info, progress.data_sync_id, progress.completed) == ("ckpt@GRA", sync.id, progress.total)

    assert job_kill.sync_detailed(job.id, client=client).status_code == 204
    emu.advance_job(job.id, 2)
    assert job_start.sync_detailed(job.id, client=client).status_code == 204
    assert emu.job(job.id)["status"]["state"] == "QUEUED"


def test_emulator_datasync_route_checks_its_body_and_advances_with_polls(emu: Any, http: requests.Session) -> None:
    emu.script_job(stick_in="RUNNING")
    base = emu.training_url + "/v1/job"
    job_id = http.post(base, json={"image": IMAGE, "volumes": [OUTPUTS]}).json()["id"]
    assert http.post(f"{base}/{job_id}/datasync", json={"direction": "push"}).status_code == 409
    emu.advance_job(job_id, 3)
    for body, message in [
        ({"direction": "up"}, "direction must be push or pull, not 'up'"),
        ({"direction": "push", "volume": 3}, "volume must be a volume id"),
        ({"direction": "push", "manual": "y"}, "manual must be true or false"),
        ({"direction": "push", "force": True}, "Unknown data sync field 'force'"),
        (["push"], "The request body must be"),
    ]:
        answer = http.post(f"{base}/{job_id}/datasync", json=body)
        assert answer.status_code == 400 and message in answer.json()["message"], body
    sync = http.post(f"{base}/{job_id}/datasync", json={"direction": "push"}).json()
    states = [http.get(f"{base}/{job_id}").json()["status"]["dataSync"][0]["status"]["state"] for _ in range(3)]
    assert states == ["RUNNING", "DONE", "DONE"]
    assert emu.data_syncs(job_id)[0]["id"] == sync["id"]
    with pytest.raises(KeyError):
        emu.data_syncs("unknown")
    with pytest.raises(ValueError, match="final_state must be one of DONE, FAILED, ERROR, INTERRUPTED"):
        emu.script_data_sync(final_state="SYNC_FAILED")


def test_emulator_syncs_advance_by_time_in_time_mode(emu: Any, http: requests.Session) -> None:
    emu.script_job(stick_in="RUNNING")
    base = emu.training_url + "/v1/job"
    job_id = http.post(base, json={"image": IMAGE, "volumes": [OUTPUTS]}).json()["id"]
    emu.advance_job(job_id, 3)
    emu.job_progress, emu.job_step_seconds = "time", 0  # every due step at once
    http.post(f"{base}/{job_id}/datasync", json={"direction": "push"})
    assert emu.data_syncs(job_id)[0]["status"]["state"] == "DONE"


def test_the_control_client_scripts_and_reads_data_syncs(emu: Any, http: requests.Session) -> None:
    """A standalone emulator (another process) is scripted the same way, through ``/_emulator``."""
    import inspect

    from airflow_ovhcloud.testing.emulator.control.client import EmulatorClient

    client = EmulatorClient(emu.url)
    for name in ("script_data_sync", "data_syncs"):
        ours, theirs = (inspect.signature(getattr(cls, name)).parameters for cls in (EmulatorClient, type(emu)))
        assert [(p.name, p.default) for p in ours.values()] == [(p.name, p.default) for p in theirs.values()]
    emu.script_job(stick_in="RUNNING")
    job_id = http.post(emu.training_url + "/v1/job", json={"image": IMAGE, "volumes": [OUTPUTS]}).json()["id"]
    client.advance_job(job_id, 3)
    client.script_data_sync(final_state="FAILED", info_message="quota exceeded")
    http.post(f"{emu.training_url}/v1/job/{job_id}/datasync", json={"direction": "push"})
    for _ in range(2):
        http.get(f"{emu.training_url}/v1/job/{job_id}")
    (sync,) = client.data_syncs(job_id)
    assert sync["status"]["state"] == "FAILED" and sync["status"]["info"]["message"] == "quota exceeded"
    with pytest.raises(KeyError):
        client.data_syncs("unknown-job")


# ---------------------------------------------------------------------------------- operators (DAGs)


def test_operator_arguments_are_checked_when_the_dag_is_parsed() -> None:
    sync = OVHCloudAITrainingDataSyncOperator(task_id="s", job_id="j")
    assert (sync.direction, sync.volume, sync.wait_for_completion, sync.check_interval, sync.timeout) == (
        "push",
        None,
        False,
        10,
        3600,
    )
    assert tuple(sync.template_fields) == ("job_id", "direction", "volume")
    restart = OVHCloudAITrainingRestartJobOperator(task_id="r", job_id="j")
    assert (restart.wait_for_completion, restart.wait_timeout, restart.stop_on_kill) == (False, 3600, True)
    assert tuple(restart.template_fields) == ("job_id",)
    with pytest.raises(OVHCloudAIInvalidArgumentError, match="check_interval must be a finite number ≥ 0"):
        OVHCloudAITrainingDataSyncOperator(task_id="s", job_id="j", check_interval=-1)
    with pytest.raises(OVHCloudAIInvalidArgumentError, match="direction='up' is not a data sync direction"):
        OVHCloudAITrainingDataSyncOperator(task_id="s", job_id="j", direction="up")
    with pytest.raises(OVHCloudAIInvalidArgumentError, match="Invalid volume id"):
        OVHCloudAITrainingDataSyncOperator(task_id="s", job_id="j", volume="a/b")
    templated = OVHCloudAITrainingDataSyncOperator(task_id="t", job_id="j", direction="{{ params.d }}")
    assert templated.direction == "{{ params.d }}"  # checked when the task runs, once rendered
    with pytest.raises(OVHCloudAIInvalidArgumentError, match="wait_for_completion must be True or False"):
        OVHCloudAITrainingRestartJobOperator(task_id="r", job_id="j", wait_for_completion="yes")

    import airflow_ovhcloud.operators as package

    assert package.OVHCloudAITrainingDataSyncOperator is OVHCloudAITrainingDataSyncOperator
    assert package.OVHCloudAITrainingRestartJobOperator is OVHCloudAITrainingRestartJobOperator


def test_push_dag_checkpoints_a_running_job_then_waits_for_its_end(emulator: Any, load_dag: Any) -> None:
    emulator.script_job(stick_in="RUNNING")
    dag = load_dag(FILE, "test_training_datasync_push")
    hooks = dags_module().BETWEEN_HOOKS
    hooks.append(lambda job_id: emulator.set_job(job_id, stick_in=None))  # the job's code finishes
    try:
        result = run_dag(dag)
    finally:
        hooks.clear()

    assert result.state == "success", result.task_states
    (job_id,) = emulator.jobs
    pushed = result.value("push")
    assert pushed["status"]["state"] == "DONE" and pushed["spec"]["direction"] == "push"  # rendered template
    assert [p["info"] for p in pushed["status"]["progress"]] == ["checkpoints@GRA"]
    (post,) = sync_posts(emulator)
    assert post.path == f"/v1/job/{job_id}/datasync" and post.body == {"direction": "push", "manual": True}
    final = result.value("done")
    assert final["status"]["state"] == "DONE"
    assert [s["id"] for s in final["status"]["dataSync"]] == [pushed["id"]]


def test_a_failed_push_fails_the_task_with_the_reason(
    emulator: Any, load_dag: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.script_job(stick_in="RUNNING")
    emulator.script_data_sync(final_state="ERROR", info_message="Container ckpt does not exist")
    result = run_dag(load_dag(FILE, "test_training_datasync_failure"), expect_failure=True)
    assert result.task_states[("running", -1)] == "success"
    assert result.task_states[("push", -1)] == "failed"
    assert "ended ERROR: Container ckpt does not exist" in (result.error("push") or "")


def test_restart_dag_reruns_a_finished_job_blocking_and_deferred(emulator: Any, load_dag: Any) -> None:
    result = run_dag(load_dag(FILE, "test_training_restart"))
    assert result.state == "success", result.task_states
    (job_id,) = emulator.jobs
    assert emulator.submitted_jobs == 1
    assert len(emulator.requests_to(f"/v1/job/{job_id}/start", method="PUT")) == 2
    for task_id in ("restart", "restart_deferred"):
        assert result.value(task_id)["id"] == job_id and result.value(task_id)["status"]["state"] == "DONE"
    history = [h["state"] for h in emulator.job(job_id)["status"]["history"]]
    assert history.count("QUEUED") == 3 and history[-1] == "DONE"


def test_a_retried_restart_waits_for_the_run_it_started(
    emulator: Any, load_dag: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    dag = load_dag(FILE, "test_training_restart_retry")
    module = dags_module()
    module.BETWEEN_HOOKS.append(lambda job_id: emulator.set_job(job_id, stick_in="RUNNING"))
    module.RETRY_HOOKS.append(lambda context: [emulator.set_job(j, stick_in=None) for j in emulator.jobs])
    try:
        result = run_dag(dag, poll_interval=None)  # the DAG's own 0.05 s, so the 0.5 s timeout is reached
    finally:
        module.BETWEEN_HOOKS.clear()
        module.RETRY_HOOKS.clear()

    assert result.state == "success", result.task_states
    (job_id,) = emulator.jobs
    assert len(emulator.requests_to(f"/v1/job/{job_id}/start", method="PUT")) == 1  # not restarted twice
    assert result.value("restart")["status"]["state"] == "DONE"
    out = capsys.readouterr().out
    assert f"Timeout waiting for AI Training job {job_id}" in out  # the first try gave up...
    assert re.search(f"AI Training job {job_id} is [A-Z]+: an earlier try of this task restarted it", out)


# ------------------------------------------------------------------------------------ sync_on_success

REFUSED_DAG = """
import pendulum
from airflow.sdk import DAG, task

with DAG("sync_on_success_refused", start_date=pendulum.datetime(2024, 1, 1), schedule=None):

    @task.ovh_training(image="pytorch/pytorch:latest", sync_on_success=True)
    def train():
        return {"command": ["python", "train.py"]}

    train()
"""


def test_sync_on_success_is_refused_when_the_dag_is_parsed(airflow_db: Any, tmp_path: Path) -> None:
    (tmp_path / "refused.py").write_text(REFUSED_DAG)
    bag = parse_dags(tmp_path / "refused.py")
    (error,) = bag.import_errors.values()
    assert "OVHCloudAIInvalidArgumentError" in error
    assert "@task.ovh_training(sync_on_success=True) is refused: AI Training pushes a job's RW volumes" in error
    assert "OVHCloudAITrainingDataSyncOperator(direction='push', wait_for_completion=True)" in error
    assert not bag.dags

    from airflow.sdk import DAG, task

    with DAG("override_refused", schedule=None):

        @task.ovh_training(image=IMAGE)
        def train() -> dict[str, Any]:
            return {}

        train.override(sync_on_success=False)()  # False is accepted (the default)
        with pytest.raises(OVHCloudAIInvalidArgumentError, match="sync_on_success='yes'\\) is refused"):
            train.override(sync_on_success="yes")()
