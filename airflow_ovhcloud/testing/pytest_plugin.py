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

Without the entry point (running from a source tree), enable it with
``-p airflow_ovhcloud.testing.pytest_plugin`` or ``pytest_plugins = [...]`` in a conftest.
The module imports only the standard-library emulator, so loading it costs next to nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from airflow_ovhcloud.testing.emulator import OVHCloudAIEmulator

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["ovhcloud_emulator"]

#: The environment variable Airflow reads for the ``ovh_ai_endpoints_default`` connection.
ENDPOINTS_CONN_ENV = "AIRFLOW_CONN_OVH_AI_ENDPOINTS_DEFAULT"
#: The environment variable Airflow reads for the ``ovh_ai_training_default`` connection.
TRAINING_CONN_ENV = "AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT"


@pytest.fixture
def ovhcloud_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[OVHCloudAIEmulator]:
    """A running emulator per test, wired to the default AI Endpoints and AI Training connections."""
    with OVHCloudAIEmulator() as emulator:
        monkeypatch.setenv(ENDPOINTS_CONN_ENV, emulator.endpoints_connection_json())
        monkeypatch.setenv(TRAINING_CONN_ENV, emulator.training_connection_json())
        yield emulator
