"""The emulator speaks OVHcloud AI Training's wire format (``/v1/job...``), proven over real HTTP
with plain ``requests``: strict JobSpec validation, a deterministic lifecycle, kill/delete/restart,
plain-text logs, list filters, and the same faults, auth and journal as AI Endpoints."""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from typing import TYPE_CHECKING, Any

import freezegun
import pytest
import requests

from airflow_ovhcloud.testing import OVHCloudAIEmulator

if TYPE_CHECKING:
    pass

IMAGE = "ovhcom/ai-training-pytorch:2.1.0"
ISO_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")
NORMAL = ["QUEUED", "INITIALIZING", "PENDING", "RUNNING", "FINALIZING", "DONE"]


def submit(http: requests.Session, emu: OVHCloudAIEmulator, **spec: Any) -> requests.Response:
    spec.setdefault("image", IMAGE)
    return http.post(f"{emu.training_url}/v1/job", json=spec, timeout=5)


def new_job(http: requests.Session, emu: OVHCloudAIEmulator, **spec: Any) -> str:
    response = submit(http, emu, **spec)
    assert response.status_code == 200, response.text
    job_id: str = response.json()["id"]
    return job_id


def poll(http: requests.Session, emu: OVHCloudAIEmulator, job_id: str) -> dict[str, Any]:
    response = http.get(f"{emu.training_url}/v1/job/{job_id}", timeout=5)
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()
    return job


def states_by_polls(http: requests.Session, emu: OVHCloudAIEmulator, job_id: str, polls: int = 12) -> list[str]:
    """QUEUED, then the state every poll shows until a terminal one (at most ``polls`` polls)."""
    seen = [emu.job(job_id)["status"]["state"]]
    for _ in range(polls):
        state = poll(http, emu, job_id)["status"]["state"]
        seen.append(state)
        if state in ("DONE", "FAILED", "ERROR", "INTERRUPTED", "SYNC_FAILED"):
            break
    return seen


def put(http: requests.Session, emu: OVHCloudAIEmulator, job_id: str, action: str, **kw: Any) -> requests.Response:
    return http.put(f"{emu.training_url}/v1/job/{job_id}/{action}", timeout=5, **kw)


def list_jobs(http: requests.Session, emu: OVHCloudAIEmulator, **params: Any) -> Any:
    response = http.get(f"{emu.training_url}/v1/job", params=params, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def bad_spec(http: requests.Session, emu: OVHCloudAIEmulator, **spec: Any) -> str:
    response = submit(http, emu, **spec)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"message"}
    message: str = response.json()["message"]
    return message


# ------------------------------------------------------------------------------------ submit/get


def test_submit_answers_a_queued_job_in_the_real_shape(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    spec = {
        "image": IMAGE,
        "name": "train-resnet",
        "command": ["python", "train.py"],
        "envVars": [{"name": "HF_TOKEN", "value": "s3cr3t"}],
        "labels": {"team": "ml", "run": ""},
        "resources": {"gpu": 1, "flavor": "ai1-1-gpu"},
        "volumes": [
            {
                "mountPath": "/workspace/data",
                "permission": "RO",
                "cache": True,
                "dataStore": {"alias": "GRA", "container": "d"},
            },
            {"mountPath": "/workspace/code", "permission": "RO", "publicGit": {"url": "https://github.com/a/b.git"}},
        ],
        "readUser": "reader",
        "shutdown": "unsecure",
    }
    response = http.post(f"{emu.training_url}/v1/job", json=spec, timeout=5)
    assert response.status_code == 200
    job = response.json()
    uuid.UUID(job["id"], version=4)
    assert job["spec"] == spec  # unknown keys and secret env values echoed, like the real service
    assert job["spec"]["envVars"] == [{"name": "HF_TOKEN", "value": "s3cr3t"}]
    assert job["user"] == "emulator-user"
    assert ISO_Z.fullmatch(job["createdAt"]) and ISO_Z.fullmatch(job["updatedAt"])
    status = job["status"]
    assert status["state"] == "QUEUED"
    assert [h["state"] for h in status["history"]] == ["QUEUED"]
    assert ISO_Z.fullmatch(status["history"][0]["date"])
    assert "exitCode" not in status
    assert status["url"] == f"https://{job['id']}.job.gra.ai.cloud.ovh.net"
    assert status["monitoringUrl"] == f"https://monitoring.gra.ai.cloud.ovh.net/d/job?var-job={job['id']}"
    assert set(status["info"]) == {"code", "message"}
    assert status["startedAt"] is None and status["duration"] == 0
    assert emu.submitted_jobs == 1
    assert list(emu.jobs) == [job["id"]]


def test_training_region_shapes_urls_and_connection(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    emu.training_region = "bhs"
    job = submit(http, emu).json()
    assert job["status"]["url"] == f"https://{job['id']}.job.bhs.ai.cloud.ovh.net"
    assert emu.training_connection()["login"] == "bhs"
    assert emu.training_connection(region="gra")["login"] == "gra"
    conn = json.loads(emu.training_connection_json())
    assert conn == {
        "conn_type": "ovhcloud_ai_training",
        "host": emu.training_url,
        "login": "bhs",
        "password": emu.token,
    }


def test_normal_lifecycle_one_step_per_poll(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    job_id = new_job(http, emu)
    assert states_by_polls(http, emu, job_id) == NORMAL
    job = poll(http, emu, job_id)  # terminal: polling again changes nothing
    status = job["status"]
    assert status["state"] == "DONE"
    assert status["exitCode"] == 0
    assert [h["state"] for h in status["history"]] == NORMAL
    for key in ("queuedAt", "initializingAt", "startedAt", "stoppedAt", "finalizedAt", "lastTransitionDate"):
        assert ISO_Z.fullmatch(status[key]), key
    assert isinstance(status["duration"], int)
    assert job["updatedAt"] == status["lastTransitionDate"]
    assert emu.job(job_id) == job


def test_reading_through_the_api_helpers_or_the_list_never_advances(
    http: requests.Session, emu: OVHCloudAIEmulator
) -> None:
    job_id = new_job(http, emu)
    for _ in range(3):
        emu.job(job_id)
        assert emu.jobs[job_id]["status"]["state"] == "QUEUED"
        list_jobs(http, emu)
    assert poll(http, emu, job_id)["status"]["state"] == "INITIALIZING"


@pytest.mark.parametrize(
    ("final_state", "path", "exit_code"),
    [
        ("FAILED", ["QUEUED", "INITIALIZING", "PENDING", "RUNNING", "FINALIZING", "FAILED"], 1),
        ("ERROR", ["QUEUED", "INITIALIZING", "ERROR"], 1),
        ("SYNC_FAILED", ["QUEUED", "INITIALIZING", "PENDING", "RUNNING", "FINALIZING", "SYNC_FAILED"], 0),
        (
            "TIMEOUT",
            ["QUEUED", "INITIALIZING", "PENDING", "RUNNING", "TIMEOUT", "INTERRUPTING", "FINALIZING", "INTERRUPTED"],
            143,
        ),
        ("DONE", NORMAL, 0),
    ],
)
def test_scripted_endings(
    http: requests.Session, emu: OVHCloudAIEmulator, final_state: str, path: list[str], exit_code: int
) -> None:
    emu.script_job(final_state=final_state)
    job_id = new_job(http, emu)
    assert states_by_polls(http, emu, job_id) == path
    assert emu.job(job_id)["status"]["exitCode"] == exit_code


def test_scripted_exit_code_and_info_message(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    emu.script_job(final_state="FAILED", exit_code=137, info_message="CUDA out of memory")
    job_id = new_job(http, emu)
    states_by_polls(http, emu, job_id)
    status = emu.job(job_id)["status"]
    assert (status["state"], status["exitCode"], status["info"]["message"]) == ("FAILED", 137, "CUDA out of memory")


def test_scripts_are_fifo_and_named_ones_wait_for_their_job(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    emu.script_job(final_state="ERROR", name="evaluate")
    emu.script_job(final_state="FAILED")
    first = new_job(http, emu, name="train")  # takes the unnamed FAILED script
    second = new_job(http, emu, name="other")  # nothing left for it: normal DONE
    third = new_job(http, emu, name="evaluate")
    assert states_by_polls(http, emu, first)[-1] == "FAILED"
    assert states_by_polls(http, emu, second)[-1] == "DONE"
    assert states_by_polls(http, emu, third)[-1] == "ERROR"


def test_script_validation() -> None:
    emu = OVHCloudAIEmulator()
    with pytest.raises(ValueError, match="final_state"):
        emu.script_job(final_state="BROKEN")
    with pytest.raises(ValueError, match="stick_in"):
        emu.script_job(final_state="ERROR", stick_in="RUNNING")  # never runs
    with pytest.raises(ValueError, match="stick_in"):
        emu.script_job(stick_in="DONE")


def test_stick_in_holds_the_job_until_killed(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    emu.script_job(stick_in="RUNNING")
    job_id = new_job(http, emu)
    states = [poll(http, emu, job_id)["status"]["state"] for _ in range(6)]
    assert states == ["INITIALIZING", "PENDING", "RUNNING", "RUNNING", "RUNNING", "RUNNING"]
    assert put(http, emu, job_id, "kill").status_code == 204
    assert [poll(http, emu, job_id)["status"]["state"] for _ in range(3)] == [
        "FINALIZING",
        "INTERRUPTED",
        "INTERRUPTED",
    ]


def test_stick_in_released_by_finish_job_set_job_or_advance_job(
    http: requests.Session, emu: OVHCloudAIEmulator
) -> None:
    emu.script_job(stick_in="PENDING")
    emu.script_job(stick_in="PENDING")
    emu.script_job(stick_in="PENDING")
    finished, released, pushed = new_job(http, emu), new_job(http, emu), new_job(http, emu)
    for job_id in (finished, released, pushed):
        for _ in range(4):
            poll(http, emu, job_id)
        assert emu.job(job_id)["status"]["state"] == "PENDING"

    emu.finish_job(finished, "FAILED", exit_code=3, info_message="killed by OOM")
    status = poll(http, emu, finished)["status"]
    assert (status["state"], status["exitCode"], status["info"]["message"]) == ("FAILED", 3, "killed by OOM")
    assert status["history"][-2]["state"] == "PENDING"  # straight there, no intermediate steps
    with pytest.raises(ValueError, match="already ended"):
        emu.finish_job(finished)

    emu.set_job(released, stick_in=None)
    assert states_by_polls(http, emu, released)[1:] == ["RUNNING", "FINALIZING", "DONE"]

    emu.advance_job(pushed, 2)
    assert emu.job(pushed)["status"]["state"] == "FINALIZING"
    emu.advance_job(pushed, 10)  # stops at the end
    assert emu.job(pushed)["status"]["state"] == "DONE"
    with pytest.raises(KeyError):
        emu.advance_job("no-such-job")
    with pytest.raises(ValueError):
        emu.finish_job(pushed, "RUNNING")


def test_set_job_reroutes_a_moving_job(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    job_id = new_job(http, emu)
    poll(http, emu, job_id)
    poll(http, emu, job_id)  # PENDING: not on the ERROR path
    emu.set_job(job_id, final_state="ERROR", info_message="image pull failed")
    status = poll(http, emu, job_id)["status"]
    assert (status["state"], status["info"]["message"]) == ("ERROR", "image pull failed")
    other = new_job(http, emu)
    emu.set_job(other, final_state="SYNC_FAILED", logs=["epoch 1", "epoch 2"])
    assert states_by_polls(http, emu, other)[-1] == "SYNC_FAILED"
    assert [
        line.split(" ", 1)[1]
        for line in http.get(f"{emu.training_url}/v1/job/{other}/log", timeout=5).text.splitlines()
    ] == [
        "epoch 1",
        "epoch 2",
    ]
    with pytest.raises(KeyError):
        emu.set_job("unknown", final_state="DONE")


# ------------------------------------------------------------------------------------ kill/delete/start/label


def test_kill_interrupts_a_running_job(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    job_id = new_job(http, emu)
    for _ in range(3):
        poll(http, emu, job_id)
    response = put(http, emu, job_id, "kill")
    assert response.status_code == 204
    assert response.content == b""
    assert emu.job(job_id)["status"]["state"] == "INTERRUPTING"
    assert [poll(http, emu, job_id)["status"]["state"] for _ in range(2)] == ["FINALIZING", "INTERRUPTED"]
    status = emu.job(job_id)["status"]
    assert [h["state"] for h in status["history"]][-4:] == ["RUNNING", "INTERRUPTING", "FINALIZING", "INTERRUPTED"]
    assert status["exitCode"] == 143
    assert "stopped" in status["info"]["message"]
    assert status["stoppedAt"] == status["history"][-3]["date"]


def test_kill_of_an_ended_job_is_an_idempotent_no_op(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    job_id = new_job(http, emu)
    states_by_polls(http, emu, job_id)
    before = emu.job(job_id)
    assert put(http, emu, job_id, "kill").status_code == 204
    assert put(http, emu, job_id, "kill").status_code == 204
    assert emu.job(job_id) == before
    assert put(http, emu, str(uuid.uuid4()), "kill").status_code == 404


def test_delete(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    done, running, forced = new_job(http, emu), new_job(http, emu), new_job(http, emu)
    states_by_polls(http, emu, done)
    for _ in range(3):
        poll(http, emu, running)
    response = http.delete(f"{emu.training_url}/v1/job/{done}", timeout=5)
    assert (response.status_code, response.content) == (204, b"")
    gone = http.get(f"{emu.training_url}/v1/job/{done}", timeout=5)
    assert gone.status_code == 404
    assert gone.json() == {"message": f"Job {done} not found"}
    assert http.delete(f"{emu.training_url}/v1/job/{done}", timeout=5).status_code == 404

    refused = http.delete(f"{emu.training_url}/v1/job/{running}", timeout=5)
    assert refused.status_code == 400
    assert refused.json() == {"message": f"Job {running} is RUNNING: stop it first or pass force=true"}
    assert running in emu.jobs

    assert http.delete(f"{emu.training_url}/v1/job/{forced}", params={"force": "true"}, timeout=5).status_code == 204
    assert list(emu.jobs) == [running]
    with pytest.raises(KeyError):
        emu.job(forced)
    assert emu.submitted_jobs == 3


def test_restart_and_label(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    job_id = new_job(http, emu, labels={"team": "ml"})
    conflict = put(http, emu, job_id, "start")
    assert conflict.status_code == 409
    assert "QUEUED" in conflict.json()["message"]
    states_by_polls(http, emu, job_id)
    assert put(http, emu, job_id, "start").status_code == 204
    status = emu.job(job_id)["status"]
    assert status["state"] == "QUEUED"
    assert "exitCode" not in status and status["startedAt"] is None
    assert [h["state"] for h in status["history"]] == [*NORMAL, "QUEUED"]
    assert states_by_polls(http, emu, job_id)[-1] == "DONE"

    assert put(http, emu, job_id, "label", json={"name": "stage", "value": "prod"}).status_code == 204
    assert emu.job(job_id)["spec"]["labels"] == {"team": "ml", "stage": "prod"}
    reserved = put(http, emu, job_id, "label", json={"name": "ovh/owner", "value": "x"})
    assert reserved.status_code == 400
    assert "reserved" in reserved.json()["message"]
    assert put(http, emu, job_id, "label", json={"name": "stage"}).status_code == 204  # no value: deleted
    assert emu.job(job_id)["spec"]["labels"] == {"team": "ml"}
    assert put(http, emu, job_id, "label", json={"value": "x"}).status_code == 400


# ------------------------------------------------------------------------------------------ logs


def test_logs_are_plain_text_with_timestamps_and_tail(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    job_id = new_job(http, emu)
    states_by_polls(http, emu, job_id)
    response = http.get(f"{emu.training_url}/v1/job/{job_id}/log", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    with pytest.raises(ValueError):
        json.loads(response.text)
    lines = response.text.splitlines()
    assert len(lines) == len(NORMAL)
    for line, state in zip(lines, NORMAL, strict=True):
        stamp, message = line.split(" ", 1)
        assert ISO_Z.fullmatch(stamp)
        assert message.startswith(f"Job {job_id} entered {state}")
    tail = http.get(f"{emu.training_url}/v1/job/{job_id}/log", params={"tail": 2, "follow": "true"}, timeout=5)
    assert tail.text.splitlines() == lines[-2:]
    page = http.get(f"{emu.training_url}/v1/job/{job_id}/log", params={"page": 2, "size": 4}, timeout=5)
    assert page.text.splitlines() == lines[4:]
    assert http.get(f"{emu.training_url}/v1/job/{job_id}/log", params={"tail": "x"}, timeout=5).status_code == 400
    assert http.get(f"{emu.training_url}/v1/job/nope/log", timeout=5).json() == {"message": "Job nope not found"}


def test_scripted_logs_replace_the_generated_ones(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    emu.script_job(logs=["loading data", "epoch 1 loss=0.5", "saving model"])
    job_id = new_job(http, emu)
    text = http.get(f"{emu.training_url}/v1/job/{job_id}/log", params={"tail": 2}, timeout=5).text
    assert text.endswith("\n")
    stamps, messages = zip(*(line.split(" ", 1) for line in text.splitlines()), strict=True)
    assert list(messages) == ["epoch 1 loss=0.5", "saving model"]
    assert all(ISO_Z.fullmatch(s) for s in stamps)


# ------------------------------------------------------------------------------------------ list


def test_list_filters_sorting_and_pagination(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    emu.script_job(stick_in="RUNNING", name="a")
    a = new_job(http, emu, name="a", labels={"team": "ml", "env": "prod"})
    b = new_job(http, emu, name="b", labels={"team": "ml", "env": "dev"})
    c = new_job(http, emu, name="c", labels={"team": "web"})
    for _ in range(3):
        poll(http, emu, a)  # RUNNING
    states_by_polls(http, emu, b)  # DONE; c stays QUEUED

    page = list_jobs(http, emu)
    assert [j["id"] for j in page["items"]] == [c, b, a]  # newest first by default
    assert page["metadata"] == {"currentPage": 1, "pageCount": 1, "total": 3, "links": {}}
    assert [j["id"] for j in list_jobs(http, emu, order="asc")["items"]] == [a, b, c]
    assert [j["id"] for j in list_jobs(http, emu, sort="name", order="asc")["items"]] == [a, b, c]

    running_or_done = list_jobs(http, emu, statusState=["RUNNING", "DONE"])["items"]
    assert {j["id"] for j in running_or_done} == {a, b}
    assert [j["id"] for j in list_jobs(http, emu, statusState="QUEUED")["items"]] == [c]
    assert [j["id"] for j in list_jobs(http, emu, labelSelector="team=ml,env=prod")["items"]] == [a]
    assert {j["id"] for j in list_jobs(http, emu, labelSelector="team=ml")["items"]} == {a, b}
    assert list_jobs(http, emu, labelSelector="team=none")["items"] == []

    second = list_jobs(http, emu, page=2, size=2, order="asc", userName="someone")
    assert [j["id"] for j in second["items"]] == [c]
    assert second["metadata"] == {"currentPage": 2, "pageCount": 2, "total": 3, "links": {}}
    first = list_jobs(http, emu, size=1, labelSelector="team=ml")
    assert first["metadata"] == {
        "currentPage": 1,
        "pageCount": 2,
        "total": 2,
        "links": {"next": "/v1/job?size=1&labelSelector=team%3Dml&page=2"},
    }

    future = 32_503_680_000  # Unix timestamps (seconds), as the generated client sends them
    assert list_jobs(http, emu, updatedAfter=future)["items"] == []
    assert len(list_jobs(http, emu, updatedBefore=future)["items"]) == 3
    assert len(list_jobs(http, emu, updatedAfter=0)["items"]) == 3

    assert emu.job(a)["status"]["state"] == "RUNNING"  # listing advanced nothing
    assert emu.job(c)["status"]["state"] == "QUEUED"

    for params in (
        {"order": "sideways"},
        {"page": 0},
        {"size": "x"},
        {"statusState": "NAPPING"},
        {"labelSelector": "x"},
        {"updatedAfter": "2999-01-01T00:00:00Z"},
        {"sort": "bogus"},
    ):
        response = http.get(f"{emu.training_url}/v1/job", params=params, timeout=5)
        assert response.status_code == 400, params
        assert set(response.json()) == {"message"}


def test_bare_list_style(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    first, second = new_job(http, emu), new_job(http, emu)
    emu.job_list_style = "bare"
    body = list_jobs(http, emu, size=1)
    assert isinstance(body, list)
    assert [j["id"] for j in body] == [second]
    assert [j["id"] for j in list_jobs(http, emu, order="asc")] == [first, second]


# ------------------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"image": ""}, "image"),
        ({"image": 3}, "image"),
        ({"image": None}, "image"),
        ({"command": "python train.py"}, "command"),
        ({"command": ["python", 1]}, "command"),
        ({"envVars": {"A": "1"}}, "envVars"),
        ({"envVars": [{"name": "A"}]}, "envVars[0]"),
        ({"envVars": [{"name": "A", "value": 1}]}, "envVars[0]"),
        ({"labels": ["a"]}, "labels"),
        ({"labels": {"team": 1}}, "strings"),
        ({"labels": {"bad key": "x"}}, "invalid label key"),
        ({"labels": {"k" * 64: "x"}}, "invalid label key"),
        ({"labels": {"team": "v" * 64}}, "invalid label value"),
        ({"labels": {"team": "a/b"}}, "invalid label value"),
        ({"labels": {"ovh/owner": "me"}}, "reserved"),
        ({"resources": {"gpus": 1}}, "unknown field gpus"),
        ({"resources": {"gpu": "1"}}, "resources.gpu"),
        ({"resources": {"cpu": 1.5}}, "resources.cpu"),
        ({"resources": {"gpu": -1}}, "resources.gpu"),
        ({"resources": {"flavor": "ai1-1-gpu", "gpu": 0}}, "gpu is 0"),
        ({"resources": {"flavor": "ai1-1-cpu", "gpu": 1}}, "CPU flavor"),
        (
            {
                "volumes": [
                    {
                        "mountPath": "/d",
                        "permission": "RW",
                        "dataStore": {"alias": "GRA", "container": "c"},
                        "targetDataStore": {"alias": "GRA"},
                    }
                ]
            },
            "targetDataStore.container",
        ),
        (
            {
                "volumes": [
                    {
                        "mountPath": "/d",
                        "permission": "RO",
                        "dataStore": {"alias": "G", "container": "c", "internal": "y"},
                    }
                ]
            },
            "internal",
        ),
        (
            {
                "volumes": [
                    {
                        "mountPath": "/data",
                        "permission": "RO",
                        "volumeSource": {"dataStore": {"alias": "GRA", "container": "c"}},
                    }
                ]
            },
            "unknown field volumeSource",
        ),
        ({"volumes": [{"permission": "RO", "dataStore": {"alias": "GRA", "container": "c"}}]}, "mountPath"),
        (
            {"volumes": [{"mountPath": "/d", "permission": "RX", "dataStore": {"alias": "GRA", "container": "c"}}]},
            "permission",
        ),
        ({"volumes": [{"mountPath": "/d", "permission": "RO"}]}, "exactly one source"),
        (
            {
                "volumes": [
                    {
                        "mountPath": "/d",
                        "permission": "RO",
                        "dataStore": {"alias": "GRA", "container": "c"},
                        "publicGit": {"url": "u"},
                    }
                ]
            },
            "exactly one source",
        ),
        ({"volumes": [{"mountPath": "/d", "permission": "RO", "dataStore": {"alias": "GRA"}}]}, "container"),
        ({"volumes": [{"mountPath": "/d", "permission": "RO", "cache": "yes", "publicGit": {"url": "u"}}]}, "cache"),
        ({"volumes": [{"mountPath": "/d", "permission": "RO", "publicGit": {}}]}, "url"),
        ({"volumes": {"mountPath": "/d"}}, "volumes"),
        ({"sshPublicKeys": "ssh-ed25519 AAAA"}, "sshPublicKeys"),
        ({"defaultHttpPort": "8080"}, "defaultHttpPort"),
        ({"grpcPort": 70000}, "grpcPort"),
        ({"timeout": 3600.0}, "timeout"),
        ({"timeout": True}, "timeout"),
        ({"timeoutAutoRestart": "true"}, "timeoutAutoRestart"),
        ({"unsecureHttp": 1}, "unsecureHttp"),
    ],
)
def test_invalid_specs_are_rejected(
    http: requests.Session, emu: OVHCloudAIEmulator, spec: dict[str, Any], fragment: str
) -> None:
    assert fragment in bad_spec(http, emu, **spec)
    assert emu.submitted_jobs == 0
    assert emu.jobs == {}


def test_valid_edge_cases_are_accepted(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    spec = {
        "labels": {"a": "", "b.c_d-e": "X1"},
        "resources": {"flavor": "ai1-1-gpu", "gpu": 2, "memory": 1024, "gpuModel": "L4"},
        "volumes": [
            {"mountPath": "/w", "permission": "RWD", "dataStore": {"alias": "GRA", "container": "c", "prefix": "p/"}}
        ],
        "timeout": 3600,
        "unsecureHttp": False,
        "defaultHttpPort": 8080,
        "somethingNew": {"kept": True},
    }
    assert submit(http, emu, **spec).json()["spec"]["somethingNew"] == {"kept": True}
    assert submit(http, emu, resources={"flavor": "ai1-1-gpu"}).status_code == 200
    not_json = http.post(f"{emu.training_url}/v1/job", data="image=x", timeout=5)
    assert not_json.status_code == 400
    assert "JSON object" in not_json.json()["message"]


# ------------------------------------------------------------------------------------------ auth/faults/journal


def test_auth_errors_use_the_training_error_shape(emu: OVHCloudAIEmulator) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = requests.get(f"{emu.training_url}/v1/job", headers=headers, timeout=5)
        assert response.status_code == 401
        assert set(response.json()) == {"message"}
    assert emu.submitted_jobs == 0


def test_fault_injection_on_a_job_poll(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    job_id = new_job(http, emu)
    emu.fail_next(1, 503, path=f"/v1/job/{job_id}", retry_after=2)
    log = http.get(f"{emu.training_url}/v1/job/{job_id}/log", timeout=5)
    assert log.status_code == 200  # the log route does not match the poll path
    failed = http.get(f"{emu.training_url}/v1/job/{job_id}", timeout=5)
    assert failed.status_code == 503
    assert failed.headers["Retry-After"] == "2"
    assert set(failed.json()) == {"message"}
    assert emu.job(job_id)["status"]["state"] == "QUEUED"  # a failed poll does not advance the job
    assert poll(http, emu, job_id)["status"]["state"] == "INITIALIZING"
    [faulted] = [r for r in emu.requests_to(f"/v1/job/{job_id}", "GET") if r.fault]
    assert faulted.fault == "status:503"


def test_path_filters_reach_log_kill_and_submit(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    job_id = new_job(http, emu)
    emu.fail_next(1, 500, path="/kill")
    emu.fail_next(1, 502, path="/log")
    emu.fail_next(1, 429, path="/v1/job")
    assert poll(http, emu, job_id)["status"]["state"] == "INITIALIZING"  # none of them matches a poll
    assert http.get(f"{emu.training_url}/v1/job/{job_id}/log", timeout=5).status_code == 502
    assert put(http, emu, job_id, "kill").status_code == 500
    assert emu.job(job_id)["status"]["state"] == "INITIALIZING"  # the failed kill did nothing
    assert submit(http, emu).status_code == 429
    assert emu.submitted_jobs == 1
    emu.drop_next(path="/v1/job")
    with pytest.raises(requests.ConnectionError):
        http.get(f"{emu.training_url}/v1/job", timeout=5)


def test_journal_never_holds_the_token(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    job_id = new_job(http, emu, envVars=[{"name": "SECRET", "value": "v"}])
    poll(http, emu, job_id)
    put(http, emu, job_id, "kill")
    http.get(f"{emu.training_url}/v1/job/{job_id}/log", timeout=5)
    journal = emu.journal
    assert [r.method for r in journal] == ["POST", "GET", "PUT", "GET"]
    assert journal[0].body["envVars"] == [{"name": "SECRET", "value": "v"}]
    assert all(r.auth == "ok" for r in journal)
    assert emu.token not in repr(journal)


def test_unknown_job_and_method(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    missing = http.get(f"{emu.training_url}/v1/job/abc", timeout=5)
    assert (missing.status_code, missing.json()) == (404, {"message": "Job abc not found"})
    wrong = http.post(f"{emu.training_url}/v1/job/abc/log", timeout=5)
    assert wrong.status_code == 405
    assert set(wrong.json()) == {"message"}
    nowhere = http.get(f"{emu.training_url}/v1/job/abc/nowhere", timeout=5)
    assert nowhere.status_code == 404
    assert set(nowhere.json()) == {"message"}


# ------------------------------------------------------------------------------------------ time mode


def test_time_mode_advances_by_the_clock_not_by_polls(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    emu.job_progress = "time"
    emu.job_step_seconds = 0.02
    normal = new_job(http, emu)
    emu.script_job(stick_in="RUNNING")
    held = new_job(http, emu)
    time.sleep(0.15)  # 7 steps due: more than the 5 a normal job needs
    job = poll(http, emu, normal)
    assert [h["state"] for h in job["status"]["history"]] == NORMAL
    dates = [h["date"] for h in job["status"]["history"]]
    assert dates == sorted(dates)
    assert emu.job(held)["status"]["state"] == "RUNNING"
    assert put(http, emu, held, "kill").status_code == 204
    time.sleep(0.1)
    assert [h["state"] for h in emu.job(held)["status"]["history"]][-3:] == [
        "INTERRUPTING",
        "FINALIZING",
        "INTERRUPTED",
    ]

    emu.job_step_seconds = 3600.0
    slow = new_job(http, emu)
    for _ in range(5):
        poll(http, emu, slow)
    assert emu.job(slow)["status"]["state"] == "QUEUED"  # polls do not move a job in time mode
    emu.advance_job(slow, 3)
    assert emu.job(slow)["status"]["state"] == "RUNNING"


def test_freezegun_drives_both_modes(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    with freezegun.freeze_time("2025-03-01T12:00:00Z") as frozen:
        by_polls = new_job(http, emu)
        assert states_by_polls(http, emu, by_polls) == NORMAL  # polls need no clock at all
        assert {h["date"] for h in emu.job(by_polls)["status"]["history"]} == {"2025-03-01T12:00:00.000Z"}

        emu.job_progress = "time"
        by_time = new_job(http, emu)
        assert poll(http, emu, by_time)["status"]["state"] == "QUEUED"  # the clock is frozen
        frozen.tick(1.0)
        assert poll(http, emu, by_time)["status"]["state"] == "INITIALIZING"
        frozen.tick(2.5)
        status = poll(http, emu, by_time)["status"]
        assert status["state"] == "RUNNING"
        assert [h["date"] for h in status["history"]] == [
            "2025-03-01T12:00:00.000Z",
            "2025-03-01T12:00:01.000Z",
            "2025-03-01T12:00:02.000Z",
            "2025-03-01T12:00:03.000Z",
        ]
        frozen.tick(10)
        status = emu.job(by_time)["status"]
        assert (status["state"], status["startedAt"], status["stoppedAt"]) == (
            "DONE",
            "2025-03-01T12:00:03.000Z",
            "2025-03-01T12:00:04.000Z",
        )
        assert status["duration"] == 1


def test_reset_clears_jobs_and_restores_training_knobs(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    job_id = new_job(http, emu)
    emu.script_job(final_state="FAILED")
    emu.training_region, emu.job_progress, emu.job_step_seconds, emu.job_list_style = "bhs", "time", 0.01, "bare"
    emu.reset()
    assert (emu.training_region, emu.job_progress, emu.job_step_seconds, emu.job_list_style) == (
        "gra",
        "polls",
        1.0,
        "paged",
    )
    assert emu.jobs == {}
    assert emu.submitted_jobs == 0
    assert http.get(f"{emu.training_url}/v1/job/{job_id}", timeout=5).status_code == 404
    fresh = new_job(http, emu)
    assert states_by_polls(http, emu, fresh)[-1] == "DONE"  # the FAILED script was cleared


# ------------------------------------------------------------------------------------------ plugin


@pytest.fixture
def ovhcloud_emulator_connection_extra() -> dict[str, Any]:
    """This module checks the plugin's connections as shipped: no extras (the suite's conftest sets some)."""
    return {}


def test_pytest_fixture_wires_the_training_connection(ovhcloud_emulator: OVHCloudAIEmulator) -> None:
    conn = json.loads(os.environ["AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT"])
    assert conn == ovhcloud_emulator.training_connection()
    assert conn["login"] == "gra"
    response = requests.post(
        f"{conn['host']}/v1/job",
        json={"image": IMAGE},
        headers={"Authorization": f"Bearer {conn['password']}"},
        timeout=5,
    )
    assert response.status_code == 200
    assert ovhcloud_emulator.submitted_jobs == 1
    assert "AIRFLOW_CONN_OVH_AI_ENDPOINTS_DEFAULT" in os.environ


# ------------------------------------------------------------------------------------------ fidelity


def test_a_job_without_a_name_gets_a_generated_one(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    emu.script_job(final_state="FAILED")  # an unnamed script still goes to the unnamed job
    job_id = new_job(http, emu)
    name = emu.job(job_id)["spec"]["name"]
    assert re.fullmatch(r"[a-z]+-[a-z]+", name)
    assert states_by_polls(http, emu, job_id)[-1] == "FAILED"
    assert emu.job(new_job(http, emu, name="mine"))["spec"]["name"] == "mine"


def test_volumes_targets_and_status(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    volumes = [
        {
            "mountPath": "/workspace/data",
            "permission": "RO",
            "dataStore": {"alias": "GRA", "container": "in", "prefix": "v2/", "internal": False},
        },
        {
            "mountPath": "/workspace/out",
            "permission": "RW",
            "dataStore": {"alias": "GRA", "container": "scratch", "archive": "out.tar"},
            "targetDataStore": {"alias": "BHS", "container": "results", "archive": True, "internal": True},
        },
        {"mountPath": "/workspace/code", "permission": "RO", "publicGit": {"url": "https://example.com/r.git"}},
    ]
    job_id = new_job(http, emu, volumes=volumes)
    queued = emu.job(job_id)["status"]["volumes"]
    assert [v["mountPath"] for v in queued] == [v["mountPath"] for v in volumes]
    assert all(v["lastPulledCreatedAt"] is None and v["lastPushedCreatedAt"] is None for v in queued)
    assert len({v["id"] for v in queued}) == 3 and all(v["userVolumeId"] for v in queued)
    states_by_polls(http, emu, job_id)
    done = emu.job(job_id)["status"]["volumes"]
    assert all(ISO_Z.fullmatch(v["lastPulledCreatedAt"]) for v in done)
    assert [v["lastPushedCreatedAt"] is not None for v in done] == [False, True, False]  # only RW pushes
    assert emu.job(job_id)["spec"]["volumes"] == volumes


def test_cpu_and_gpu_together_are_not_refused(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    """The generated client has no rule against it (unverified): the emulator lets the service decide."""
    job_id = new_job(http, emu, resources={"cpu": 4, "gpu": 1})
    assert emu.job(job_id)["spec"]["resources"] == {"cpu": 4, "gpu": 1}


def test_list_sorts_by_field_paths(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    emu.script_job(stick_in="RUNNING", name="b")
    a = new_job(http, emu, name="a")
    b = new_job(http, emu, name="b")
    for _ in range(3):
        poll(http, emu, b)  # RUNNING; a stays QUEUED
    assert [j["id"] for j in list_jobs(http, emu, sort="status.state", order="asc")["items"]] == [a, b]
    assert [j["id"] for j in list_jobs(http, emu, sort="status.state", order="desc")["items"]] == [b, a]
    assert [j["id"] for j in list_jobs(http, emu, sort="spec.name", order="desc")["items"]] == [b, a]
    assert [j["id"] for j in list_jobs(http, emu, sort="status.duration", order="asc")["items"]] == [a, b]
    assert [j["id"] for j in list_jobs(http, emu, sort="updatedAt", order="desc")["items"]] == [b, a]
