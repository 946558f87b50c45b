"""Test set-up: a private AIRFLOW_HOME configured before Airflow is first imported.

DAG-run tests copy their DAG files (tests/dags and examples/) into that home's dags folder, since
``dag.test()`` only runs DAGs that live in the configured dags folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).parent
REPO = TESTS.parent
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="airflow-ovhcloud-tests-"))
DAGS_FOLDER = AIRFLOW_HOME / "dags"
DAGS_FOLDER.mkdir()
os.environ["AIRFLOW_HOME"] = str(AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS_FOLDER)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
# Tests must never reach a connection defined on the machine running them.
for name in list(os.environ):
    if name.startswith("AIRFLOW_CONN_OVH"):
        del os.environ[name]

#: A recognisable token: tests assert it never shows up in logs, errors or XComs.
SECRET_TOKEN = "sk-ovh-SECRET-4242-do-not-leak"
#: Job environment values the test DAGs use; the closing secret scan looks for them too.
ENV_SECRETS = ("hf_SECRET-env-value-777", "train-secret-123")
#: Whatever each test printed and did not read itself (task logs, tracebacks): for the secret scan.
LEFTOVER_OUTPUT: list[str] = []


@pytest.fixture(autouse=True)
def _keep_output_for_the_secret_scan(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    yield
    captured = capsys.readouterr()
    LEFTOVER_OUTPUT.append(captured.out + captured.err)


class StubTaskInstance:
    """The few task-instance attributes the submit operator reads, for calling it outside a DAG run.

    Used where a real run cannot express the scenario (a task killed mid-wait, then retried).
    """

    def __init__(self, map_index: int = -1, run_id: str = "manual__1") -> None:
        self.dag_id, self.task_id, self.run_id, self.map_index = "dag", "train", run_id, map_index
        self.stats_tags: dict[str, str] = {}
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = json.loads(json.dumps(value))  # XCom values must be JSON-serialisable


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated metadata DB, shared by the whole session (migration costs a few seconds)."""
    from airflow_ovhcloud.testing.dagrun import prepare_airflow_home

    for source in [*sorted((TESTS / "dags").glob("*.py")), *sorted((REPO / "examples").glob("*.py"))]:
        if source.name != "__init__.py":
            shutil.copyfile(source, DAGS_FOLDER / source.name)
    return prepare_airflow_home(AIRFLOW_HOME, DAGS_FOLDER)


@pytest.fixture
def load_dag(airflow_db: Path) -> Any:
    """Parse a DAG file of the dags folder and return one of its DAGs by id."""
    from airflow_ovhcloud.testing.dagrun import load_dag as load

    return lambda file_name, dag_id: load(DAGS_FOLDER / file_name, dag_id)


@pytest.fixture
def emu() -> Iterator[Any]:
    """A bare emulator (default token, no connection set), for the emulator's own tests."""
    from airflow_ovhcloud.testing import OVHCloudAIEmulator

    with OVHCloudAIEmulator() as emulator:
        yield emulator


@pytest.fixture
def http(emu: Any) -> Iterator[Any]:
    """A plain ``requests`` session carrying the emulator's token."""
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {emu.token}"
    yield session
    session.close()


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An emulator with a recognisable token, and default connections that retry fast (10 ms backoff)."""
    from airflow_ovhcloud.testing import OVHCloudAIEmulator

    with OVHCloudAIEmulator(token=SECRET_TOKEN) as emu:
        conn = emu.endpoints_connection()
        conn["extra"] = {"backoff_factor": 0.01}
        monkeypatch.setenv("AIRFLOW_CONN_OVH_AI_ENDPOINTS_DEFAULT", json.dumps(conn))
        training = emu.training_connection()
        training["extra"] = {"backoff_factor": 0.01}
        monkeypatch.setenv("AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT", json.dumps(training))
        yield emu
