"""OVHCloudAIEndpointsHook against the emulator over real HTTP: requests sent, answers, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_ovhcloud import __version__
from airflow_ovhcloud.exceptions import (
    OVHCloudAIClientError,
    OVHCloudAIInvalidInputError,
    OVHCloudAIRequestError,
    OVHCloudAIStreamError,
)
from airflow_ovhcloud.hooks.ai_endpoints import OVHCloudAIEndpointsHook
from tests.helpers import SECRET_TOKEN

MODEL = "Meta-Llama-3_3-70B-Instruct"
HELLO = [{"role": "user", "content": "Say hello to Airflow"}]


def set_conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, conn: dict[str, Any]) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


# ----------------------------------------------------------------------------- chat


def test_chat_completion_returns_the_openai_response(emulator: Any) -> None:
    response = OVHCloudAIEndpointsHook().chat_completion(model=MODEL, messages=HELLO)

    assert response["object"] == "chat.completion"
    assert response["choices"][0]["message"] == {
        "role": "assistant",
        "content": f"This is a reply from {MODEL} to: Say hello to Airflow",
    }
    assert (
        response["usage"]["total_tokens"] == response["usage"]["prompt_tokens"] + response["usage"]["completion_tokens"]
    )


def test_chat_completion_sends_headers_and_omits_none(emulator: Any) -> None:
    OVHCloudAIEndpointsHook().chat_completion(model=MODEL, messages=HELLO)

    (request,) = emulator.requests_to("/chat/completions")
    assert request.method == "POST"
    assert request.auth == "ok"
    assert request.headers["User-Agent"] == f"airflow-ovhcloud/{__version__}"
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.body == {"model": MODEL, "messages": HELLO}


def test_chat_completion_sends_every_documented_parameter_and_passes_kwargs(emulator: Any) -> None:
    tools = [{"type": "function", "function": {"name": "noop", "parameters": {"type": "object"}}}]
    OVHCloudAIEndpointsHook().chat_completion(
        model=MODEL,
        messages=HELLO,
        temperature=0.2,
        max_tokens=50,
        top_p=0.9,
        stop=["\n\n"],
        seed=7,
        user="airflow",
        tools=tools,
        tool_choice="none",
        response_format={"type": "text"},
        presence_penalty=None,
    )

    body = emulator.requests_to("/chat/completions")[0].body
    assert body == {
        "model": MODEL,
        "messages": HELLO,
        "temperature": 0.2,
        "max_tokens": 50,
        "top_p": 0.9,
        "stop": ["\n\n"],
        "seed": 7,
        "user": "airflow",
        "tools": tools,
        "tool_choice": "none",
        "response_format": {"type": "text"},
    }


def test_max_tokens_and_stop_shape_the_answer(emulator: Any) -> None:
    hook = OVHCloudAIEndpointsHook()
    short = hook.chat_completion(model=MODEL, messages=HELLO, max_tokens=3)
    assert short["choices"][0]["message"]["content"] == "This is a"
    assert short["choices"][0]["finish_reason"] == "length"
    stopped = hook.chat_completion(model=MODEL, messages=HELLO, stop="reply")
    assert stopped["choices"][0]["message"]["content"] == "This is a "


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"model": "", "messages": HELLO}, "'model' must be a non-empty model name"),
        ({"model": MODEL, "messages": []}, "'messages' must be a non-empty list"),
        ({"model": MODEL, "messages": "hello"}, "'messages' must be a non-empty list"),
        ({"model": MODEL, "messages": [{"content": "x"}]}, "messages[0] has no 'role'"),
        ({"model": MODEL, "messages": [HELLO[0], "oops"]}, "messages[1] must be a dict"),
        ({"model": MODEL, "messages": [{"role": "user"}]}, "messages[0] (role 'user') needs a 'content'"),
    ],
)
def test_invalid_chat_input_fails_before_any_request(emulator: Any, kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(OVHCloudAIInvalidInputError) as info:
        OVHCloudAIEndpointsHook().chat_completion(**kwargs)

    assert fragment in str(info.value)
    assert isinstance(info.value, AirflowFailException)
    assert emulator.journal == []


def test_assistant_tool_calls_without_content_and_list_content_are_valid(emulator: Any) -> None:
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "22 C"},
    ]
    response = OVHCloudAIEndpointsHook().chat_completion(model=MODEL, messages=messages)
    assert response["choices"][0]["message"]["content"]


def test_tool_call_answer(emulator: Any) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_current_weather",
                "parameters": {
                    "type": "object",
                    "properties": {"location": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
                    "required": ["location"],
                },
            },
        }
    ]
    response = OVHCloudAIEndpointsHook().chat_completion(
        model=MODEL, messages=HELLO, tools=tools, tool_choice="required"
    )
    choice = response["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    assert call["function"]["name"] == "get_current_weather"
    assert set(json.loads(call["function"]["arguments"])) >= {"location"}


# ------------------------------------------------------------------------ streaming


def test_streamed_answer_equals_the_plain_one(emulator: Any) -> None:
    hook = OVHCloudAIEndpointsHook()
    plain = hook.chat_completion(model=MODEL, messages=HELLO)
    streamed = hook.chat_completion(model=MODEL, messages=HELLO, stream=True, stream_options={"include_usage": True})

    assert streamed["object"] == "chat.completion"
    assert streamed["choices"][0]["message"] == plain["choices"][0]["message"]
    assert streamed["choices"][0]["finish_reason"] == plain["choices"][0]["finish_reason"]
    assert streamed["usage"] == plain["usage"]
    body = emulator.requests_to("/chat/completions")[1].body
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


def test_stream_generator_yields_chunks_as_they_come(emulator: Any) -> None:
    chunks = list(OVHCloudAIEndpointsHook().stream_chat_completion(model=MODEL, messages=HELLO))

    assert len(chunks) >= 3
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == f"This is a reply from {MODEL} to: Say hello to Airflow"


def test_streamed_tool_call_fragments_and_reasoning_are_assembled(emulator: Any) -> None:
    emulator.script_chat(
        tool_calls=[{"name": "lookup", "arguments": {"query": "a fairly long argument string", "limit": 10}}],
        reasoning="First think, then call the tool.",
    )
    response = OVHCloudAIEndpointsHook().chat_completion(model=MODEL, messages=HELLO, stream=True)

    message = response["choices"][0]["message"]
    assert message["content"] is None
    assert message["reasoning_content"] == "First think, then call the tool."
    (call,) = message["tool_calls"]
    assert call["id"] and call["type"] == "function"
    assert call["function"]["name"] == "lookup"
    assert json.loads(call["function"]["arguments"]) == {"query": "a fairly long argument string", "limit": 10}
    assert response["choices"][0]["finish_reason"] == "tool_calls"


def test_error_chunk_mid_stream_raises_with_the_service_message(emulator: Any) -> None:
    emulator.error_next_stream(after_chunks=2, message="GPU fell over", code=500)
    with pytest.raises(OVHCloudAIStreamError, match="GPU fell over") as info:
        OVHCloudAIEndpointsHook().chat_completion(model=MODEL, messages=HELLO, stream=True)
    assert "in the middle of the stream" in str(info.value)
    assert not isinstance(info.value, AirflowFailException)


def test_stream_cut_before_done_is_an_error_not_half_an_answer(emulator: Any) -> None:
    emulator.cut_next_stream(after_chunks=2)
    with pytest.raises(OVHCloudAIStreamError, match="stream ended early, after 2 chunks"):
        OVHCloudAIEndpointsHook().chat_completion(model=MODEL, messages=HELLO, stream=True)


def test_stream_refused_before_it_starts_maps_the_status(emulator: Any) -> None:
    emulator.fail_next(1, status=401, path="/chat/completions")
    with pytest.raises(OVHCloudAIClientError, match="HTTP 401"):
        list(OVHCloudAIEndpointsHook().stream_chat_completion(model=MODEL, messages=HELLO))


# ------------------------------------------------------------------------ embeddings


def test_embedding_of_one_text(emulator: Any) -> None:
    response = OVHCloudAIEndpointsHook().create_embedding(model="BGE-M3", input="Airflow")

    (item,) = response["data"]
    assert len(item["embedding"]) == 1024
    assert emulator.requests_to("/embeddings")[0].body == {"model": "BGE-M3", "input": "Airflow"}


def test_embedding_data_is_sorted_by_index_whatever_the_service_order(emulator: Any) -> None:
    emulator.reverse_embedding_data = True
    texts = ["one", "two", "three"]
    hook = OVHCloudAIEndpointsHook()
    response = hook.create_embedding(model="bge-base-en-v1.5", input=texts)

    assert [item["index"] for item in response["data"]] == [0, 1, 2]
    singles = [hook.create_embedding(model="bge-base-en-v1.5", input=t)["data"][0]["embedding"] for t in texts]
    assert [item["embedding"] for item in response["data"]] == singles


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("", "'input' is an empty string"),
        ([], "'input' must be a string or a non-empty list"),
        (["ok", 3, "", "fine"], "inputs at positions 1, 2 are not non-empty strings"),
        ({"text": "x"}, "'input' must be a string or a non-empty list"),
    ],
)
def test_invalid_embedding_input_fails_before_any_request(emulator: Any, value: Any, fragment: str) -> None:
    with pytest.raises(OVHCloudAIInvalidInputError, match=None) as info:
        OVHCloudAIEndpointsHook().create_embedding(model="BGE-M3", input=value)
    assert fragment in str(info.value)
    assert emulator.journal == []


def test_embedding_over_the_input_limit_is_a_client_error(emulator: Any) -> None:
    emulator.embedding_input_limit = 2
    with pytest.raises(OVHCloudAIClientError) as info:
        OVHCloudAIEndpointsHook().create_embedding(model="BGE-M3", input=["a", "b", "c"])
    assert info.value.http_status == 400
    assert "limit" in str(info.value)


# --------------------------------------------------------------------- models & test


def test_list_models_returns_ids(emulator: Any) -> None:
    models = OVHCloudAIEndpointsHook().list_models()
    assert MODEL in models and "BGE-M3" in models


def test_test_connection_succeeds_with_a_good_token(emulator: Any) -> None:
    ok, message = OVHCloudAIEndpointsHook().test_connection()
    assert ok is True
    assert "models available" in message
    assert emulator.requests_to("/models")[0].auth == "ok"


def test_test_connection_reports_a_bad_token_without_raising(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = {"conn_type": "ovhcloud_ai_endpoints", "host": emulator.endpoints_url, "password": "nope"}
    set_conn(monkeypatch, "bad", conn)
    ok, message = OVHCloudAIEndpointsHook("bad").test_connection()
    assert ok is False
    assert "HTTP 401" in message and "refused the API key" in message


def test_test_connection_reports_a_keyless_connection_as_anonymous(
    emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_conn(monkeypatch, "nokey", {"conn_type": "ovhcloud_ai_endpoints", "host": emulator.endpoints_url})
    ok, message = OVHCloudAIEndpointsHook("nokey").test_connection()
    assert ok is True
    assert "without an API key: the connection is anonymous, so calls are rate-limited" in message
    assert emulator.requests_to("/chat/completions") == []  # no chat call spent on a keyless test


# ------------------------------------------------------------------- the connection


def test_missing_api_key_is_the_documented_error_where_a_key_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    set_conn(monkeypatch, "ovh_ai_endpoints_default", {"conn_type": "generic", "host": "http://127.0.0.1:9/v1"})
    with pytest.raises(AirflowException) as info:
        OVHCloudAIEndpointsHook().require_key()
    assert str(info.value).startswith(
        "OVHcloud AI Endpoints API key not found in connection 'ovh_ai_endpoints_default'. "
    )
    assert isinstance(info.value, AirflowFailException)


def test_api_key_extra_and_generic_connection_work(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    set_conn(
        monkeypatch,
        "generic_one",
        {"conn_type": "generic", "host": emulator.endpoints_url, "extra": {"api_key": SECRET_TOKEN}},
    )
    hook = OVHCloudAIEndpointsHook(ovh_conn_id="generic_one")
    assert hook.chat_completion(model=MODEL, messages=HELLO)["choices"]
    assert emulator.requests_to("/chat/completions")[0].auth == "ok"


def test_default_base_url_is_the_documented_one(monkeypatch: pytest.MonkeyPatch) -> None:
    set_conn(monkeypatch, "plain", {"conn_type": "generic", "password": "x"})
    assert OVHCloudAIEndpointsHook.BASE_URL == "https://oai.endpoints.kepler.ai.cloud.ovh.net/v1"
    assert OVHCloudAIEndpointsHook("plain").get_base_url() == OVHCloudAIEndpointsHook.BASE_URL


def test_connection_uri_with_bare_host_port_and_path_reaches_the_emulator(
    emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = emulator.url.rsplit(":", 1)[1]
    monkeypatch.setenv("AIRFLOW_CONN_URI_STYLE", f"ovhcloud-ai-endpoints://:{SECRET_TOKEN}@127.0.0.1:{port}/v1")
    hook = OVHCloudAIEndpointsHook("uri_style")
    assert hook.get_base_url() == emulator.endpoints_url
    assert MODEL in hook.list_models()


def test_host_without_path_gets_v1(monkeypatch: pytest.MonkeyPatch) -> None:
    set_conn(monkeypatch, "proxy", {"conn_type": "generic", "host": "https://llm-proxy.example.com", "password": "x"})
    assert OVHCloudAIEndpointsHook("proxy").get_base_url() == "https://llm-proxy.example.com/v1"


# --------------------------------------------------------------------------- retries


def test_503_then_success_is_retried_and_logged(emulator: Any, capsys: pytest.CaptureFixture[str]) -> None:
    emulator.fail_next(2, status=503, path="/chat/completions")
    response = OVHCloudAIEndpointsHook().chat_completion(model=MODEL, messages=HELLO)

    assert response["choices"]
    assert len(emulator.requests_to("/chat/completions")) == 3
    out = capsys.readouterr()
    log = out.out + out.err
    assert "HTTP 503" in log and "retry 1 of 3" in log and "retry 2 of 3" in log


def test_429_retry_after_is_honoured(emulator: Any) -> None:
    import time

    emulator.fail_next(1, status=429, retry_after=1, path="/embeddings")
    started = time.monotonic()
    OVHCloudAIEndpointsHook().create_embedding(model="BGE-M3", input="x")
    assert time.monotonic() - started >= 0.9
    assert len(emulator.requests_to("/embeddings")) == 2


def test_retry_after_as_an_http_date_is_honoured(emulator: Any) -> None:
    import time
    from email.utils import formatdate

    emulator.fail_next(1, status=503, retry_after=formatdate(time.time() + 2, usegmt=True), path="/models")
    started = time.monotonic()
    OVHCloudAIEndpointsHook().list_models()
    assert time.monotonic() - started >= 0.9  # the date has a one-second resolution
    assert len(emulator.requests_to("/models")) == 2


def test_each_wait_is_capped_whatever_retry_after_asks(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setattr("airflow_ovhcloud._http.MAX_WAIT_PER_RETRY", 0.2)
    emulator.fail_next(1, status=429, retry_after=3600, path="/models")
    started = time.monotonic()
    OVHCloudAIEndpointsHook().list_models()
    assert 0.15 <= time.monotonic() - started < 5


def test_total_waiting_is_capped(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("airflow_ovhcloud._http.MAX_TOTAL_WAIT", 0.5)
    emulator.fail_next(10, status=429, retry_after=1, path="/models")
    with pytest.raises(OVHCloudAIRequestError, match="HTTP 429"):
        OVHCloudAIEndpointsHook(max_retries=10).list_models()
    assert len(emulator.requests_to("/models")) == 1  # a 1 s wait would already exceed the 0.5 s budget


def test_retries_exhausted_raise_a_retryable_error_with_the_service_message(emulator: Any) -> None:
    emulator.fail_next(10, status=503, message="Model is overloaded")
    with pytest.raises(OVHCloudAIRequestError) as info:
        OVHCloudAIEndpointsHook().chat_completion(model=MODEL, messages=HELLO)

    error = info.value
    assert not isinstance(error, AirflowFailException)
    assert error.http_status == 503
    assert str(error).startswith("Request to OVHcloud AI Endpoints failed: HTTP 503 Service Unavailable")
    assert "Model is overloaded" in str(error)
    assert len(emulator.requests_to("/chat/completions")) == 4  # 1 try + 3 retries


def test_max_retries_comes_from_the_hook_argument_or_the_connection(
    emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.fail_next(10, status=502)
    with pytest.raises(OVHCloudAIRequestError):
        OVHCloudAIEndpointsHook(max_retries=0).list_models()
    assert len(emulator.journal) == 1

    emulator.reset()
    emulator.fail_next(10, status=502)
    conn = emulator.endpoints_connection()
    conn["extra"] = {"max_retries": 1, "backoff_factor": 0.01}
    set_conn(monkeypatch, "one_retry", conn)
    with pytest.raises(OVHCloudAIRequestError):
        OVHCloudAIEndpointsHook("one_retry").list_models()
    assert len(emulator.journal) == 2


def test_dropped_connection_is_retried(emulator: Any) -> None:
    emulator.drop_next(1, path="/chat/completions")
    assert OVHCloudAIEndpointsHook().chat_completion(model=MODEL, messages=HELLO)["choices"]
    assert len(emulator.requests_to("/chat/completions")) == 2


def test_network_error_without_response_gives_a_clear_message(emulator: Any) -> None:
    emulator.drop_next(10)
    with pytest.raises(OVHCloudAIRequestError) as info:
        OVHCloudAIEndpointsHook(max_retries=1).list_models()
    message = str(info.value)
    assert message.startswith("Request to OVHcloud AI Endpoints failed: no answer from the service on GET /models")
    assert "Check that http://127.0.0.1:" in message


def test_unreachable_host_gives_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    set_conn(monkeypatch, "down", {"conn_type": "generic", "host": "http://127.0.0.1:9/v1", "password": "x"})
    with pytest.raises(
        OVHCloudAIRequestError,
        match=r"could not connect to the service on GET /models after 0 retries .*Connection refused",
    ):
        OVHCloudAIEndpointsHook("down", max_retries=0).list_models()


def test_timeout_from_the_connection_extra(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    emulator.latency = 0.5
    conn = emulator.endpoints_connection()
    conn["extra"] = {"timeout": 0.1}
    set_conn(monkeypatch, "impatient", conn)
    with pytest.raises(OVHCloudAIRequestError, match=r"no answer within 0.1 s"):
        OVHCloudAIEndpointsHook("impatient", max_retries=0).list_models()


# ----------------------------------------------------------------- permanent errors


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
def test_client_errors_fail_at_once_without_airflow_retries(emulator: Any, status: int) -> None:
    emulator.fail_next(1, status=status, message="the service says no")
    with pytest.raises(OVHCloudAIClientError) as info:
        OVHCloudAIEndpointsHook().chat_completion(model=MODEL, messages=HELLO)

    assert isinstance(info.value, AirflowFailException)
    assert info.value.http_status == status
    assert "the service says no" in str(info.value)
    assert len(emulator.journal) == 1


def test_bad_token_says_which_connection_to_check(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    set_conn(monkeypatch, "wrong", {"conn_type": "generic", "host": emulator.endpoints_url, "password": "nope"})
    with pytest.raises(OVHCloudAIClientError) as info:
        OVHCloudAIEndpointsHook("wrong").chat_completion(model=MODEL, messages=HELLO)
    assert "HTTP 401 Unauthorized" in str(info.value)
    assert "Check the API key of Airflow connection 'wrong' (the form's 'API key' field" in str(info.value)


def test_unknown_model_says_how_to_list_models(emulator: Any) -> None:
    with pytest.raises(OVHCloudAIClientError) as info:
        OVHCloudAIEndpointsHook().chat_completion(model="No-Such-Model", messages=HELLO)
    message = str(info.value)
    assert "HTTP 404" in message
    assert "The model 'No-Such-Model' may not exist" in message
    assert "list_models()" in message


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        ('{"error": {"message": "openai style", "type": "x"}}', "application/json", "openai style"),
        ('{"message": "ovh style"}', "application/json", "ovh style"),
        ("plain text failure", "text/plain", "plain text failure"),
        ("", "text/plain", "(no message in the response)"),
    ],
)
def test_service_message_is_read_from_every_error_shape(
    emulator: Any, body: str, content_type: str, expected: str
) -> None:
    emulator.fail_next(1, status=400, body=body, content_type=content_type)
    with pytest.raises(OVHCloudAIClientError) as info:
        OVHCloudAIEndpointsHook().list_models()
    assert info.value.service_message == expected
    assert expected in str(info.value)


# ---------------------------------------------------------------------------- secrets


def test_token_never_shows_in_logs_errors_or_reprs(
    emulator: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], caplog: Any
) -> None:
    hook = OVHCloudAIEndpointsHook()
    hook.chat_completion(model=MODEL, messages=HELLO)
    errors = []
    emulator.fail_next(5, status=503)
    with pytest.raises(OVHCloudAIRequestError) as info:
        hook.list_models()
    errors.append(str(info.value))
    emulator.fail_next(1, status=401, body=f"token {SECRET_TOKEN} is revoked", content_type="text/plain")
    with pytest.raises(OVHCloudAIClientError) as info2:
        hook.list_models()
    errors.append(str(info2.value))
    emulator.drop_next(5)
    with pytest.raises(OVHCloudAIRequestError) as info3:
        hook.list_models()
    errors.append(str(info3.value))

    out = capsys.readouterr()
    everything = "\n".join([*errors, out.out, out.err, caplog.text, repr(hook), repr(hook.http)])
    assert "token *** is revoked" in errors[1]
    assert SECRET_TOKEN not in everything
    assert all(SECRET_TOKEN not in json.dumps(r.headers) for r in emulator.journal)


def test_one_session_is_reused_for_every_call(emulator: Any) -> None:
    hook = OVHCloudAIEndpointsHook()
    session = hook.http.session
    hook.list_models()
    hook.chat_completion(model=MODEL, messages=HELLO)
    assert hook.http.session is session
