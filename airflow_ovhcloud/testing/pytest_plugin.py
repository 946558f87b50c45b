"""The ``ovhcloud_emulator`` pytest fixture and a private ``AIRFLOW_HOME``: test your own DAGs without OVHcloud.

Installing airflow-ovhcloud registers this plugin (``pytest11`` entry point), so the fixture is
available in every test without an import and without a ``conftest.py``. It starts a local
:class:`OVHCloudAIEmulator` on a free port and points both default connections at it: AI Endpoints
(``ovh_ai_endpoints_default``, through ``AIRFLOW_CONN_OVH_AI_ENDPOINTS_DEFAULT``) and AI Training
(``ovh_ai_training_default``, through ``AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT``: host ``training_url``,
login the region ``gra``, password the token). Tasks that use the default connections then talk to
the emulator over real HTTP; run the DAG with :func:`airflow_ovhcloud.testing.run_dag`, which raises
when a task fails::

    from airflow_ovhcloud.testing import run_dag

    def test_summarise(ovhcloud_emulator):
        ovhcloud_emulator.script_chat("A short summary.")       # the next chat answer
        ovhcloud_emulator.fail_next(1, 429, retry_after=1)      # exercise your retry path too
        result = run_dag(my_dag)                                 # DagRunFailed if a task fails
        assert result.value("summarise") == "A short summary."
        sent = ovhcloud_emulator.requests_to("/chat/completions", "POST")
        assert sent[0].fault == "status:429"

    def test_training(ovhcloud_emulator):
        ovhcloud_emulator.script_job(final_state="FAILED", info_message="CUDA out of memory")
        result = run_dag(my_training_dag, expect_failure=True)   # submits, polls, fails
        [job] = ovhcloud_emulator.jobs.values()
        assert job["status"]["state"] == "FAILED"

Inside the fixture, ``run_dag`` makes AI Training waits poll without sleeping (jobs move one state
per poll); the ``ovhcloud_emulator_poll_interval`` fixture sets that interval (``None``: the DAG's).

**AIRFLOW_HOME.** Airflow reads its configuration when it is first imported, and ``dag.test()``
needs a metadata database. Unless ``AIRFLOW_HOME`` (or ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN``) is
already set, the plugin gives each test process (each xdist worker too) a temporary home at
``pytest_configure``, before test modules import Airflow, and removes it at the end; ``run_dag``
migrates its database on first use. The ``ovhcloud_airflow_home`` ini option changes that: ``auto``
(the default, as just said), ``always`` (a temporary home even when one is set) or ``off`` (never).

Three fixtures tune the emulator, and a conftest or a test module overrides them (as with
pytest-httpserver): ``ovhcloud_emulator_options`` (the emulator's constructor arguments),
``ovhcloud_emulator_connection_extra`` (extras written into both connections) and
``ovhcloud_emulator_poll_interval``::

    @pytest.fixture
    def ovhcloud_emulator_options():
        return {"token": "sk-test-token", "latency": 0.01}

    @pytest.fixture
    def ovhcloud_emulator_connection_extra():
        return {"backoff_factor": 0.01}   # retry fast in tests

Without the entry point (running from a source tree), enable it with
``-p airflow_ovhcloud.testing.pytest_plugin`` or ``pytest_plugins = [...]`` in a conftest.
The module imports only the standard-library emulator, so loading it costs next to nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from airflow_ovhcloud.testing import dagrun
from airflow_ovhcloud.testing.emulator import OVHCloudAIEmulator

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "ovhcloud_emulator",
    "ovhcloud_emulator_connection_extra",
    "ovhcloud_emulator_options",
    "ovhcloud_emulator_poll_interval",
]

#: The environment variable Airflow reads for the ``ovh_ai_endpoints_default`` connection.
ENDPOINTS_CONN_ENV = "AIRFLOW_CONN_OVH_AI_ENDPOINTS_DEFAULT"
#: The environment variable Airflow reads for the ``ovh_ai_training_default`` connection.
TRAINING_CONN_ENV = "AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT"
#: The ini option choosing whether the plugin isolates AIRFLOW_HOME: ``auto``, ``always`` or ``off``.
HOME_INI = "ovhcloud_airflow_home"
#: The home this plugin made, so that an xdist worker (which inherits it) makes its own.
PLUGIN_HOME_ENV = "AIRFLOW_OVHCLOUD_PYTEST_HOME"
_ISOLATED_ENV = (
    "AIRFLOW_HOME",
    "AIRFLOW__CORE__DAGS_FOLDER",
    "AIRFLOW__CORE__LOAD_EXAMPLES",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    PLUGIN_HOME_ENV,
)
_HOME_KEY = pytest.StashKey[tuple[Path, dict[str, str | None]]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        HOME_INI,
        "airflow-ovhcloud: give each test process a temporary AIRFLOW_HOME: 'auto' (unless AIRFLOW_HOME or "
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN is set), 'always' or 'off'",
        default="auto",
    )


def _configured_elsewhere() -> bool:
    """AIRFLOW_HOME or the database set by the user (not inherited from this plugin in a parent process)."""
    home = os.environ.get("AIRFLOW_HOME")
    inherited = os.environ.get(PLUGIN_HOME_ENV)
    if home and home == inherited:
        return False
    return bool(home or os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Point Airflow at a temporary home before any test module imports it (see the module docstring)."""
    mode = str(config.getini(HOME_INI) or "auto").strip().lower()
    if mode not in ("auto", "always", "off"):
        raise pytest.UsageError(f"{HOME_INI} must be auto, always or off, not {mode!r}")
    if mode == "off" or (mode == "auto" and _configured_elsewhere()):
        return
    if "airflow.configuration" in sys.modules:
        config.issue_config_time_warning(
            pytest.PytestConfigWarning(
                "airflow-ovhcloud: Airflow was imported before the test session started (by a conftest.py?), "
                "so its configuration is already read and AIRFLOW_HOME cannot be made private; set AIRFLOW_HOME "
                f"yourself or import Airflow inside tests. ({HOME_INI} = off silences this.)"
            ),
            stacklevel=2,
        )
        return
    home = Path(tempfile.mkdtemp(prefix="airflow-ovhcloud-pytest-")).resolve()
    (home / "dags").mkdir()
    saved = {name: os.environ.get(name) for name in _ISOLATED_ENV}
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(home / "dags")
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home / 'airflow.db'}"
    os.environ[PLUGIN_HOME_ENV] = str(home)
    config.stash[_HOME_KEY] = (home, saved)


def pytest_unconfigure(config: pytest.Config) -> None:
    entry = config.stash.get(_HOME_KEY, None)
    if entry is None:
        return
    home, saved = entry
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    shutil.rmtree(home, ignore_errors=True)
    del config.stash[_HOME_KEY]


@pytest.fixture
def ovhcloud_emulator_options() -> dict[str, Any]:
    """Keyword arguments for :class:`OVHCloudAIEmulator` (``token``, ``latency``...); override to change them."""
    return {}


@pytest.fixture
def ovhcloud_emulator_connection_extra() -> dict[str, Any]:
    """Extras of both default connections (``backoff_factor``, ``timeout``...); override to set some."""
    return {}


@pytest.fixture
def ovhcloud_emulator_poll_interval() -> float | None:
    """Seconds between AI Training polls in ``run_dag`` while the emulator runs (0); ``None`` keeps the DAG's."""
    return 0.0


def _connection_json(connection: dict[str, Any], extra: dict[str, Any]) -> str:
    return json.dumps({**connection, "extra": extra} if extra else connection)


@pytest.fixture
def ovhcloud_emulator(
    monkeypatch: pytest.MonkeyPatch,
    ovhcloud_emulator_options: dict[str, Any],
    ovhcloud_emulator_connection_extra: dict[str, Any],
    ovhcloud_emulator_poll_interval: float | None,
) -> Iterator[OVHCloudAIEmulator]:
    """A running emulator per test, wired to the default AI Endpoints and AI Training connections."""
    extra = ovhcloud_emulator_connection_extra
    with OVHCloudAIEmulator(**ovhcloud_emulator_options) as emulator:
        monkeypatch.setenv(ENDPOINTS_CONN_ENV, _connection_json(emulator.endpoints_connection(), extra))
        monkeypatch.setenv(TRAINING_CONN_ENV, _connection_json(emulator.training_connection(), extra))
        monkeypatch.setattr(dagrun, "_emulator_poll_interval", ovhcloud_emulator_poll_interval)
        yield emulator
