"""Run a DAG with ``dag.test()`` and read back what each task did: for tests and the demo.

``dag.test()`` needs a migrated metadata database under ``AIRFLOW_HOME`` and the DAG file inside
the configured dags folder; :func:`prepare_airflow_home` sets up both before Airflow is imported.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast


def prepare_airflow_home(home: str | os.PathLike[str], dags_folder: str | os.PathLike[str] | None = None) -> Path:
    """Point Airflow at ``home`` (and ``dags_folder``) and migrate its SQLite database once.

    Must run before the first ``import airflow`` of the process: Airflow reads its configuration
    at import time.
    """
    home_path = Path(home).resolve()
    dags_path = Path(dags_folder).resolve() if dags_folder else home_path / "dags"
    dags_path.mkdir(parents=True, exist_ok=True)
    os.environ["AIRFLOW_HOME"] = str(home_path)
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags_path)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ.setdefault("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "False")
    if not (home_path / "airflow.db").exists():
        result = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            env=os.environ.copy(),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"'airflow db migrate' failed in {home_path} (exit {result.returncode}):\n"
                + (result.stderr or result.stdout)[-3000:]
            )
    return home_path


@dataclass
class DagRunResult:
    """The outcome of one ``dag.test()`` run: states and XCom values by task and map index."""

    dag_run: Any
    state: str
    task_states: dict[tuple[str, int], str] = field(default_factory=dict)
    xcoms: dict[tuple[str, int, str], Any] = field(default_factory=dict)
    rendered: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)

    def value(self, task_id: str, map_index: int = -1, key: str = "return_value") -> Any:
        """The XCom a task pushed; ``KeyError`` names what exists when it is missing."""
        try:
            return self.xcoms[(task_id, map_index, key)]
        except KeyError:
            raise KeyError(f"no XCom {key!r} for {task_id}[{map_index}]; have: {sorted(self.xcoms)}") from None

    def values(self, task_id: str, key: str = "return_value") -> list[Any]:
        """The XComs of every map index of a mapped task, in map-index order."""
        found = sorted((mi, v) for (tid, mi, k), v in self.xcoms.items() if tid == task_id and k == key)
        return [v for _, v in found]

    def states(self, task_id: str) -> list[str]:
        return [s for (tid, _), s in sorted(self.task_states.items()) if tid == task_id]


def parse_dags(path: str | os.PathLike[str]) -> Any:
    """A ``DagBag`` of a file or folder, parsed as the scheduler does (``@dag`` calls included)."""
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow < 3.2
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

    return DagBag(dag_folder=str(path))


def load_dag(path: str | os.PathLike[str], dag_id: str) -> Any:
    """Parse one DAG file and return one of its DAGs; import errors are raised, not hidden."""
    bag = parse_dags(path)
    if bag.import_errors:
        raise RuntimeError(f"{path} failed to import: {bag.import_errors}")
    try:
        return bag.dags[dag_id]
    except KeyError:
        raise LookupError(f"{path} has no DAG {dag_id!r}; it has {sorted(bag.dags)}") from None


def fast_polling(dag: Any, seconds: float = 0) -> Any:
    """Make every AI Training wait in ``dag`` poll every ``seconds``: for runs against the emulator.

    Real jobs take minutes, so DAGs poll every 30 s; emulator jobs move one state per poll, so a
    test or demo run would otherwise spend minutes sleeping. Mapped tasks are covered too.
    """
    for task in dag.tasks:
        partial_kwargs = getattr(task, "partial_kwargs", None)
        if isinstance(partial_kwargs, dict) and "check_interval" in partial_kwargs:
            partial_kwargs["check_interval"] = seconds
        elif hasattr(task, "check_interval"):
            task.check_interval = seconds
    return dag


def run_dag(dag: Any, **test_kwargs: Any) -> DagRunResult:
    """Run ``dag.test(**test_kwargs)`` and collect task states and XComs from the metadata DB."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    dag_run = dag.test(**test_kwargs)
    result = DagRunResult(dag_run=dag_run, state=str(dag_run.state))
    with create_session() as session:
        tis = session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == dag.dag_id, TaskInstance.run_id == dag_run.run_id)
        )
        for ti in tis:
            result.task_states[(ti.task_id, ti.map_index)] = str(ti.state)
        rows = session.scalars(XComModel.get_many(run_id=dag_run.run_id, dag_ids=dag.dag_id))
        for row in rows:
            row = cast("Any", row)
            result.xcoms[(row.task_id, row.map_index, row.key)] = XComModel.deserialize_value(row)
        rtifs = session.scalars(
            select(RenderedTaskInstanceFields).where(
                RenderedTaskInstanceFields.dag_id == dag.dag_id,
                RenderedTaskInstanceFields.run_id == dag_run.run_id,
            )
        )
        for rtif in rtifs:
            result.rendered[(rtif.task_id, rtif.map_index)] = dict(rtif.rendered_fields or {})
    return result
