"""The three TaskFlow decorators, proven by real DAG runs (dag.test) against the emulator."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_ovhcloud.testing.dagrun import run_dag

FILE = "decorator_dags.py"
MODEL = "Meta-Llama-3_3-70B-Instruct"


def reply(text: str, model: str = MODEL) -> str:
    return f"This is a reply from {model} to: {text}"


def test_decorators_resolve_from_airflow_task_and_typed_factories() -> None:
    from airflow.sdk import task

    from airflow_ovhcloud.decorators import ovh_chat_task, ovh_embed_task, ovh_training_task

    assert task.ovh_chat is ovh_chat_task
    assert task.ovh_embed is ovh_embed_task
    assert task.ovh_training is ovh_training_task


@pytest.mark.parametrize(
    ("factory", "kwargs", "fragment"),
    [
        ("ovh_chat", {"modle": "x"}, "'modle' (did you mean 'model'?)"),
        ("ovh_embed", {"model": "BGE-M3", "batch": 3}, "'batch' (did you mean 'batch_size'?)"),
        ("ovh_training", {"imag": "x"}, "'imag' (did you mean 'image'?)"),
        ("ovh_chat", {"model": "m", "temperature": "hot"}, "temperature must be"),
    ],
)
def test_bad_decorator_arguments_fail_when_the_dag_is_parsed(
    factory: str, kwargs: dict[str, Any], fragment: str
) -> None:
    import pendulum
    from airflow.sdk import dag, task

    @dag(dag_id=f"parse_{factory}", start_date=pendulum.datetime(2024, 1, 1), schedule=None)
    def parse() -> None:
        @getattr(task, factory)(**kwargs)
        def fn(x: str) -> str:
            return x

        fn.expand(x=["a"])

    with pytest.raises(TypeError) as info:
        parse()
    assert fragment in str(info.value)


def test_chat_mapping_expand_partial_expand_kwargs_and_override(emulator: Any, load_dag: Any) -> None:
    result = run_dag(load_dag(FILE, "test_chat_mapping"))
    assert result.state == "success", result.task_states

    docs = ["doc one", "doc two", "doc three"]
    assert result.values("summarize") == [reply(f"Summarize: {d}") for d in docs]
    assert result.value("collect") == [reply(f"Summarize: {d}") for d in docs]
    assert result.values("summarize_literal") == [reply("Summarize: alpha"), reply("Summarize: beta")]
    assert result.values("ask") == [reply("Tell me about cats"), reply("Tell me about dogs")]
    assert result.values("ask_kwargs") == [reply("Tell me about rain"), reply("Tell me about sun")]
    assert result.value("summarize_other_model") == reply("Summarize: one text", "gpt-oss-20b")
    assert result.values("varied") == [reply("About x", "Qwen3-32B"), reply("About y", "Qwen3-32B")]
    assert result.value("summarize", map_index=0, key="usage")["total_tokens"] > 0

    bodies = [r.body for r in emulator.requests_to("/chat/completions")]
    summary = next(b for b in bodies if b["messages"][-1]["content"] == "Summarize: doc two")
    assert summary["messages"][0] == {"role": "system", "content": "Answer in one sentence."}
    assert summary["max_tokens"] == 200 and "temperature" not in summary
    styled = next(b for b in bodies if b["messages"][-1]["content"] == "Tell me about rain")
    assert styled["messages"][0] == {"role": "system", "content": "Be poetic."}
    varied = next(b for b in bodies if b["messages"][-1]["content"] == "About x")
    assert (varied["model"], varied["temperature"]) == ("Qwen3-32B", 0.1)
    rendered = result.rendered[("summarize", 1)]["messages"]
    assert "Summarize: doc two" in json.dumps(rendered)


def test_chat_structured_output_tools_streaming_and_verbatim_prompts(emulator: Any, load_dag: Any) -> None:
    result = run_dag(load_dag(FILE, "test_chat_features"))
    assert result.state == "success", result.task_states

    review = result.value("review")
    assert set(review) == {"title", "score", "sentiment", "tags"}
    assert review["sentiment"] in ("positive", "negative") and isinstance(review["score"], int)
    sent = next(
        r.body
        for r in emulator.requests_to("/chat/completions")
        if "response_format" in r.body and r.body["response_format"]["type"] == "json_schema"
    )
    assert sent["response_format"]["json_schema"]["name"] == "Review"
    assert "$defs" in sent["response_format"]["json_schema"]["schema"]

    weather = result.value("weather")
    assert weather["role"] == "assistant" and weather["tool_calls"][0]["function"]["name"] == "get_weather"
    assert "city" in json.loads(weather["tool_calls"][0]["function"]["arguments"])

    assert result.value("streamed") == reply("Stream me an answer")
    assert result.value("streamed", key="usage")["completion_tokens"] > 0

    verbatim = "Explain {{ var.value.secret_thing }} and {{ ds }} literally"
    assert result.value("jinja") == reply(verbatim)
    assert any(r.body["messages"][-1]["content"] == verbatim for r in emulator.requests_to("/chat/completions"))

    assert result.value("full")["object"] == "chat.completion"
    assert isinstance(result.value("as_json"), dict)


def test_bad_chat_returns_fail_with_the_documented_message(
    emulator: Any, load_dag: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_dag(load_dag(FILE, "test_chat_bad_returns"), expect_failure=True)
    assert set(result.task_states.values()) == {"failed"}
    out = capsys.readouterr().out
    assert "@task.ovh_chat task 'returns_none': no usable prompt; the function returned NoneType None." in out
    assert "@task.ovh_chat task 'returns_int': no usable prompt; the function returned int 42." in out
    assert "@task.ovh_chat task 'returns_empty': the prompt is empty" in out
    assert "@task.ovh_chat task 'returns_unknown_key': unknown keys ['modle']" in out
    assert emulator.requests_to("/chat/completions") == []


def test_embeddings_batched_in_order_despite_a_429(emulator: Any, load_dag: Any) -> None:
    emulator.reverse_embedding_data = True
    emulator.fail_next(1, status=429, retry_after=0, path="/embeddings")
    result = run_dag(load_dag(FILE, "test_embed_batches"))
    assert result.state == "success", result.task_states

    from airflow_ovhcloud.hooks.ai_endpoints import OVHCloudAIEndpointsHook

    hook = OVHCloudAIEndpointsHook()
    texts = [f"text number {i}" for i in range(10)]
    expected = [hook.create_embedding(model="BGE-M3", input=t)["data"][0]["embedding"] for t in texts]
    assert result.value("embed_many") == expected
    batches = [(len(r.body["input"]), r.fault) for r in emulator.requests_to("/embeddings")[:4]]
    assert sorted(size for size, _ in batches) == [2, 4, 4, 4]  # three batches, one of them sent twice
    assert [fault for _, fault in batches].count("status:429") == 1
    assert result.value("embed_many", key="usage")["prompt_tokens"] == 30


def test_embed_one_text_none_and_a_mapped_upstream(emulator: Any, load_dag: Any) -> None:
    result = run_dag(load_dag(FILE, "test_embed"))
    assert result.state == "success", result.task_states
    one = result.value("embed_one")
    assert isinstance(one[0], float) and len(one) == 768
    assert result.value("embed_none") == []
    assert len(result.value("embed_mapped")) == 3


def test_bad_embedding_inputs_name_their_positions(
    emulator: Any, load_dag: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_dag(load_dag(FILE, "test_embed_bad"), expect_failure=True)
    assert result.task_states[("mixed", -1)] == "failed"
    assert "inputs at positions 1, 2 are not non-empty strings" in capsys.readouterr().out
    assert emulator.requests_to("/embeddings") == []


def test_mapped_training_jobs_one_failing(emulator: Any, load_dag: Any, capsys: pytest.CaptureFixture[str]) -> None:
    emulator.script_job(final_state="FAILED", info_message="loss is NaN", name="lr-0.0003")
    result = run_dag(load_dag(FILE, "test_training_mapped"), expect_failure=True)

    assert result.states("train") == ["success", "failed", "success"]
    assert result.states("train_deferred") == ["success", "success"]
    assert emulator.submitted_jobs == 5
    keys = {key for (task_id, _, key) in result.xcoms if task_id == "train"}
    assert not keys & {"id", "spec", "status"}  # multiple_outputs stays False despite the -> dict annotation
    done = result.value("train", map_index=0)
    assert done["status"]["state"] == "DONE" and done["spec"]["name"] == "lr-0.0001"
    assert done["spec"]["envVars"] == [{"name": "TOKEN", "value": "***"}]
    assert done["spec"]["resources"] == {"gpu": 1, "flavor": "ai1-1-gpu"}
    assert done["spec"]["labels"]["airflow-map-index"] == "0"
    failed_id = next(j["id"] for j in emulator.jobs.values() if j["spec"]["name"] == "lr-0.0003")
    out = capsys.readouterr().out
    assert f"AI Training job {failed_id} entered failure state: FAILED (loss is NaN)" in out
    assert "train-secret-123" not in out + json.dumps({str(k): v for k, v in result.xcoms.items()})
    assert [v["spec"]["name"] for v in result.values("train_deferred")] == ["deferred-0.1", "deferred-0.2"]


def test_bad_training_returns_fail_with_the_documented_message(
    emulator: Any, load_dag: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_dag(load_dag(FILE, "test_training_bad_returns"), expect_failure=True)
    assert set(result.task_states.values()) == {"failed"}
    out = capsys.readouterr().out
    assert "@task.ovh_training task 'no_image': no image" in out
    assert "@task.ovh_training task 'unknown_key': unknown job-spec keys ['imagee']; valid keys are" in out
    assert "@task.ovh_training task 'not_a_dict': return a dict of job-spec fields" in out
    assert emulator.submitted_jobs == 0
