"""The README's main job: `airflow-ovhcloud demo` runs the flagship DAG end to end on the emulator."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _command() -> str:
    return shutil.which("airflow-ovhcloud", path=os.path.dirname(sys.executable)) or "airflow-ovhcloud"


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "OVH_AI"))}


def test_demo_runs_the_flagship_dag_and_prints_a_summary(tmp_path: Path) -> None:
    """As after a fresh ``pip install``: no ``httpx2``, so Starlette's test client (which ``dag.test()``
    uses) warns that ``httpx`` is deprecated; the demo prints no such warning, and removes its
    temporary AIRFLOW_HOME."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "httpx2.py").write_text("raise ModuleNotFoundError(\"No module named 'httpx2'\", name='httpx2')\n")
    temp = tmp_path / "tmp"
    temp.mkdir()
    done = subprocess.run(
        [_command(), "demo"],
        capture_output=True,
        text=True,
        env={**_clean_env(), "PYTHONPATH": str(shim), "TMPDIR": str(temp)},
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "AIRFLOW_HOME=" + str(temp) in out and "removed at the end" in out
    assert list(temp.iterdir()) == []  # the temporary AIRFLOW_HOME is gone
    for text in (out, done.stderr):
        assert "deprecat" not in text.lower() and "Warning" not in text, text
    assert "Started the OVHcloud AI emulator" in out
    for line in ("  success  summarize[2]", "  success  embed", "  success  fine_tune"):
        assert line in out
    assert "3 vectors of 1024 dimensions" in out
    assert "DONE (exit code 0)" in out
    assert "DAG run success" in out


def test_the_shim_reproduces_the_warning_the_demo_silences(tmp_path: Path) -> None:
    """The test above proves something: without ``httpx2`` Starlette does warn, and the demo's filter catches it."""
    from airflow_ovhcloud.demo import DEMO_QUIET_WARNINGS

    (tmp_path / "httpx2.py").write_text("raise ModuleNotFoundError(\"No module named 'httpx2'\", name='httpx2')\n")
    code = "import warnings; warnings.simplefilter('always'); import starlette.testclient"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**_clean_env(), "PYTHONPATH": str(tmp_path)},
        cwd=tmp_path,
        timeout=60,
        check=True,
    )
    if "httpx" not in done.stderr:
        pytest.skip("this Starlette (Airflow 3.1's) does not warn about httpx")
    assert re.search(DEMO_QUIET_WARNINGS[0], done.stderr), done.stderr


def test_demo_keeps_an_airflow_home_it_was_given(tmp_path: Path) -> None:
    done = subprocess.run(
        [_command(), "demo", "--airflow-home", str(tmp_path)],
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "dags" / "flagship.py").exists() and (tmp_path / "airflow.db").exists()
    assert "removed at the end" not in done.stdout


def test_live_demo_without_credentials_says_what_to_set() -> None:
    done = subprocess.run(
        [_command(), "demo", "--live"], capture_output=True, text=True, env=_clean_env(), timeout=60, check=False
    )
    assert done.returncode == 2
    assert "OVH_AI_ENDPOINTS_ACCESS_TOKEN" in done.stdout and "OVH_AI_TRAINING_TOKEN" in done.stdout
