"""The job's own log in the Airflow task log, proven by real DAG runs (blocking, deferred, killed and retried)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from airflow_ovhcloud.testing.dagrun import run_dag
from tests.dags.joblog_dags import ENV_SECRET

FILE = "joblog_dags.py"
LINES = [f"epoch {i}: loss={1 / (i + 1):.3f}" for i in range(12)]


def job_lines(out: str, job_id: str) -> list[str]:
    """The lines of the task log that came from the job's own log, in the order they were printed."""
    return re.findall(rf"\[job {re.escape(job_id)}\] (.*?)(?: \[[\w.]+\] loc=\S+)?\s*$", out, flags=re.M)


def stamped(lines: list[str]) -> list[str]:
    return [re.sub(r"^\S+ ", "", line) for line in lines]  # the emulator stamps each line


@pytest.mark.parametrize("dag_id", ["test_joblog_blocking", "test_joblog_deferrable", "test_joblog_decorator"])
def test_job_lines_arrive_over_several_polls_each_exactly_once(
    dag_id: str, emulator: Any, load_dag: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.log_lines_per_step = 3  # four polls while RUNNING, three new lines each
    emulator.script_job(logs=[*LINES, f"using key {ENV_SECRET}"])
    result = run_dag(load_dag(FILE, dag_id))
    assert result.state == "success", result.task_states
    (job_id,) = emulator.jobs

    out = capsys.readouterr().out
    printed = stamped(job_lines(out, job_id))
    assert printed == [*LINES, "using key ***"]  # in order, once each, the env value masked
    assert ENV_SECRET not in out
    reads = emulator.requests_to(f"/v1/job/{job_id}/log")
    assert len(reads) >= 5  # the lines came over several polls, not in one read at the end
    # the first lines were in the task log before the job was done: a RUNNING state line follows them
    assert out.index("epoch 0") < out.index(f"AI Training job {job_id} is FINALIZING")


def test_log_job_output_false_reads_no_log(emulator: Any, load_dag: Any, capsys: pytest.CaptureFixture[str]) -> None:
    emulator.script_job(logs=LINES)
    result = run_dag(load_dag(FILE, "test_joblog_quiet"))
    assert result.state == "success", result.task_states
    assert emulator.requests_to("/log") == []
    assert "[job " not in capsys.readouterr().out


def test_a_flood_is_capped_per_poll_and_summarised(
    emulator: Any, load_dag: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.log_lines_per_step = 40
    emulator.script_job(logs=[f"step {i}" for i in range(80)])
    result = run_dag(load_dag(FILE, "test_joblog_flood"))
    assert result.state == "success", result.task_states
    (job_id,) = emulator.jobs
    out = capsys.readouterr().out
    shown = stamped([line for line in job_lines(out, job_id) if "lines skipped" not in line])
    skipped = sum(int(n) for n in re.findall(r"\.\.\. (\d+) lines skipped", out))
    assert len(shown) + skipped == 80 and skipped >= 70
    assert shown == sorted(shown, key=lambda line: int(line.split()[1]))  # in order, no repeats
    assert shown[-1] == "step 79"  # the newest lines are the ones shown


def test_a_killed_and_retried_task_goes_on_where_the_killed_try_stopped(
    emulator: Any, load_dag: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.log_lines_per_step = 2
    emulator.script_job(logs=LINES)
    result = run_dag(load_dag(FILE, "test_joblog_killed"), poll_interval=None)  # the DAG's half-second polls
    assert result.state == "success", result.task_states
    assert emulator.submitted_jobs == 1  # every retry reattached
    (job_id,) = emulator.jobs

    out = capsys.readouterr().out
    assert "Timeout" in out  # Airflow killed at least one try at its execution_timeout
    assert stamped(job_lines(out, job_id)) == LINES  # across the tries: each line once, in order
