"""The AI Training job spec is defined once (JobSpec); every layer derives from it."""

from __future__ import annotations

import inspect
import re
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_ovhcloud.decorators.training import SPEC_FIELDS, ovh_training_task
from airflow_ovhcloud.exceptions import (
    OVHCloudAIClientError,
    OVHCloudAIConfigurationError,
    OVHCloudAIError,
    OVHCloudAIInvalidInputError,
    OVHCloudAIJobFailedError,
    OVHCloudAIJobTimeoutError,
    OVHCloudAIRequestError,
)
from airflow_ovhcloud.hooks.ai_training import OVHCloudAITrainingHook
from airflow_ovhcloud.operators.ai_training import OVHCloudAITrainingSubmitJobOperator
from airflow_ovhcloud.testing.dagrun import run_dag
from airflow_ovhcloud.utils.job_spec import JobSpec, spec_field_names, spec_fields
from airflow_ovhcloud.utils.jobs import error_event, result_of_event, success_event

DOCS = Path(__file__).parent.parent / "docs"


def _parameters(function: Any) -> set[str]:
    return {
        name
        for name, p in inspect.signature(function).parameters.items()
        if name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    }


def test_every_layer_takes_every_spec_field() -> None:
    """Fails when a field is added to JobSpec but not to the hook, the operator or the decorator."""
    hook_names = {f.name for f in spec_fields()}
    operator_names = set(spec_field_names())
    assert _parameters(OVHCloudAITrainingHook.submit_job) == hook_names
    assert operator_names <= _parameters(OVHCloudAITrainingSubmitJobOperator.__init__)
    assert set(SPEC_FIELDS) == operator_names
    for f in spec_fields():
        operator_default = inspect.signature(OVHCloudAITrainingSubmitJobOperator.__init__).parameters[f.operator_name]
        hook_default = inspect.signature(OVHCloudAITrainingHook.submit_job).parameters[f.name]
        if f.name != "image":  # required in both signatures
            assert operator_default.default == hook_default.default == f.default, f.name
    templated = {f.operator_name for f in spec_fields() if f.templated}
    assert templated <= set(OVHCloudAITrainingSubmitJobOperator.template_fields)


def test_the_docs_table_lists_every_spec_field() -> None:
    text = (DOCS / "ai-training.md").read_text()
    rows = re.findall(r"^\| `(\w+)` \| `([\w.]+)` \|", text, flags=re.M)
    assert rows == [(f.operator_name, f.wire) for f in spec_fields()]


def test_the_three_fields_that_had_drifted_reach_the_wire_from_the_decorator(emulator: Any, load_dag: Any) -> None:
    result = run_dag(load_dag("decorator_dags.py", "test_training_all_spec_fields"))
    assert result.state == "success", result.task_states
    (request,) = emulator.requests_to("/v1/job", method="POST")
    body = request.body
    assert (body["timeout"], body["timeoutAutoRestart"], body["readUser"], body["shutdown"]) == (
        600,
        True,
        "reader",
        "stop",
    )
    assert body["sshPublicKeys"] == ["ssh-ed25519 AAAA k"]


def test_submit_job_accepts_a_ready_spec_alone(emulator: Any) -> None:
    spec = JobSpec(image="img", env_vars={"K": "v"}, gpu=1, flavor="ai1-1-gpu", extra={"grpcPort": 9000})
    with closing(OVHCloudAITrainingHook()) as hook:
        job = hook.submit_job(spec)
        assert job["spec"]["resources"] == {"gpu": 1, "flavor": "ai1-1-gpu"}
        (request,) = emulator.requests_to("/v1/job", method="POST")
        assert (
            request.body
            == spec.to_api()
            == {
                "image": "img",
                "envVars": [{"name": "K", "value": "v"}],
                "resources": {"gpu": 1, "flavor": "ai1-1-gpu"},
                "grpcPort": 9000,
            }
        )
        with pytest.raises(OVHCloudAIInvalidInputError, match=r"got a JobSpec and also \['gpu', 'name'\]"):
            hook.submit_job(spec, name="x", gpu=2)


def test_a_spec_that_cannot_be_sent_is_refused_when_built() -> None:
    with pytest.raises(OVHCloudAIInvalidInputError, match="needs a Docker image"):
        JobSpec()
    with pytest.raises(OVHCloudAIInvalidInputError, match="either GPUs or CPUs"):
        JobSpec(image="x", gpu=1, cpu=2)
    with pytest.raises(OVHCloudAIInvalidInputError, match=r"Unknown AI Training job-spec fields \['imagee'\]"):
        JobSpec.from_fields({"imagee": "x"})
    assert JobSpec.from_fields({"image": "x", "job_timeout": 5}).to_api() == {"image": "x", "timeout": 5}


def test_the_decorator_factory_knows_every_spec_field() -> None:
    ovh_training_task(**{name: None for name in SPEC_FIELDS if name != "image"}, image="x")


_ERRORS = st.sampled_from(
    [
        OVHCloudAIJobFailedError("job j entered failure state: FAILED (boom).", job={"id": "j"}, state="FAILED"),
        OVHCloudAIJobTimeoutError("Timeout waiting for AI Training job j after 5 s."),
        OVHCloudAIClientError("refused", http_status=404),
        OVHCloudAIConfigurationError("no token"),
        OVHCloudAIRequestError("overloaded", http_status=503),
    ]
)


@given(_ERRORS, st.text(min_size=1, max_size=20))
def test_a_trigger_event_raises_again_what_the_trigger_caught(error: OVHCloudAIError, job_id: str) -> None:
    """error_event and result_of_event are the one conversion, both ways: permanence survives it."""
    import json

    event = json.loads(json.dumps(error_event(job_id, error)))  # events travel as JSON
    with pytest.raises(OVHCloudAIError) as info:
        result_of_event(event)
    assert str(info.value) == str(error)
    assert isinstance(info.value, type(error)) or (
        isinstance(error, OVHCloudAIConfigurationError) and isinstance(info.value, OVHCloudAIClientError)
    )
    from airflow.providers.common.compat.sdk import AirflowFailException

    assert isinstance(info.value, AirflowFailException) == isinstance(error, AirflowFailException)


def test_a_success_event_names_the_job_and_the_redacted_job_is_fetched() -> None:
    job = {"id": "j", "spec": {"envVars": [{"name": "K", "value": "secret"}]}, "status": {"state": "DONE"}}
    event = success_event("j", job)
    assert event == {"status": "success", "job_id": "j", "state": "DONE"}  # small: Airflow logs it
    assert result_of_event(event, lambda job_id: job)["spec"]["envVars"] == [{"name": "K", "value": "***"}]
    with pytest.raises(OVHCloudAIRequestError):
        result_of_event("not an event")
