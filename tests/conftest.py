"""Fixtures and hooks of the suite; what tests share by name lives in ``tests/helpers.py``.

- The emulator fixtures build on the ``ovhcloud_emulator`` fixture of the package's pytest plugin:
  the suite sets its options (the recognisable token, connections that retry fast), and
  ``emulator``/``emu`` are that same fixture under the names the tests use.
- The secret scan runs when each process's session ends (each xdist worker scans its own
  AIRFLOW_HOME): a secret found anywhere is an error at the teardown of the last test, so it fails
  the run whatever the selection or order. When the whole suite ran, the main process also checks
  that the scan had something to look at. Then the temporary AIRFLOW_HOME is removed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import (  # first: sets up AIRFLOW_HOME before anything imports Airflow
    AIRFLOW_HOME,
    DAGS_FOLDER,
    REPO,
    SCANNED_SECRETS,
    SECRET_TOKEN,
    TESTS,
    ScanTotals,
    SecretScan,
)

pytest_plugins = ["pytester"]

SCAN = SecretScan(AIRFLOW_HOME, SCANNED_SECRETS)
# Totals of the scans of this run (the workers' ones under xdist), and whether the selection
# left out more than the packaging tests (which run no DAG).
_RUN: dict[str, Any] = {"totals": ScanTotals(), "narrowed": False}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist, the packaging tests (a third of the suite's time) start first, in one worker.

    Handing out the longest work first keeps both workers busy until the end; the order is the same
    in every worker, as xdist requires. A serial run keeps the file order.
    """
    if hasattr(config, "workerinput"):
        items.sort(key=lambda item: item.get_closest_marker("packaging") is None)


# -------------------------------------------------------------------------------------- Airflow


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated metadata DB, shared by the whole session (migration costs a few seconds)."""
    from airflow_ovhcloud.testing.dagrun import prepare_airflow_home

    for source in [*sorted((TESTS / "dags").glob("*.py")), *sorted((REPO / "examples").glob("*.py"))]:
        if source.name != "__init__.py":
            shutil.copyfile(source, DAGS_FOLDER / source.name)
    home = prepare_airflow_home(AIRFLOW_HOME, DAGS_FOLDER)
    SCAN.uses_database = True
    return home


@pytest.fixture
def load_dag(airflow_db: Path) -> Any:
    """Parse a DAG file of the dags folder and return one of its DAGs by id."""
    from airflow_ovhcloud.testing.dagrun import load_dag as load

    return lambda file_name, dag_id: load(DAGS_FOLDER / file_name, dag_id)


# ------------------------------------------------------------------------------------- emulator


@pytest.fixture
def ovhcloud_emulator_options() -> dict[str, Any]:
    """The suite's emulator takes the recognisable token the secret scan looks for."""
    return {"token": SECRET_TOKEN}


@pytest.fixture
def ovhcloud_emulator_connection_extra() -> dict[str, Any]:
    """Default connections that retry fast (10 ms backoff)."""
    return {"backoff_factor": 0.01}


@pytest.fixture
def emulator(ovhcloud_emulator: Any) -> Any:
    """The plugin's emulator, wired to both default connections (the name the DAG tests use)."""
    return ovhcloud_emulator


@pytest.fixture
def emu(ovhcloud_emulator: Any) -> Any:
    """The same emulator, under the name the emulator's own tests use."""
    return ovhcloud_emulator


@pytest.fixture
def http(emu: Any) -> Iterator[Any]:
    """A plain ``requests`` session carrying the emulator's token."""
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {emu.token}"
    yield session
    session.close()


# ---------------------------------------------------------------------------------- secret scan


@pytest.fixture(autouse=True)
def _keep_output_for_the_secret_scan(
    request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> Iterator[None]:
    """Whatever a test printed and did not read itself (task logs, tracebacks) goes to the scan."""
    yield
    captured = capsys.readouterr()
    SCAN.tests += 1
    SCAN.keep_output(request.node.nodeid, captured.out + captured.err)


@pytest.hookimpl(trylast=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    SCAN.keep_output(f"{report.nodeid} (captured log, {report.when})", report.caplog)


@pytest.fixture(scope="session", autouse=True)
def _secret_scan(request: pytest.FixtureRequest) -> Iterator[None]:
    """At the end of this process's session, scan what it left behind; a leak errors the last test."""
    yield
    totals, leaks = SCAN.run()
    if leaks:
        pytest.fail(f"secret scan: {len(leaks)} leak(s)\n" + "\n".join(leaks), pytrace=False)
    worker_output = getattr(request.config, "workeroutput", None)
    if worker_output is not None:  # an xdist worker: the controller adds the totals up
        worker_output["secret_scan"] = totals.as_dict()
    else:
        _RUN["totals"] += totals


def pytest_deselected(items: list[pytest.Item]) -> None:
    if any(item.get_closest_marker("packaging") is None for item in items):
        _RUN["narrowed"] = True
        worker_output = getattr(items[0].config, "workeroutput", None)
        if worker_output is not None:
            worker_output["narrowed"] = True


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: add up the workers' scan totals."""
    output = getattr(node, "workeroutput", {})
    _RUN["totals"] += ScanTotals(**output.get("secret_scan", {}))
    _RUN["narrowed"] = _RUN["narrowed"] or output.get("narrowed", False)


def _whole_suite(config: pytest.Config) -> bool:
    """No path, node id, ``-k`` or last-failed selection; ``-m`` may leave out the packaging tests only."""
    return (
        config.args_source == pytest.Config.ArgsSource.TESTPATHS
        and not config.getoption("collectonly")
        and not config.getoption("lf", False)
        and not _RUN["narrowed"]
    )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    totals = _RUN["totals"]
    if totals.tests:
        terminalreporter.write_line(
            f"secret scan: {totals.tests} tests' output, {totals.xcoms} XComs, {totals.rendered} rendered fields"
            f" ({totals.masked} with masked values) and the task logs scanned"
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A whole, green run must have given the scan DAG runs to look at; then AIRFLOW_HOME goes away.

    The home is removed here, after the scan (a session fixture's teardown) and, in an xdist
    worker, before the worker reports it is done (its process may be stopped right after).
    """
    if not hasattr(session.config, "workerinput") and exitstatus == pytest.ExitCode.OK and _whole_suite(session.config):
        shortfalls = _RUN["totals"].shortfalls()
        if shortfalls:
            reporter = session.config.pluginmanager.get_plugin("terminalreporter")
            message = "secret scan: the whole suite ran, yet the scan saw too little: " + ", ".join(shortfalls)
            if reporter is not None:
                reporter.write_line(message, red=True, bold=True)
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)
