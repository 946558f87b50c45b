"""The README's main job: `airflow-ovhcloud demo` runs the flagship DAG end to end on the emulator."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys


def _command() -> str:
    return shutil.which("airflow-ovhcloud", path=os.path.dirname(sys.executable)) or "airflow-ovhcloud"


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "OVH_AI"))}


def test_demo_runs_the_flagship_dag_and_prints_a_summary(tmp_path: object) -> None:
    done = subprocess.run(
        [_command(), "demo", "--airflow-home", str(tmp_path)],
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "Started the OVHcloud AI emulator" in out
    for line in ("  success  summarize[2]", "  success  embed", "  success  fine_tune"):
        assert line in out
    assert "3 vectors of 1024 dimensions" in out
    assert "DONE (exit code 0)" in out
    assert "DAG run success" in out


def test_live_demo_without_credentials_says_what_to_set() -> None:
    done = subprocess.run(
        [_command(), "demo", "--live"], capture_output=True, text=True, env=_clean_env(), timeout=60, check=False
    )
    assert done.returncode == 2
    assert "OVH_AI_ENDPOINTS_ACCESS_TOKEN" in done.stdout and "OVH_AI_TRAINING_TOKEN" in done.stdout
