"""The ``ovhcloud_emulator`` pytest fixture, to test your own DAGs without OVHcloud.

Installing airflow-ovhcloud registers this plugin (``pytest11`` entry point), so the fixture is
available in every test without an import. It starts a local :class:`OVHCloudAIEmulator` on a
free port and points both default connections at it: AI Endpoints (``ovh_ai_endpoints_default``,
through ``AIRFLOW_CONN_OVH_AI_ENDPOINTS_DEFAULT``) and AI Training (``ovh_ai_training_default``,
through ``AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT``: host ``training_url``, login the region ``gra``,
password the token). Tasks that use the default connections then talk to the emulator over real
HTTP::

    def test_summarise(ovhcloud_emulator):
        ovhcloud_emulator.script_chat("A short summary.")       # the next chat answer
        ovhcloud_emulator.fail_next(1, 429, retry_after=1)      # exercise your retry path too
        my_dag.test()
        sent = ovhcloud_emulator.requests_to("/chat/completions", "POST")
        assert sent[-1].body["model"] == "Meta-Llama-3_3-70B-Instruct"
        assert sent[0].fault == "status:429"

    def test_training(ovhcloud_emulator):
        ovhcloud_emulator.script_job(final_state="FAILED", info_message="CUDA out of memory")
        my_training_dag.test()                                    # submits, polls, fails
        [job] = ovhcloud_emulator.jobs.values()
        assert job["status"]["state"] == "FAILED"

Two fixtures tune it, and a conftest or a test module overrides them (as with pytest-httpserver):
``ovhcloud_emulator_options`` (the emulator's constructor arguments) and
``ovhcloud_emulator_connection_extra`` (extras written into both connections)::

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
from typing import TYPE_CHECKING, Any

import pytest

from airflow_ovhcloud.testing.emulator import OVHCloudAIEmulator

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["ovhcloud_emulator", "ovhcloud_emulator_connection_extra", "ovhcloud_emulator_options"]

#: The environment variable Airflow reads for the ``ovh_ai_endpoints_default`` connection.
ENDPOINTS_CONN_ENV = "AIRFLOW_CONN_OVH_AI_ENDPOINTS_DEFAULT"
#: The environment variable Airflow reads for the ``ovh_ai_training_default`` connection.
TRAINING_CONN_ENV = "AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT"


@pytest.fixture
def ovhcloud_emulator_options() -> dict[str, Any]:
    """Keyword arguments for :class:`OVHCloudAIEmulator` (``token``, ``latency``...); override to change them."""
    return {}


@pytest.fixture
def ovhcloud_emulator_connection_extra() -> dict[str, Any]:
    """Extras of both default connections (``backoff_factor``, ``timeout``...); override to set some."""
    return {}


def _connection_json(connection: dict[str, Any], extra: dict[str, Any]) -> str:
    return json.dumps({**connection, "extra": extra} if extra else connection)


@pytest.fixture
def ovhcloud_emulator(
    monkeypatch: pytest.MonkeyPatch,
    ovhcloud_emulator_options: dict[str, Any],
    ovhcloud_emulator_connection_extra: dict[str, Any],
) -> Iterator[OVHCloudAIEmulator]:
    """A running emulator per test, wired to the default AI Endpoints and AI Training connections."""
    extra = ovhcloud_emulator_connection_extra
    with OVHCloudAIEmulator(**ovhcloud_emulator_options) as emulator:
        monkeypatch.setenv(ENDPOINTS_CONN_ENV, _connection_json(emulator.endpoints_connection(), extra))
        monkeypatch.setenv(TRAINING_CONN_ENV, _connection_json(emulator.training_connection(), extra))
        yield emulator
