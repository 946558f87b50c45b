"""What the tests share: the private AIRFLOW_HOME, the recognisable secrets, a stub task instance, the secret scan.

Importing this module sets up the private AIRFLOW_HOME (each process gets its own, xdist workers
included), so it must be imported before Airflow is: ``tests/conftest.py`` imports it first.
DAG-run tests copy their DAG files (tests/dags and examples/) into that home's dags folder, since
``dag.test()`` only runs DAGs that live in the configured dags folder.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

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


# --------------------------------------------------------------------------------------------------
# The secret scan
# --------------------------------------------------------------------------------------------------


@dataclass
class ScanTotals:
    """How much the scan looked at: proof, over a whole run, that the suite really ran DAGs."""

    tests: int = 0
    xcoms: int = 0
    rendered: int = 0
    masked: int = 0  # rendered fields showing a masked value: secrets were there, and were masked

    def __add__(self, other: ScanTotals) -> ScanTotals:
        return ScanTotals(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def shortfalls(self) -> list[str]:
        """What is too small for a whole run of the suite (empty when the totals look right)."""
        wanted = {"tests": 100, "xcoms": 50, "rendered": 20, "masked": 0}
        return [
            f"{name}={getattr(self, name)} (expected > {floor})"
            for name, floor in wanted.items()
            if getattr(self, name) <= floor
        ]


@dataclass
class SecretScan:
    """Everything the suite's DAG runs and tests left behind in this process, searched for the secrets.

    Test output is kept as tests end (``keep_output``); XComs and rendered template fields are read
    from the metadata database when this process used it; task log files from ``home / "logs"``.
    """

    home: Path
    secrets: dict[str, str]
    outputs: list[tuple[str, str]] = field(default_factory=list)
    tests: int = 0
    uses_database: bool = False

    def keep_output(self, where: str, text: str) -> None:
        if text:
            self.outputs.append((where, text))

    def _database(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        if not self.uses_database:
            return [], []
        from airflow.models.renderedtifields import RenderedTaskInstanceFields
        from airflow.models.xcom import XComModel
        from airflow.utils.session import create_session
        from sqlalchemy import select

        with create_session() as session:
            xcoms = [
                (f"{r.dag_id}/{r.task_id}[{r.map_index}] {r.key}", json.dumps(r.value, default=str))
                for r in session.scalars(select(XComModel))
            ]
            rendered = [
                (f"{r.dag_id}/{r.task_id}[{r.map_index}]", json.dumps(r.rendered_fields, default=str))
                for r in session.scalars(select(RenderedTaskInstanceFields))
            ]
        return xcoms, rendered

    def run(self) -> tuple[ScanTotals, list[str]]:
        """Search everything: what was looked at, and one line per leak (the secret, where, the text around it)."""
        xcoms, rendered = self._database()
        logs = [(str(p), p.read_text(errors="replace")) for p in sorted((self.home / "logs").rglob("*")) if p.is_file()]
        haystacks = {"XCom": xcoms, "rendered fields": rendered, "task log file": logs, "test output": self.outputs}
        leaks = []
        for label, secret in self.secrets.items():
            for kind, texts in haystacks.items():
                for where, text in texts:
                    at = text.find(secret)
                    if at >= 0:
                        excerpt = text[max(0, at - 150) : at + len(secret) + 150]
                        leaks.append(f"{label} ({secret!r}) leaked into {kind} {where}: ...{excerpt!r}...")
        masked = sum("***" in text for _, text in rendered)
        return ScanTotals(self.tests, len(xcoms), len(rendered), masked), leaks


#: The secrets the scan looks for, by the name tests know them under.
SCANNED_SECRETS = {"SECRET_TOKEN": SECRET_TOKEN, **{f"ENV_SECRETS[{i}]": s for i, s in enumerate(ENV_SECRETS)}}
