"""The emulator speaks OVHcloud AI Endpoints' wire format: proven over real HTTP with plain
``requests`` and with the official ``openai`` client, which must work against it unmodified."""

from __future__ import annotations

import enum
import json
import math
import os
import socket
import time
from typing import TYPE_CHECKING, Any

import openai
import pydantic
import pytest
import requests

from airflow_ovhcloud.testing import OVHCloudAIEmulator, RecordedRequest
from airflow_ovhcloud.testing.emulator import MAX_BODY_BYTES
from airflow_ovhcloud.testing.emulator.endpoints.schema_example import schema_example

if TYPE_CHECKING:
    pass

MODEL = "Meta-Llama-3_3-70B-Instruct"
EMBEDDING_MODEL = "bge-m3"

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "minLength": 2},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["city", "unit"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]},
    },
}


@pytest.fixture
def client(emu: OVHCloudAIEmulator) -> openai.OpenAI:
    return openai.OpenAI(base_url=emu.endpoints_url, api_key=emu.token, max_retries=0, timeout=10)


def chat(http: requests.Session, emu: OVHCloudAIEmulator, **body: Any) -> requests.Response:
    body.setdefault("model", MODEL)
    body.setdefault("messages", [{"role": "user", "content": "What is Airflow?"}])
    return http.post(f"{emu.endpoints_url}/chat/completions", json=body, timeout=10)


def sse_events(response: requests.Response) -> list[str]:
    """The ``data:`` payloads of a stream, ``[DONE]`` included, in order."""
    return [line[len("data: ") :] for line in response.iter_lines(decode_unicode=True) if line]


def sse_chunks(response: requests.Response) -> list[dict[str, Any]]:
    return [json.loads(e) for e in sse_events(response) if e != "[DONE]"]


def embed(http: requests.Session, emu: OVHCloudAIEmulator, inputs: Any, model: str = EMBEDDING_MODEL) -> Any:
    return http.post(f"{emu.endpoints_url}/embeddings", json={"model": model, "input": inputs}, timeout=30)


# --------------------------------------------------------------------------------------- server


def test_urls_and_connection(emu: OVHCloudAIEmulator) -> None:
    assert repr(emu) == f"<OVHCloudAIEmulator {emu.url}>"
    assert emu.token not in repr(emu)
    assert emu.url.startswith("http://127.0.0.1:")
    assert not emu.url.endswith(":0")
    assert emu.endpoints_url == emu.url + "/v1"
    assert emu.training_url == emu.url
    conn = json.loads(emu.endpoints_connection_json())
    assert conn == {"conn_type": "ovhcloud_ai_endpoints", "host": emu.endpoints_url, "password": emu.token}
    assert emu.endpoints_connection("other")["conn_type"] == "other"


def test_two_emulators_get_different_free_ports() -> None:
    with OVHCloudAIEmulator() as first, OVHCloudAIEmulator() as second:
        assert first.url != second.url


def test_stop_is_idempotent_and_really_stops(emu: OVHCloudAIEmulator, http: requests.Session) -> None:
    url = f"{emu.endpoints_url}/models"
    assert http.get(url, timeout=5).status_code == 200  # leaves a keep-alive connection open
    emu.stop()
    emu.stop()
    with pytest.raises(requests.ConnectionError):
        http.get(url, timeout=5)
    with pytest.raises(RuntimeError):
        _ = emu.url


def test_keep_alive_is_fast(emu: OVHCloudAIEmulator, http: requests.Session) -> None:
    """Without TCP_NODELAY each keep-alive request would wait ~40 ms for a delayed ACK."""
    url = f"{emu.endpoints_url}/models"
    http.get(url, timeout=5)
    started = time.perf_counter()
    for _ in range(50):
        assert http.get(url, timeout=5).status_code == 200
    assert time.perf_counter() - started < 1.0


def test_requests_are_served_concurrently(emu: OVHCloudAIEmulator) -> None:
    """One slow answer must not hold up the others (a pool of workers hits the same emulator)."""
    from concurrent.futures import ThreadPoolExecutor

    emu.latency = 0.1
    url = f"{emu.endpoints_url}/models"
    headers = {"Authorization": f"Bearer {emu.token}"}
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(lambda _: requests.get(url, headers=headers, timeout=5).status_code, range(10)))
    assert statuses == [200] * 10
    assert time.perf_counter() - started < 0.6


def test_serve_forever_returns_on_stop() -> None:
    import threading

    emulator = OVHCloudAIEmulator()
    thread = threading.Thread(target=emulator.serve_forever, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            url = emulator.url
            break
        except RuntimeError:
            time.sleep(0.01)
    response = requests.get(f"{url}/v1/models", headers={"Authorization": "Bearer emulator-token"}, timeout=5)
    assert response.status_code == 200
    emulator.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_unknown_route_and_wrong_method(emu: OVHCloudAIEmulator, http: requests.Session) -> None:
    missing = http.get(f"{emu.endpoints_url}/nothing-here", timeout=5)
    assert missing.status_code == 404
    assert "message" in missing.json()["error"]
    wrong = http.get(f"{emu.endpoints_url}/chat/completions", timeout=5)
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "POST"
    assert wrong.json()["error"]["code"] == "method_not_allowed"


# ----------------------------------------------------------------------------------------- auth


def test_missing_and_wrong_key_are_rejected(emu: OVHCloudAIEmulator) -> None:
    emu.require_auth = True  # strict mode: anonymous calls are refused too
    url = f"{emu.endpoints_url}/chat/completions"
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    missing = requests.post(url, json=body, timeout=5)
    wrong = requests.post(url, json=body, headers={"Authorization": "Bearer nope"}, timeout=5)
    not_bearer = requests.post(url, json=body, headers={"Authorization": emu.token}, timeout=5)
    for response in (missing, wrong, not_bearer):
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["type"] == "authentication_error"
        assert error["code"] == "invalid_api_key"
        assert "API key" in error["message"]
    assert [r.auth for r in emu.journal] == ["missing", "invalid", "invalid"]


def test_openai_client_with_a_wrong_key(emu: OVHCloudAIEmulator) -> None:
    bad = openai.OpenAI(base_url=emu.endpoints_url, api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()


def test_require_auth_off_and_token_change(emu: OVHCloudAIEmulator) -> None:
    url = f"{emu.endpoints_url}/models"
    emu.require_auth = False
    assert requests.get(url, timeout=5).status_code == 200
    emu.require_auth = True
    emu.token = "rotated"
    assert requests.get(url, headers={"Authorization": "Bearer rotated"}, timeout=5).status_code == 200
    assert requests.get(url, headers={"Authorization": "Bearer emulator-token"}, timeout=5).status_code == 401


def test_journal_never_keeps_the_token(emu: OVHCloudAIEmulator) -> None:
    secret = "sk-very-secret-123"
    emu.token = secret
    headers = {"Authorization": f"Bearer {secret}", "X-Trace": "t-1"}
    requests.get(f"{emu.endpoints_url}/models", headers=headers, timeout=5)
    requests.get(f"{emu.endpoints_url}/models", headers={"Authorization": "Bearer wrong-secret"}, timeout=5)
    records = emu.journal
    assert len(records) == 2
    assert records[0].headers["X-Trace"] == "t-1"
    assert records[0].auth == "ok"
    for record in records:
        assert all(name.lower() != "authorization" for name in record.headers)
    dumped = repr(records) + str(records) + json.dumps([r.headers for r in records])
    assert secret not in dumped
    assert "wrong-secret" not in dumped


# ---------------------------------------------------------------------------------------- models


def test_models_list(emu: OVHCloudAIEmulator, http: requests.Session, client: openai.OpenAI) -> None:
    payload = http.get(f"{emu.endpoints_url}/models", timeout=5).json()
    assert payload["object"] == "list"
    ids = [m["id"] for m in payload["data"]]
    for name in (MODEL, "gpt-oss-120b", "DeepSeek-R1-Distill-Llama-70B", "BGE-M3", "Qwen3-Embedding-8B"):
        assert name in ids
    assert all(m["object"] == "model" and m["owned_by"] == "ovhcloud" for m in payload["data"])
    emu.add_model("My-Finetune-7B")
    assert "My-Finetune-7B" in [m.id for m in client.models.list()]
    assert client.models.retrieve("gpt-oss-20b").id == "gpt-oss-20b"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-17")


def test_unknown_model_is_404(emu: OVHCloudAIEmulator, http: requests.Session, client: openai.OpenAI) -> None:
    response = chat(http, emu, model="gpt-17")
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "message": "The model `gpt-17` does not exist",
            "type": "invalid_request_error",
            "code": "model_not_found",
        }
    }
    assert embed(http, emu, "x", model="nope").json()["error"]["code"] == "model_not_found"
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-17", messages=[{"role": "user", "content": "hi"}])


def test_model_kind_mismatch_is_400(emu: OVHCloudAIEmulator, http: requests.Session) -> None:
    assert chat(http, emu, model=EMBEDDING_MODEL).status_code == 400
    assert embed(http, emu, "text", model=MODEL).status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"messages": [{"role": "user", "content": "hi"}]},
        {"model": "", "messages": [{"role": "user", "content": "hi"}]},
        {"model": MODEL},
        {"model": MODEL, "messages": []},
        {"model": MODEL, "messages": "hi"},
        {"model": MODEL, "messages": ["hi"]},
        {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 0},
        {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "tool_choice": "required"},
        {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "xml"}},
    ],
)
def test_invalid_chat_requests_are_400(emu: OVHCloudAIEmulator, http: requests.Session, body: Any) -> None:
    response = http.post(f"{emu.endpoints_url}/chat/completions", json=body, timeout=5)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"]


def test_non_json_body_is_400(emu: OVHCloudAIEmulator, http: requests.Session) -> None:
    response = http.post(f"{emu.endpoints_url}/chat/completions", data=b"not json", timeout=5)
    assert response.status_code == 400
    assert emu.journal[-1].body == "not json"


# ------------------------------------------------------------------------------------------ chat


def test_openai_chat(emu: OVHCloudAIEmulator, client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is Airflow?"},
        ],
    )
    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == f"This is a reply from {MODEL} to: What is Airflow?"
    assert choice.finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 5
    assert completion.usage.completion_tokens == 10
    assert completion.usage.total_tokens == 15
    [record] = emu.requests_to("/chat/completions", "POST")
    assert record.body["messages"][1]["content"] == "What is Airflow?"
    assert record.auth == "ok"


def test_reply_uses_last_user_message_and_text_parts(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    messages = [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Describe"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                {"type": "text", "text": "this image"},
            ],
        },
    ]
    reply = chat(http, emu, model="Qwen2.5-VL-72B-Instruct", messages=messages).json()
    content = reply["choices"][0]["message"]["content"]
    assert content == "This is a reply from Qwen2.5-VL-72B-Instruct to: Describe this image"
    assert reply["usage"]["prompt_tokens"] == 7


def test_openai_stream_matches_non_streamed(client: openai.OpenAI) -> None:
    messages: Any = [{"role": "user", "content": "Tell me about data pipelines in one sentence"}]
    full = client.chat.completions.create(model=MODEL, messages=messages)
    pieces = []
    finish = None
    for chunk in client.chat.completions.create(model=MODEL, messages=messages, stream=True):
        assert chunk.object == "chat.completion.chunk"
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        if chunk.choices and chunk.choices[0].finish_reason:
            finish = chunk.choices[0].finish_reason
    assert len(pieces) >= 2
    assert "".join(pieces) == full.choices[0].message.content
    assert finish == "stop"


def test_stream_wire_format(emu: OVHCloudAIEmulator, http: requests.Session) -> None:
    response = http.post(
        f"{emu.endpoints_url}/chat/completions",
        json={"model": MODEL, "messages": [{"role": "user", "content": "one two three"}], "stream": True},
        stream=True,
        timeout=5,
    )
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.headers["Transfer-Encoding"] == "chunked"
    # Each event travels in its own HTTP chunk, as a real server flushes them.
    raw = list(response.raw.read_chunked(decode_content=False))
    assert all(c.startswith(b"data: ") and c.endswith(b"\n\n") and c.count(b"data: ") == 1 for c in raw)
    assert raw[-1] == b"data: [DONE]\n\n"
    chunks = [json.loads(c[len(b"data: ") :]) for c in raw[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "stop"}
    assert len({c["id"] for c in chunks}) == 1
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    assert "usage" not in chunks[-1]


def test_stream_include_usage(emu: OVHCloudAIEmulator, http: requests.Session, client: openai.OpenAI) -> None:
    response = chat(http, emu, stream=True, stream_options={"include_usage": True})
    events = sse_events(response)
    assert events[-1] == "[DONE]"
    usage_chunk = json.loads(events[-2])
    assert usage_chunk["choices"] == []
    expected = chat(http, emu).json()["usage"]
    assert usage_chunk["usage"] == expected
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "What is Airflow?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    usages = [c.usage for c in stream if c.usage is not None]
    assert len(usages) == 1
    assert usages[0].total_tokens == expected["total_tokens"]


def test_max_tokens_truncates_with_length(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    reply = chat(http, emu, max_tokens=3).json()
    assert reply["choices"][0]["message"]["content"] == "This is a"
    assert reply["choices"][0]["finish_reason"] == "length"
    assert reply["usage"]["completion_tokens"] == 3
    roomy = chat(http, emu, max_tokens=500).json()
    assert roomy["choices"][0]["finish_reason"] == "stop"
    streamed = chat(http, emu, max_tokens=3, stream=True)
    chunks = sse_chunks(streamed)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == "This is a"
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_stop_sequences_cut_the_reply(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    reply = chat(http, emu, stop="reply").json()
    assert reply["choices"][0]["message"]["content"] == "This is a "
    assert reply["choices"][0]["finish_reason"] == "stop"
    earliest = chat(http, emu, stop=["from", "is"]).json()
    assert earliest["choices"][0]["message"]["content"] == "Th"
    unused = chat(http, emu, stop=["@@@"]).json()
    assert unused["choices"][0]["message"]["content"].endswith("What is Airflow?")


def test_json_object_mode(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    reply = chat(http, emu, response_format={"type": "json_object"}).json()
    content = json.loads(reply["choices"][0]["message"]["content"])
    assert content == {"answer": f"This is a reply from {MODEL} to: What is Airflow?"}
    text = chat(http, emu, response_format={"type": "text"}).json()
    assert text["choices"][0]["message"]["content"].startswith("This is a reply")


# -------------------------------------------------------------------------------- structured output


class Priority(str, enum.Enum):
    LOW = "low"
    HIGH = "high"


class Address(pydantic.BaseModel):
    street: str
    city: str
    zip_code: str = pydantic.Field(min_length=5, max_length=5)


class Ticket(pydantic.BaseModel):
    title: str = pydantic.Field(min_length=3)
    priority: Priority
    tags: list[str] = pydantic.Field(min_length=2)
    address: Address
    previous: list[Address]
    assignee: str | None = None
    score: float = pydantic.Field(gt=0, lt=1)
    count: int = pydantic.Field(ge=10)
    due: Any = None


class TreeNode(pydantic.BaseModel):
    name: str
    children: list[TreeNode] = []
    parent: TreeNode | None = None


def test_json_schema_from_pydantic_validates(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "ticket", "schema": Ticket.model_json_schema(), "strict": True},
    }
    reply = chat(http, emu, response_format=response_format).json()
    ticket = Ticket.model_validate_json(reply["choices"][0]["message"]["content"])
    assert ticket.priority is Priority.LOW
    assert len(ticket.tags) >= 2
    assert ticket.assignee is not None  # Optional fields get a value, not null
    assert ticket.previous and ticket.previous[0].city
    streamed = chat(http, emu, response_format=response_format, stream=True)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in sse_chunks(streamed))
    assert text == reply["choices"][0]["message"]["content"]


def test_recursive_schema_terminates_and_validates() -> None:
    schema = TreeNode.model_json_schema()
    value = schema_example(schema)
    TreeNode.model_validate(value)


def test_openai_parse_with_pydantic_model(client: openai.OpenAI) -> None:
    """``chat.completions.parse`` sends a strict schema and parses the answer itself."""
    completion = client.chat.completions.parse(
        model=MODEL, messages=[{"role": "user", "content": "Open a ticket"}], response_format=Address
    )
    parsed = completion.choices[0].message.parsed
    assert isinstance(parsed, Address)
    assert len(parsed.zip_code) == 5


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"n": {"type": "integer", "exclusiveMinimum": 5, "multipleOf": 4}}},
        {"type": "object", "properties": {"n": {"type": "number", "minimum": 2.5, "maximum": 3}}},
        {
            "$schema": "http://json-schema.org/draft-04/schema#",
            "type": "object",
            "properties": {"n": {"type": "integer", "minimum": 3, "exclusiveMinimum": True}},
        },
        {"type": "array", "items": {"type": "integer"}, "minItems": 3, "uniqueItems": True},
        {"type": "array", "items": {"enum": ["a", "b", "c"]}, "minItems": 2, "uniqueItems": True},
        {"type": ["null", "string"], "format": "date-time"},
        {"type": "string", "format": "email"},
        {"type": "string", "maxLength": 3},
        {"oneOf": [{"type": "null"}, {"type": "object", "properties": {"k": {"const": 7}}, "required": ["k"]}]},
        {"allOf": [{"properties": {"a": {"type": "string"}}}, {"properties": {"b": {"type": "boolean"}}}]},
        {"type": "object", "required": ["free"], "additionalProperties": {"type": "number"}},
        {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "minItems": 2},
        {"$defs": {"X": {"type": "integer"}}, "type": "object", "properties": {"x": {"$ref": "#/$defs/X"}}},
    ],
)
def test_schema_values_validate(schema: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    value = schema_example(schema)
    jsonschema.validate(value, schema)
    assert schema_example(schema) == value  # deterministic


# ------------------------------------------------------------------------------------------- tools


def test_openai_tool_call(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[WEATHER_TOOL, TIME_TOOL],  # type: ignore[list-item]
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    [call] = choice.message.tool_calls or []
    assert call.type == "function"
    assert call.id.startswith("call_")
    assert call.function.name == "get_weather"
    arguments = json.loads(call.function.arguments)
    assert set(WEATHER_TOOL["function"]["parameters"]["required"]) <= set(arguments)  # type: ignore[index]
    assert arguments["unit"] in ("celsius", "fahrenheit")
    assert len(arguments["city"]) >= 2
    assert 1 <= arguments["days"] <= 7

    # The tool result comes back: the model now answers with text.
    follow_up = client.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},  # type: ignore[list-item]
            {"role": "tool", "tool_call_id": call.id, "content": "18 degrees, sunny"},
        ],
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
    )
    assert follow_up.choices[0].message.content == "Based on the tool results: 18 degrees, sunny"
    assert follow_up.choices[0].finish_reason == "stop"


def test_tool_choice(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    tools = [WEATHER_TOOL, TIME_TOOL]
    named = chat(http, emu, tools=tools, tool_choice={"type": "function", "function": {"name": "get_time"}})
    assert named.json()["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_time"
    none = chat(http, emu, tools=tools, tool_choice="none").json()
    assert none["choices"][0]["message"]["content"].startswith("This is a reply")
    assert "tool_calls" not in none["choices"][0]["message"]
    messages = [
        {"role": "user", "content": "Weather?"},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    required = chat(http, emu, tools=tools, tool_choice="required", messages=messages).json()
    assert required["choices"][0]["finish_reason"] == "tool_calls"
    first = chat(http, emu, tools=tools).json()["choices"][0]["message"]["tool_calls"][0]
    again = chat(http, emu, tools=tools).json()["choices"][0]["message"]["tool_calls"][0]
    assert first == again  # deterministic ids and arguments
    unknown = chat(http, emu, tools=tools, tool_choice={"type": "function", "function": {"name": "nope"}})
    assert unknown.status_code == 400


def test_streamed_tool_call_fragments_reassemble(
    http: requests.Session, emu: OVHCloudAIEmulator, client: openai.OpenAI
) -> None:
    full = chat(http, emu, tools=[WEATHER_TOOL]).json()["choices"][0]["message"]["tool_calls"][0]
    chunks = sse_chunks(chat(http, emu, tools=[WEATHER_TOOL], stream=True))
    deltas = [c["choices"][0]["delta"]["tool_calls"][0] for c in chunks if "tool_calls" in c["choices"][0]["delta"]]
    head, fragments = deltas[0], deltas[1:]
    assert head == {
        "index": 0,
        "id": full["id"],
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    assert len(fragments) > 2
    assert all(set(f) == {"index", "function"} and len(f["function"]["arguments"]) <= 8 for f in fragments)
    assert "".join(f["function"]["arguments"] for f in fragments) == full["function"]["arguments"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"

    # The openai client's own accumulator agrees.
    with client.chat.completions.stream(
        model=MODEL,
        messages=[{"role": "user", "content": "Weather?"}],
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
    ) as stream:
        final = stream.get_final_completion()
    [call] = final.choices[0].message.tool_calls or []
    assert json.loads(call.function.arguments) == json.loads(full["function"]["arguments"])


# ---------------------------------------------------------------------------------------- scripting


def test_script_chat_is_fifo_then_default(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    emu.script_chat("first")
    emu.script_chat("second scripted answer here", finish_reason="length", usage={"prompt_tokens": 1})
    one = chat(http, emu).json()
    two = sse_chunks(chat(http, emu, stream=True))
    three = chat(http, emu).json()
    assert one["choices"][0]["message"]["content"] == "first"
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in two) == "second scripted answer here"
    assert two[-1]["choices"][0]["finish_reason"] == "length"
    assert three["choices"][0]["message"]["content"].startswith("This is a reply")


def test_script_chat_tool_calls_and_reasoning(client: openai.OpenAI, emu: OVHCloudAIEmulator) -> None:
    emu.script_chat(
        tool_calls=[{"name": "lookup", "arguments": {"q": "airflow"}}, {"name": "noop", "arguments": "{}"}],
        reasoning="I should look it up first.",
    )
    completion = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "?"}])
    message = completion.choices[0].message
    assert completion.choices[0].finish_reason == "tool_calls"
    calls = [c.model_dump() for c in message.tool_calls or []]
    assert [c["type"] for c in calls] == ["function", "function"]
    assert [c["function"]["name"] for c in calls] == ["lookup", "noop"]
    assert json.loads(calls[0]["function"]["arguments"]) == {"q": "airflow"}
    assert calls[1]["function"]["arguments"] == "{}"
    assert len({c["id"] for c in calls}) == 2
    assert message.model_dump()["reasoning_content"] == "I should look it up first."

    emu.script_chat("The answer.", reasoning="Thinking about the answer carefully.")
    reasoning, content = "", ""
    for chunk in client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "?"}], stream=True):
        delta = chunk.choices[0].delta.model_dump()
        reasoning += delta.get("reasoning_content") or ""
        content += delta.get("content") or ""
    assert reasoning == "Thinking about the answer carefully."
    assert content == "The answer."


# -------------------------------------------------------------------------------------- stream faults


def test_cut_stream_ends_without_done(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    emu.cut_next_stream(after_chunks=2)
    events = sse_events(chat(http, emu, stream=True))
    assert len(events) == 2
    assert "[DONE]" not in events
    assert emu.journal[-1].fault == "cut_stream:2"
    assert sse_events(chat(http, emu, stream=True))[-1] == "[DONE]"  # only the next stream


def test_error_stream_sends_an_error_event(
    http: requests.Session, emu: OVHCloudAIEmulator, client: openai.OpenAI
) -> None:
    emu.error_next_stream(after_chunks=3, message="GPU fell off", code=503)
    events = sse_events(chat(http, emu, stream=True))
    assert len(events) == 4
    assert json.loads(events[-1]) == {"error": {"message": "GPU fell off", "code": 503}}
    emu.error_next_stream(after_chunks=1)
    with pytest.raises(openai.APIError, match="Internal error during generation"):
        for _ in client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True):
            pass


def test_stream_faults_do_not_touch_plain_chats(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    emu.cut_next_stream(1)
    assert chat(http, emu).json()["choices"][0]["finish_reason"] == "stop"
    assert len(sse_events(chat(http, emu, stream=True))) == 1


# ----------------------------------------------------------------------------------------- faults


def test_fail_next_with_retry_after_and_path(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    emu.fail_next(2, 429, path="/chat/completions", retry_after=3)
    assert http.get(f"{emu.endpoints_url}/models", timeout=5).status_code == 200  # another path
    for _ in range(2):
        response = chat(http, emu)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "3"
        assert response.json()["error"]["type"] == "rate_limit_error"
    assert chat(http, emu).status_code == 200
    assert [r.fault for r in emu.journal] == [None, "status:429", "status:429", None]


def test_fail_next_bodies(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    emu.fail_next(status=500, message="boom")
    emu.fail_next(status=502, body="<html>Bad gateway</html>", content_type="text/html")
    emu.fail_next(status=400, body='{"message": "other shape"}', content_type="application/json")
    first, second, third = chat(http, emu), chat(http, emu), chat(http, emu)
    assert first.status_code == 500
    assert first.json()["error"] == {"message": "boom", "type": "server_error", "code": "internal_server_error"}
    assert second.status_code == 502
    assert second.text == "<html>Bad gateway</html>"
    assert second.headers["Content-Type"] == "text/html"
    assert third.json() == {"message": "other shape"}
    assert chat(http, emu).status_code == 200


def test_openai_client_retries_through_injected_503s(emu: OVHCloudAIEmulator) -> None:
    emu.fail_next(2, 503, retry_after="0.01")
    retrying = openai.OpenAI(base_url=emu.endpoints_url, api_key=emu.token, max_retries=2)
    completion = retrying.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert completion.choices[0].message.content
    assert len(emu.requests_to("/chat/completions")) == 3


def test_drop_next_closes_without_answer(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    emu.drop_next(path="/embeddings")
    assert http.get(f"{emu.endpoints_url}/models", timeout=5).status_code == 200
    with pytest.raises(requests.ConnectionError):
        embed(http, emu, "hello")
    assert embed(http, emu, "hello").status_code == 200
    dropped = emu.requests_to("/embeddings")[0]
    assert dropped.fault == "drop"
    assert dropped.body == {"model": EMBEDDING_MODEL, "input": "hello"}  # the request was read


def test_latency(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    url = f"{emu.endpoints_url}/models"
    http.get(url, timeout=5)
    emu.latency = 0.1
    started = time.perf_counter()
    http.get(url, timeout=5)
    assert time.perf_counter() - started >= 0.1
    with pytest.raises(requests.Timeout):
        http.get(url, timeout=0.03)


def test_body_over_2mb_is_413(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    big = "x" * (MAX_BODY_BYTES + 10)
    response = chat(http, emu, messages=[{"role": "user", "content": big}])
    assert response.status_code == 413
    assert "2 MB" in response.json()["error"]["message"]
    assert emu.journal[-1].body is None  # not kept
    assert chat(http, emu).status_code == 200  # the keep-alive connection still works


# ------------------------------------------------------------------------------------- embeddings


def vectors(payload: Any) -> list[list[float]]:
    return [item["embedding"] for item in sorted(payload["data"], key=lambda item: item["index"])]


def norm(vector: list[float]) -> float:
    return math.sqrt(sum(v * v for v in vector))


@pytest.mark.parametrize(
    ("model", "dims"),
    [("BGE-M3", 1024), ("bge-multilingual-gemma2", 3584), ("bge-base-en-v1.5", 768), ("Qwen3-Embedding-8B", 4096)],
)
def test_embedding_dimensions(http: requests.Session, emu: OVHCloudAIEmulator, model: str, dims: int) -> None:
    payload = embed(http, emu, ["hello world"], model=model).json()
    assert payload["model"] == model
    assert len(payload["data"][0]["embedding"]) == dims


def test_embeddings_are_deterministic_unit_vectors(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    first = embed(http, emu, ["alpha", "beta gamma", "alpha"]).json()
    assert first["object"] == "list"
    assert [d["object"] for d in first["data"]] == ["embedding"] * 3
    assert first["usage"] == {"prompt_tokens": 4, "total_tokens": 4}
    a, b, a_again = vectors(first)
    assert a == a_again
    assert a != b
    for vector in (a, b):
        assert norm(vector) == pytest.approx(1.0, abs=1e-4)
    assert abs(sum(x * y for x, y in zip(a, b, strict=True))) < 0.5  # unrelated texts are not alike
    assert vectors(embed(http, emu, "beta gamma").json()) == [b]  # a bare string works too
    with OVHCloudAIEmulator() as other:  # stable across servers and runs
        response = requests.post(
            f"{other.endpoints_url}/embeddings",
            json={"model": EMBEDDING_MODEL, "input": "alpha"},
            headers={"Authorization": f"Bearer {other.token}"},
            timeout=5,
        )
        assert vectors(response.json()) == [a]
    other_model = vectors(embed(http, emu, "alpha", model="BGE-M3").json())[0]
    assert other_model != a


def test_reverse_embedding_data_keeps_indices(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    texts = ["one", "two", "three"]
    ordered = embed(http, emu, texts).json()
    emu.reverse_embedding_data = True
    reversed_ = embed(http, emu, texts).json()
    assert [d["index"] for d in reversed_["data"]] == [2, 1, 0]
    assert vectors(reversed_) == vectors(ordered)


def test_embedding_input_limit(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    emu.embedding_input_limit = 2
    assert embed(http, emu, ["a", "b"]).status_code == 200
    response = embed(http, emu, ["a", "b", "c"])
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "too_many_inputs"
    assert "3" in error["message"]
    assert "2" in error["message"]


@pytest.mark.parametrize("bad_input", [None, [], [""], "", [1, 2], ["ok", None], {"text": "x"}])
def test_invalid_embedding_input_is_400(http: requests.Session, emu: OVHCloudAIEmulator, bad_input: Any) -> None:
    response = embed(http, emu, bad_input)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_embedding_without_model_is_400(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    response = http.post(f"{emu.endpoints_url}/embeddings", json={"input": "x"}, timeout=5)
    assert response.status_code == 400


def test_openai_embeddings(client: openai.OpenAI, emu: OVHCloudAIEmulator) -> None:
    result = client.embeddings.create(model="bge-base-en-v1.5", input=["first text", "second text"])
    assert [d.index for d in result.data] == [0, 1]
    assert all(len(d.embedding) == 768 for d in result.data)
    assert result.usage.prompt_tokens == 4
    assert emu.requests_to("/embeddings")[0].body["input"] == ["first text", "second text"]


def test_large_embedding_batch_is_fast(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    texts = [f"document number {i}" for i in range(2000)]
    started = time.perf_counter()
    response = embed(http, emu, texts)
    assert time.perf_counter() - started < 3
    assert response.status_code == 200
    assert len(response.json()["data"]) == 2000


# ------------------------------------------------------------------------------------ journal/reset


def test_journal_records_requests(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    http.get(f"{emu.endpoints_url}/models?page=2&tag=a&tag=b", timeout=5)
    chat(http, emu)
    [get] = emu.requests_to("/v1/models", "get")
    assert isinstance(get, RecordedRequest)
    assert get.method == "GET"
    assert get.path == "/v1/models"
    assert get.query == {"page": ["2"], "tag": ["a", "b"]}
    assert get.body is None
    assert emu.requests_to("/chat/completions", "GET") == []
    assert len(emu.requests_to("/completions")) == 1
    snapshot = emu.journal
    snapshot.clear()
    assert len(emu.journal) == 2  # the property hands out a copy
    with pytest.raises(AttributeError):
        get.method = "POST"  # type: ignore[misc]
    emu.clear_journal()
    assert emu.journal == []


def test_reset_restores_a_fresh_emulator(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    emu.latency = 0.05
    emu.embedding_input_limit = 1
    emu.require_auth = True
    emu.requests_per_minute, emu.anonymous_requests_per_minute, emu.rate_limit_window = 1, None, 1.0
    emu.reverse_embedding_data = True
    emu.script_chat("scripted")
    emu.fail_next(5)
    emu.drop_next(5)
    emu.cut_next_stream()
    emu.add_model("extra-model")
    with pytest.raises(requests.ConnectionError):
        http.get(f"{emu.endpoints_url}/models", timeout=5)
    emu.reset()
    assert emu.journal == []
    assert (emu.latency, emu.embedding_input_limit, emu.require_auth) == (0.0, None, False)
    assert (emu.requests_per_minute, emu.anonymous_requests_per_minute, emu.rate_limit_window) == (None, 2, 60.0)
    assert emu.reverse_embedding_data is False
    assert chat(http, emu).json()["choices"][0]["message"]["content"].startswith("This is a reply")
    assert sse_events(chat(http, emu, stream=True))[-1] == "[DONE]"
    assert embed(http, emu, ["a", "b"]).status_code == 200
    assert chat(http, emu, model="extra-model").status_code == 404
    assert all(r.fault is None for r in emu.journal)


def test_reset_restores_constructor_knobs() -> None:
    with OVHCloudAIEmulator(
        latency=0.01,
        embedding_input_limit=7,
        require_auth=True,
        requests_per_minute=5,
        anonymous_requests_per_minute=None,
        rate_limit_window=2.0,
    ) as emulator:
        emulator.latency, emulator.embedding_input_limit, emulator.require_auth = 0, None, False
        emulator.requests_per_minute, emulator.anonymous_requests_per_minute, emulator.rate_limit_window = 1, 1, 9
        emulator.reset()
        assert (emulator.latency, emulator.embedding_input_limit, emulator.require_auth) == (0.01, 7, True)
        knobs = (emulator.requests_per_minute, emulator.anonymous_requests_per_minute, emulator.rate_limit_window)
        assert knobs == (5, None, 2.0)


def test_add_embedding_model(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    emu.add_model("tiny-embed", kind="embedding", dimensions=10)
    vector = embed(http, emu, "x", model="tiny-embed").json()["data"][0]["embedding"]
    assert len(vector) == 10
    assert norm(vector) == pytest.approx(1.0, abs=1e-4)
    with pytest.raises(ValueError):
        emu.add_model("bad", kind="audio")


# ------------------------------------------------------------------------------------------ plugin


def test_pytest_fixture_wires_the_default_connection(ovhcloud_emulator: OVHCloudAIEmulator) -> None:
    conn = json.loads(os.environ["AIRFLOW_CONN_OVH_AI_ENDPOINTS_DEFAULT"])
    assert conn["host"] == ovhcloud_emulator.endpoints_url
    assert conn["password"] == ovhcloud_emulator.token
    response = requests.get(
        f"{conn['host']}/models", headers={"Authorization": f"Bearer {conn['password']}"}, timeout=5
    )
    assert response.status_code == 200


def test_emulator_imports_nothing_from_airflow() -> None:
    import subprocess
    import sys

    code = (
        "import sys, airflow_ovhcloud.testing.pytest_plugin;"
        "bad = [m for m in sys.modules if m.split('.')[0] == 'airflow' or m.startswith('airflow_ovhcloud.hooks')];"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
    assert out.stdout.strip() == "[]"


def test_socket_level_drop(emu: OVHCloudAIEmulator) -> None:
    """A dropped request gets no status line at all, not even an empty one."""
    emu.drop_next()
    host, port = emu.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(1024) == b""


# ------------------------------------------------------------------ fidelity: auth and rate limits


def test_anonymous_calls_answer_like_the_real_service(emu: OVHCloudAIEmulator) -> None:
    """Without a key: chat, embeddings and models answer; a wrong key is 401; training needs the token."""
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    assert requests.post(f"{emu.endpoints_url}/chat/completions", json=body, timeout=5).status_code == 200
    embedding = {"model": EMBEDDING_MODEL, "input": "x"}
    assert requests.post(f"{emu.endpoints_url}/embeddings", json=embedding, timeout=5).status_code == 200
    assert requests.get(f"{emu.endpoints_url}/models", timeout=5).status_code == 200
    assert requests.get(f"{emu.endpoints_url}/models/{MODEL}", timeout=5).status_code == 200
    wrong = requests.get(f"{emu.endpoints_url}/models", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
    training = requests.get(f"{emu.training_url}/v1/job", timeout=5)
    assert training.status_code == 401 and set(training.json()) == {"message"}
    assert [r.auth for r in emu.journal] == ["missing"] * 4 + ["invalid", "missing"]


def test_anonymous_calls_are_limited_per_model(emu: OVHCloudAIEmulator) -> None:
    url = f"{emu.endpoints_url}/chat/completions"

    def anonymous(model: str = MODEL) -> requests.Response:
        return requests.post(url, json={"model": model, "messages": [{"role": "user", "content": "hi"}]}, timeout=5)

    assert [anonymous().status_code for _ in range(3)] == [200, 200, 429]
    refused = anonymous()
    assert refused.status_code == 429
    assert refused.headers["Retry-After"].isdigit() and 1 <= int(refused.headers["Retry-After"]) <= 60
    error = refused.json()["error"]
    assert (error["type"], error["code"]) == ("rate_limit_error", "rate_limit_exceeded")
    assert MODEL in error["message"]
    assert anonymous("gpt-oss-20b").status_code == 200  # another model has its own budget
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    keyed = requests.post(url, json=body, headers={"Authorization": f"Bearer {emu.token}"}, timeout=5)
    assert keyed.status_code == 200  # the key is not limited by default
    assert [r.fault for r in emu.requests_to("/chat/completions")] == [
        None,
        None,
        "rate_limited",
        "rate_limited",
        None,
        None,
    ]


def test_rate_limit_with_a_key_uses_a_sliding_window(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    emu.requests_per_minute, emu.rate_limit_window = 3, 0.4
    assert [chat(http, emu).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert embed(http, emu, "x").status_code == 200  # embeddings of another model: another window
    time.sleep(0.45)
    assert chat(http, emu).status_code == 200  # the window slid past the first requests
    emu.requests_per_minute = None
    assert all(chat(http, emu).status_code == 200 for _ in range(10))


def test_strict_mode_refuses_anonymous_calls(emu: OVHCloudAIEmulator) -> None:
    with OVHCloudAIEmulator(require_auth=True) as strict:
        assert requests.get(f"{strict.endpoints_url}/models", timeout=5).status_code == 401
        headers = {"Authorization": f"Bearer {strict.token}"}
        assert requests.get(f"{strict.endpoints_url}/models", headers=headers, timeout=5).status_code == 200


def test_rate_limit_knobs_are_checked() -> None:
    with pytest.raises(ValueError, match="requests_per_minute"):
        OVHCloudAIEmulator(requests_per_minute=0)
    with pytest.raises(ValueError, match="rate_limit_window"):
        OVHCloudAIEmulator(rate_limit_window=0)


def test_rate_limit_is_cheap_at_high_request_rates() -> None:
    from airflow_ovhcloud.testing.emulator.endpoints.ratelimit import SlidingWindow

    window = SlidingWindow()
    started = time.perf_counter()
    # 400 requests/s for 50 s against 12,000 per minute: the first 12,000 pass, the rest wait.
    admitted = sum(window.admit("m", "key", 12_000, 60.0, now=i / 400) is None for i in range(20_000))
    assert admitted == 12_000
    assert window.admit("m", "key", 12_000, 60.0, now=60.5) is None  # the window slid
    assert time.perf_counter() - started < 1


# ------------------------------------------------------------------ fidelity: n, base64, structured outputs


def test_n_choices(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    body = chat(http, emu, n=3).json()
    assert [c["index"] for c in body["choices"]] == [0, 1, 2]
    contents = [c["message"]["content"] for c in body["choices"]]
    assert contents[0].startswith("This is a reply") and len(set(contents)) == 3
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    emu.script_chat("first")
    emu.script_chat("second")
    scripted = chat(http, emu, n=2).json()
    assert [c["message"]["content"] for c in scripted["choices"]] == ["first", "second"]
    streamed = sse_chunks(chat(http, emu, n=2, stream=True))
    by_choice: dict[int, str] = {}
    for chunk in streamed:
        for choice in chunk["choices"]:
            by_choice[choice["index"]] = by_choice.get(choice["index"], "") + (choice["delta"].get("content") or "")
    assert by_choice == {0: contents[0], 1: contents[1]}
    for bad in (0, 129, "2", True):
        response = chat(http, emu, n=bad)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_n"


def test_base64_embeddings_are_little_endian_float32(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    import base64
    import struct

    floats = http.post(
        f"{emu.endpoints_url}/embeddings", json={"model": EMBEDDING_MODEL, "input": ["a", "b"]}, timeout=5
    ).json()
    packed = http.post(
        f"{emu.endpoints_url}/embeddings",
        json={"model": EMBEDDING_MODEL, "input": ["a", "b"], "encoding_format": "base64"},
        timeout=5,
    ).json()
    for plain, encoded in zip(floats["data"], packed["data"], strict=True):
        raw = base64.b64decode(encoded["embedding"])
        decoded = struct.unpack(f"<{len(raw) // 4}f", raw)
        assert len(decoded) == 1024
        assert max(abs(x - y) for x, y in zip(decoded, plain["embedding"], strict=True)) < 1e-6
    bad = http.post(
        f"{emu.endpoints_url}/embeddings",
        json={"model": EMBEDDING_MODEL, "input": "a", "encoding_format": "int8"},
        timeout=5,
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_encoding_format"


def test_structured_outputs_differ_per_prompt(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    class Summary(pydantic.BaseModel):
        title: str
        mood: enum.Enum("Mood", {"HAPPY": "happy", "SAD": "sad", "CALM": "calm"})  # type: ignore[valid-type]
        score: int = pydantic.Field(ge=0, le=10)

    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "summary", "schema": Summary.model_json_schema(), "strict": True},
    }

    def answer(prompt: str) -> str:
        messages = [{"role": "user", "content": prompt}]
        reply = chat(http, emu, messages=messages, response_format=response_format).json()
        return str(reply["choices"][0]["message"]["content"])

    answers = [answer(f"document {i}") for i in range(5)]
    assert len(set(answers)) == 5
    assert answer("document 0") == answers[0]  # deterministic from the prompt
    for text in answers:
        Summary.model_validate_json(text)
