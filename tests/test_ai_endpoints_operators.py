"""The classic AI Endpoints operators, run in real DAGs with dag.test() against the emulator."""

from __future__ import annotations

import json
from typing import Any

from airflow_ovhcloud.operators.ai_endpoints import (
    OVHCloudAIEndpointsChatCompletionsOperator,
    OVHCloudAIEndpointsEmbeddingOperator,
)
from airflow_ovhcloud.testing.dagrun import run_dag

FILE = "endpoints_operator_dags.py"


def test_documented_constructor_defaults_and_template_fields() -> None:
    chat = OVHCloudAIEndpointsChatCompletionsOperator(task_id="c", model="m", messages=[])
    assert (chat.ovh_conn_id, chat.temperature, chat.max_tokens, chat.top_p, chat.stop, chat.stream) == (
        "ovh_ai_endpoints_default",
        1.0,
        None,
        None,
        None,
        False,
    )
    assert tuple(chat.template_fields) == ("model", "messages")
    embed = OVHCloudAIEndpointsEmbeddingOperator(task_id="e", model="m", input="x")
    assert embed.ovh_conn_id == "ovh_ai_endpoints_default"
    assert tuple(embed.template_fields) == ("model", "input")


def test_operators_return_responses_and_push_usage(emulator: Any, load_dag: Any) -> None:
    result = run_dag(load_dag(FILE, "test_endpoints_operators"))

    assert result.state == "success"
    chat = result.value("chat")
    ds = result.dag_run.logical_date.strftime("%Y-%m-%d")
    assert chat["choices"][0]["message"]["content"].endswith(f"to: Report for {ds}")
    assert result.value("chat", key="usage") == chat["usage"]
    (sent,) = [r.body for r in emulator.requests_to("/chat/completions") if "stream" not in r.body]
    assert sent["model"] == "Meta-Llama-3_3-70B-Instruct"
    assert sent["temperature"] == 1.0 and sent["max_tokens"] == 100

    structured = result.value("chat_streamed_json")
    answer = json.loads(structured["choices"][0]["message"]["content"])
    assert isinstance(answer["city"], str) and answer["score"] >= 3

    embed = result.value("embed")
    assert [item["index"] for item in embed["data"]] == [0, 1]
    assert emulator.requests_to("/embeddings")[0].body["input"] == [f"first {ds}", "second"]
    assert result.value("embed", key="usage") == embed["usage"]


def test_unknown_model_fails_the_task_without_using_its_retries(emulator: Any, load_dag: Any) -> None:
    result = run_dag(load_dag(FILE, "test_endpoints_operator_unknown_model"), expect_failure=True)

    assert result.state == "failed"
    assert result.task_states[("chat", -1)] == "failed"
    assert len(emulator.requests_to("/chat/completions")) == 1


def test_overload_after_client_retries_leaves_the_task_to_airflow_retries(emulator: Any, load_dag: Any) -> None:
    emulator.fail_next(4, status=503, path="/chat/completions")  # exhausts the first try's client retries
    result = run_dag(load_dag(FILE, "test_endpoints_operator_overloaded"))

    assert result.state == "success"
    assert len(emulator.requests_to("/chat/completions")) == 5


def test_extra_body_cannot_override_the_operators_own_arguments() -> None:
    import pytest

    with pytest.raises(TypeError, match=r"extra_body may not set \['stream'\]"):
        OVHCloudAIEndpointsChatCompletionsOperator(task_id="c", model="m", messages=[], extra_body={"stream": True})


def test_classic_chat_operator_has_system_prompt_pydantic_format_and_answer_output(
    emulator: Any, load_dag: Any
) -> None:
    result = run_dag(load_dag(FILE, "test_endpoints_operator_answers"))
    assert result.state == "success", result.task_states

    structured = result.value("structured")
    assert set(structured) == {"label", "confidence"}  # validated against Verdict, returned as a dict
    assert isinstance(structured["label"], str) and isinstance(structured["confidence"], float)
    assert result.value("text") == "This is a reply from Meta-Llama-3_3-70B-Instruct to: Hi"
    full = result.value("full")
    assert full["object"] == "chat.completion" and json.loads(full["choices"][0]["message"]["content"])

    bodies = {r.body["messages"][-1]["content"]: r.body for r in emulator.requests_to("/chat/completions")}
    sent = bodies["Classify: great product"]
    assert sent["messages"][0] == {"role": "system", "content": "You classify reviews."}
    schema = sent["response_format"]["json_schema"]
    assert sent["response_format"]["type"] == "json_schema" and schema["name"] == "Verdict"
    assert set(schema["schema"]["properties"]) == {"label", "confidence"}
    assert [m["content"] for m in bodies["Hi"]["messages"]] == ["Own system.", "Hi"]
    assert "temperature" not in bodies["Hello"] and bodies["Classify: great product"]["temperature"] == 1.0


def test_classic_embedding_operator_batches_like_the_decorator(emulator: Any, load_dag: Any) -> None:
    result = run_dag(load_dag(FILE, "test_endpoints_operator_answers"))
    assert result.state == "success", result.task_states

    sizes = [len(r.body["input"]) for r in emulator.requests_to("/embeddings")]
    assert sorted(sizes) == [22, 64, 64]  # batch_size=64 by default, as @task.ovh_embed
    embedded = result.value("embed_many")
    assert [item["index"] for item in embedded["data"]] == list(range(150))


def test_bad_chat_options_fail_when_the_operator_is_built() -> None:
    import pytest

    with pytest.raises(TypeError, match="returns must be one of"):
        OVHCloudAIEndpointsChatCompletionsOperator(task_id="c", model="m", messages=[], returns="text")
    with pytest.raises(TypeError, match="response_format must be"):
        OVHCloudAIEndpointsChatCompletionsOperator(task_id="c", model="m", messages=[], response_format="json")
    with pytest.raises(TypeError, match="system_prompt must be str"):
        OVHCloudAIEndpointsChatCompletionsOperator(task_id="c", model="m", messages=[], system_prompt=["x"])
