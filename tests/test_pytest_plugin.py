"""The pytest plugin's private AIRFLOW_HOME (pytest_configure) and the fixture's fast polling."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_ovhcloud.testing import dagrun, pytest_plugin
from airflow_ovhcloud.testing.pytest_plugin import PLUGIN_HOME_ENV


class FakeConfig:
    """The three things ``pytest_configure`` reads from pytest's config."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.stash = pytest.Stash()
        self.warnings: list[Warning] = []

    def getini(self, name: str) -> str:
        assert name == pytest_plugin.HOME_INI
        return self.mode

    def issue_config_time_warning(self, warning: Warning, stacklevel: int) -> None:
        self.warnings.append(warning)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No Airflow settings in the environment, and Airflow not imported yet (as for a fresh session)."""
    for name in pytest_plugin._ISOLATED_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delitem(sys.modules, "airflow.configuration", raising=False)
    return monkeypatch


def configure(mode: str) -> tuple[FakeConfig, Path | None]:
    config = FakeConfig(mode)
    pytest_plugin.pytest_configure(config)  # type: ignore[arg-type]
    made = config.stash.get(pytest_plugin._HOME_KEY, None)
    return config, made[0] if made else None


def test_without_airflow_home_each_process_gets_a_temporary_one(clean_env: Any) -> None:
    config, home = configure("auto")
    assert home is not None and home.is_dir() and (home / "dags").is_dir()
    assert os.environ["AIRFLOW_HOME"] == str(home) == os.environ[PLUGIN_HOME_ENV]
    assert os.environ["AIRFLOW__CORE__DAGS_FOLDER"] == str(home / "dags")
    assert os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{home / 'airflow.db'}"

    # An xdist worker inherits that environment: it makes its own home.
    worker, worker_home = configure("auto")
    assert worker_home is not None and worker_home != home
    pytest_plugin.pytest_unconfigure(worker)  # type: ignore[arg-type]
    assert os.environ["AIRFLOW_HOME"] == str(home) and not worker_home.exists()

    pytest_plugin.pytest_unconfigure(config)  # type: ignore[arg-type]
    assert "AIRFLOW_HOME" not in os.environ and PLUGIN_HOME_ENV not in os.environ
    assert not home.exists()


@pytest.mark.parametrize("variable", ["AIRFLOW_HOME", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
def test_a_home_or_database_you_set_is_kept_unless_always(clean_env: Any, variable: str) -> None:
    clean_env.setenv(variable, "/srv/airflow-of-the-user")
    assert configure("auto")[1] is None and os.environ[variable] == "/srv/airflow-of-the-user"
    config, home = configure("always")
    assert home is not None and os.environ["AIRFLOW_HOME"] == str(home)
    pytest_plugin.pytest_unconfigure(config)  # type: ignore[arg-type]
    assert os.environ[variable] == "/srv/airflow-of-the-user"


def test_off_and_an_airflow_already_imported_leave_everything_alone(clean_env: Any) -> None:
    assert configure("off")[1] is None and "AIRFLOW_HOME" not in os.environ
    clean_env.setitem(sys.modules, "airflow.configuration", object())
    config, home = configure("auto")
    assert home is None and "AIRFLOW_HOME" not in os.environ
    (warning,) = config.warnings
    assert "Airflow was imported before the test session started" in str(warning)
    with pytest.raises(pytest.UsageError, match="auto, always or off"):
        configure("sometimes")


def test_the_fixture_makes_run_dag_poll_at_once_and_can_be_told_not_to(emulator: Any) -> None:
    assert dagrun._emulator_poll_interval == 0


@pytest.mark.parametrize("ovhcloud_emulator_poll_interval", [None])
def test_the_poll_interval_fixture_overrides_it(emulator: Any) -> None:
    assert dagrun._emulator_poll_interval is None


def test_outside_the_fixture_run_dag_keeps_the_dags_intervals() -> None:
    assert dagrun._emulator_poll_interval is None
