"""``run_dag``: dag.test() that fails loudly, runs a DAG file from anywhere, and polls fast in the fixture."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from airflow_ovhcloud.testing import DagRunFailed, TaskFailure, load_dag, run_dag
from airflow_ovhcloud.testing.dagrun import RUN_COPIES_FOLDER, ensure_airflow_db

OUTSIDE_DAG = """
from datetime import datetime

from airflow.sdk import dag, task


@dag(dag_id="outside_the_dags_folder", start_date=datetime(2025, 1, 1), schedule=None, catchup=False)
def outside():
    @task.ovh_chat(model="Meta-Llama-3_3-70B-Instruct")
    def ask() -> str:
        return "Say hello."

    @task.ovh_training(image="pytorch/pytorch:latest", check_interval=30)
    def train(answer: str) -> dict:
        return {"name": "from-anywhere"}

    train(ask())


@dag(dag_id="mapped_jobs", start_date=datetime(2025, 1, 1), schedule=None, catchup=False)
def mapped_jobs():
    @task.ovh_training(image="pytorch/pytorch:latest", check_interval=30)
    def train(lr: float) -> dict:
        return {"name": f"lr-{lr}"}

    train.expand(lr=[0.1, 0.2])


outside()
mapped_jobs()
"""


@pytest.fixture
def dag_file(tmp_path: Path) -> Path:
    """A DAG file in a project of its own, outside the dags folder."""
    path = tmp_path / "my_project_dag.py"
    path.write_text(OUTSIDE_DAG)
    return path


def test_a_failed_mapped_task_raises_with_its_id_map_index_and_error(
    emulator: Any, airflow_db: Path, dag_file: Path
) -> None:
    emulator.script_job(final_state="FAILED", info_message="loss is NaN", name="lr-0.2")
    with pytest.raises(DagRunFailed) as raised:
        run_dag(load_dag(dag_file, "mapped_jobs"))

    error = raised.value
    assert isinstance(error, AssertionError)
    message = str(error)
    assert message.startswith("DAG run mapped_jobs ended failed; 1 task instance(s) failed:")
    assert "  train[1]: OVHCloudAIJobFailedError: AI Training job " in message
    assert "entered failure state: FAILED (loss is NaN)" in message
    (failure,) = error.failures
    assert (failure.task_id, failure.map_index, failure.state) == ("train", 1, "failed")
    assert error.result.value("train", 0)["status"]["state"] == "DONE"  # the rest of the result is there


def test_errors_of_blocking_and_deferred_waits_are_both_reported(emulator: Any, load_dag: Any) -> None:
    emulator.script_job(final_state="FAILED", info_message="CUDA out of memory", exit_code=137)
    result = run_dag(load_dag("training_operator_dags.py", "test_training_wait_failure"), expect_failure=True)

    assert [(f.task_id, f.map_index, f.state) for f in result.failures] == [
        ("wait", -1, "failed"),
        ("wait_deferred", -1, "failed"),
    ]
    for task_id in ("wait", "wait_deferred"):
        error = result.error(task_id)
        assert error is not None and "FAILED (CUDA out of memory), exit code 137" in error, task_id
    assert result.error("submit") is None and not result.succeeded
    assert "wait_deferred: OVHCloudAIJobFailedError" in result.report()


def test_a_dag_file_outside_the_dags_folder_runs_fast_and_leaves_nothing_behind(
    emulator: Any, airflow_db: Path, dag_file: Path
) -> None:
    from airflow import settings

    dag = load_dag(dag_file, "outside_the_dags_folder")
    emulator.script_chat("Hello.")

    started = time.monotonic()
    result = run_dag(dag)  # check_interval=30 in the DAG; the fixture makes run_dag poll at once
    assert time.monotonic() - started < 20

    assert result.succeeded and result.value("ask") == "Hello."
    assert result.value("train")["status"]["state"] == "DONE"
    assert dag.get_task("train").check_interval == 30  # put back after the run
    assert not (Path(settings.DAGS_FOLDER) / RUN_COPIES_FOLDER).exists()

    with pytest.raises(AssertionError, match="was expected to fail, but every task succeeded"):
        run_dag(dag, expect_failure=True)
    emulator.fail_next(10, 400, path="/chat/completions")
    quiet = run_dag(dag, raise_on_failure=False)
    assert quiet.failures[0] == TaskFailure("ask", -1, "failed", quiet.failures[0].error)
    assert quiet.failures[1:] == [TaskFailure("train", -1, "upstream_failed")]
    assert "upstream_failed: train" in quiet.report()


def test_without_a_database_or_airflow_home_it_says_what_to_do(
    airflow_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlalchemy

    class Empty:
        def has_table(self, name: str) -> bool:
            return False

    monkeypatch.setattr(sqlalchemy, "inspect", lambda engine: Empty())
    monkeypatch.delenv("AIRFLOW_HOME")
    with pytest.raises(RuntimeError, match="AIRFLOW_HOME is not set"):
        ensure_airflow_db()
