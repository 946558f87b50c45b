"""Run a DAG with ``dag.test()`` and read back what each task did: for tests and the demo.

``dag.test()`` needs a migrated metadata database under ``AIRFLOW_HOME`` and the DAG file inside
the configured dags folder, and it returns normally when a task fails. :func:`run_dag` takes care
of all three: it migrates the configured database when it is empty, puts a copy of the DAG's file
in the dags folder for the run when the file lives elsewhere, and raises :class:`DagRunFailed`
(an ``AssertionError``) naming each failed task, its map index and its error.

:func:`prepare_airflow_home` sets up a home before Airflow is imported (scripts; the pytest plugin
does it for a test session).
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

__all__ = [
    "DagRunFailed",
    "DagRunResult",
    "TaskFailure",
    "ensure_airflow_db",
    "fast_polling",
    "load_dag",
    "parse_dags",
    "prepare_airflow_home",
    "run_dag",
]

#: Where :func:`run_dag` puts, for the time of a run, a copy of a DAG file that lives outside the dags folder.
RUN_COPIES_FOLDER = "_airflow_ovhcloud_run_dag"
#: Task states that make :func:`run_dag` raise.
FAILED_STATES = ("failed", "upstream_failed")


class _Auto:
    def __repr__(self) -> str:
        return "AUTO"


#: ``run_dag(poll_interval=AUTO)``: the ``ovhcloud_emulator`` fixture's interval while it runs, else the DAG's own.
AUTO: Any = _Auto()

# Set by the ``ovhcloud_emulator`` pytest fixture for the time of a test (None: leave the DAG's intervals).
_emulator_poll_interval: float | None = None
_migrate_lock = threading.Lock()


def _migrate(home: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"'airflow db migrate' failed in {home} (exit {result.returncode}):\n"
            + (result.stderr or result.stdout)[-3000:]
        )


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
        _migrate(home_path)
    return home_path


def ensure_airflow_db() -> None:
    """Migrate the configured metadata database if it has no tables yet (once per process).

    A home chosen with ``AIRFLOW_HOME`` (by you, or by the pytest plugin) is migrated on first use.
    Without ``AIRFLOW_HOME`` Airflow uses ``~/airflow``: that one is never created behind your back,
    a ``RuntimeError`` says what to do instead.
    """
    from airflow import settings
    from sqlalchemy import inspect

    with _migrate_lock:
        engine = settings.get_engine() if hasattr(settings, "get_engine") else settings.engine
        if inspect(engine).has_table("dag_run"):
            return
        home = os.environ.get("AIRFLOW_HOME")
        if not home:
            raise RuntimeError(
                "Airflow's metadata database has no tables and AIRFLOW_HOME is not set (Airflow then uses "
                "~/airflow, which is left alone). Run under pytest (the airflow-ovhcloud plugin gives the session "
                "a temporary AIRFLOW_HOME), set AIRFLOW_HOME, or call "
                "airflow_ovhcloud.testing.prepare_airflow_home() before importing Airflow."
            )
        _migrate(Path(home))


@dataclass(frozen=True)
class TaskFailure:
    """A task instance that did not succeed: ``state`` is ``failed`` or ``upstream_failed``."""

    task_id: str
    map_index: int
    state: str
    error: str | None = None

    @property
    def label(self) -> str:
        return self.task_id + (f"[{self.map_index}]" if self.map_index >= 0 else "")


@dataclass
class DagRunResult:
    """The outcome of one ``dag.test()`` run: states and XCom values by task and map index."""

    dag_run: Any
    state: str
    task_states: dict[tuple[str, int], str] = field(default_factory=dict)
    xcoms: dict[tuple[str, int, str], Any] = field(default_factory=dict)
    rendered: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    #: Failed and upstream-failed task instances, failed ones with the error they raised.
    failures: list[TaskFailure] = field(default_factory=list)

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

    @property
    def succeeded(self) -> bool:
        """The run succeeded and no task instance failed (a leaf's trigger rule can hide a failure)."""
        return self.state == "success" and not self.failures

    def error(self, task_id: str, map_index: int = -1) -> str | None:
        """The error a failed task instance raised (``"ExceptionType: message"``), else None."""
        for failure in self.failures:
            if (failure.task_id, failure.map_index) == (task_id, map_index):
                return failure.error
        return None

    def report(self) -> str:
        """What went wrong, one line per failed task instance (for error messages)."""
        dag_id = getattr(self.dag_run, "dag_id", "?")
        failed = [f for f in self.failures if f.state == "failed"]
        lines = [f"DAG run {dag_id} ended {self.state}; {len(failed)} task instance(s) failed:"]
        for failure in failed:
            error = failure.error or "no exception captured (dag.test() printed the task's log above)"
            lines.append(f"  {failure.label}: {error}")
        upstream = [f.label for f in self.failures if f.state == "upstream_failed"]
        if upstream:
            lines.append(f"  upstream_failed: {', '.join(upstream)}")
        return "\n".join(lines)


class DagRunFailed(AssertionError):
    """A DAG run that :func:`run_dag` expected to succeed did not; ``result`` holds the details."""

    def __init__(self, result: DagRunResult) -> None:
        super().__init__(result.report())
        self.result = result
        self.failures = result.failures


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


def _set_polling(dag: Any, seconds: float) -> Callable[[], None]:
    """Set every AI Training wait of ``dag`` to poll every ``seconds``; returns what puts them back."""
    undo: list[Callable[[], None]] = []
    for task in dag.tasks:
        partial_kwargs = getattr(task, "partial_kwargs", None)
        if isinstance(partial_kwargs, dict) and "check_interval" in partial_kwargs:
            undo.append(
                functools.partial(partial_kwargs.__setitem__, "check_interval", partial_kwargs["check_interval"])
            )
            partial_kwargs["check_interval"] = seconds
        elif hasattr(task, "check_interval"):
            undo.append(functools.partial(setattr, task, "check_interval", task.check_interval))
            task.check_interval = seconds

    def restore() -> None:
        for step in reversed(undo):
            step()

    return restore


def fast_polling(dag: Any, seconds: float = 0) -> Any:
    """Make every AI Training wait in ``dag`` poll every ``seconds``: for runs against the emulator.

    Real jobs take minutes, so DAGs poll every 30 s; emulator jobs move one state per poll, so a
    test or demo run would otherwise spend minutes sleeping. Mapped tasks are covered too.
    :func:`run_dag` does this by itself inside the ``ovhcloud_emulator`` fixture.
    """
    _set_polling(dag, seconds)
    return dag


@contextlib.contextmanager
def _file_in_dags_folder(dag: Any) -> Iterator[None]:
    """``dag.test()`` only runs a DAG it finds in the dags folder: copy the file there for the run if needed."""
    from airflow import settings

    dags_folder = Path(settings.DAGS_FOLDER).expanduser().resolve()
    fileloc = getattr(dag, "fileloc", None)
    source = Path(fileloc).resolve() if fileloc else None
    if source is None or not source.is_file():
        raise RuntimeError(
            f"DAG {dag.dag_id} was not defined in a file ({fileloc!r}); dag.test() needs the DAG's file "
            "in the dags folder: define it in a module"
        )
    if source.is_relative_to(dags_folder):
        yield
        return
    target = dags_folder / RUN_COPIES_FOLDER / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob("*.py"):  # copies left by a run that was killed
        stale.unlink(missing_ok=True)
    shutil.copyfile(source, target)
    try:
        yield
    finally:
        target.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # not empty: another process's run
            target.parent.rmdir()


def _describe(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= 2000 else text[:2000] + "..."


@contextlib.contextmanager
def _recording_errors(errors: dict[tuple[str, int], str]) -> Iterator[None]:
    """Keep the exception each task instance ended with (``dag.test()`` only logs it), by task and map index.

    Wraps the Task SDK's in-process runner and ``dag.test()``'s inline trigger runner; where an
    Airflow version has neither, failures are reported without their error.
    """
    patched: list[tuple[Any, str, Any]] = []

    def key_of(ti: Any) -> tuple[str, int]:
        map_index = getattr(ti, "map_index", -1)
        return str(ti.task_id), -1 if map_index is None else int(map_index)

    def run_task(original: Any) -> Any:
        def recording(*args: Any, **kwargs: Any) -> Any:
            ti = kwargs.get("ti", args[0] if args else None)
            result = original(*args, **kwargs)
            error = getattr(result, "error", None)
            if ti is not None and error is not None:
                errors[key_of(ti)] = _describe(error)
            return result

        return recording

    def run_trigger(original: Any) -> Any:
        def recording(trigger: Any, ti: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return original(trigger, ti, *args, **kwargs)
            except Exception as exc:
                errors[key_of(ti)] = _describe(exc)
                raise

        return recording

    for module_name, name, wrap in (
        ("airflow.sdk.execution_time.supervisor", "run_task_in_process", run_task),
        ("airflow.sdk.definitions.dag", "run_task_in_process", run_task),
        ("airflow.sdk.definitions.dag", "_run_inline_trigger", run_trigger),
    ):
        module = sys.modules.get(module_name)
        if module is None:
            with contextlib.suppress(ImportError):
                module = __import__(module_name, fromlist=["_"])
        original = getattr(module, name, None) if module is not None else None
        if original is not None:
            setattr(module, name, wrap(original))
            patched.append((module, name, original))
    try:
        yield
    finally:
        for module, name, original in reversed(patched):
            setattr(module, name, original)


def run_dag(
    dag: Any,
    *,
    raise_on_failure: bool = True,
    expect_failure: bool = False,
    poll_interval: float | None = AUTO,
    **test_kwargs: Any,
) -> DagRunResult:
    """Run ``dag.test(**test_kwargs)`` and return every task's state and XComs; raise if anything failed.

    - The metadata database is migrated first if it is empty (:func:`ensure_airflow_db`), and the
      DAG's file is copied into the dags folder for the run when it lives elsewhere.
    - A failed or upstream-failed task instance, or a run that did not succeed, raises
      :class:`DagRunFailed` (an ``AssertionError``) listing each failed task, its map index and its
      error. With ``expect_failure=True`` the run must fail instead (``AssertionError`` if it all
      succeeded); read ``result.failures``. ``raise_on_failure=False`` checks nothing.
    - ``poll_interval``: seconds between AI Training polls for this run (put back afterwards). By
      default, inside the ``ovhcloud_emulator`` fixture, 0 (the fixture's
      ``ovhcloud_emulator_poll_interval``); outside it, the DAG's own. ``None`` keeps the DAG's.
    """
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    ensure_airflow_db()
    if poll_interval is AUTO:
        poll_interval = _emulator_poll_interval
    restore_polling = _set_polling(dag, poll_interval) if poll_interval is not None else None
    errors: dict[tuple[str, int], str] = {}
    try:
        with _file_in_dags_folder(dag), _recording_errors(errors):
            dag_run = dag.test(**test_kwargs)
    finally:
        if restore_polling is not None:
            restore_polling()

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
    for (task_id, map_index), state in sorted(result.task_states.items()):
        if state in FAILED_STATES:
            error = errors.get((task_id, map_index)) if state == "failed" else None
            result.failures.append(TaskFailure(task_id, map_index, state, error))

    if raise_on_failure and expect_failure and result.succeeded:
        raise AssertionError(f"DAG run {dag.dag_id} was expected to fail, but every task succeeded")
    if raise_on_failure and not expect_failure and not result.succeeded:
        raise DagRunFailed(result)
    return result
