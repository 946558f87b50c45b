"""Secrets never leak: not from echoed answers, bad tokens, hosts with credentials or job env values."""

from __future__ import annotations

import json
import string
from contextlib import closing
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_ovhcloud._http import redact_secrets
from airflow_ovhcloud.exceptions import OVHCloudAIConfigurationError, OVHCloudAIError
from airflow_ovhcloud.hooks.ai_endpoints import OVHCloudAIEndpointsHook
from airflow_ovhcloud.hooks.ai_training import OVHCloudAITrainingHook
from airflow_ovhcloud.testing.dagrun import run_dag
from tests.helpers import ENV_SECRETS, SECRET_TOKEN
from tests.hostile import connection, hostile_server, send, send_json

MODEL = "Meta-Llama-3_3-70B-Instruct"
MESSAGES = [{"role": "user", "content": "hi"}]


def escaped_forms(secret: str) -> set[str]:
    return {secret, json.dumps(secret)[1:-1], repr(secret)[1:-1]}


def assert_no_secret(text: str, *secrets: str) -> None:
    for secret in secrets:
        for form in escaped_forms(secret):
            assert form not in text, f"{form!r} leaked into: {text[:300]!r}"


def echo_auth(handler: Any) -> str:
    return handler.headers.get("Authorization", "")


def _endpoints(monkeypatch: pytest.MonkeyPatch, url: str, token: str = SECRET_TOKEN, **extra: Any) -> Any:
    monkeypatch.setenv("AIRFLOW_CONN_HOSTILE", connection(url, token, max_retries=0, **extra))
    return OVHCloudAIEndpointsHook("hostile")


ECHOES = {
    "a 200 that is not JSON": lambda h, b: send(h, 200, f"<html>debug: {echo_auth(h)}</html>", "text/html"),
    "JSON of an unexpected shape": lambda h, b: send_json(h, 200, {"auth": echo_auth(h), "headers": dict(h.headers)}),
    "a 200 whose error body repeats the header": lambda h, b: send_json(h, 500, {"error": {"message": echo_auth(h)}}),
    "a long body with the token past the cut": lambda h, b: send(h, 200, "x" * 190 + echo_auth(h) * 3, "text/plain"),
}


@pytest.mark.parametrize("answer", ECHOES.values(), ids=ECHOES.keys())
def test_an_answer_echoing_the_authorization_header_never_puts_the_token_in_the_error(
    monkeypatch: pytest.MonkeyPatch, answer: Any
) -> None:
    with hostile_server(answer) as server, closing(_endpoints(monkeypatch, server.url)) as hook:
        with pytest.raises(OVHCloudAIError) as info:
            hook.chat_completion(MODEL, MESSAGES)
        assert server.requests  # it really asked, and the answer really held the token
    assert_no_secret(str(info.value) + repr(info.value) + str(info.value.service_message), SECRET_TOKEN)
    assert "***" in str(info.value)


def _stream(handler: Any, events: list[str]) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.end_headers()
    for event in events:
        handler.wfile.write(f"data: {event}\n\n".encode())
    handler.wfile.flush()
    handler.close_connection = True


STREAMS = {
    "an event that is not JSON": lambda h, b: _stream(h, ["{broken " + echo_auth(h)]),
    "a mid-stream error chunk": lambda h, b: _stream(
        h,
        [
            json.dumps({"choices": [{"index": 0, "delta": {"content": "Hel"}}]}),
            json.dumps({"error": {"message": f"upstream said {echo_auth(h)}", "code": echo_auth(h)}}),
        ],
    ),
    "a chunk that is not an object": lambda h, b: _stream(h, [json.dumps([echo_auth(h)])]),
}


@pytest.mark.parametrize("answer", STREAMS.values(), ids=STREAMS.keys())
def test_a_stream_echoing_the_token_never_puts_it_in_the_error(monkeypatch: pytest.MonkeyPatch, answer: Any) -> None:
    with (
        hostile_server(answer) as server,
        closing(_endpoints(monkeypatch, server.url)) as hook,
        pytest.raises(OVHCloudAIError) as info,
    ):
        hook.chat_completion(MODEL, MESSAGES, stream=True)
    assert_no_secret(str(info.value) + repr(info.value) + str(info.value.service_message), SECRET_TOKEN)


TOKEN_CHARS = st.text(alphabet=[c for c in string.printable if c not in "*\x0b\x0c"], min_size=4, max_size=40)


@given(secret=TOKEN_CHARS, prefix=st.text(max_size=20), suffix=st.text(max_size=20))
def test_redaction_hides_every_escaped_form_of_every_secret(secret: str, prefix: str, suffix: str) -> None:
    for form in escaped_forms(secret):
        text = prefix + form + "|" + json.dumps({"k": secret}) + "|" + repr([secret]) + suffix
        redacted = redact_secrets(text, [secret])
        assert form not in redacted.replace(prefix, "", 1)[: len(redacted) - len(suffix)] or form in prefix + suffix
        assert secret not in redacted or secret in prefix or secret in suffix


@pytest.mark.parametrize(
    "token",
    [f"{SECRET_TOKEN}\nX-Injected: 1", f"{SECRET_TOKEN}é", f"{SECRET_TOKEN} two words", f"{SECRET_TOKEN}\x00"],
    ids=["newline", "non-latin-1", "space", "nul"],
)
def test_a_token_that_cannot_be_a_header_is_refused_without_showing_it(
    monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    with hostile_server(lambda h, b: send_json(h, 200, {})) as server:
        hook = _endpoints(monkeypatch, server.url, token=token)
        with pytest.raises(OVHCloudAIConfigurationError) as info:
            hook.chat_completion(MODEL, MESSAGES)
        assert server.requests == []
    assert "cannot be sent in an HTTP header" in str(info.value)
    assert_no_secret(str(info.value) + repr(info.value), SECRET_TOKEN)


def test_a_host_with_credentials_is_refused_without_showing_them(monkeypatch: pytest.MonkeyPatch) -> None:
    with hostile_server(lambda h, b: send_json(h, 200, {"data": []})) as server:
        host = server.url.replace("http://", "http://admin:hunter2-password@") + "/v1"
        hook = _endpoints(monkeypatch, host)
        with pytest.raises(OVHCloudAIConfigurationError) as info:
            hook.list_models()
        assert server.requests == []  # no Basic auth sent in place of the key, nothing sent at all
    assert "carries credentials" in str(info.value)
    assert_no_secret(str(info.value) + repr(info.value), "hunter2-password", SECRET_TOKEN)


def test_a_training_400_echoing_the_job_spec_hides_the_env_values(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse_with_echo(handler: Any, body: bytes) -> None:
        send_json(handler, 400, {"message": f"invalid spec: {body.decode()}", "spec": json.loads(body)})

    with hostile_server(refuse_with_echo) as server:
        monkeypatch.setenv(
            "AIRFLOW_CONN_HOSTILE_TRAINING", connection(server.url, SECRET_TOKEN, "ovhcloud_ai_training")
        )
        with closing(OVHCloudAITrainingHook("hostile_training")) as hook, pytest.raises(OVHCloudAIError) as info:
            hook.submit_job(image="img", env_vars={"HF_TOKEN": ENV_SECRETS[0], "OTHER": ENV_SECRETS[1]})
        sent = server.requests[0]
    assert sent["method"] == "POST" and info.value.http_status == 400
    assert "invalid spec" in str(info.value)
    assert_no_secret(str(info.value) + repr(info.value) + str(info.value.service_message), *ENV_SECRETS)


def test_an_unexpected_job_answer_hides_the_jobs_env_values(monkeypatch: pytest.MonkeyPatch) -> None:
    job = {"spec": {"envVars": [{"name": "HF_TOKEN", "value": ENV_SECRETS[0]}]}, "status": {}}  # no id
    with hostile_server(lambda h, b: send_json(h, 200, job)) as server:
        monkeypatch.setenv(
            "AIRFLOW_CONN_HOSTILE_TRAINING", connection(server.url, SECRET_TOKEN, "ovhcloud_ai_training")
        )
        with closing(OVHCloudAITrainingHook("hostile_training")) as hook, pytest.raises(OVHCloudAIError) as info:
            hook.get_job("0d6f2b1e-job")
    assert "unexpected job get response" in str(info.value)
    assert_no_secret(str(info.value), *ENV_SECRETS)


def test_invalid_env_vars_never_reach_the_rendered_fields(emulator: Any, load_dag: Any) -> None:
    result = run_dag(load_dag("hardening_secret_dags.py", "test_invalid_env_vars_hidden"), expect_failure=True)

    assert result.task_states[("submit", -1)] == "failed"
    assert result.task_states[("submit_ok", -1)] == "success"
    assert emulator.submitted_jobs == 1  # only the valid one, with its real values
    (sent,) = emulator.requests_to("/v1/job", method="POST")
    assert sent.body["envVars"] == [{"name": "SHORT", "value": "abc"}, {"name": "LONG", "value": ENV_SECRETS[1]}]
    rendered = json.dumps(result.rendered[("submit", -1)])
    assert_no_secret(rendered, *ENV_SECRETS)
    assert result.rendered[("submit", -1)]["env_vars"] == ["***", {"name": "B", "value": "***"}, "***"]
    ok = result.rendered[("submit_ok", -1)]["env_vars"]
    assert ok == {"SHORT": "***", "LONG": "***"}  # a 3-character value too, which Airflow's masker skips
