"""Airflow sees the provider: providers list/get, connection types, form fields; DAG parsing stays cheap."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from importlib.metadata import distribution

from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_2_PLUS

from airflow_ovhcloud import __version__
from airflow_ovhcloud.get_provider_info import get_provider_info


def test_provider_info_matches_the_distribution() -> None:
    info = get_provider_info()
    dist = distribution("airflow-ovhcloud")
    assert info["package-name"] == dist.metadata["Name"]
    assert info["versions"][0] == __version__ == dist.version
    (entry_point,) = [ep for ep in dist.entry_points if ep.group == "apache_airflow_provider"]
    assert entry_point.load() is get_provider_info


def test_airflow_cli_lists_and_describes_the_provider() -> None:
    env = {**os.environ, "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR"}
    listed = subprocess.run(
        [sys.executable, "-m", "airflow", "providers", "list", "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    providers = {p["package_name"]: p for p in json.loads(listed.stdout[listed.stdout.index("[") :])}
    assert providers["airflow-ovhcloud"]["version"] == __version__

    got = subprocess.run(
        [sys.executable, "-m", "airflow", "providers", "get", "airflow-ovhcloud", "--full", "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert "OVHcloud AI Endpoints" in got.stdout


def test_providers_manager_knows_the_connection_type_and_its_form() -> None:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    with warnings.catch_warnings():  # 3.3 points hook lookups to the task runtime's manager
        warnings.simplefilter("ignore")
        hook = manager.hooks["ovhcloud_ai_endpoints"]
    assert hook is not None
    assert hook.hook_class_name == "airflow_ovhcloud.hooks.ai_endpoints.OVHCloudAIEndpointsHook"
    assert hook.connection_id_attribute_name == "ovh_conn_id"
    if AIRFLOW_V_3_2_PLUS:  # forms declared in provider info, read without importing hooks
        behaviours = manager.field_behaviours
        assert "extra__ovhcloud_ai_endpoints__timeout" in manager.connection_form_widgets
        assert "extra__ovhcloud_ai_endpoints__max_retries" in manager.connection_form_widgets
        assert "extra__ovhcloud_ai_endpoints__backoff_factor" in manager.connection_form_widgets
        assert "extra__ovhcloud_ai_training__stream_timeout" in manager.connection_form_widgets
    else:  # Airflow 3.1 asks the hooks (and only when the FAB UI is installed)
        from airflow_ovhcloud.hooks.ai_endpoints import OVHCloudAIEndpointsHook
        from airflow_ovhcloud.hooks.ai_training import OVHCloudAITrainingHook

        behaviours = {
            "ovhcloud_ai_endpoints": OVHCloudAIEndpointsHook.get_ui_field_behaviour(),
            "ovhcloud_ai_training": OVHCloudAITrainingHook.get_ui_field_behaviour(),
        }
    behaviour = behaviours["ovhcloud_ai_endpoints"]
    assert behaviour["relabeling"] == {
        "password": "API key",
        "host": "Base URL (optional)",
        "port": "Port (443; the Test button needs it)",  # Airflow 3.3's Test button needs a stored port
    }
    assert "login" in behaviour["hidden_fields"]
    assert behaviours["ovhcloud_ai_training"]["relabeling"]["login"] == "Region"
    assert "airflow_ovhcloud.links.ai_training.OVHCloudAITrainingJobLink" in manager.extra_links_class_names
    assert any(t.trigger_class_name == "airflow_ovhcloud.triggers.ai_training" for t in manager.trigger)


def test_dag_parsing_does_not_import_requests_or_the_emulator() -> None:
    code = textwrap.dedent(
        """
        import sys, airflow.sdk
        import airflow_ovhcloud.operators.ai_endpoints, airflow_ovhcloud.operators.ai_training
        import airflow_ovhcloud.decorators.chat, airflow_ovhcloud.decorators.embed, airflow_ovhcloud.decorators.training
        import airflow_ovhcloud.decorators.batch, airflow_ovhcloud.operators.ai_endpoints_batch
        import airflow_ovhcloud.triggers.ai_training, airflow_ovhcloud.utils.jobs
        import airflow_ovhcloud.utils.job_spec, airflow_ovhcloud.utils.chat, airflow_ovhcloud.utils.redaction
        heavy = [m for m in sys.modules if m in ("requests", "urllib3") or m.startswith("airflow_ovhcloud.testing")
                 or m.startswith("airflow_ovhcloud.hooks")]
        print(heavy)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_a_dag_using_one_decorator_does_not_load_the_others() -> None:
    """``@task.ovh_chat`` imports ``decorators.chat``, which runs the package's ``__init__`` first."""
    code = textwrap.dedent(
        """
        import sys
        from airflow_ovhcloud.decorators import ovh_chat_task
        ours = ("airflow_ovhcloud.decorators.", "airflow_ovhcloud.operators.")
        print(sorted(m for m in sys.modules if m.startswith(ours)))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = out.strip().splitlines()[-1]
    expected = ["airflow_ovhcloud.decorators._common", "airflow_ovhcloud.decorators.chat"]
    assert loaded == str([*expected, "airflow_ovhcloud.operators.ai_endpoints"])
