"""The Batch API end to end: real DAG runs against the emulator, and the hook's calls and refusals."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_ovhcloud.exceptions import (
    OVHCloudAIClientError,
    OVHCloudAIConfigurationError,
    OVHCloudAIInvalidInputError,
    OVHCloudAIJobFailedError,
    OVHCloudAIRequestError,
)
from airflow_ovhcloud.hooks.ai_endpoints import OVHCloudAIEndpointsHook
from airflow_ovhcloud.testing.dagrun import run_dag

FILE = "batch_dags.py"
#: Airflow 3.3 brought the task state store that ResumableJobMixin keeps the batch id in.
NOT_DURABLE_SUPPORTED = hasattr(__import__("airflow.sdk", fromlist=["x"]), "ResumableJobMixin")
MODEL = "Meta-Llama-3_3-70B-Instruct"


def reply(text: str, model: str = MODEL) -> str:
    return f"This is a reply from {model} to: {text}"


def dags_module() -> Any:
    return next(m for name, m in sys.modules.items() if name.endswith("batch_dags"))


# ----------------------------------------------------------------------------------- DAG runs


@pytest.mark.parametrize("dag_id", ["test_batch_blocking", "test_batch_deferrable"])
def test_answers_come_back_in_input_order_with_pydantic_output_per_item(
    emulator: Any, load_dag: Any, dag_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_dag(load_dag(FILE, dag_id))
    assert result.state == "success", result.task_states

    labels = result.value("label")
    assert len(labels) == 40
    assert [set(v) for i, v in enumerate(labels) if i != 7] == [{"label", "confidence"}] * 39
    assert labels[7] == reply("Just text, please")  # the item's own response_format=None
    assert result.value("label", key="usage")["total_tokens"] > 40

    # The emulator shuffles the output file: the order came from custom_id, not from the file.
    (batch_id, *_) = [b for b, v in emulator.batches().items() if v["request_counts"]["total"] == 40]
    output = emulator.file_content(emulator.batch(batch_id)["output_file_id"]).decode().splitlines()
    positions = [int(json.loads(line)["custom_id"].rsplit("-", 1)[1]) for line in output]
    assert positions != sorted(positions)
    assert result.value("label", key="batch_id") == batch_id

    # Every line carried the system prompt and the schema, the model, one endpoint.
    upload = emulator.file_content(emulator.batch(batch_id)["input_file_id"]).decode().splitlines()
    lines = [json.loads(line) for line in upload]
    assert {line["url"] for line in lines} == {"/v1/chat/completions"}
    assert lines[0]["body"]["messages"][0] == {"role": "system", "content": "Label the sentiment."}
    assert lines[0]["body"]["response_format"]["json_schema"]["name"] == "Sentiment"
    assert "response_format" not in lines[7]["body"]

    out = capsys.readouterr().out
    assert re.search(rf"Batch {batch_id} is completed: 40/40 done, 0 failed", out)
    if dag_id == "test_batch_blocking":
        whole = result.value("whole")
        assert [r["choices"][0]["message"]["content"] for r in whole] == [reply("One"), reply("Two")]
        other = [reply("One", "gpt-oss-20b"), reply("Two", "gpt-oss-20b")]
        assert result.value("whole_other_model") == other  # .override(model=..., full_response=False)
    else:
        assert result.values("mapped") == [
            [reply("Summarize: a"), reply("Summarize: b")],
            [reply("Summarize: c"), reply("Summarize: d"), reply("Summarize: e")],
        ]
        assert emulator.created_batches == 3  # one per mapped task instance, one for label


def test_the_classic_operator_takes_items_with_per_item_models(emulator: Any, load_dag: Any) -> None:
    result = run_dag(load_dag(FILE, "test_batch_operator"))
    assert result.state == "success", result.task_states
    assert result.value("batch") == [reply("One"), reply("Two"), reply("Three", "gpt-oss-20b")]
    vectors = result.value("embed")  # embedding lines: same interface (the real service: unverified)
    assert [len(v) for v in vectors] == [768, 768] and vectors[0] != vectors[1]


def test_failed_items_are_none_with_skip_and_errors_in_xcom(emulator: Any, load_dag: Any) -> None:
    emulator.fail_batch_items("FAILME", status_code=500, message="the GPU caught fire")
    result = run_dag(load_dag(FILE, "test_batch_skip"))
    assert result.state == "success", result.task_states
    for task_id in ("some_fail", "some_fail_deferred"):
        answers = result.value(task_id)
        assert [i for i, a in enumerate(answers) if a is None] == [3, 14]
        assert all(answers[i] == reply(f"Q{i}") for i in range(20) if i not in (3, 14))
        errors = result.value(task_id, key="errors")
        assert sorted(errors, key=int) == ["3", "14"]
        assert errors["14"] == "HTTP 500 (scripted_failure): the GPU caught fire"


def test_failed_items_fail_the_task_naming_each_index_after_the_batch_completed(emulator: Any, load_dag: Any) -> None:
    emulator.fail_batch_items("FAILME", status_code=400, message="bad request here")
    result = run_dag(load_dag(FILE, "test_batch_fail"), expect_failure=True)
    assert result.task_states[("some_fail", -1)] == "failed"
    error = result.error("some_fail") or ""
    assert "2 of 20 batch requests failed" in error
    assert "[3] HTTP 400 (scripted_failure): bad request here" in error
    assert "[14] HTTP 400" in error
    (batch,) = emulator.batches().values()
    assert batch["status"] == "completed"  # failed only once the batch was complete


def test_an_expired_batch_fails_with_the_reason_and_keeps_partial_results(emulator: Any, load_dag: Any) -> None:
    emulator.script_next_batch("expired", completed_before=4)
    result = run_dag(load_dag(FILE, "test_batch_expired"), expect_failure=True)
    error = result.error("late") or ""
    assert "ended expired" in error and "XCom 'partial_results'" in error
    partial = result.value("late", key="partial_results")
    assert len(partial) == 10 and sum(a is not None for a in partial) == 4
    assert all(a == reply(f"Q{i}") for i, a in enumerate(partial) if a is not None)


def test_an_expired_batch_with_output_path_writes_what_it_has_there(
    emulator: Any, load_dag: Any, tmp_path: Path
) -> None:
    emulator.script_next_batch("expired", completed_before=6)
    result = run_dag(
        load_dag(FILE, "test_batch_expired_output"), expect_failure=True, run_conf={"output_dir": str(tmp_path)}
    )
    error = result.error("late") or ""
    match = re.search(r"6 answers written to (file://\S+\.jsonl)", error)
    assert match and "ended expired" in error, error
    assert match.group(1).startswith(f"file://{tmp_path}/late-")
    lines = [json.loads(line) for line in Path(match.group(1).removeprefix("file://")).read_text().splitlines()]
    assert [line["index"] for line in lines] == list(range(10))
    assert sum(line["result"] is not None for line in lines) == 6
    assert all(line["error"] for line in lines if line["result"] is None)


def test_a_batch_refused_at_validation_fails_with_the_service_reason(emulator: Any, load_dag: Any) -> None:
    emulator.script_next_batch("failed", message="model Meta-Llama is not available for batches")
    result = run_dag(load_dag(FILE, "test_batch_expired"), expect_failure=True)
    error = result.error("late") or ""
    assert "ended failed" in error and "model Meta-Llama is not available for batches" in error


def test_a_killed_task_is_retried_onto_its_batch_one_upload_one_batch(
    emulator: Any, load_dag: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.script_next_batch(stick_in="in_progress")
    emulator.script_next_batch(stick_in="in_progress")
    dag = load_dag(FILE, "test_batch_reattach")
    hooks = dags_module().RETRY_HOOKS
    hooks.append(
        lambda context: [
            emulator.finish_batch(batch_id)
            for batch_id, batch in emulator.batches().items()
            if batch["status"] == "in_progress"
        ]
    )
    try:
        result = run_dag(dag, poll_interval=0.05)
    finally:
        hooks.clear()
    assert result.state == "success", result.task_states
    assert result.value("ask") == [reply(f"Ask: item {i}") for i in range(12)]
    assert result.value("by_fingerprint") == [reply(f"Fingerprint: item {i}") for i in range(12)]
    assert emulator.created_batches == 2 and emulator.uploaded_files == 2  # one each, though each ran twice
    assert len(emulator.requests_to("/v1/batches", method="POST")) == 2
    assert emulator.requests_to("/cancel") == []  # cancel_on_kill=False
    out = capsys.readouterr().out
    assert "Reattaching to batch" in out  # found by the run fingerprint in its metadata
    if NOT_DURABLE_SUPPORTED:  # Airflow 3.3+: the other task's retry read the id from the task state store
        assert "Job already completed successfully, skipping resubmission" in out


def test_a_retry_whose_items_changed_gets_a_new_batch_not_the_old_answers(
    emulator: Any, load_dag: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in ("durable", "by_fingerprint"):  # in creation order: each first try's batch sticks, its retry's ends
        emulator.script_next_batch(stick_in="in_progress")
        emulator.script_next_batch()
    result = run_dag(load_dag(FILE, "test_batch_items_changed"), poll_interval=0.05)
    assert result.state == "success", result.task_states
    for task_id in ("durable", "by_fingerprint"):
        assert result.value(task_id) == [reply(f"Try 2: item {i}") for i in range(6)]
    assert emulator.created_batches == 4 and emulator.uploaded_files == 4  # two per task: the items changed
    metadata = [b["metadata"] for b in emulator.batches().values()]
    assert len({m["airflow_run_key"] for m in metadata}) == 2  # one fingerprint per task instance...
    assert len({m["airflow_input"] for m in metadata}) == 4  # ...and the digest of each try's items
    out = capsys.readouterr().out
    assert "Reattaching to batch" not in out
    if NOT_DURABLE_SUPPORTED:  # the task state store held the first batch: its input was not this try's
        assert "was made from other items (they changed since): a new batch is made" in out


def test_a_killed_task_cancels_its_batch_and_the_retry_starts_a_new_one(emulator: Any, load_dag: Any) -> None:
    emulator.script_next_batch(stick_in="in_progress")
    result = run_dag(load_dag(FILE, "test_batch_cancel_on_kill"), poll_interval=0.05)
    assert result.state == "success", result.task_states
    assert result.value("ask") == [reply(f"Ask: item {i}") for i in range(5)]
    (killed, retried) = emulator.batches().items()
    assert [r.path for r in emulator.requests_to("/cancel")] == [f"/v1/batches/{killed[0]}/cancel"]
    assert killed[1]["status"] in ("cancelling", "cancelled")
    assert retried[1]["status"] == "completed" and result.value("ask", key="batch_id") == retried[0]


def test_output_path_gets_the_results_and_xcom_a_manifest(emulator: Any, load_dag: Any, tmp_path: Path) -> None:
    result = run_dag(load_dag(FILE, "test_batch_output_path"), run_conf={"output_dir": str(tmp_path)})
    assert result.state == "success", result.task_states
    manifest = result.value("label")
    assert manifest["counts"] == {"total": 25, "completed": 25, "failed": 0}
    assert manifest["usage"]["total_tokens"] > 0 and manifest["status"] == "completed"
    assert manifest["path"].startswith(f"file://{tmp_path}/label-") and manifest["path"].endswith(".jsonl")
    assert result.value("read") == 25
    lines = [json.loads(line) for line in Path(manifest["path"].removeprefix("file://")).read_text().splitlines()]
    assert [line["index"] for line in lines] == list(range(25))
    assert all(set(line["result"]) == {"label", "confidence"} and line["error"] is None for line in lines)


# ---------------------------------------------------------------------------------------- hook


def test_the_hook_runs_a_whole_batch_and_reads_it_in_input_order(emulator: Any) -> None:
    emulator.fail_batch_items("q7", status_code=500, message="boom")
    hook = OVHCloudAIEndpointsHook()
    requests = [{"model": MODEL, "messages": [{"role": "user", "content": f"q{i}"}]} for i in range(10)]
    results = hook.run_batch(requests, check_interval=0, metadata={"owner": "me"})
    assert not isinstance(results, dict)
    answers = [None if r is None else r["choices"][0]["message"]["content"] for r in results.ordered()]
    assert answers == [None if i == 7 else reply(f"q{i}") for i in range(10)]
    assert results.errors == {7: "HTTP 500 (scripted_failure): boom"}
    assert results.usage["total_tokens"] > 0
    (batch,) = hook.list_batches(limit=5)["data"]
    assert batch["metadata"] == {"owner": "me"}
    assert hook.find_batch({"owner": "me"})["id"] == batch["id"]
    assert hook.find_batch({"owner": "someone else"}) is None

    created = hook.run_batch(requests[:2], wait=False)
    assert isinstance(created, dict) and created["status"] == "validating"
    assert [b["id"] for b in hook.iter_batches(page_size=1)] == [created["id"], batch["id"]]
    cancelled = hook.cancel_batch(created["id"])
    assert cancelled["status"] in ("cancelling", "cancelled")
    lines = list(hook.get_file_content(batch["input_file_id"]))
    assert len(lines) == 10 and json.loads(lines[0])["body"] == requests[0]
    assert hook.delete_file(batch["input_file_id"])["deleted"] is True


@pytest.mark.parametrize("source", ["path", "bytes", "lines", "open file"])
def test_upload_file_takes_a_path_bytes_lines_or_an_open_file(emulator: Any, tmp_path: Path, source: str) -> None:
    lines = [
        json.dumps({"custom_id": f"c{i}", "method": "POST", "url": "/v1/chat/completions", "body": {}})
        for i in range(3)
    ]
    data = ("\n".join(lines) + "\n").encode()
    path = tmp_path / "in.jsonl"
    path.write_bytes(data)
    with path.open("rb") as handle:
        handle.read(10)  # an open file is sent from its start, whatever was read from it
        given: Any = {"path": path, "bytes": data, "lines": iter(lines), "open file": handle}[source]
        uploaded = OVHCloudAIEndpointsHook().upload_file(given)
    assert emulator.file_content(uploaded["id"]) == data
    assert uploaded["bytes"] == len(data)
    if source == "open file":
        assert uploaded["filename"] == "in.jsonl"
        with path.open() as text, pytest.raises(OVHCloudAIInvalidInputError, match="binary mode"):
            OVHCloudAIEndpointsHook().upload_file(text)


def test_batch_routes_refuse_a_keyless_connection_before_sending(emulator: Any, monkeypatch: Any) -> None:
    conn = json.loads(emulator.endpoints_connection_json())
    conn.pop("password", None)
    monkeypatch.setenv("AIRFLOW_CONN_KEYLESS", json.dumps(conn))
    hook = OVHCloudAIEndpointsHook("keyless")
    for call in (
        lambda: hook.get_batch("batch_1"),
        lambda: hook.list_batches(),
        lambda: hook.upload_file(b"{}\n"),
        lambda: hook.create_batch("file-1"),
        lambda: hook.cancel_batch("batch_1"),
        lambda: list(hook.get_file_content("file-1")),
    ):
        with pytest.raises(OVHCloudAIConfigurationError, match="an API key is required for the Batch API"):
            call()
    assert emulator.journal == []


def test_a_wrong_key_and_an_unknown_batch_are_permanent_errors_saying_what_to_check(
    emulator: Any, monkeypatch: Any
) -> None:
    conn = json.loads(emulator.endpoints_connection_json())
    conn["password"] = "not-the-key"
    monkeypatch.setenv("AIRFLOW_CONN_WRONG", json.dumps(conn))
    with pytest.raises(OVHCloudAIClientError, match="HTTP 401") as refused:
        OVHCloudAIEndpointsHook("wrong").list_batches()
    assert "API key" in str(refused.value)
    with pytest.raises(OVHCloudAIClientError, match="HTTP 404") as missing:
        OVHCloudAIEndpointsHook().get_batch("batch_nope")
    assert "Batch 'batch_nope' was not found" in str(missing.value)


@pytest.mark.parametrize(
    ("answer", "call"),
    [
        ({"id": "batch_1"}, "get"),  # no status
        ({"status": "completed"}, "get"),  # no id
        ({"id": "../x", "status": "completed"}, "get"),  # an id unfit for a URL
        ([1, 2], "list"),
        ({"data": [{"no": "id"}]}, "list"),
        ({"data": [], "has_more": "yes"}, "list"),
        ({"data": [{"id": "batch_2", "status": "completed"}], "has_more": True, "last_id": "a/../b"}, "pages"),
        ({"id": "batch_1", "status": "completed", "output_file_id": "../../files"}, "get"),  # a file id to follow
        ({"id": "batch_1", "status": "completed", "error_file_id": 42}, "get"),
        ({"id": "batch_1", "status": "completed", "request_counts": [1]}, "get"),
    ],
)
def test_garbage_answers_are_unexpected_answer_errors(emulator: Any, answer: Any, call: str) -> None:
    path = "/v1/batches/batch_1" if call == "get" else "/v1/batches"
    emulator.fail_next(status=200, body=json.dumps(answer), path=path)
    hook = OVHCloudAIEndpointsHook()
    with pytest.raises(OVHCloudAIRequestError, match="unexpected"):
        if call == "get":
            hook.get_batch("batch_1")
        elif call == "list":
            hook.list_batches()
        else:  # the next page's cursor
            list(hook.iter_batches())


def test_a_result_file_of_garbage_or_of_another_run_is_an_unexpected_answer(emulator: Any) -> None:
    hook = OVHCloudAIEndpointsHook()
    requests = [{"model": MODEL, "messages": [{"role": "user", "content": f"q{i}"}]} for i in range(3)]
    done = hook.run_batch(requests, check_interval=0, fingerprint="00000000000000aa")
    assert not isinstance(done, dict) and done.batch is not None
    batch = done.batch
    with pytest.raises(OVHCloudAIRequestError, match="not one of this batch's") as other_run:
        hook.read_batch(batch, "00000000000000bb", 3)  # the lines carry another run's fingerprint
    assert "unexpected batch result file" in str(other_run.value) and "Check that the connection" in str(
        other_run.value
    )
    emulator.fail_next(status=200, body="this is not JSON lines", path=f"/v1/files/{batch['output_file_id']}/content")
    with pytest.raises(OVHCloudAIRequestError, match=r"unexpected batch result file.*not JSON"):
        hook.read_batch(batch, "00000000000000aa", 3)
    assert hook.read_batch(batch, "00000000000000aa", 3).ordered() == done.ordered()  # the real file reads


def test_a_lost_answer_to_create_batch_is_not_resent(emulator: Any) -> None:
    hook = OVHCloudAIEndpointsHook()
    uploaded = hook.upload_file(b'{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{}}\n')
    emulator.fail_next(status=502, path="/v1/batches")
    with pytest.raises(OVHCloudAIRequestError, match="Not resent"):
        hook.create_batch(uploaded["id"])
    assert len(emulator.requests_to("/v1/batches", method="POST")) == 1


def test_a_failed_batch_raises_with_the_reason_from_run_batch(emulator: Any) -> None:
    emulator.script_next_batch("failed", message="duplicate custom_id")
    with pytest.raises(OVHCloudAIJobFailedError, match=r"ended failed.*duplicate custom_id"):
        OVHCloudAIEndpointsHook().run_batch(
            [{"model": MODEL, "messages": [{"role": "user", "content": "x"}]}], check_interval=0
        )


# ----------------------------------------------------------------------------------- parse time


def test_a_fresh_interpreter_has_task_ovh_batch_without_importing_requests_or_hooks() -> None:
    import subprocess
    import textwrap

    code = textwrap.dedent(
        """
        import sys
        from airflow.sdk import task
        import airflow_ovhcloud.triggers.ai_endpoints_batch, airflow_ovhcloud.operators.ai_endpoints_batch
        import airflow_ovhcloud.utils.batch
        print(task.ovh_batch.__module__, task.ovh_batch.__name__)
        print([m for m in sys.modules if m in ("requests", "urllib3") or m.startswith("airflow_ovhcloud.testing")
               or m.startswith("airflow_ovhcloud.hooks")])
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-2:] == ["airflow_ovhcloud.decorators.batch ovh_batch_task", "[]"]


def test_the_decorator_is_registered_and_checks_its_arguments_when_the_dag_is_parsed() -> None:
    from airflow.sdk import task

    from airflow_ovhcloud.decorators import ovh_batch_task
    from airflow_ovhcloud.exceptions import OVHCloudAIInvalidArgumentError
    from airflow_ovhcloud.operators import OVHCloudAIEndpointsBatchOperator

    assert task.ovh_batch is ovh_batch_task
    for kwargs, fragment in [
        ({"modle": "x"}, "'modle' (did you mean 'model'?)"),
        ({"model": "m", "on_error": "ignore"}, "on_error must be one of"),
        ({"model": "m", "endpoint": "/v1/images"}, "endpoint must be one of"),
        ({"model": "m", "temperature": "hot"}, "temperature must be"),
    ]:
        with pytest.raises(OVHCloudAIInvalidArgumentError, match=re.escape(fragment)):
            task.ovh_batch(**kwargs)
    with pytest.raises(OVHCloudAIInvalidArgumentError, match="check_interval"):
        OVHCloudAIEndpointsBatchOperator(task_id="t", items=["x"], model="m", check_interval=-1)
    with pytest.raises(OVHCloudAIInvalidArgumentError, match="extra_body may not set"):
        OVHCloudAIEndpointsBatchOperator(task_id="t", items=["x"], model="m", extra_body={"model": "x"})
