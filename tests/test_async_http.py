"""The async HTTP client: the same rules and messages as the sync one, pooled per connection, no requests.

Every case runs on both transports (``requests`` + urllib3 ``Retry``, ``httpx`` + ``tenacity``)
built from the same settings, against the emulator or the hostile server.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from typing import Any

import pytest

from airflow_ovhcloud._async_http import AsyncOVHCloudHTTPClient, shared_clients
from airflow_ovhcloud._http import OVHCloudHTTPClient
from airflow_ovhcloud.exceptions import OVHCloudAIClientError, OVHCloudAIError, OVHCloudAIRequestError
from airflow_ovhcloud.hooks.ai_training import OVHCloudAITrainingHook
from tests.helpers import SECRET_TOKEN
from tests.hostile import connection, hostile_server, send

TRANSPORTS = ["sync", "async"]


def call(transport: str, settings: dict[str, Any], method: str, path: str, **kwargs: Any) -> Any:
    """One request through a fresh client of ``transport``."""
    if transport == "sync":
        client = OVHCloudHTTPClient(**settings)
        try:
            return client.request_json(method, path, **kwargs)
        finally:
            client.close()

    async def go() -> Any:
        client = AsyncOVHCloudHTTPClient(**settings)
        try:
            return await client.request_json(method, path, **kwargs)
        finally:
            await client.aclose()

    return asyncio.run(go())


def failure(transport: str, settings: dict[str, Any], method: str, path: str, **kwargs: Any) -> OVHCloudAIError:
    with pytest.raises(OVHCloudAIError) as info:
        call(transport, settings, method, path, **kwargs)
    return info.value


def training_settings(**changes: Any) -> dict[str, Any]:
    return {**OVHCloudAITrainingHook().http_settings(), **changes}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_429_and_503_are_retried_honouring_retry_after(transport: str, emulator: Any) -> None:
    job_id = OVHCloudAITrainingHook().submit_job(image="i")["id"]
    emulator.fail_next(1, status=429, retry_after=1, path=f"/v1/job/{job_id}")
    emulator.fail_next(1, status=503, retry_after=0, path=f"/v1/job/{job_id}")
    started = time.monotonic()
    job = call(transport, training_settings(), "GET", f"v1/job/{job_id}")
    assert job["id"] == job_id
    assert time.monotonic() - started >= 0.9  # the Retry-After of the 429
    assert len(emulator.requests_to(f"/v1/job/{job_id}")) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_permanent_statuses_are_not_retried_and_say_the_same_on_both_transports(status: int, emulator: Any) -> None:
    messages = []
    for transport in TRANSPORTS:
        emulator.clear_journal()
        emulator.fail_next(1, status=status, message=f"refused {status}", path="/v1/job/x")
        error = failure(transport, training_settings(), "GET", "v1/job/x", not_found_hint="Check the job id.")
        assert isinstance(error, OVHCloudAIClientError)
        assert len(emulator.requests_to("/v1/job/x")) == 1  # not retried
        messages.append(str(error))
    assert messages[0] == messages[1]
    assert f"HTTP {status}" in messages[0] and f"refused {status}" in messages[0]


def test_retries_exhausted_say_the_same_on_both_transports(emulator: Any) -> None:
    messages = []
    for transport in TRANSPORTS:
        emulator.clear_journal()
        emulator.fail_next(10, status=503, message="overloaded", path="/v1/job/y", retry_after=0)
        error = failure(transport, training_settings(max_retries=2), "GET", "v1/job/y")
        assert isinstance(error, OVHCloudAIRequestError) and not isinstance(error, OVHCloudAIClientError)
        assert len(emulator.requests_to("/v1/job/y")) == 3
        messages.append(str(error))
    emulator.clear_faults()
    assert messages[0] == messages[1]
    assert "failed after 2 retries" in messages[0]


def test_an_unsafe_post_is_not_resent_after_an_ambiguous_failure(emulator: Any) -> None:
    messages = []
    settings = training_settings(unsafe_posts=frozenset({"v1/job"}))
    for transport in TRANSPORTS:
        emulator.clear_journal()
        emulator.fail_next(1, status=500, path="/v1/job")
        error = failure(transport, settings, "POST", "v1/job", json_body={"image": "i"})
        assert len(emulator.requests_to("/v1/job", method="POST")) == 1
        messages.append(str(error))
    assert messages[0] == messages[1] and "Not resent" in messages[0]
    for transport in TRANSPORTS:  # a refusal (429) is safe to resend
        emulator.fail_next(1, status=429, retry_after=0, path="/v1/job")
        assert call(transport, settings, "POST", "v1/job", json_body={"image": "i"})["id"]


def _echo_token(handler: Any, body: bytes) -> None:
    auth = handler.headers.get("Authorization", "")
    send(handler, 400, json.dumps({"message": f"bad request from {auth} (token {auth[7:]!r})"}))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_the_token_an_error_echoes_is_redacted(transport: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with hostile_server(_echo_token) as server:
        monkeypatch.setenv(
            "AIRFLOW_CONN_HOSTILE_T", connection(server.url, SECRET_TOKEN, conn_type="ovhcloud_ai_training")
        )
        settings = OVHCloudAITrainingHook("hostile_t").http_settings()
        error = failure(transport, settings, "GET", "v1/job/z")
    assert SECRET_TOKEN not in str(error) and "Bearer ***" in str(error)


def test_a_refused_connection_says_the_same_on_both_transports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_DOWN_T",
        json.dumps({"conn_type": "ovhcloud_ai_training", "host": "http://127.0.0.1:9", "password": "tok-123456"}),
    )
    settings = OVHCloudAITrainingHook("down_t").http_settings()
    settings.update(max_retries=1, backoff_factor=0.01)
    messages = [str(failure(t, settings, "GET", "v1/job/q")) for t in TRANSPORTS]

    def without_reason(text: str) -> str:  # the transport's own wording of the socket error differs
        return re.sub(r" \([A-Za-z]+Error: .*\)\. Check", ". Check", text)

    assert without_reason(messages[0]) == without_reason(messages[1])
    assert "could not connect to the service on GET /v1/job/q after 1 retries" in messages[1]


def test_hooks_of_one_connection_share_one_client_until_the_last_leaves(emulator: Any) -> None:
    job_id = OVHCloudAITrainingHook().submit_job(image="i")["id"]

    async def main() -> None:
        first, second, other = OVHCloudAITrainingHook(), OVHCloudAITrainingHook(), OVHCloudAITrainingHook()
        async with first.async_http() as a, second.async_http() as b:
            assert a is b and len(shared_clients()) == 1
            await asyncio.gather(*(hook.aget_job(job_id) for hook in (first, second) for _ in range(10)))
            async with other.async_http() as c:
                assert c is a
            assert shared_clients()[next(iter(shared_clients()))].users == 2
        assert shared_clients() == {}  # closed with its last user
        assert a._client is None

    asyncio.run(main())


def test_the_trigger_path_imports_no_requests(emulator: Any) -> None:
    """A fresh interpreter runs the trigger to its event: ``requests`` and the sync core are never imported."""
    job_id = OVHCloudAITrainingHook().submit_job(image="i")["id"]
    emulator.script_job(logs=["a", "b"])
    code = f"""
import asyncio, sys
from airflow_ovhcloud.triggers.ai_training import OVHCloudAITrainingJobTrigger

async def main():
    trigger = OVHCloudAITrainingJobTrigger({job_id!r}, check_interval=0, log_job_output=True)
    async for event in trigger.run():
        return event.payload

print(asyncio.run(main())["status"])
print(sorted(m for m in ("requests", "airflow_ovhcloud._http", "urllib3") if m in sys.modules))
"""
    env = {"AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT": emulator.training_connection_json()}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env={**_base_env(), **env}
    )
    assert done.returncode == 0, done.stderr[-2000:]
    status, modules = done.stdout.strip().splitlines()[-2:]
    assert status == "success"
    assert "requests" not in modules and "airflow_ovhcloud._http'" not in modules


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}


def test_the_triggers_trust_the_ca_bundle_the_workers_requests_trusts(
    emulator: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pathlib import Path

    import certifi

    from airflow_ovhcloud._async_http import ssl_context_for
    from airflow_ovhcloud.exceptions import OVHCloudAIConfigurationError

    text = Path(certifi.where()).read_text(encoding="ascii")
    first = text[text.index("-----BEGIN CERTIFICATE-----") : text.index("-----END CERTIFICATE-----") + 25]
    bundle = tmp_path / "proxy-ca.pem"
    bundle.write_text(first + "\n")
    assert len(ssl_context_for(str(bundle)).get_ca_certs()) == 1  # that CA, not certifi's hundred

    # A bundle that cannot be read: the trigger's request says which setting to fix, no raw OSError.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "missing.pem"))
    settings = {**training_settings(), "base_url": "https://127.0.0.1:9", "max_retries": 0}
    error = failure("async", settings, "GET", "v1/job/q")
    assert isinstance(error, OVHCloudAIConfigurationError)
    assert "REQUESTS_CA_BUNDLE" in str(error) and "missing.pem" in str(error)
