"""Nothing hangs: a body that trickles in or a stream that never ends fails with a retryable error."""

from __future__ import annotations

import json
import time
from contextlib import closing
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_ovhcloud.exceptions import OVHCloudAIRequestError
from airflow_ovhcloud.hooks.ai_endpoints import OVHCloudAIEndpointsHook
from tests.helpers import SECRET_TOKEN
from tests.hostile import connection, hostile_server

MODEL = "Meta-Llama-3_3-70B-Instruct"
MESSAGES = [{"role": "user", "content": "hi"}]
#: Every hostile answer below stops by itself after this many writes, even if nobody listens.
MAX_WRITES = 400


def trickle(handler: Any, body: bytes) -> None:
    payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": "x" * 200}}]}).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    for byte in payload[:MAX_WRITES]:
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()
        time.sleep(0.02)


def keep_alive_forever(handler: Any, body: bytes) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.end_headers()
    first = {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}]}
    handler.wfile.write(f"data: {json.dumps(first)}\n\n".encode())
    for _ in range(MAX_WRITES):
        handler.wfile.write(b": keep-alive\n\n")
        handler.wfile.flush()
        time.sleep(0.02)
    handler.close_connection = True


def hook_for(monkeypatch: pytest.MonkeyPatch, url: str, **extra: Any) -> OVHCloudAIEndpointsHook:
    monkeypatch.setenv("AIRFLOW_CONN_SLOW", connection(url, SECRET_TOKEN, max_retries=0, **extra))
    return OVHCloudAIEndpointsHook("slow")


def test_a_body_that_trickles_in_fails_once_the_timeout_is_spent(monkeypatch: pytest.MonkeyPatch) -> None:
    with hostile_server(trickle) as server, closing(hook_for(monkeypatch, server.url, timeout=0.5)) as hook:
        started = time.monotonic()
        with pytest.raises(OVHCloudAIRequestError) as info:
            hook.chat_completion(MODEL, MESSAGES)
        elapsed = time.monotonic() - started
    assert elapsed < 2.0  # the answer would take about 4 s; each byte alone arrives well within 0.5 s
    assert not isinstance(info.value, AirflowFailException)  # retryable
    assert "the answer to POST /chat/completions was not complete within 0.5 s" in str(info.value)


def test_a_stream_of_keep_alives_fails_once_the_stream_timeout_is_spent(monkeypatch: pytest.MonkeyPatch) -> None:
    with (
        hostile_server(keep_alive_forever) as server,
        closing(hook_for(monkeypatch, server.url, timeout=0.5, stream_timeout=0.6)) as hook,
    ):
        started = time.monotonic()
        with pytest.raises(OVHCloudAIRequestError) as info:
            hook.chat_completion(MODEL, MESSAGES, stream=True)
        elapsed = time.monotonic() - started
    assert elapsed < 2.0
    assert not isinstance(info.value, AirflowFailException)
    assert "the streamed answer to POST /v1/chat/completions was not complete within 0.6 s" in str(info.value)
    assert "stream_timeout" in str(info.value)


def test_a_stream_that_goes_silent_fails_after_the_read_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    def silent(handler: Any, body: bytes) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.end_headers()
        handler.wfile.write(b'data: {"choices": []}\n\n')
        handler.wfile.flush()
        time.sleep(1.5)  # bounded: then the server gives up too

    with hostile_server(silent) as server, closing(hook_for(monkeypatch, server.url, timeout=0.3)) as hook:
        started = time.monotonic()
        with pytest.raises(OVHCloudAIRequestError) as info:
            hook.chat_completion(MODEL, MESSAGES, stream=True)
    assert time.monotonic() - started < 1.2
    assert "the answer stopped arriving for 0.3 s" in str(info.value)
