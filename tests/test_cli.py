"""The airflow-ovhcloud command: the emulator subcommand serves until stopped."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from typing import Any

import pytest
import requests

from airflow_ovhcloud.cli import DEFAULT_PORT, build_parser, main
from airflow_ovhcloud.testing import EmulatorClient, RecordedRequest

IMAGE = "pytorch/pytorch:latest"


def _exe() -> str:
    return shutil.which("airflow-ovhcloud", path=os.path.dirname(sys.executable)) or "airflow-ovhcloud"


def test_emulator_command_serves_and_prints_how_to_connect() -> None:
    proc = subprocess.Popen(
        [_exe(), "emulator", "--port", "0", "--token", "cli-token"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("OVHcloud AI emulator listening on http://127.0.0.1:")
        url = first.rsplit(" ", 1)[1].strip()
        lines = list(iter(proc.stdout.readline, "Press Ctrl+C to stop.\n"))
        assert any("AIRFLOW_CONN_OVH_AI_ENDPOINTS_DEFAULT=" in line for line in lines)
        assert any("AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT=" in line for line in lines)
        models = requests.get(f"{url}/v1/models", headers={"Authorization": "Bearer cli-token"}, timeout=5)
        assert models.status_code == 200 and models.json()["data"]
        wrong = requests.get(f"{url}/v1/models", headers={"Authorization": "Bearer wrong"}, timeout=5)
        assert wrong.status_code == 401
        assert requests.get(f"{url}/v1/models", timeout=5).status_code == 200  # anonymous, as on the service
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0


def test_a_standalone_emulator_is_driven_from_another_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole job lifecycle, a scripted chat answer and a fault, all set up from this process."""
    from airflow_ovhcloud.hooks.ai_endpoints import OVHCloudAIEndpointsHook
    from airflow_ovhcloud.hooks.ai_training import OVHCloudAITrainingHook

    # Jobs would take a minute per state on their own: the test moves them through the control API.
    options = ["--token", "cli-token", "--require-auth", "--job-progress", "time", "--job-step-seconds", "60"]
    proc = subprocess.Popen([_exe(), "emulator", "--port", "0", *options], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().rsplit(" ", 1)[1].strip()
        client = EmulatorClient(url).wait_until_ready()
        assert client.knobs()["job_progress"] == "time" and client.knobs()["require_auth"] is True
        monkeypatch.setenv("AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT", client.training_connection_json())
        endpoints = {**client.endpoints_connection(), "extra": {"backoff_factor": 0.01}}
        monkeypatch.setenv("AIRFLOW_CONN_OVH_AI_ENDPOINTS_DEFAULT", json.dumps(endpoints))

        client.script_job(final_state="DONE", logs=["epoch 1", "epoch 2"])
        hook = OVHCloudAITrainingHook()
        job_id = hook.submit_job(image=IMAGE)["id"]
        assert hook.get_job_status(job_id) == "QUEUED"  # 60 s per state: it does not move by itself
        assert client.advance_job(job_id, 3)["status"]["state"] == "RUNNING"
        assert client.finish_job(job_id, "DONE", exit_code=0)["status"]["state"] == "DONE"
        assert hook.wait_for_job(job_id, check_interval=0, timeout=10)["status"]["state"] == "DONE"
        assert list(client.jobs) == [job_id] and client.submitted_jobs == 1
        (submitted,) = client.requests_to("/v1/job", "POST")
        assert isinstance(submitted, RecordedRequest) and submitted.body["image"] == IMAGE
        assert submitted.auth == "ok" and "Authorization" not in submitted.headers

        client.script_chat("Scripted from the test process.")
        client.fail_next(1, 503, path="/chat/completions")
        answer = OVHCloudAIEndpointsHook().chat_completion(
            "Meta-Llama-3_3-70B-Instruct", [{"role": "user", "content": "hi"}]
        )
        assert answer["choices"][0]["message"]["content"] == "Scripted from the test process."
        assert [r.fault for r in client.requests_to("/chat/completions")] == ["status:503", None]
        assert requests.get(f"{url}/v1/models", timeout=5).status_code == 401  # --require-auth

        client.reset()
        assert client.journal == [] and client.jobs == {}
        assert client.knobs()["job_progress"] == "time"  # a reset keeps the command line's options
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_a_taken_port_is_one_line_naming_the_port_and_the_option() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([_exe(), "emulator", "--port", str(port)], capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert f"127.0.0.1:{port}" in line and "--port" in line and "in use" in line


def test_emulator_help_shows_every_option_with_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["emulator", "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split()).split(" options: ", 1)[1]  # past the usage lines
    emulator = build_parser()._subparsers._group_actions[0].choices["emulator"]  # type: ignore[union-attr]
    options = [a for a in emulator._actions if a.option_strings and a.dest != "help"]
    assert len(options) >= 13
    for action in options:
        invocation = emulator._get_formatter()._format_action_invocation(action)  # "--port PORT"
        after = text.split(f" {invocation} ", 1)[1]
        shown = re.search(r"\(default: ([^)]*)\)", after)
        assert shown is not None and shown.group(1) == str(action.default), invocation
    assert f"(default: {DEFAULT_PORT})" in text and DEFAULT_PORT != 8080


def test_emulator_options_reach_the_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each option sets its knob (checked in process: the emulator is stopped at once)."""
    seen: dict[str, Any] = {}

    def start(self: Any) -> Any:
        seen.update(self._control_api._knob_values())
        raise KeyboardInterrupt  # stop before serving

    from airflow_ovhcloud.testing.emulator import OVHCloudAIEmulator

    monkeypatch.setattr(OVHCloudAIEmulator, "start", start)
    argv = ["emulator", "--latency", "0.5", "--no-require-auth", "--requests-per-minute", "400"]
    argv += ["--anonymous-requests-per-minute", "none", "--rate-limit-window", "1", "--embedding-input-limit", "64"]
    argv += ["--job-progress", "time", "--job-step-seconds", "0.25", "--random-fault-rate", "0.1", "--seed", "7"]
    argv += ["--batch-progress", "time", "--batch-step-seconds", "0.5"]
    with pytest.raises(KeyboardInterrupt):
        main(argv)
    assert seen["latency"] == 0.5 and seen["require_auth"] is False
    assert seen["requests_per_minute"] == 400 and seen["anonymous_requests_per_minute"] is None
    assert seen["rate_limit_window"] == 1.0 and seen["embedding_input_limit"] == 64
    assert seen["job_progress"] == "time" and seen["job_step_seconds"] == 0.25
    assert seen["batch_progress"] == "time" and seen["batch_step_seconds"] == 0.5


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--port", "70000"], "at most 65535"),
        (["--latency", "-1"], "must be >= 0"),
        (["--rate-limit-window", "0"], "must be > 0"),
        (["--random-fault-rate", "2"], "between 0 and 1"),
        (["--job-progress", "steps"], "invalid choice"),
    ],
)
def test_bad_emulator_options_are_usage_errors(
    argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["emulator", *argv])
    assert exit_info.value.code == 2
    assert fragment in capsys.readouterr().err
