"""OVHCloudAITrainingHook against the emulator over real HTTP: exact requests, lifecycle, waiting, errors."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException
from freezegun import freeze_time

from airflow_ovhcloud.exceptions import OVHCloudAIClientError, OVHCloudAIInvalidInputError, OVHCloudAIRequestError
from airflow_ovhcloud.hooks.ai_training import (
    OVHCloudAIJobFailedError,
    OVHCloudAIJobTimeoutError,
    OVHCloudAITrainingHook,
    filter_log_since,
)
from tests.helpers import SECRET_TOKEN

IMAGE = "pytorch/pytorch:latest"


def set_conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, conn: dict[str, Any]) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


def submitted_body(emulator: Any) -> Any:
    (request,) = emulator.requests_to("/v1/job", method="POST")
    return request.body


# ------------------------------------------------------------------------ submit


def test_submit_job_sends_the_camelcase_jobspec(emulator: Any) -> None:
    hook = OVHCloudAITrainingHook()
    volume = hook.build_volume("my-bucket", "/workspace/data", "GRA", prefix="train/", permission="rw", cache=True)
    job = hook.submit_job(
        image=IMAGE,
        name="train-1",
        command=["python", "train.py", "--lr=0.1"],
        env_vars={"WANDB_API_KEY": "s3cr3t-value", "MODE": "fast"},
        gpu=2,
        gpu_model="V100S",
        flavor="ai1-1-gpu",
        volumes=[volume],
        labels={"team": "vision", "stage": "dev"},
        ssh_public_keys=["ssh-ed25519 AAAA test"],
        default_http_port=8080,
        timeout=7200,
        timeout_auto_restart=True,
        unsecure_http=True,
        priority="high",
    )

    assert job["status"]["state"] == "QUEUED"
    assert submitted_body(emulator) == {
        "image": IMAGE,
        "name": "train-1",
        "command": ["python", "train.py", "--lr=0.1"],
        "envVars": [{"name": "WANDB_API_KEY", "value": "s3cr3t-value"}, {"name": "MODE", "value": "fast"}],
        "resources": {"gpu": 2, "gpuModel": "V100S", "flavor": "ai1-1-gpu"},
        "volumes": [
            {
                "mountPath": "/workspace/data",
                "permission": "RW",
                "cache": True,
                "dataStore": {"alias": "GRA", "container": "my-bucket", "prefix": "train/"},
            }
        ],
        "labels": {"team": "vision", "stage": "dev"},
        "sshPublicKeys": ["ssh-ed25519 AAAA test"],
        "defaultHttpPort": 8080,
        "timeout": 7200,
        "timeoutAutoRestart": True,
        "unsecureHttp": True,
        "priority": "high",
    }


def test_minimal_submit_sends_no_contradictory_or_empty_resources(emulator: Any) -> None:
    hook = OVHCloudAITrainingHook()
    hook.submit_job(image=IMAGE)
    hook.submit_job(image=IMAGE, flavor="ai1-1-gpu")
    hook.submit_job(image=IMAGE, cpu=4, read_user="reader", shutdown="IMMEDIATE")

    bodies = [r.body for r in emulator.requests_to("/v1/job", method="POST")]
    assert bodies[0] == {"image": IMAGE}
    assert bodies[1] == {"image": IMAGE, "resources": {"flavor": "ai1-1-gpu"}}
    assert bodies[2] == {"image": IMAGE, "resources": {"cpu": 4}, "readUser": "reader", "shutdown": "IMMEDIATE"}


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"image": ""}, "needs a Docker image"),
        ({"image": IMAGE, "command": "python train.py"}, "command must be a list of strings"),
        ({"image": IMAGE, "env_vars": {"N": 3}}, "value of environment variable 'N' must be a string"),
        ({"image": IMAGE, "gpu": "2"}, "gpu must be an integer"),
        ({"image": IMAGE, "gpu": 1, "cpu": 4}, "either GPUs or CPUs"),
        ({"image": IMAGE, "default_http_port": 0}, "default_http_port must be an integer ≥ 1"),
        ({"image": IMAGE, "labels": {"bad key!": "x"}}, "Invalid label key 'bad key!'"),
        ({"image": IMAGE, "labels": {"ok": "not valid!"}}, "Invalid value 'not valid!' for label 'ok'"),
        ({"image": IMAGE, "volumes": [{"mountPath": "/d", "permission": "RX"}]}, "Invalid volume permission 'RX'"),
        (
            {"image": IMAGE, "volumes": [{"mountPath": "/d", "volumeSource": {"dataStore": {}}}]},
            "wraps its source in 'volumeSource'",
        ),
    ],
)
def test_invalid_job_specs_fail_before_any_request(emulator: Any, kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(OVHCloudAIInvalidInputError) as info:
        OVHCloudAITrainingHook().submit_job(**kwargs)
    assert fragment in str(info.value)
    assert isinstance(info.value, AirflowFailException)
    assert emulator.journal == []


def test_build_helpers() -> None:
    assert OVHCloudAITrainingHook.build_volume("c", "/m", "GRA") == {
        "mountPath": "/m",
        "permission": "RO",
        "cache": False,
        "dataStore": {"alias": "GRA", "container": "c"},
    }
    with pytest.raises(OVHCloudAIInvalidInputError, match="Invalid volume permission 'WO'"):
        OVHCloudAITrainingHook.build_volume("c", "/m", "GRA", permission="WO")
    assert OVHCloudAITrainingHook.build_env_vars({"A": "1", "B": "2"}) == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "2"},
    ]


# ---------------------------------------------------------------- the connection


def test_region_from_argument_login_or_extra_and_its_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    assert {r: f"https://{r}.ai.cloud.ovh.net" for r in ("gra", "bhs")} == OVHCloudAITrainingHook.REGIONS
    set_conn(monkeypatch, "by_login", {"conn_type": "generic", "login": "BHS", "password": "t"})
    assert OVHCloudAITrainingHook("by_login").region == "bhs"
    assert OVHCloudAITrainingHook("by_login").get_base_url() == "https://bhs.ai.cloud.ovh.net"
    assert OVHCloudAITrainingHook("by_login", region="GRA").get_base_url() == "https://gra.ai.cloud.ovh.net"
    set_conn(monkeypatch, "by_extra", {"conn_type": "generic", "password": "t", "extra": {"region": "bhs"}})
    assert OVHCloudAITrainingHook("by_extra").region == "bhs"
    set_conn(monkeypatch, "no_region", {"conn_type": "generic", "password": "t"})
    assert OVHCloudAITrainingHook("no_region").region == "gra"

    with pytest.raises(AirflowException) as info:
        OVHCloudAITrainingHook(region="sbg")
    assert str(info.value) == "Invalid region 'sbg'. Valid regions are: ['gra', 'bhs']"
    set_conn(monkeypatch, "bad_login", {"conn_type": "generic", "login": "waw", "password": "t"})
    with pytest.raises(AirflowException, match=r"Invalid region 'waw'. Valid regions are: \['gra', 'bhs'\]"):
        OVHCloudAITrainingHook("bad_login").get_job("x")


def test_missing_token_is_the_documented_error_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    set_conn(monkeypatch, "ovh_ai_training_default", {"conn_type": "ovhcloud_ai_training", "login": "gra"})
    with pytest.raises(AirflowFailException) as info:
        OVHCloudAITrainingHook().submit_job(image=IMAGE)
    assert str(info.value).startswith("OVHcloud AI Training token not found in connection 'ovh_ai_training_default'")


def test_host_override_and_generic_connection(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    set_conn(
        monkeypatch,
        "generic_t",
        {"conn_type": "generic", "host": emulator.training_url + "/v1", "login": "bhs", "password": SECRET_TOKEN},
    )
    hook = OVHCloudAITrainingHook("generic_t")
    assert hook.get_base_url() == emulator.training_url
    assert hook.list_jobs()["items"] == []


# ------------------------------------------------------------- jobs and the rest


def test_get_job_and_status_follow_the_lifecycle(emulator: Any) -> None:
    hook = OVHCloudAITrainingHook()
    job_id = hook.submit_job(image=IMAGE)["id"]
    states = [hook.get_job_status(job_id) for _ in range(6)]
    assert states == ["INITIALIZING", "PENDING", "RUNNING", "FINALIZING", "DONE", "DONE"]
    assert hook.get_job(job_id)["status"]["exitCode"] == 0


def test_unknown_job_is_a_client_error_with_a_hint(emulator: Any) -> None:
    with pytest.raises(OVHCloudAIClientError) as info:
        OVHCloudAITrainingHook().get_job("00000000-0000-0000-0000-000000000000")
    message = str(info.value)
    assert message.startswith("Request to OVHcloud AI Training failed: HTTP 404")
    assert "was not found in region 'gra'" in message


def test_list_jobs_sends_the_service_filters(emulator: Any) -> None:
    hook = OVHCloudAITrainingHook()
    hook.submit_job(image=IMAGE, labels={"team": "a", "stage": "dev"})
    hook.submit_job(image=IMAGE, labels={"team": "b"})
    page = hook.list_jobs(page=1, size=10, state=["QUEUED", "RUNNING"], labels={"team": "a", "stage": "dev"})

    assert [job["spec"]["labels"]["team"] for job in page["items"]] == ["a"]
    request = emulator.requests_to("/v1/job", method="GET")[-1]
    assert request.query == {
        "page": ["1"],
        "size": ["10"],
        "statusState": ["QUEUED", "RUNNING"],
        "labelSelector": ["team=a,stage=dev"],
    }


def test_list_jobs_accepts_a_bare_list_answer(emulator: Any) -> None:
    emulator.job_list_style = "bare"
    hook = OVHCloudAITrainingHook()
    hook.submit_job(image=IMAGE)
    page = hook.list_jobs()
    assert len(page["items"]) == 1
    # The service's paged shape, inferred from the bare page.
    assert page["metadata"] == {"currentPage": 1, "pageCount": 1, "total": 1, "links": {}}
    hook.submit_job(image=IMAGE)
    full = hook.list_jobs(page=1, size=1)  # a full page: there may be more
    assert full["metadata"] == {"currentPage": 1, "pageCount": 2, "total": 1, "links": {}}


def test_list_jobs_passes_the_paged_answer_through(emulator: Any) -> None:
    hook = OVHCloudAITrainingHook()
    for _ in range(3):
        hook.submit_job(image=IMAGE)
    page = hook.list_jobs(page=1, size=2)
    assert len(page["items"]) == 2
    assert page["metadata"] == {
        "currentPage": 1,
        "pageCount": 2,
        "total": 3,
        "links": {"next": "/v1/job?size=2&page=2"},
    }


def test_stop_and_delete(emulator: Any) -> None:
    hook = OVHCloudAITrainingHook()
    job_id = hook.submit_job(image=IMAGE)["id"]
    hook.get_job(job_id)
    with pytest.raises(OVHCloudAIClientError, match=r"HTTP 400.*stop it first"):
        hook.delete_job(job_id)
    assert hook.stop_job(job_id) == {"id": job_id, "stopped": True}
    (kill,) = emulator.requests_to("/kill")
    assert (kill.method, kill.path) == ("PUT", f"/v1/job/{job_id}/kill")
    finals = [hook.get_job_status(job_id) for _ in range(3)]
    assert finals[-1] == "INTERRUPTED"
    assert hook.delete_job(job_id) == {"id": job_id, "deleted": True}
    assert emulator.requests_to(f"/v1/job/{job_id}", method="DELETE")


def test_logs_are_text_with_tail_and_since(emulator: Any) -> None:
    hook = OVHCloudAITrainingHook()
    job_id = hook.submit_job(image=IMAGE)["id"]
    emulator.set_job(job_id, logs=["epoch 1 loss=0.9", "epoch 2 loss=0.5", "epoch 3 loss=0.2"])

    text = hook.get_job_logs(job_id)
    assert isinstance(text, str) and "epoch 2 loss=0.5" in text
    assert hook.get_job_logs(job_id, tail=1).strip().endswith("epoch 3 loss=0.2")
    assert emulator.requests_to("/log")[-1].query == {"tail": ["1"]}
    assert hook.get_job_logs(job_id, since="2000-01-01T00:00:00Z") == text
    assert hook.get_job_logs(job_id, since=datetime(2999, 1, 1, tzinfo=timezone.utc)) == ""


def test_since_keeps_lines_at_or_after_it_and_lines_without_a_time() -> None:
    text = (
        "2024-05-01T10:00:00Z epoch 1\n"
        "2024-05-01T10:05:00.250Z epoch 2\n"
        "Traceback (most recent call last):\n"
        "[2024-05-01 10:10:00+00:00] epoch 3\n"
    )
    kept = filter_log_since(text, "2024-05-01T10:05:00Z")
    assert (
        kept
        == "2024-05-01T10:05:00.250Z epoch 2\nTraceback (most recent call last):\n[2024-05-01 10:10:00+00:00] epoch 3\n"
    )
    with pytest.raises(OVHCloudAIInvalidInputError, match="not an ISO-8601"):
        filter_log_since(text, "yesterday")


# ----------------------------------------------------------------------- waiting


def test_wait_for_job_returns_the_finished_job_and_logs_each_state_once(
    emulator: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    hook = OVHCloudAITrainingHook()
    job_id = hook.submit_job(image=IMAGE)["id"]
    emulator.set_job(job_id, stick_in="RUNNING")
    emulator.fail_next(1, status=503, path=f"/v1/job/{job_id}")  # a hiccup the client retry absorbs

    polls = {"n": 0}
    original = hook.get_job

    def counting(jid: str) -> dict[str, Any]:
        polls["n"] += 1
        if polls["n"] == 6:
            emulator.finish_job(job_id, "DONE")
        return original(jid)

    hook.get_job = counting  # type: ignore[method-assign]
    job = hook.wait_for_job(job_id, check_interval=0, timeout=10)

    assert job["status"]["state"] == "DONE"
    out = capsys.readouterr().out
    assert out.count(f"AI Training job {job_id} is RUNNING") == 1
    assert out.count(f"AI Training job {job_id} is DONE") == 1


@pytest.mark.parametrize(
    ("final", "message"),
    [
        ("FAILED", "CUDA out of memory"),
        ("ERROR", "image not found"),
        ("SYNC_FAILED", "could not sync /workspace/out"),
    ],
)
def test_wait_raises_on_every_failure_state_with_the_service_message(emulator: Any, final: str, message: str) -> None:
    emulator.script_job(final_state=final, info_message=message)
    hook = OVHCloudAITrainingHook()
    job_id = hook.submit_job(image=IMAGE)["id"]
    with pytest.raises(OVHCloudAIJobFailedError) as info:
        hook.wait_for_job(job_id, check_interval=0, timeout=10)
    assert str(info.value).startswith(f"AI Training job {job_id} entered failure state: {final} ({message}")
    assert info.value.state == final


def test_a_stopped_job_is_a_failure_unless_targeted(emulator: Any) -> None:
    hook = OVHCloudAITrainingHook()
    job_id = hook.submit_job(image=IMAGE)["id"]
    hook.stop_job(job_id)
    with pytest.raises(OVHCloudAIJobFailedError, match="entered failure state: INTERRUPTED"):
        hook.wait_for_job(job_id, check_interval=0, timeout=10)
    job = hook.wait_for_job(job_id, target_states=["INTERRUPTED"], failure_states=["FAILED"], check_interval=0)
    assert job["status"]["state"] == "INTERRUPTED"


def test_wait_times_out_with_the_documented_message(emulator: Any) -> None:
    emulator.script_job(stick_in="RUNNING")
    hook = OVHCloudAITrainingHook()
    job_id = hook.submit_job(image=IMAGE)["id"]
    with pytest.raises(OVHCloudAIJobTimeoutError) as info:
        hook.wait_for_job(job_id, check_interval=0.01, timeout=0.1)
    assert str(info.value).startswith(f"Timeout waiting for AI Training job {job_id}")
    assert "last state: RUNNING" in str(info.value)


def test_wait_uses_a_monotonic_clock_and_never_oversleeps(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    emulator.script_job(stick_in="RUNNING")
    hook = OVHCloudAITrainingHook()
    job_id = hook.submit_job(image=IMAGE)["id"]
    slept: list[float] = []
    with freeze_time("2024-01-01") as frozen:

        def fake_sleep(seconds: float) -> None:  # a one-hour wait cannot be real in a test
            slept.append(seconds)
            frozen.tick(seconds)

        monkeypatch.setattr("airflow_ovhcloud.hooks.ai_training.time.sleep", fake_sleep)
        with pytest.raises(OVHCloudAIJobTimeoutError):
            hook.wait_for_job(job_id, check_interval=45, timeout=100)

    assert slept == [45, 45, 10]
    assert len(emulator.requests_to(f"/v1/job/{job_id}", method="GET")) == 4


def test_transient_poll_errors_are_tolerated_then_raised(emulator: Any) -> None:
    hook = OVHCloudAITrainingHook(max_retries=0)
    job_id = hook.submit_job(image=IMAGE)["id"]
    emulator.fail_next(2, status=503, path=f"/v1/job/{job_id}")
    assert hook.wait_for_job(job_id, check_interval=0, timeout=10)["status"]["state"] == "DONE"

    second = hook.submit_job(image=IMAGE)["id"]
    emulator.fail_next(3, status=502, path=f"/v1/job/{second}")
    with pytest.raises(OVHCloudAIRequestError, match="HTTP 502"):
        hook.wait_for_job(second, check_interval=0, timeout=10)


def test_test_connection_both_ways(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ok, message = OVHCloudAITrainingHook().test_connection()
    assert ok and "region gra" in message
    assert emulator.requests_to("/v1/job")[0].query["size"] == ["1"]
    set_conn(monkeypatch, "bad_t", {**emulator.training_connection(), "password": "wrong"})
    ok, message = OVHCloudAITrainingHook("bad_t").test_connection()
    assert not ok and "HTTP 401" in message and "AI Training token" in message


def test_a_submission_whose_answer_is_lost_is_not_resent(emulator: Any) -> None:
    emulator.drop_next(1, path="/v1/job")
    with pytest.raises(OVHCloudAIRequestError, match="not resent: the service may have carried it out"):
        OVHCloudAITrainingHook().submit_job(image=IMAGE)
    assert len(emulator.requests_to("/v1/job", method="POST")) == 1

    emulator.fail_next(1, status=500, path="/v1/job")
    with pytest.raises(OVHCloudAIRequestError, match="HTTP 500"):
        OVHCloudAITrainingHook().submit_job(image=IMAGE)
    assert len(emulator.requests_to("/v1/job", method="POST")) == 2


def test_a_refused_submission_is_retried(emulator: Any) -> None:
    emulator.fail_next(1, status=429, retry_after=0, path="/v1/job")
    emulator.fail_next(1, status=503, path="/v1/job")
    job = OVHCloudAITrainingHook().submit_job(image=IMAGE)
    assert job["status"]["state"] == "QUEUED"
    assert len(emulator.requests_to("/v1/job", method="POST")) == 3 and emulator.submitted_jobs == 1
