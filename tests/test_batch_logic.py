"""The Batch API's pure logic (JSONL lines, reading results back, events) and its trigger."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from airflow_ovhcloud.exceptions import (
    OVHCloudAIClientError,
    OVHCloudAIInvalidInputError,
    OVHCloudAIJobTimeoutError,
    OVHCloudAIRequestError,
)
from airflow_ovhcloud.triggers.ai_endpoints_batch import OVHCloudAIBatchTrigger
from airflow_ovhcloud.utils.batch import (
    BadBatchLine,
    BatchPlan,
    BatchWatch,
    batch_error_event,
    batch_event,
    batch_of_event,
    custom_id,
    index_of,
    jsonl_lines,
    read_results,
    result_lines,
)

MODEL = "Meta-Llama-3_3-70B-Instruct"
texts = st.text(min_size=1, max_size=40).filter(lambda t: t.strip() != "")


class Verdict(BaseModel):
    label: str


def response(text: str, tokens: int = 3) -> dict[str, Any]:
    return {
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": tokens, "completion_tokens": 1, "total_tokens": tokens + 1},
    }


def output_line(fp: str, index: int, body: dict[str, Any]) -> bytes:
    line = {"id": f"r{index}", "custom_id": custom_id(fp, index), "response": {"status_code": 200, "body": body}}
    return json.dumps(line).encode()


@settings(max_examples=60, deadline=None)
@given(items=st.lists(texts, min_size=1, max_size=30), fp=st.from_regex(r"[0-9a-f]{16}", fullmatch=True))
def test_lines_are_one_json_object_per_item_with_unique_custom_ids(items: list[str], fp: str) -> None:
    plan = BatchPlan(model=MODEL, system_prompt="Be brief.", options={"temperature": 0, "max_tokens": None})
    data = b"".join(jsonl_lines(plan, items, fp))
    lines = data.split(b"\n")
    assert lines[-1] == b"" and len(lines) == len(items) + 1  # one line per item, each ended
    parsed = [json.loads(line) for line in lines[:-1]]
    assert [index_of(p["custom_id"], fp, len(items)) for p in parsed] == list(range(len(items)))
    for item, line in zip(items, parsed, strict=True):
        assert line["method"] == "POST" and line["url"] == "/v1/chat/completions"
        assert line["body"] == {
            "model": MODEL,
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": item}],
            "temperature": 0,
        }


@settings(max_examples=60, deadline=None)
@given(
    answers=st.lists(texts, min_size=1, max_size=40),
    failing=st.sets(st.integers(min_value=0, max_value=39)),
    seed=st.integers(),
)
def test_results_come_back_in_input_order_whatever_the_file_order(
    answers: list[str], failing: set[int], seed: int
) -> None:
    fp = "0123456789abcdef"
    failing = {i for i in failing if i < len(answers)}
    output = [output_line(fp, i, response(a)) for i, a in enumerate(answers) if i not in failing]
    errors = [
        json.dumps(
            {
                "custom_id": custom_id(fp, i),
                "response": {"status_code": 500, "body": {"error": {"message": f"no {i}", "code": "x"}}},
                "error": None,
            }
        ).encode()
        for i in failing
    ]
    random.Random(seed).shuffle(output)
    plan = BatchPlan(model=MODEL)
    results = read_results(output, errors, fp, len(answers), keep=plan.answer)
    assert results.ordered() == [None if i in failing else a for i, a in enumerate(answers)]
    assert results.errors == {i: f"HTTP 500 (x): no {i}" for i in failing}
    assert results.usage.get("total_tokens", 0) == 4 * (len(answers) - len(failing))
    assert results.missing() == []
    written = [json.loads(line) for line in result_lines(results, fp)]
    assert [w["index"] for w in written] == list(range(len(answers)))


def test_lines_of_another_run_duplicates_and_garbage_are_refused() -> None:
    fp = "0123456789abcdef"
    good = output_line(fp, 0, response("a"))
    for output, fragment in [
        ([output_line("ffffffffffffffff", 0, response("a"))], "not one of this batch's"),
        ([good, good], "repeats custom_id"),
        ([b"not json"], "not JSON"),
        ([b"[1]"], "not a JSON object"),
        ([json.dumps({"custom_id": custom_id(fp, 0), "response": {"status_code": 200}}).encode()], "no response body"),
        ([output_line(fp, 5, response("a"))], "not one of this batch's"),  # index out of range
    ]:
        with pytest.raises(BadBatchLine, match=fragment):
            read_results(output, [], fp, 2)


def test_a_bad_answer_fails_its_index_only_and_a_pydantic_item_is_validated() -> None:
    fp = "0123456789abcdef"
    plan = BatchPlan(model=MODEL, response_format=Verdict)
    list(jsonl_lines(plan, ["a", {"prompt": "b", "full_response": True}, "c"], fp))
    output = [
        output_line(fp, 0, response('{"label": "ok"}')),
        output_line(fp, 1, response("whatever")),
        output_line(fp, 2, response("not json")),
    ]
    results = read_results(output, [], fp, 3, keep=plan.answer)
    assert results.results[0] == {"label": "ok"}
    assert results.results[1]["choices"][0]["message"]["content"] == "whatever"  # full_response for that item
    assert "invalid JSON" in results.errors[2]


def test_item_overrides_survive_the_trip_through_a_trigger_event() -> None:
    plan = BatchPlan(model=MODEL)
    list(
        jsonl_lines(
            plan, ["a", {"prompt": "b", "response_format": Verdict}, {"prompt": "c", "full_response": True}], "f"
        )
    )
    portable = json.loads(json.dumps(plan.portable_overrides()))
    again = BatchPlan(model=MODEL)
    again.restore_overrides(portable)
    assert again.reading(0) == ("answer", None)
    assert again.reading(1) == ("answer", Verdict)  # found again among the loaded modules
    assert again.reading(2) == ("response", None)


@pytest.mark.parametrize(
    ("item", "fragment"),
    [
        ("", "the prompt is empty"),
        ({"prompt": "x", "colour": "red"}, "unknown keys"),
        (42, "no usable prompt"),
    ],
)
def test_an_unusable_item_is_refused_naming_its_index(item: Any, fragment: str) -> None:
    with pytest.raises(OVHCloudAIInvalidInputError, match=f"item 1: {fragment}"):
        list(jsonl_lines(BatchPlan(model=MODEL), ["fine", item], "f"))
    with pytest.raises(OVHCloudAIInvalidInputError, match="item 0 has no model"):
        list(jsonl_lines(BatchPlan(model=None), ["x"], "f"))
    with pytest.raises(OVHCloudAIInvalidInputError, match="cannot be sent as JSON"):
        list(jsonl_lines(BatchPlan(model=MODEL, options={"seed": float("nan")}), ["x"], "f"))


def test_embedding_lines_take_texts_or_input_dicts() -> None:
    plan = BatchPlan(model="bge-m3", endpoint="/v1/embeddings")
    lines = [json.loads(line) for line in jsonl_lines(plan, ["a", {"input": "b", "model": "other"}], "f")]
    assert [line["body"] for line in lines] == [{"model": "bge-m3", "input": "a"}, {"model": "other", "input": "b"}]
    assert {line["url"] for line in lines} == {"/v1/embeddings"}
    assert plan.answer(0, {"data": [{"embedding": [0.5, 1.0]}]}) == [0.5, 1.0]


@given(value=st.text(max_size=30))
def test_index_of_accepts_only_this_runs_custom_ids(value: str) -> None:
    index = index_of(value, "fp", 1000)
    if index is not None:
        assert value == custom_id("fp", index) and 0 <= index < 1000


def test_events_round_trip_into_the_batch_or_the_exception() -> None:
    batch = {
        "id": "batch_1",
        "status": "expired",
        "request_counts": {"total": 10, "completed": 4, "failed": 6},
        "output_file_id": "file-o",
        "error_file_id": None,
        "errors": {"data": [{"message": "too slow", "line": 3}]},
    }
    event = batch_event(batch, {"fingerprint": "f"})
    assert len(json.dumps(event)) < 500
    back = batch_of_event(event)
    assert back["status"] == "expired" and back["output_file_id"] == "file-o"
    assert back["request_counts"] == {"total": 10, "completed": 4, "failed": 6}
    with pytest.raises(OVHCloudAIJobTimeoutError, match="waited"):
        batch_of_event(batch_error_event("b", OVHCloudAIJobTimeoutError("waited")))
    with pytest.raises(OVHCloudAIClientError, match="refused"):
        batch_of_event(batch_error_event("b", OVHCloudAIClientError("refused")))
    with pytest.raises(OVHCloudAIRequestError, match="Unexpected trigger event"):
        batch_of_event("nonsense")


def test_the_watch_logs_progress_at_most_every_few_seconds() -> None:
    lines: list[str] = []

    class Log:
        def info(self, message: str, *args: Any) -> None:
            lines.append(message % args)

        warning = info

    now = [0.0]
    watch = BatchWatch("b1", check_interval=1, timeout=100, log=Log(), clock=lambda: now[0], progress_interval=5)
    for second in range(12):
        now[0] = float(second)
        done = second * 10
        assert not watch.finished({"status": "in_progress", "request_counts": {"total": 200, "completed": done}})
    assert len(lines) == 3  # at 0 s (the new status), 5 s and 10 s: not one per poll
    assert lines[-1] == "Batch b1 is in_progress: 100/200 done, 0 failed."
    assert watch.finished({"status": "completed", "request_counts": {"total": 200, "completed": 200}})
    assert lines[-1] == "Batch b1 is completed: 200/200 done, 0 failed."
    now[0] = 200.0
    with pytest.raises(OVHCloudAIJobTimeoutError, match="Timeout waiting for batch b1"):
        watch.next_wait()


# ------------------------------------------------------------------------------------- trigger


def run_trigger(trigger: OVHCloudAIBatchTrigger) -> list[dict[str, Any]]:
    async def collect() -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    return asyncio.run(collect())


def test_the_trigger_serializes_and_fires_one_event_per_terminal_state(emulator: Any) -> None:
    from airflow_ovhcloud.hooks.ai_endpoints import OVHCloudAIEndpointsHook

    trigger = OVHCloudAIBatchTrigger("b1", check_interval=5, timeout=60, cancel_on_kill=False, carry={"total": 1})
    path, kwargs = trigger.serialize()
    assert path == "airflow_ovhcloud.triggers.ai_endpoints_batch.OVHCloudAIBatchTrigger"
    assert OVHCloudAIBatchTrigger(**kwargs).serialize() == (path, kwargs)

    hook = OVHCloudAIEndpointsHook()
    created = hook.run_batch([{"model": MODEL, "messages": [{"role": "user", "content": "x"}]}], wait=False)
    assert isinstance(created, dict)
    (event,) = run_trigger(OVHCloudAIBatchTrigger(created["id"], check_interval=0, carry={"total": 1}))
    assert event["status"] == "terminal" and event["state"] == "completed" and event["carry"] == {"total": 1}
    polls = emulator.requests_to(f"/v1/batches/{created['id']}", method="GET")
    assert len(polls) == 3  # one request per poll, each one step: in_progress → finalizing → completed

    (missing,) = run_trigger(OVHCloudAIBatchTrigger("batch_nope", check_interval=0))
    assert missing["status"] == "error" and missing["permanent"] and "HTTP 404" in missing["message"]


def test_the_trigger_on_kill_cancels_the_batch_unless_told_not_to(emulator: Any) -> None:
    from airflow_ovhcloud.hooks.ai_endpoints import OVHCloudAIEndpointsHook

    emulator.script_next_batch(stick_in="in_progress")
    created = OVHCloudAIEndpointsHook().run_batch(
        [{"model": MODEL, "messages": [{"role": "user", "content": "x"}]}], wait=False
    )
    assert isinstance(created, dict)
    asyncio.run(OVHCloudAIBatchTrigger(created["id"], cancel_on_kill=False).on_kill())
    assert emulator.requests_to("/cancel") == []
    asyncio.run(OVHCloudAIBatchTrigger(created["id"]).on_kill())
    assert len(emulator.requests_to(f"/v1/batches/{created['id']}/cancel")) == 1


def test_the_trigger_on_kill_of_a_batch_that_already_ended_only_warns(
    emulator: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from airflow_ovhcloud.hooks.ai_endpoints import OVHCloudAIEndpointsHook

    done = OVHCloudAIEndpointsHook().run_batch(
        [{"model": MODEL, "messages": [{"role": "user", "content": "x"}]}], check_interval=0
    )
    assert not isinstance(done, dict) and done.batch is not None
    asyncio.run(OVHCloudAIBatchTrigger(done.batch["id"]).on_kill())  # 409 from the service: no traceback
    out = capsys.readouterr().out
    assert f"Could not cancel batch {done.batch['id']} after its task was killed" in out
    assert "its status is 'completed'" in out


@pytest.mark.parametrize("number", ["\u00b2", "\u0661", "\u0663", "1\u00b2", " 1", "+1", "01", "1_0"])
def test_a_custom_id_whose_number_does_not_parse_is_another_runs_line(number: str) -> None:
    fp = "0123456789abcdef"
    assert index_of(f"{fp}-{number}", fp, 1000) is None
    line = json.dumps({"custom_id": f"{fp}-{number}", "response": {"status_code": 200, "body": response("a")}})
    with pytest.raises(BadBatchLine, match="not one of this batch's"):  # never int()'s own ValueError
        read_results([line.encode()], [], fp, 1000)


def test_hostile_result_lines_are_bad_lines_or_failed_items_never_raw_errors() -> None:
    fp = "0123456789abcdef"
    with pytest.raises(BadBatchLine, match="not JSON"):  # too deep for json: RecursionError inside
        read_results([b"[" * 100_000 + b"]" * 100_000], [], fp, 1)
    with pytest.raises(BadBatchLine, match="not JSON"):
        read_results([b"\xff\xfe not utf-8"], [], fp, 1)
    # A response body of the wrong shape fails its item only, saying what was wrong.
    plan = BatchPlan(model="bge-m3", endpoint="/v1/embeddings")
    bodies = [{"data": [{"embedding": "garbage"}]}, {"data": "x"}, {"data": [{"embedding": [0.5, True]}]}]
    results = read_results([output_line(fp, i, b) for i, b in enumerate(bodies)], [], fp, 3, keep=plan.answer)
    assert results.results == {} and sorted(results.errors) == [0, 1, 2]
    assert all("has no embedding (a list of numbers)" in e for e in results.errors.values())
    chat = BatchPlan(model=MODEL)
    weird = [{"choices": "no"}, {"choices": [{"message": ["not", "a", "dict"]}]}, {}]
    results = read_results([output_line(fp, i, b) for i, b in enumerate(weird)], [], fp, 3, keep=chat.answer)
    assert sorted(results.errors) == [0, 1, 2] and all("has no message" in e for e in results.errors.values())
    # An error line of any shape is described, not trusted.
    odd_errors = [
        json.dumps({"custom_id": custom_id(fp, 0), "error": ["a", "list"]}).encode(),
        json.dumps({"custom_id": custom_id(fp, 1), "response": {"status_code": 503, "body": "down"}}).encode(),
        json.dumps(
            {"custom_id": custom_id(fp, 2), "response": {"status_code": 429, "body": {"error": "slow"}}}
        ).encode(),
    ]
    results = read_results([], odd_errors, fp, 3)
    assert results.errors == {
        0: "failed: (no message in the error file)",
        1: "HTTP 503: (no message in the error file)",
        2: "HTTP 429: slow",
    }


def test_overrides_from_an_event_of_the_wrong_shape_are_ignored() -> None:
    plan = BatchPlan(model=MODEL)
    for portable in (None, [], ["0", "x"], "text", {"x": ["answer", None]}, {"0": "not a pair"}):
        plan.restore_overrides(portable)
    assert plan.overrides == {}
