"""Many prompts in one task: order, structured output, failures per index, mapped input, durable progress."""

from __future__ import annotations

import json
import re
import time
from contextlib import closing
from typing import Any

import pytest

from airflow_ovhcloud.exceptions import OVHCloudAIInvalidInputError
from airflow_ovhcloud.hooks.ai_endpoints import OVHCloudAIEndpointsHook
from airflow_ovhcloud.operators.ai_endpoints import OVHCloudAIEndpointsChatCompletionsOperator
from airflow_ovhcloud.testing.dagrun import run_dag

FILE = "many_dags.py"
#: Airflow 3.3 brought the task state store that durable progress uses.
HAS_TASK_STATE_STORE = hasattr(
    __import__("airflow.sdk.execution_time.context", fromlist=["x"]), "TaskStateStoreAccessor"
)
MODEL = "Meta-Llama-3_3-70B-Instruct"


def reply(text: str, model: str = MODEL) -> str:
    return f"This is a reply from {model} to: {text}"


def test_one_task_many_prompts_in_order_with_overrides_failures_and_mapped_input(
    emulator: Any, load_dag: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_dag(load_dag(FILE, "test_chat_many"))
    assert result.state == "success", result.task_states

    summaries = result.value("summarize")
    assert len(summaries) == 500
    for i, summary in enumerate(summaries):  # every index, not a sample
        assert summary == reply(f"Summarize: doc {i}"), i
    usage = result.value("summarize", key="usage")
    assert usage["total_tokens"] > 500 and usage["prompt_tokens"] > 0
    bodies = [r.body for r in emulator.requests_to("/chat/completions")]
    summary_bodies = [b for b in bodies if b["messages"][-1]["content"].startswith("Summarize: ")]
    assert len(summary_bodies) == 500
    assert all(b["messages"][0] == {"role": "system", "content": "Summarize in one sentence."} for b in summary_bodies)

    verdicts = result.value("classify")
    assert [set(v) for i, v in enumerate(verdicts) if i != 5] == [{"label", "confidence"}] * 19
    assert verdicts[5] == reply("Just text, please")

    answers = result.value("some_fail")
    assert [i for i, a in enumerate(answers) if a is None] == [3, 14, 27]
    assert all(answers[i] == reply(f"Q{i}") for i in range(30) if i not in (3, 14, 27))
    errors = result.value("some_fail", key="errors")
    assert sorted(errors, key=int) == ["3", "14", "27"] and "HTTP 404" in errors["14"]

    assert result.value("from_mapped") == [reply(f"text {i}") for i in range(40)]

    out = capsys.readouterr().out
    progress = re.findall(r"Chat completions: (\d+)/500 done", out)
    assert progress and progress[-1] == "500" and len(progress) < 10  # a line every few seconds, never per prompt


def test_a_retried_task_does_not_pay_again_for_the_answers_it_had(
    emulator: Any, load_dag: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(100):
        emulator.script_chat(json.dumps({"label": "ok", "confidence": 0.5}))
    emulator.script_chat("this is not JSON")  # the 101st answer breaks the first try

    result = run_dag(load_dag(FILE, "test_chat_many_resume"))
    assert result.state == "success", result.task_states
    labels = result.value("label")
    assert len(labels) == 200 and all(set(v) == {"label", "confidence"} for v in labels)

    out = capsys.readouterr().out
    assert "invalid JSON" in out  # the first try failed on the bad answer
    if not HAS_TASK_STATE_STORE:  # before Airflow 3.3 a retry resends everything, as documented
        assert "Resuming" not in out
        assert len(emulator.requests_to("/chat/completions")) > 200
        return
    (kept,) = map(int, re.findall(r"Resuming: (\d+) of 200 answers were kept", out))
    sent = len(emulator.requests_to("/chat/completions"))
    first_try = kept + 1  # its successes, all kept, and the one that failed
    assert kept >= 100
    assert sent - first_try == 200 - kept <= 200 // 2 + 4  # the retry asked only for what was missing


@pytest.mark.skipif(not HAS_TASK_STATE_STORE, reason="before Airflow 3.3 every try resends everything: never done")
def test_a_killed_try_keeps_its_answers_for_the_retry(
    emulator: Any, load_dag: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.latency = 0.05  # 4 in flight: about 80 answers a second, 1.5 s for all 120
    result = run_dag(load_dag(FILE, "test_chat_many_killed"))
    assert result.state == "success", result.task_states
    assert result.value("ask") == [reply(f"Ask: item {i}") for i in range(120)]

    out = capsys.readouterr().out
    assert "Timeout" in out  # Airflow killed the first try at its execution_timeout
    sent = len(emulator.requests_to("/chat/completions"))
    if not HAS_TASK_STATE_STORE:
        return
    kept = [int(k) for k in re.findall(r"Resuming: (\d+) of 120 answers were kept", out)]
    assert kept and kept[0] > 0
    tries = 1 + len(kept)
    assert sent <= 120 + tries * 4  # at most the calls in flight at each kill are paid twice


@pytest.mark.skipif(not HAS_TASK_STATE_STORE, reason="before Airflow 3.3 every try resends everything: never done")
def test_a_killed_embedding_task_keeps_its_finished_batches(
    emulator: Any, load_dag: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.add_model("tiny-embed", kind="embedding", dimensions=16)
    emulator.latency = 0.1  # 20 batches one at a time: over 2 s, more than the execution_timeout
    result = run_dag(load_dag(FILE, "test_embed_batches_killed"))
    assert result.state == "success", result.task_states
    vectors = result.value("embed")
    assert len(vectors) == 100 and all(len(v) == 16 for v in vectors)

    out = capsys.readouterr().out
    sent = len(emulator.requests_to("/embeddings"))
    if not HAS_TASK_STATE_STORE:
        return
    kept = [int(k) for k in re.findall(r"Resuming: (\d+) of 20 answers were kept", out)]
    assert kept and kept[0] > 0
    assert sent <= 20 + len(kept) + 1  # each kill repeats at most the one batch in flight


def test_the_classic_operator_takes_many_items(emulator: Any, load_dag: Any) -> None:
    result = run_dag(load_dag(FILE, "test_chat_many_operator"))
    assert result.state == "success", result.task_states
    assert result.value("many") == [reply("One"), reply("Two"), reply("Three", "gpt-oss-20b")]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"many": "yes"}, "many"),
        ({"many": True, "on_error": "ignore"}, "on_error must be one of"),
        ({"many": True, "max_concurrency": 0}, "max_concurrency must be an integer from 1 to 64"),
        ({"many": True, "requests_per_minute": 0}, "requests_per_minute"),
    ],
)
def test_bad_many_options_fail_when_the_operator_is_built(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(TypeError, match=fragment):
        OVHCloudAIEndpointsChatCompletionsOperator(task_id="c", model="m", messages=[], **kwargs)


def test_many_items_that_cannot_be_calls_fail_before_any_request(emulator: Any) -> None:
    operator = OVHCloudAIEndpointsChatCompletionsOperator(
        task_id="c", model=MODEL, messages=["fine", {"promt": "typo"}], many=True
    )
    with pytest.raises(OVHCloudAIInvalidInputError, match=r"item 1: unknown keys \['promt'\]"):
        operator.execute({"ti": None})  # type: ignore[arg-type]
    operator.messages = "not a list"
    with pytest.raises(OVHCloudAIInvalidInputError, match="must be a list"):
        operator.execute({"ti": None})  # type: ignore[arg-type]
    assert emulator.requests_to("/chat/completions") == []


def test_the_hook_paces_each_model_and_reads_the_limit_from_the_connection(
    emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = json.loads(emulator.endpoints_connection_json())
    conn["extra"] = {"requests_per_minute": 1200, "backoff_factor": 0.01}  # 20 per second: 50 ms apart
    monkeypatch.setenv("AIRFLOW_CONN_PACED", json.dumps(conn))
    requests = [{"model": MODEL, "messages": [{"role": "user", "content": f"p{i}"}]} for i in range(6)]
    requests += [{"model": "gpt-oss-20b", "messages": [{"role": "user", "content": f"q{i}"}]} for i in range(6)]
    started = time.monotonic()
    with closing(OVHCloudAIEndpointsHook("paced")) as hook:
        outcome = hook.chat_completions(requests, max_concurrency=12)
    assert not outcome.errors and outcome.ordered()[0]["choices"][0]["message"]["content"] == reply("p0")
    # 12 calls at once would take one round trip; each model's 6 calls are 50 ms apart instead.
    assert time.monotonic() - started >= 5 * 0.05
