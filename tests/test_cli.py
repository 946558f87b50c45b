"""The airflow-ovhcloud command: the emulator subcommand serves until stopped."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

import requests


def test_emulator_command_serves_and_prints_how_to_connect() -> None:
    exe = shutil.which("airflow-ovhcloud", path=os.path.dirname(sys.executable)) or "airflow-ovhcloud"
    proc = subprocess.Popen(
        [exe, "emulator", "--port", "0", "--token", "cli-token"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("OVHcloud AI emulator listening on http://127.0.0.1:")
        url = first.rsplit(" ", 1)[1].strip()
        lines = [proc.stdout.readline() for _ in range(6)]
        assert any("AIRFLOW_CONN_OVH_AI_ENDPOINTS_DEFAULT=" in line for line in lines)
        assert any("AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT=" in line for line in lines)
        models = requests.get(f"{url}/v1/models", headers={"Authorization": "Bearer cli-token"}, timeout=5)
        assert models.status_code == 200 and models.json()["data"]
        assert requests.get(f"{url}/v1/models", timeout=5).status_code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
