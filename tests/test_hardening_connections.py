"""Connections that cannot work fail at once with a configuration error naming what to fix."""

from __future__ import annotations

import json
from contextlib import closing
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_ovhcloud.exceptions import OVHCloudAIConfigurationError, OVHCloudAIRequestError
from airflow_ovhcloud.hooks.ai_endpoints import OVHCloudAIEndpointsHook
from airflow_ovhcloud.hooks.ai_training import OVHCloudAITrainingHook
from tests.helpers import SECRET_TOKEN
from tests.hostile import hostile_server, send_json

MODEL = "Meta-Llama-3_3-70B-Instruct"


def set_conn(monkeypatch: pytest.MonkeyPatch, **fields: Any) -> OVHCloudAIEndpointsHook:
    conn = {"conn_type": "ovhcloud_ai_endpoints", "password": SECRET_TOKEN, **fields}
    monkeypatch.setenv("AIRFLOW_CONN_BAD", json.dumps(conn))
    return OVHCloudAIEndpointsHook("bad")


BAD_EXTRAS = {
    "timeout NaN": ({"timeout": "NaN"}, "timeout='NaN': it must be a finite number above 0"),
    "timeout infinite": ({"timeout": "inf"}, "timeout='inf'"),
    "timeout huge": ({"timeout": "1e400"}, "timeout='1e400'"),
    "timeout zero": ({"timeout": 0}, "timeout='0': it must be a finite number above 0"),
    "timeout negative": ({"timeout": -1}, "timeout='-1'"),
    "timeout text": ({"timeout": "fast"}, "timeout='fast'"),
    "backoff negative": ({"backoff_factor": -0.5}, "backoff_factor='-0.5': it must be a finite number 0 or more"),
    "max_retries fraction": ({"max_retries": 1.5}, "max_retries='1.5': it must be an integer 0 or more"),
    "max_retries negative": ({"max_retries": -1}, "max_retries='-1'"),
    "max_retries bool": ({"max_retries": True}, "max_retries='True'"),
    "stream_timeout zero": ({"stream_timeout": 0}, "stream_timeout='0'"),
}


@pytest.mark.parametrize(("extra", "fragment"), BAD_EXTRAS.values(), ids=BAD_EXTRAS.keys())
def test_bad_numeric_extras_are_configuration_errors(
    monkeypatch: pytest.MonkeyPatch, extra: dict[str, Any], fragment: str
) -> None:
    hook = set_conn(monkeypatch, host="http://127.0.0.1:9/v1", extra=extra)
    with pytest.raises(OVHCloudAIConfigurationError) as info:
        hook.list_models()
    assert f"Connection 'bad' has extra {fragment}" in str(info.value)


@pytest.mark.parametrize(
    ("extra", "fragment"), [("{not json", "is not valid JSON"), ("[1, 2]", "must be a JSON object")]
)
def test_a_malformed_extra_is_an_error_not_silently_ignored(
    monkeypatch: pytest.MonkeyPatch, extra: str, fragment: str
) -> None:
    from airflow.providers.common.compat.sdk import AirflowException

    hook = set_conn(monkeypatch, host="http://127.0.0.1:9/v1", extra=extra)
    with pytest.raises(AirflowException) as info:
        hook.list_models()
    # Airflow 3.1 refuses to load such an environment connection itself ("isn't defined"); 3.3 loads
    # it and our check names the extra. Either way it fails at once, never silently ignored.
    assert fragment in str(info.value) or "isn't defined" in str(info.value)


BAD_HOSTS = {
    "ftp": ("ftp://files.example.com/v1", "uses the scheme 'ftp': only http:// and https://"),
    "port not a number": ("http://127.0.0.1:abc/v1", "is not a valid URL"),
    "port out of range": ("http://127.0.0.1:70000/v1", "is not a valid URL"),
    "broken IPv6": ("http://[::1/v1", "is not a valid URL"),
    "no host": ("http:///v1", "names no host"),
    "spaces": ("http://exa mple.com", "without spaces"),
}


@pytest.mark.parametrize(("host", "fragment"), BAD_HOSTS.values(), ids=BAD_HOSTS.keys())
def test_unusable_hosts_fail_at_once_not_as_retryable_network_errors(
    monkeypatch: pytest.MonkeyPatch, host: str, fragment: str
) -> None:
    hook = set_conn(monkeypatch, host=host)
    with pytest.raises(OVHCloudAIConfigurationError) as info:
        hook.list_models()
    assert fragment in str(info.value) and "connection 'bad'" in str(info.value)


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), "60", True])
def test_bad_hook_timeouts_are_refused(timeout: Any) -> None:
    with pytest.raises(OVHCloudAIConfigurationError, match="timeout must be a positive number of seconds"):
        OVHCloudAIEndpointsHook(timeout=timeout)
    with pytest.raises(OVHCloudAIConfigurationError):
        OVHCloudAITrainingHook(timeout=timeout)


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.text(max_size=12), st.floats(allow_nan=True), st.integers(), st.booleans(), st.none()))
def test_any_timeout_extra_is_used_or_refused_never_a_raw_error(value: Any) -> None:
    import os

    os.environ["AIRFLOW_CONN_ANY"] = json.dumps(
        {
            "conn_type": "ovhcloud_ai_endpoints",
            "host": "http://127.0.0.1:9/v1",
            "password": "k" * 8,
            "extra": {"timeout": value},
        },
        default=str,
    )
    try:
        hook = OVHCloudAIEndpointsHook("any")
        try:
            client = hook.http
        except OVHCloudAIConfigurationError:
            return
        assert 0 < client.timeout < float("inf")
    finally:
        del os.environ["AIRFLOW_CONN_ANY"]


def test_a_429_with_a_garbage_retry_after_is_still_a_rate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    def limited(handler: Any, body: bytes) -> None:
        send_json(handler, 429, {"error": {"message": "Rate limit reached"}}, headers={"Retry-After": "soon-ish"})

    with hostile_server(limited) as server:
        hook = set_conn(monkeypatch, host=server.url + "/v1", extra={"backoff_factor": 0.01, "max_retries": 2})
        with closing(hook), pytest.raises(OVHCloudAIRequestError) as info:
            hook.chat_completion(MODEL, [{"role": "user", "content": "hi"}])
        assert len(server.requests) == 3  # backed off and retried as usual
    assert info.value.http_status == 429
    assert "HTTP 429 Too Many Requests" in str(info.value) and "Rate limit reached" in str(info.value)
