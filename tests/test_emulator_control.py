"""The control API (``/_emulator/...``) and ``EmulatorClient``: the in-process verbs, over HTTP.

Driven here against the in-process emulator (same routes as a standalone one); tests/test_cli.py
drives a standalone server in another process.
"""

from __future__ import annotations

import inspect
import time

import pytest
import requests

from airflow_ovhcloud.testing import EmulatorClient, EmulatorControlError, OVHCloudAIEmulator, RecordedRequest
from airflow_ovhcloud.testing.emulator.control.responses import PREFIX, ROUTES

CHAT = {"model": "Meta-Llama-3_3-70B-Instruct", "messages": [{"role": "user", "content": "hi"}]}
VERBS = [
    "script_chat",
    "add_model",
    "fail_next",
    "drop_next",
    "cut_next_stream",
    "error_next_stream",
    "random_faults",
    "clear_faults",
    "script_job",
    "set_job",
    "finish_job",
    "advance_job",
    "job",
    "fail_batch_items",
    "script_next_batch",
    "advance_batch",
    "finish_batch",
    "batches",
    "batch",
    "files",
    "file_content",
    "requests_to",
    "clear_journal",
    "reset",
    "endpoints_connection",
    "endpoints_connection_json",
    "training_connection",
    "training_connection_json",
]


@pytest.fixture
def client(emu: OVHCloudAIEmulator) -> EmulatorClient:
    return EmulatorClient(emu.url)


def test_the_client_has_the_in_process_verbs_with_the_same_parameters() -> None:
    for name in VERBS:
        ours = inspect.signature(getattr(EmulatorClient, name)).parameters
        theirs = inspect.signature(getattr(OVHCloudAIEmulator, name)).parameters
        assert list(ours) == list(theirs), name
        for parameter in ours.values():
            if name != "set_job":  # the emulator's UNSET sentinel is its own
                assert parameter.default == theirs[parameter.name].default, (name, parameter.name)
    for name in (
        "journal",
        "jobs",
        "submitted_jobs",
        "created_batches",
        "uploaded_files",
        "endpoints_url",
        "training_url",
        "token",
    ):
        assert isinstance(inspect.getattr_static(EmulatorClient, name), property), name


def test_control_calls_skip_every_gate_and_are_not_journaled(emu: OVHCloudAIEmulator, client: EmulatorClient) -> None:
    emu.require_auth = True
    emu.latency = 0.3
    emu.fail_next(5, 503)  # any path: would hit control calls if they went through the gates
    started = time.monotonic()
    client.script_chat("scripted")
    assert client.knobs()["latency"] == 0.3
    assert time.monotonic() - started < 0.3
    assert emu.journal == []
    assert requests.get(emu.url + PREFIX + "/knobs", timeout=5).status_code == 200  # no token needed


def test_scripted_answers_and_faults_reach_the_services(emu: OVHCloudAIEmulator, client: EmulatorClient) -> None:
    headers = {"Authorization": f"Bearer {emu.token}"}
    client.script_chat("From the control API.", usage={"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7})
    client.fail_next(1, 429, path="/chat/completions", retry_after=2, message="slow down")
    first = requests.post(emu.endpoints_url + "/chat/completions", json=CHAT, headers=headers, timeout=5)
    assert first.status_code == 429 and first.headers["Retry-After"] == "2"
    assert first.json()["error"]["message"] == "slow down"
    second = requests.post(emu.endpoints_url + "/chat/completions", json=CHAT, headers=headers, timeout=5)
    assert second.json()["choices"][0]["message"]["content"] == "From the control API."

    journal = client.journal
    assert all(isinstance(r, RecordedRequest) for r in journal)
    assert journal == emu.journal
    assert [r.fault for r in client.requests_to("/chat/completions", "POST")] == ["status:429", None]
    assert client.requests_to("/chat/completions", "GET") == []

    client.drop_next(1, path="/v1/models")
    with pytest.raises(requests.ConnectionError):
        requests.get(emu.endpoints_url + "/models", headers=headers, timeout=5)
    client.add_model("my-embedder", kind="embedding", dimensions=8)
    assert "my-embedder" in [m["id"] for m in requests.get(emu.endpoints_url + "/models", timeout=5).json()["data"]]

    client.random_faults(1.0, statuses=(418,), drop=False, seed=3)
    assert requests.get(emu.endpoints_url + "/models", headers=headers, timeout=5).status_code == 418
    client.clear_faults()
    assert requests.get(emu.endpoints_url + "/models", headers=headers, timeout=5).status_code == 200
    client.clear_journal()
    assert emu.journal == []


def test_jobs_are_scripted_moved_and_read(emu: OVHCloudAIEmulator, client: EmulatorClient) -> None:
    headers = {"Authorization": f"Bearer {emu.token}"}
    client.script_job(final_state="FAILED", info_message="CUDA out of memory", stick_in="RUNNING")
    job_id = requests.post(emu.url + "/v1/job", json={"image": "x"}, headers=headers, timeout=5).json()["id"]
    assert client.advance_job(job_id, 3)["status"]["state"] == "RUNNING"
    assert client.set_job(job_id, logs=["one"])["status"]["state"] == "RUNNING"
    assert client.job(job_id) == emu.job(job_id)
    assert client.jobs == emu.jobs and client.submitted_jobs == 1
    finished = client.finish_job(job_id, "FAILED", exit_code=137, info_message="OOM")
    assert finished["status"]["state"] == "FAILED" and finished["status"]["exitCode"] == 137


def test_errors_are_the_in_process_exceptions(client: EmulatorClient) -> None:
    with pytest.raises(KeyError, match="nope"):
        client.job("nope")
    with pytest.raises(KeyError):
        client.finish_job("nope")
    with pytest.raises(ValueError, match="count must be at least 1"):
        client.fail_next(0)
    with pytest.raises(ValueError, match="final_state"):
        client.script_job(final_state="EXPLODED")
    with pytest.raises(ValueError, match="unknown knob 'nope'"):
        client.set_knobs(nope=1)
    with pytest.raises(TypeError, match="latency"):
        client.set_knobs(latency="fast")
    with pytest.raises(TypeError, match="unexpected keyword"):
        client._call("POST", "/chat/script", {"contents": "typo"})
    with pytest.raises(EmulatorControlError, match="No control route"):
        client._call("GET", "/nowhere")
    with pytest.raises(EmulatorControlError, match="no emulator answers"):
        EmulatorClient("http://127.0.0.1:9", timeout=1).info()


def test_knobs_and_a_reset_that_keeps_the_servers_own_options(emu: OVHCloudAIEmulator, client: EmulatorClient) -> None:
    assert set(client.knobs()) >= {"latency", "require_auth", "job_progress", "job_step_seconds", "token"}
    changed = client.set_knobs(job_progress="time", job_step_seconds=0.5, embedding_input_limit=None, latency=0)
    assert changed["job_progress"] == "time" and emu.job_step_seconds == 0.5
    emu._control_api.baseline["job_step_seconds"] = 2.0  # what the command line does with its options
    client.fail_next(3)
    client.reset()
    assert emu.job_progress == "polls" and emu.job_step_seconds == 2.0
    assert requests.get(emu.endpoints_url + "/models", timeout=5).status_code == 200  # the faults went too


def test_info_and_connections(emu: OVHCloudAIEmulator, client: EmulatorClient) -> None:
    info = client.info()
    assert info["url"] == emu.url and info["control_url"] == emu.url + PREFIX and info["token"] == emu.token
    assert client.endpoints_connection() == emu.endpoints_connection()
    assert client.training_connection() == emu.training_connection()
    assert client.training_connection(region="bhs")["login"] == "bhs"
    assert repr(client) == f"<EmulatorClient {emu.url}>"
    assert client.wait_until_ready(timeout=1) is client


def test_every_route_is_in_the_docs() -> None:
    from tests.helpers import REPO

    page = (REPO / "docs" / "testing.md").read_text()
    for method, path, _ in ROUTES:
        assert f"`{method} {PREFIX}{path}`" in page, (method, path)
