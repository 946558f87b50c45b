"""The deployment and Test-button scripts import, parse their options and name what exists: they cannot rot.

The scripts themselves are CI's third stage (``.ci/run``); here nothing is started.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.deployment import check_test_button, run_deployment

REPO = Path(__file__).parent.parent


def test_run_deployment_parses_its_options() -> None:
    args = run_deployment.build_parser().parse_args(
        ["--venv", "/tmp/v", "--browser-check", "--out", "shots", "--timeout", "90", "--keep-files"]
    )
    assert (args.venv, args.browser_check, args.out, args.timeout, args.keep_files) == (
        "/tmp/v",
        True,
        "shots",
        90.0,
        True,
    )
    defaults = run_deployment.build_parser().parse_args([])
    assert not defaults.browser_check and not defaults.keep_running and defaults.venv is None


def test_the_deployment_runs_example_dags_that_exist_with_the_tasks_it_checks() -> None:
    for file, dag_id in run_deployment.EXAMPLES.items():
        source = (REPO / "examples" / file).read_text()
        assert f'dag_id="{dag_id}"' in source
        functions = {node.name for node in ast.walk(ast.parse(source)) if isinstance(node, ast.FunctionDef)}
        assert run_deployment.DEFERRED_TASKS[dag_id] <= functions, "the deferred tasks it checks are in the DAG"
    assert set(run_deployment.EXPECTED_JOBS) == set(run_deployment.EXAMPLES.values())


def test_a_component_error_line_fails_the_check_and_an_info_line_does_not() -> None:
    bad = run_deployment.BAD_LOG_LINES
    assert bad.search("2026-01-01T00:00:00Z [error    ] XCom not found [airflow.sdk.api.client]")
    assert bad.search("Traceback (most recent call last):")
    assert not bad.search("2026-01-01T00:00:00Z [info     ] Trigger fired event")


def test_check_test_button_parses_its_options_and_covers_the_documented_cases() -> None:
    args = check_test_button.build_parser().parse_args(
        ["--api-url", "http://127.0.0.1:1", "--emulator-url", "http://127.0.0.1:2", "--token", "t", "--skip-cli"]
    )
    assert args.skip_cli and args.out == "test-button-screenshots"
    with pytest.raises(SystemExit):
        check_test_button.build_parser().parse_args([])  # the deployment's URLs are required
    cases = check_test_button.cases("http://127.0.0.1:2", "t")
    assert {case.made_by for case in cases} == {"form", "cli", "env"}
    form = {case.title: case for case in cases if case.made_by == "form"}
    assert {"form, good key", "form, wrong key", "form, no key"} <= set(form)
    assert "password" not in form["form, no key"].fields
    assert all(case.fields.get("port") == "443" for case in form.values()), "as docs/connections.md says"


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        (
            check_test_button.GOOD,
            "Connected to OVHcloud AI Endpoints at http://h/v1: the API key works (a 1-token chat completion on "
            "Llama-3.1-8B-Instruct); 15 models available.",
        ),
        (
            check_test_button.WRONG,
            "OVHcloud AI Endpoints refused the API key (HTTP 401): it is wrong, expired or revoked. Paste it again",
        ),
        (
            check_test_button.ANONYMOUS,
            "Connected to OVHcloud AI Endpoints at http://h/v1 without an API key: the connection is anonymous, so "
            "calls are rate-limited by OVHcloud (2 requests per minute per IP and model)",
        ),
    ],
    ids=["good", "wrong", "anonymous"],
)
def test_the_expected_messages_are_the_ones_docs_connections_md_lists(pattern: str, message: str) -> None:
    assert re.search(pattern, message)
    first_words = message.split(" at ")[0] if message.startswith("Connected") else message[:60]
    assert first_words in (REPO / "docs" / "connections.md").read_text()


def test_ci_runs_both_checks_and_installs_what_they_need() -> None:
    ci = (REPO / ".ci" / "run").read_text()
    assert "python3 tests/deployment/run_deployment.py --browser-check" in ci
    assert "postgresql" in ci and "chromium" in ci
