"""The emulator's Files and Batch API, driven by the official ``openai`` client (a contract test).

Uploads, batch creation and its refusals, validation failures with their line numbers, progress by
polls and by time, results equal to synchronous answers in a shuffled order, scripted item
failures, expired and cancelled batches, embeddings batches, listing with pagination, anonymous
refusal, large uploads and the journal, and the scripting verbs in process and over the control API.
"""

from __future__ import annotations

import io
import json
from typing import Any

import openai
import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from urllib3.filepost import encode_multipart_formdata

from airflow_ovhcloud.testing import EmulatorClient, OVHCloudAIEmulator
from airflow_ovhcloud.testing.emulator.endpoints.batch_responses import FormFile, parse_multipart

MODEL = "Meta-Llama-3_3-70B-Instruct"
CHAT_URL = "/v1/chat/completions"
EMBEDDINGS_URL = "/v1/embeddings"


@pytest.fixture
def client(emu: OVHCloudAIEmulator) -> openai.OpenAI:
    return openai.OpenAI(base_url=emu.endpoints_url, api_key=emu.token, max_retries=0, timeout=10)


def chat_line(custom_id: str, text: str, **extra: Any) -> dict[str, Any]:
    body = {"model": MODEL, "messages": [{"role": "user", "content": text}], **extra}
    return {"custom_id": custom_id, "method": "POST", "url": CHAT_URL, "body": body}


def jsonl(lines: list[Any]) -> bytes:
    return b"".join((line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n" for line in lines)


def upload(client: openai.OpenAI, lines: list[Any], name: str = "requests.jsonl") -> str:
    return client.files.create(file=(name, io.BytesIO(jsonl(lines))), purpose="batch").id


def start(client: openai.OpenAI, lines: list[Any], endpoint: str = CHAT_URL, **options: Any) -> Any:
    return client.batches.create(
        input_file_id=upload(client, lines), endpoint=endpoint, completion_window="24h", **options
    )


def poll_to_end(client: openai.OpenAI, batch_id: str) -> tuple[Any, list[tuple[str, int, int]]]:
    """Poll until the batch ends; also the (status, completed, failed) seen at each poll."""
    seen = []
    for _ in range(20):
        batch = client.batches.retrieve(batch_id)
        counts = batch.request_counts
        seen.append((batch.status, counts.completed if counts else 0, counts.failed if counts else 0))
        if batch.status in ("completed", "failed", "expired", "cancelled"):
            return batch, seen
    raise AssertionError(f"batch {batch_id} never ended: {seen}")


def read_lines(client: openai.OpenAI, file_id: str | None) -> list[dict[str, Any]]:
    if file_id is None:
        return []
    return [json.loads(line) for line in client.files.content(file_id).text.splitlines()]


# ---------------------------------------------------------------------------------- the happy path


def test_a_chat_batch_answers_like_synchronous_calls_in_a_shuffled_order(
    emu: OVHCloudAIEmulator, client: openai.OpenAI
) -> None:
    schema = {"type": "object", "properties": {"label": {"type": "string", "enum": ["pos", "neg"]}}}
    structured = {"type": "json_schema", "json_schema": {"name": "Label", "schema": schema, "strict": True}}
    lines = [chat_line(f"item-{i}", f"Review number {i}") for i in range(6)]
    lines.append(chat_line("item-6", "Label this", response_format=structured))
    created = start(client, lines, metadata={"fingerprint": "run-1"})
    assert created.status == "validating" and created.metadata == {"fingerprint": "run-1"}
    assert created.output_file_id is None and created.expires_at == created.created_at + 24 * 3600

    batch, seen = poll_to_end(client, created.id)
    # One step per poll; the counts grow while in progress.
    assert seen == [("in_progress", 4, 0), ("finalizing", 7, 0), ("completed", 7, 0)]
    assert batch.request_counts.total == 7 and batch.error_file_id is None
    assert batch.in_progress_at and batch.finalizing_at and batch.completed_at

    output = read_lines(client, batch.output_file_id)
    assert [line["custom_id"] for line in output] != [line["custom_id"] for line in lines]  # shuffled
    by_id = {line["custom_id"]: line for line in output}
    assert set(by_id) == {line["custom_id"] for line in lines}
    for request in lines:
        line = by_id[request["custom_id"]]
        assert line["id"].startswith("batch_req_") and line["error"] is None
        assert line["response"]["status_code"] == 200 and line["response"]["request_id"].startswith("req_")
        synchronous = client.chat.completions.create(**request["body"])
        body = line["response"]["body"]
        assert body["choices"][0]["message"]["content"] == synchronous.choices[0].message.content
        assert body["usage"] == synchronous.usage.model_dump(exclude_none=True)
    assert json.loads(by_id["item-6"]["response"]["body"]["choices"][0]["message"]["content"])["label"] in (
        "pos",
        "neg",
    )

    # The same file again gives the same order: a failing test can be replayed.
    emu.reset()
    again, _ = poll_to_end(client, start(client, lines).id)
    assert [line["custom_id"] for line in read_lines(client, again.output_file_id)] == [
        line["custom_id"] for line in output
    ]


def test_an_embeddings_batch_gives_the_synchronous_vectors(client: openai.OpenAI) -> None:
    lines = [
        {"custom_id": f"e{i}", "method": "POST", "url": EMBEDDINGS_URL, "body": {"model": "bge-m3", "input": text}}
        for i, text in enumerate(["first text", "second text", "third text"])
    ]
    batch, _ = poll_to_end(client, start(client, lines, endpoint=EMBEDDINGS_URL).id)
    assert batch.status == "completed" and batch.endpoint == EMBEDDINGS_URL
    by_id = {line["custom_id"]: line["response"]["body"] for line in read_lines(client, batch.output_file_id)}
    for request in lines:
        synchronous = client.embeddings.create(**request["body"], encoding_format="float")
        assert by_id[request["custom_id"]]["data"][0]["embedding"] == synchronous.data[0].embedding
        assert by_id[request["custom_id"]]["usage"]["total_tokens"] == 2


# ---------------------------------------------------------------------------------- files


def test_files_are_stored_listed_read_and_deleted(emu: OVHCloudAIEmulator, client: openai.OpenAI) -> None:
    raw = b'{"a": 1}\r\n{"b": "\xc3\xa9"}\n'  # bytes come back exactly, CRLF and UTF-8 included
    uploaded = client.files.create(file=("mine.jsonl", io.BytesIO(raw)), purpose="batch")
    assert uploaded.id.startswith("file-") and uploaded.object == "file" and uploaded.purpose == "batch"
    assert uploaded.bytes == len(raw) and uploaded.filename == "mine.jsonl"
    assert client.files.retrieve(uploaded.id).filename == "mine.jsonl"
    assert client.files.content(uploaded.id).content == raw == emu.file_content(uploaded.id)
    second = upload(client, [{"x": 1}], "second.jsonl")
    assert [f.id for f in client.files.list()] == [second, uploaded.id]  # newest first
    assert [f.id for f in client.files.list(purpose="batch", order="asc")] == [uploaded.id, second]
    assert emu.uploaded_files == 2 and list(emu.files()) == [uploaded.id, second]

    deleted = client.files.delete(uploaded.id)
    assert deleted.deleted is True and deleted.id == uploaded.id
    with pytest.raises(openai.NotFoundError, match="No such file"):
        client.files.retrieve(uploaded.id)
    with pytest.raises(KeyError):
        emu.file_content(uploaded.id)


def test_an_upload_journals_its_size_not_its_bytes_and_may_exceed_2_mb(
    emu: OVHCloudAIEmulator, client: openai.OpenAI
) -> None:
    lines = [chat_line(f"big-{i}", "x" * 200) for i in range(12_000)]  # about 3.5 MB
    data = jsonl(lines)
    assert len(data) > 2 * 1024 * 1024
    file_id = upload(client, lines)
    (record,) = emu.requests_to("/v1/files", "POST")
    assert record.body == {
        "purpose": "batch",
        "file": {"filename": "requests.jsonl", "content_type": "application/octet-stream", "bytes": len(data)},
    }
    assert emu.files()[file_id]["bytes"] == len(data)

    emu.file_size_limit = 1000
    with pytest.raises(openai.APIStatusError, match="File too large") as refused:
        upload(client, lines[:100])
    assert refused.value.status_code == 413
    emu.file_size_limit = 0  # the body itself is now above the route's limit: refused before it is parsed
    with pytest.raises(openai.APIStatusError, match="Request body too large") as refused:
        upload(client, lines[:1000])
    assert refused.value.status_code == 413 and emu.requests_to("/v1/files")[-1].body is None
    assert emu.uploaded_files == 1
    # Other routes keep the service's 2 MB limit.
    huge = {"model": MODEL, "messages": [{"role": "user", "content": "x" * (3 * 1024 * 1024)}]}
    with pytest.raises(openai.APIStatusError) as too_big:
        client.chat.completions.create(**huge)
    assert too_big.value.status_code == 413


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"data": {"purpose": "batch"}, "files": None}, "multipart/form-data"),
        ({"data": {"purpose": "batch"}, "files": {"other": ("x.jsonl", b"{}")}}, "'file' part"),
        ({"data": {}, "files": {"file": ("x.jsonl", b"{}")}}, "'purpose'"),
        ({"data": {"purpose": "fine-tune"}, "files": {"file": ("x.jsonl", b"{}")}}, "'purpose' must be"),
        ({"json": {"purpose": "batch"}}, "multipart/form-data"),
    ],
)
def test_a_bad_upload_is_refused_with_the_reason(
    emu: OVHCloudAIEmulator, kwargs: dict[str, Any], fragment: str
) -> None:
    response = requests.post(
        emu.endpoints_url + "/files", headers={"Authorization": f"Bearer {emu.token}"}, timeout=10, **kwargs
    )
    assert response.status_code == 400
    assert fragment in response.json()["error"]["message"]
    assert emu.uploaded_files == 0


# ---------------------------------------------------------------------------------- auth


def test_files_and_batches_refuse_anonymous_calls_and_wrong_keys(
    emu: OVHCloudAIEmulator, client: openai.OpenAI
) -> None:
    batch_id = start(client, [chat_line("a", "hi")]).id
    for key in ("", "wrong-key"):
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        for method, path in (
            ("GET", "/files"),
            ("POST", "/files"),
            ("POST", "/batches"),
            ("GET", "/batches"),
            ("GET", f"/batches/{batch_id}"),
            ("POST", f"/batches/{batch_id}/cancel"),
        ):
            response = requests.request(method, emu.endpoints_url + path, headers=headers, timeout=10)
            assert response.status_code == 401, (key, method, path)
            error = response.json()["error"]
            assert error["type"] == "authentication_error"
            if not key:
                assert "refuse anonymous calls" in error["message"]
    wrong = openai.OpenAI(base_url=emu.endpoints_url, api_key="wrong-key", max_retries=0, timeout=10)
    with pytest.raises(openai.AuthenticationError, match="Invalid or missing API key"):
        wrong.batches.list()
    # Chat still answers without a key, as on the real service.
    chat = requests.post(emu.endpoints_url + "/chat/completions", json=chat_line("a", "hi")["body"], timeout=10)
    assert chat.status_code == 200
    assert emu.batch(batch_id)["status"] == "validating"  # refused polls did not advance it


# ---------------------------------------------------------------------------------- create and validation


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"input_file_id": "file-unknown"}, "no file"),
        ({"endpoint": "/v1/completions"}, "'endpoint' must be one of"),
        ({"completion_window": "48h"}, "'completion_window' must be 24h"),
        ({"metadata": {"n": 1}}, "string keys and string values"),
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "at most 16"),
        ({"metadata": {"k": "v" * 513}}, "longer than 512"),
        ({"metadata": {"k" * 65: "v"}}, "longer than 64"),
        ({"model": MODEL}, "Unknown parameter"),
    ],
)
def test_create_refuses_bad_requests(
    emu: OVHCloudAIEmulator, client: openai.OpenAI, change: dict[str, Any], fragment: str
) -> None:
    body = {"input_file_id": upload(client, [chat_line("a", "hi")]), "endpoint": CHAT_URL, "completion_window": "24h"}
    body.update(change)
    with pytest.raises(openai.BadRequestError, match=fragment):
        client.post("/batches", body=body, cast_to=openai.types.Batch)
    assert emu.created_batches == 0 and emu.batches() == {}


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([chat_line("a", "hi"), b"{not json", chat_line("c", "hi")], [("invalid_json_line", 2)]),
        ([chat_line("a", "hi"), b"[1, 2]"], [("invalid_json_line", 2)]),
        (
            [chat_line("a", "hi"), chat_line("b", "hi"), chat_line("a", "again")],
            [("duplicate_custom_id", 3)],
        ),
        (
            [chat_line("a", "hi"), {**chat_line("b", "hi"), "url": EMBEDDINGS_URL}],
            [("mismatched_url", 2)],
        ),
        ([{**chat_line("a", "hi"), "method": "GET"}], [("invalid_method", 1)]),
        ([{**chat_line("a", "hi"), "body": "text"}], [("invalid_body", 1)]),
        ([{k: v for k, v in chat_line("a", "hi").items() if k != "custom_id"}], [("missing_custom_id", 1)]),
        ([], [("empty_file", None)]),
        (
            [b"oops", chat_line("a", "hi"), {**chat_line("a", "hi"), "url": "/v1/embeddings"}],
            [("invalid_json_line", 1), ("duplicate_custom_id", 3), ("mismatched_url", 3)],
        ),
    ],
)
def test_an_invalid_input_file_fails_the_batch_naming_each_line(
    client: openai.OpenAI, lines: list[Any], expected: list[tuple[str, int | None]]
) -> None:
    created = start(client, lines)
    batch, seen = poll_to_end(client, created.id)
    assert seen == [("failed", 0, 0)]
    assert batch.failed_at is not None and batch.output_file_id is None and batch.error_file_id is None
    assert batch.errors is not None
    assert [(error.code, error.line) for error in batch.errors.data] == expected
    assert all(error.message for error in batch.errors.data)


def test_a_scripted_validation_failure(emu: OVHCloudAIEmulator, client: openai.OpenAI) -> None:
    emu.script_next_batch("failed", message="Model quota exhausted for batches")
    batch, _ = poll_to_end(client, start(client, [chat_line("a", "hi")]).id)
    assert batch.status == "failed"
    assert [e.message for e in batch.errors.data] == ["Model quota exhausted for batches"]
    # One script per batch: the next one completes.
    assert poll_to_end(client, start(client, [chat_line("a", "hi")]).id)[0].status == "completed"


# ---------------------------------------------------------------------------------- item failures


def test_failed_items_go_to_the_error_file_and_the_batch_completes(
    emu: OVHCloudAIEmulator, client: openai.OpenAI
) -> None:
    emu.fail_batch_items("poison", status_code=503, message="model overloaded")
    lines = [
        chat_line("ok-1", "fine"),
        chat_line("bad-model", "fine", model="no-such-model"),
        chat_line("scripted", "a poison pill"),
        chat_line("ok-2", "fine too"),
        chat_line("streamed", "fine", stream=True),
    ]
    batch, _ = poll_to_end(client, start(client, lines).id)
    assert batch.status == "completed"
    assert (batch.request_counts.completed, batch.request_counts.failed, batch.request_counts.total) == (2, 3, 5)
    assert {line["custom_id"] for line in read_lines(client, batch.output_file_id)} == {"ok-1", "ok-2"}
    errors = {line["custom_id"]: line for line in read_lines(client, batch.error_file_id)}
    assert set(errors) == {"bad-model", "scripted", "streamed"}
    assert all(line["error"] is None and line["id"].startswith("batch_req_") for line in errors.values())
    assert errors["bad-model"]["response"]["status_code"] == 404
    assert errors["bad-model"]["response"]["body"]["error"]["code"] == "model_not_found"
    assert errors["scripted"]["response"]["status_code"] == 503
    assert errors["scripted"]["response"]["body"]["error"]["message"] == "model overloaded"
    assert errors["streamed"]["response"]["status_code"] == 400


def test_item_failure_rules_are_checked(emu: OVHCloudAIEmulator) -> None:
    with pytest.raises(ValueError, match="status_code"):
        emu.fail_batch_items("x", status_code=200)
    with pytest.raises(ValueError, match="contains"):
        emu.fail_batch_items("")
    with pytest.raises(ValueError, match="final_status"):
        emu.script_next_batch("done")
    with pytest.raises(ValueError, match="expired batch only"):
        emu.script_next_batch("failed", completed_before=2)
    with pytest.raises(ValueError, match="stick_in"):
        emu.script_next_batch(stick_in="completed")


# ---------------------------------------------------------------------------------- expired, cancelled


def test_an_expired_batch_keeps_its_partial_results(emu: OVHCloudAIEmulator, client: openai.OpenAI) -> None:
    emu.script_next_batch("expired", completed_before=3)
    lines = [chat_line(f"r{i}", f"prompt {i}") for i in range(5)]
    batch, seen = poll_to_end(client, start(client, lines).id)
    assert seen == [("in_progress", 3, 0), ("expired", 3, 2)]
    assert batch.expired_at is not None and batch.completed_at is None
    assert sorted(line["custom_id"] for line in read_lines(client, batch.output_file_id)) == ["r0", "r1", "r2"]
    expired = read_lines(client, batch.error_file_id)
    assert sorted(line["custom_id"] for line in expired) == ["r3", "r4"]
    assert all(line["response"] is None and line["error"]["code"] == "batch_expired" for line in expired)

    emu.script_next_batch("expired")  # by default half the requests ran
    half, _ = poll_to_end(client, start(client, lines).id)
    assert (half.status, half.request_counts.completed, half.request_counts.failed) == ("expired", 2, 3)


def test_a_cancelled_batch_keeps_what_ran(emu: OVHCloudAIEmulator, client: openai.OpenAI) -> None:
    lines = [chat_line(f"r{i}", f"prompt {i}") for i in range(4)]
    batch_id = start(client, lines).id
    assert client.batches.retrieve(batch_id).request_counts.completed == 2  # in progress, half done
    cancelling = client.batches.cancel(batch_id)
    assert cancelling.status == "cancelling" and cancelling.cancelling_at is not None
    assert client.batches.cancel(batch_id).status == "cancelling"  # a second cancel is harmless
    batch = client.batches.retrieve(batch_id)
    assert batch.status == "cancelled" and batch.cancelled_at is not None
    assert (batch.request_counts.completed, batch.request_counts.failed) == (2, 2)
    assert sorted(line["custom_id"] for line in read_lines(client, batch.output_file_id)) == ["r0", "r1"]
    assert {line["error"]["code"] for line in read_lines(client, batch.error_file_id)} == {"batch_cancelled"}
    with pytest.raises(openai.ConflictError, match="its status is 'cancelled'"):
        client.batches.cancel(batch_id)
    with pytest.raises(openai.NotFoundError, match="No such batch"):
        client.batches.cancel("batch_unknown")

    # A validating batch cancels before anything ran.
    early = start(client, lines).id
    assert client.batches.cancel(early).status == "cancelling"
    ended = client.batches.retrieve(early)
    assert ended.status == "cancelled" and ended.output_file_id is None and ended.request_counts.total == 0


# ---------------------------------------------------------------------------------- listing


def test_batches_are_listed_newest_first_with_pagination(emu: OVHCloudAIEmulator, client: openai.OpenAI) -> None:
    ids = [start(client, [chat_line("a", f"hi {i}")], metadata={"n": str(i)}).id for i in range(3)]
    first = client.batches.list(limit=2)
    assert [b.id for b in first.data] == [ids[2], ids[1]] and first.has_more is True
    assert (first.first_id, first.last_id) == (ids[2], ids[1])
    raw = requests.get(
        emu.endpoints_url + "/batches",
        params={"limit": 2, "after": ids[1]},
        headers={"Authorization": f"Bearer {emu.token}"},
        timeout=10,
    ).json()
    assert [b["id"] for b in raw["data"]] == [ids[0]] and raw["has_more"] is False
    assert raw["object"] == "list" and raw["first_id"] == raw["last_id"] == ids[0]
    assert [b.id for b in client.batches.list(limit=1)] == ids[::-1]  # the client pages through with after=
    assert [b.metadata["n"] for b in client.batches.list()] == ["2", "1", "0"]
    # Listing never advances a batch.
    assert {b["status"] for b in emu.batches().values()} == {"validating"}
    with pytest.raises(openai.BadRequestError, match="'limit'"):
        client.batches.list(limit=0)
    with pytest.raises(openai.BadRequestError, match="no batch"):
        client.batches.list(after="batch_unknown")


# ---------------------------------------------------------------------------------- progress and scripting


def test_progress_by_time(emu: OVHCloudAIEmulator, client: openai.OpenAI) -> None:
    emu.batch_progress = "time"
    emu.batch_step_seconds = 3600
    held = start(client, [chat_line("a", "hi")]).id
    assert client.batches.retrieve(held).status == "validating"  # polls do not move it in time mode
    emu.batch_step_seconds = 0
    assert client.batches.retrieve(held).status == "completed"  # every due step at once
    assert emu.batch(start(client, [chat_line("a", "hi")]).id)["status"] == "completed"


def test_stick_advance_finish_and_reading_without_advancing(emu: OVHCloudAIEmulator, client: openai.OpenAI) -> None:
    emu.script_next_batch(stick_in="in_progress")
    batch_id = start(client, [chat_line(f"r{i}", "hi") for i in range(4)]).id
    for _ in range(3):
        assert client.batches.retrieve(batch_id).status == "in_progress"
    assert emu.batch(batch_id)["request_counts"] == {"total": 4, "completed": 2, "failed": 0}
    emu.advance_batch(batch_id)
    assert emu.batch(batch_id)["status"] == "finalizing"
    emu.finish_batch(batch_id)
    assert emu.batch(batch_id)["status"] == "completed" and emu.batches()[batch_id]["output_file_id"]
    with pytest.raises(ValueError, match="already ended"):
        emu.finish_batch(batch_id)
    with pytest.raises(KeyError):
        emu.batch("batch_unknown")
    with pytest.raises(ValueError, match="steps"):
        emu.advance_batch(batch_id, 0)
    assert emu.created_batches == 1

    emu.reset()
    assert emu.batches() == {} and emu.files() == {} and emu.created_batches == emu.uploaded_files == 0
    assert emu.batch_progress == "polls" and emu.batch_step_seconds == 0.05


def test_the_control_api_scripts_and_reads_batches(emu: OVHCloudAIEmulator, client: openai.OpenAI) -> None:
    control = EmulatorClient(emu.url)
    control.fail_batch_items("poison", status_code=500)
    control.script_next_batch("completed", stick_in="validating")
    batch_id = start(client, [chat_line("a", "fine"), chat_line("b", "poison")]).id
    assert client.batches.retrieve(batch_id).status == "validating"
    assert control.advance_batch(batch_id)["status"] == "in_progress"
    done = control.finish_batch(batch_id)
    assert done["status"] == "completed" and done["request_counts"] == {"total": 2, "completed": 1, "failed": 1}
    assert control.batch(batch_id) == emu.batch(batch_id) and list(control.batches()) == [batch_id]
    assert control.created_batches == 1 and control.uploaded_files == 1
    assert control.files() == emu.files()
    assert control.file_content(done["error_file_id"]) == emu.file_content(done["error_file_id"])
    with pytest.raises(KeyError):
        control.file_content("file-unknown")
    assert control.set_knobs(batch_progress="time")["batch_progress"] == "time"
    assert emu.batch_progress == "time"


# ---------------------------------------------------------------------------------- multipart parsing


@settings(max_examples=200, deadline=None)
@given(
    content=st.binary(max_size=2000),
    purpose=st.text(max_size=30),
    filename=st.text(
        alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF, exclude_characters='"\\'), min_size=1
    ),
)
def test_parse_multipart_gives_back_what_an_independent_encoder_sent(
    content: bytes, purpose: str, filename: str
) -> None:
    body, content_type = encode_multipart_formdata(
        {"purpose": purpose, "file": (filename, content, "application/jsonl")}
    )
    form = parse_multipart(body, content_type)
    assert form["purpose"] == purpose
    upload = form["file"]
    assert isinstance(upload, FormFile)
    assert (upload.data, upload.filename, upload.content_type) == (content, filename, "application/jsonl")


@pytest.mark.parametrize(
    ("body", "content_type", "fragment"),
    [
        (b"--b\r\ncontent-disposition: form-data; name=a\r\n\r\nx", "multipart/form-data; boundary=b", "closing"),
        (b"nothing", "multipart/form-data; boundary=b", "does not contain"),
        (b"--b\r\n", "multipart/form-data", "no boundary"),
        (b"--b\r\nX: y\r\n\r\nx\r\n--b--", "multipart/form-data; boundary=b", "no name"),
        (b"{}", "application/json", "must be multipart/form-data"),
    ],
)
def test_parse_multipart_says_what_is_wrong(body: bytes, content_type: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_multipart(body, content_type)


def test_a_chunked_upload_is_accepted(emu: OVHCloudAIEmulator) -> None:
    data = jsonl([chat_line(f"c{i}", "x" * 200) for i in range(10_000)])  # about 3 MB, sent in 64 kB chunks
    body, content_type = encode_multipart_formdata({"purpose": "batch", "file": ("streamed.jsonl", data)})
    chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
    headers = {"Authorization": f"Bearer {emu.token}", "Content-Type": content_type}
    response = requests.post(emu.endpoints_url + "/files", data=chunks, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    assert emu.requests_to("/v1/files")[-1].headers.get("Transfer-Encoding") == "chunked"
    assert emu.file_content(response.json()["id"]) == data
