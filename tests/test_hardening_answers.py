"""Hostile but well-formed HTTP answers: each is a clear, retryable provider error, never a raw Python one.

A tiny loopback server (``tests.hostile``) answers with the right status and content type but the
wrong shape: embeddings without vectors, job lists of non-objects, stream chunks whose ``delta`` is
a string. The hooks must say what was wrong and leave the decision to Airflow's retries.
"""

from __future__ import annotations

import json
from contextlib import closing
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_ovhcloud.exceptions import (
    OVHCloudAIError,
    OVHCloudAIInvalidInputError,
    OVHCloudAIRequestError,
    OVHCloudAIStreamError,
)
from airflow_ovhcloud.hooks.ai_endpoints import OVHCloudAIEndpointsHook, assemble_chat_stream
from airflow_ovhcloud.hooks.ai_training import OVHCloudAITrainingHook
from airflow_ovhcloud.operators.ai_training import OVHCloudAITrainingSubmitJobOperator
from airflow_ovhcloud.testing.dagrun import run_dag
from tests.helpers import SECRET_TOKEN, StubTaskInstance
from tests.hostile import connection, hostile_server, send, send_json

MODEL = "Meta-Llama-3_3-70B-Instruct"
MESSAGES = [{"role": "user", "content": "hi"}]
#: Put in hostile chunks: the stream errors must never repeat the chunk it came in.
MARKER = "RAW-CHUNK-MARKER-31337"
DAGS = "hardening_dags.py"


def _retryable(exc: BaseException) -> None:
    """A provider error Airflow retries; its message never carries the token."""
    assert isinstance(exc, OVHCloudAIRequestError), type(exc)
    assert not isinstance(exc, AirflowFailException)
    assert SECRET_TOKEN not in str(exc)


def _endpoints(monkeypatch: pytest.MonkeyPatch, url: str) -> OVHCloudAIEndpointsHook:
    monkeypatch.setenv("AIRFLOW_CONN_HARDENING_HOSTILE", connection(url, SECRET_TOKEN, max_retries=0))
    return OVHCloudAIEndpointsHook("hardening_hostile")


def _training(monkeypatch: pytest.MonkeyPatch, url: str) -> OVHCloudAITrainingHook:
    conn = connection(url, SECRET_TOKEN, "ovhcloud_ai_training", max_retries=0)
    monkeypatch.setenv("AIRFLOW_CONN_HARDENING_TRAINING", conn)
    return OVHCloudAITrainingHook("hardening_training")


# ------------------------------------------------------------------------------ embeddings


def _embedding_answer(*items: Any) -> Any:
    return lambda h, b: send_json(h, 200, {"object": "list", "data": list(items), "model": "BGE-M3"})


BAD_EMBEDDINGS = {
    "no embedding": {"object": "embedding", "index": 0},
    "embedding null": {"index": 0, "embedding": None},
    "embedding a string": {"index": 0, "embedding": "0.1,0.2"},
    "embedding an object": {"index": 0, "embedding": {"0": 0.1}},
    "embedding empty": {"index": 0, "embedding": []},
    "embedding with a string": {"index": 0, "embedding": [0.1, "0.2"]},
    "embedding with a bool": {"index": 0, "embedding": [0.1, True]},
    "embedding with null": {"index": 0, "embedding": [0.1, None]},
    "embedding with a list": {"index": 0, "embedding": [[0.1]]},
}


@pytest.mark.parametrize("item", BAD_EMBEDDINGS.values(), ids=BAD_EMBEDDINGS.keys())
def test_an_embedding_answer_without_a_vector_is_a_clear_retryable_error(
    monkeypatch: pytest.MonkeyPatch, item: dict[str, Any]
) -> None:
    with hostile_server(_embedding_answer(item)) as server, closing(_endpoints(monkeypatch, server.url)) as hook:
        with pytest.raises(OVHCloudAIError) as info:
            hook.create_embedding("BGE-M3", "one text")
        assert len(server.requests) == 1
    _retryable(info.value)
    assert "unexpected embedding response" in str(info.value)
    assert "data[0] has no 'embedding' list of numbers" in str(info.value)


def test_non_finite_numbers_in_an_embedding_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    body = '{"data": [{"index": 0, "embedding": [0.1, NaN]}, {"index": 1, "embedding": [Infinity, 1]}]}'
    with (
        hostile_server(lambda h, b: send(h, 200, body)) as server,
        closing(_endpoints(monkeypatch, server.url)) as hook,
        pytest.raises(OVHCloudAIError) as info,
    ):
        hook.create_embedding("BGE-M3", ["a", "b"])
    _retryable(info.value)
    assert "data[0] has no 'embedding' list of numbers" in str(info.value)


def test_an_infinite_index_is_an_unexpected_answer_not_an_overflow(monkeypatch: pytest.MonkeyPatch) -> None:
    body = '{"data": [{"index": Infinity, "embedding": [0.1]}, {"index": 0, "embedding": [0.2]}]}'
    with (
        hostile_server(lambda h, b: send(h, 200, body)) as server,
        closing(_endpoints(monkeypatch, server.url)) as hook,
        pytest.raises(OVHCloudAIError) as info,
    ):
        hook.create_embedding("BGE-M3", ["a", "b"])
    _retryable(info.value)
    assert "items without an integer 'index'" in str(info.value)


def test_a_base64_embedding_is_accepted_when_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = _embedding_answer({"index": 0, "embedding": "AAAAPw=="})
    with hostile_server(answer) as server, closing(_endpoints(monkeypatch, server.url)) as hook:
        response = hook.create_embedding("BGE-M3", "one", encoding_format="base64")
        assert response["data"][0]["embedding"] == "AAAAPw=="
        with pytest.raises(OVHCloudAIRequestError, match="no 'embedding' list of numbers"):
            hook.create_embedding("BGE-M3", "one")  # a string is only a vector when base64 was asked for


def test_a_batched_embedding_answer_without_vectors_names_the_failing_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    def answer(handler: Any, body: bytes) -> None:
        texts = json.loads(body)["input"]
        send_json(handler, 200, {"data": [{"index": i} for i in range(len(texts))], "usage": ["not", "a", "dict"]})

    with (
        hostile_server(answer) as server,
        closing(_endpoints(monkeypatch, server.url)) as hook,
        pytest.raises(OVHCloudAIError) as info,
    ):
        hook.create_embeddings("BGE-M3", ["a", "b", "c"], batch_size=2, max_concurrency=1)
    _retryable(info.value)
    assert str(info.value).startswith("Embedding inputs 0 to 1 (of 3) failed: ")
    assert "has no 'embedding' list of numbers" in str(info.value)


def test_batch_usage_of_the_wrong_shape_is_ignored_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    def answer(handler: Any, body: bytes) -> None:
        texts = json.loads(body)["input"]
        data = [{"index": i, "embedding": [0.5, 1]} for i in range(len(texts))]
        send_json(handler, 200, {"data": data, "usage": ["not", "a", "dict"]})

    with hostile_server(answer) as server, closing(_endpoints(monkeypatch, server.url)) as hook:
        response = hook.create_embeddings("BGE-M3", ["a", "b", "c"], batch_size=2, max_concurrency=1)
    assert [item["index"] for item in response["data"]] == [0, 1, 2]
    assert response["usage"] == {"prompt_tokens": 0, "total_tokens": 0}


def test_ovh_embed_dag_fails_with_the_clear_error_not_a_key_error(
    monkeypatch: pytest.MonkeyPatch, load_dag: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = _embedding_answer({"object": "embedding", "index": 0}, {"object": "embedding", "index": 1})
    with hostile_server(answer) as server:
        monkeypatch.setenv("AIRFLOW_CONN_HARDENING_HOSTILE", connection(server.url, SECRET_TOKEN, max_retries=0))
        result = run_dag(load_dag(DAGS, "test_hardening_embed_hostile"), expect_failure=True)
        requests = len(server.requests)

    assert result.task_states[("embed_texts", -1)] == "failed"
    out = capsys.readouterr().out
    assert "OVHCloudAIRequestError" in out and "data[0] has no 'embedding' list of numbers" in out
    assert "KeyError" not in out
    assert requests == 2  # retryable: the task's one Airflow retry asked again


# ------------------------------------------------------------------------------- job lists

BAD_JOB_LISTS = {
    "a list of strings": ["job-1", "job-2"],
    "items holding a number": {"items": [1], "metadata": {}},
    "items holding null": {"items": [None]},
    "items holding a list": {"items": [["id", "job-1"]]},
    "an item without an id": {"items": [{"status": {"state": "RUNNING"}}]},
}


@pytest.mark.parametrize("answer", BAD_JOB_LISTS.values(), ids=BAD_JOB_LISTS.keys())
def test_a_job_list_of_non_objects_is_an_unexpected_answer(monkeypatch: pytest.MonkeyPatch, answer: Any) -> None:
    with (
        hostile_server(lambda h, b: send_json(h, 200, answer)) as server,
        closing(_training(monkeypatch, server.url)) as hook,
        pytest.raises(OVHCloudAIError) as info,
    ):
        hook.list_jobs()
    _retryable(info.value)
    assert "unexpected job list response" in str(info.value)
    assert "items[0] is not a job object with an 'id'" in str(info.value)


def test_the_submit_operators_reattach_lookup_reports_a_bad_job_list(monkeypatch: pytest.MonkeyPatch) -> None:
    with hostile_server(lambda h, b: send_json(h, 200, {"items": ["job-1"]})) as server:
        _training(monkeypatch, server.url).close()
        operator = OVHCloudAITrainingSubmitJobOperator(
            task_id="train", image="pytorch/pytorch", ovh_conn_id="hardening_training"
        )
        with pytest.raises(OVHCloudAIError) as info:
            operator.execute({"ti": StubTaskInstance()})  # type: ignore[arg-type]
        methods = [r["method"] for r in server.requests]
    _retryable(info.value)
    assert "items[0] is not a job object" in str(info.value)
    assert methods == ["GET"]  # looked for an earlier job, submitted nothing


# --------------------------------------------------------------------------------- streams


def _sse(*chunks: Any) -> Any:
    body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    return lambda h, b: send(h, 200, body, "text/event-stream")


FIRST = {"id": "c1", "model": MODEL, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "He"}}]}
BAD_CHUNKS = {
    "delta a string": ({"choices": [{"index": 0, "delta": MARKER}]}, "choices[0].delta is a string, not an object"),
    "delta a list": ({"choices": [{"index": 0, "delta": [MARKER]}]}, "choices[0].delta is a list, not an object"),
    "tool_calls a string": (
        {"choices": [{"index": 0, "delta": {"tool_calls": MARKER}}]},
        "choices[0].delta.tool_calls is a string, not a list",
    ),
    "a tool call a string": (
        {"choices": [{"index": 0, "delta": {"tool_calls": [MARKER]}}]},
        "choices[0].delta.tool_calls[0] is a string, not an object",
    ),
    "a tool call index a string": (
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": MARKER, "id": "t"}]}}]},
        "choices[0].delta.tool_calls[0].index is a string, not an integer",
    ),
    "a function a string": (
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": MARKER}]}}]},
        "choices[0].delta.tool_calls[0].function is a string, not an object",
    ),
    "a function name a number": (
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"name": 7}}]}}]},
        "choices[0].delta.tool_calls[0].function.name is a number, not a string",
    ),
    "index a string": ({"choices": [{"index": MARKER, "delta": {}}]}, "choices[0].index is a string, not an integer"),
    "index a float": ({"choices": [{"index": 0.5, "delta": {}}]}, "choices[0].index is a number, not an integer"),
    "index a bool": ({"choices": [{"index": True, "delta": {}}]}, "choices[0].index is a boolean, not an integer"),
    "index negative": ({"choices": [{"index": -1, "delta": {}}]}, "choices[0].index is a number, not an integer ≥ 0"),
    "index null": ({"choices": [{"index": None, "delta": {}}]}, "choices[0].index is null, not an integer"),
    "choices a string": ({"choices": MARKER}, "choices is a string, not a list"),
    "choices an object": ({"choices": {"0": MARKER}}, "choices is an object, not a list"),
    "a choice a string": ({"choices": [MARKER]}, "choices[0] is a string, not an object"),
}


@pytest.mark.parametrize(("chunk", "fragment"), BAD_CHUNKS.values(), ids=BAD_CHUNKS.keys())
def test_a_stream_chunk_of_the_wrong_shape_is_a_clear_stream_error(
    monkeypatch: pytest.MonkeyPatch, chunk: dict[str, Any], fragment: str
) -> None:
    with (
        hostile_server(_sse(FIRST, chunk)) as server,
        closing(_endpoints(monkeypatch, server.url)) as hook,
        pytest.raises(OVHCloudAIError) as info,
    ):
        hook.chat_completion(MODEL, MESSAGES, stream=True)
    assert isinstance(info.value, OVHCloudAIStreamError)
    _retryable(info.value)
    message = str(info.value)
    assert f"streamed chunk 2 is not an OpenAI chat.completion.chunk: {fragment}" in message
    assert MARKER not in message and "He" not in message.split(":")[-1]


def test_assemble_chat_stream_refuses_a_chunk_that_is_not_an_object() -> None:
    with pytest.raises(OVHCloudAIStreamError, match=r"streamed chunk 1 .* the chunk is a string, not an object"):
        assemble_chat_stream([MARKER])  # type: ignore[list-item]


def test_a_well_formed_stream_with_nulls_still_assembles(monkeypatch: pytest.MonkeyPatch) -> None:
    chunks = [
        FIRST,
        {"choices": [{"index": 0, "delta": None}]},
        {"choices": None, "usage": {"total_tokens": 3}},
        {"choices": [{"index": 0, "delta": {"content": "llo", "tool_calls": None}, "finish_reason": "stop"}]},
    ]
    with hostile_server(_sse(*chunks)) as server, closing(_endpoints(monkeypatch, server.url)) as hook:
        response = hook.chat_completion(MODEL, MESSAGES, stream=True)
    assert response["choices"] == [
        {"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}
    ]
    assert response["usage"] == {"total_tokens": 3}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10,
)
FIELDS = st.sampled_from(["index", "delta", "role", "content", "tool_calls", "function", "name", "arguments", "id"])
CHUNK_LIKE = st.recursive(
    JSON, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(FIELDS, inner, max_size=4), max_leaves=12
)
CHUNKS = st.lists(st.dictionaries(st.sampled_from(["choices", "usage", "id", "model"]), CHUNK_LIKE), max_size=4)


@settings(max_examples=150, deadline=None)
@given(chunks=CHUNKS)
def test_any_chunks_assemble_or_raise_a_stream_error(chunks: list[dict[str, Any]]) -> None:
    try:
        result = assemble_chat_stream(chunks)
    except OVHCloudAIStreamError as exc:
        assert "is not an OpenAI chat.completion.chunk" in str(exc)
    else:
        assert result["object"] == "chat.completion" and isinstance(result["choices"], list)


# -------------------------------------------------------------- a bad @task.ovh_chat return value


def _try_numbers(result: Any) -> dict[str, int]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        tis = session.scalars(
            select(TaskInstance).where(
                TaskInstance.dag_id == result.dag_run.dag_id, TaskInstance.run_id == result.dag_run.run_id
            )
        )
        return {ti.task_id: ti.try_number for ti in tis}


def test_bad_chat_overrides_fail_at_once_as_invalid_input_not_a_retryable_type_error(
    emulator: Any, load_dag: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_dag(load_dag(DAGS, "test_hardening_chat_bad_override"), expect_failure=True)

    assert set(result.task_states.values()) == {"failed"}
    assert _try_numbers(result) == {"bad_response_format": 1, "bad_temperature": 1, "bytes_part": 1}
    assert emulator.requests_to("/chat/completions") == []
    out = capsys.readouterr().out
    assert "OVHCloudAIInvalidInputError: @task.ovh_chat task 'bad_response_format': a bad override: " in out
    assert "response_format must be an OpenAI response_format dict or a pydantic model class, got 'json'" in out
    assert "temperature must be a finite number from 0 to 2, got nan (float)" in out
    assert "messages[0].content[0] must be a content part dict with a 'type'" in out
    assert "TypeError:" not in out
    assert issubclass(OVHCloudAIInvalidInputError, AirflowFailException)


def test_a_json_answer_nested_beyond_the_parser_is_a_retryable_error_not_a_recursion_error() -> None:
    from airflow_ovhcloud.exceptions import OVHCloudAIError
    from airflow_ovhcloud.utils.chat import chat_answer

    deep = "[" * 100_000 + "]" * 100_000
    response = {"choices": [{"message": {"role": "assistant", "content": deep}}]}
    with pytest.raises(OVHCloudAIError, match="invalid JSON") as caught:
        chat_answer(response, {"type": "json_object"}, "label")
    assert not isinstance(caught.value, AirflowFailException)
