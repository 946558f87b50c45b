"""Contract tests: the emulator's answers, read by the clients written against the real services.

- AI Endpoints: the official ``openai`` client drives every route the emulator serves (models list
  and retrieve; chat plain, streamed, with tools, with a JSON schema, with ``n > 1``; embeddings as
  floats and as base64) and meets its errors as its own exception types (401, 404, 429).
- AI Training: the jobs, job lists, statuses, volumes and list metadata the emulator answers use only
  the field names of OVHcloud's generated client ``ovhai`` (the lists below are copied from its
  models, version 0.1a4), and every field the client requires. When ``ovhai`` is installed, its own
  client drives the emulator and its models deserialize the answers with no unknown field left over,
  and the copied lists are checked against its models. It is not a declared test dependency: it pins
  ``httpx<0.28`` and ``python-dateutil<3``, older than what Airflow's environment holds.
"""

from __future__ import annotations

import base64
import inspect
import re
import struct
from typing import TYPE_CHECKING, Any

import openai
import pydantic
import pytest
import requests

from airflow_ovhcloud.testing import OVHCloudAIEmulator

if TYPE_CHECKING:
    from collections.abc import Iterator

MODEL = "Meta-Llama-3_3-70B-Instruct"
EMBEDDING_MODEL = "bge-m3"
IMAGE = "ovhcom/ai-training-pytorch:2.1.0"
HELLO = [{"role": "user", "content": "What is Airflow?"}]

# ------------------------------------------------------------------- ovhai's field names (0.1a4)

JOB_FIELDS = {"createdAt", "id", "spec", "status", "updatedAt", "user"}
JOB_STATUS_FIELDS = {
    "dataSync", "duration", "exitCode", "externalIp", "finalizedAt", "grpcAddress", "history", "info",
    "infoUrl", "initializingAt", "ip", "lastTransitionDate", "monitoringUrl", "queuedAt", "sshUrl",
    "startedAt", "state", "stoppedAt", "timeoutAt", "url", "volumes",
}  # fmt: skip
JOB_SPEC_FIELDS = {
    "image", "command", "defaultHttpPort", "deletionRequested", "envVars", "grpcPort", "labels", "name",
    "resources", "sshPublicKeys", "timeout", "timeoutAutoRestart", "unsecureHttp", "volumes",
}  # fmt: skip
RESOURCES_FIELDS = {
    "cpu", "ephemeralStorage", "flavor", "gpu", "gpuBrand", "gpuMemory", "gpuModel", "memory",
    "privateNetwork", "publicNetwork",
}  # fmt: skip
VOLUME_FIELDS = {
    "mountPath", "permission", "cache", "dataStore", "privateSwift", "publicGit", "publicSwift", "standalone",
    "targetDataStore", "targetPrivateSwift",
}  # fmt: skip
DATA_STORE_FIELDS = {"alias", "container", "archive", "internal", "prefix"}
VOLUME_STATUS_FIELDS = {"id", "lastPulledCreatedAt", "lastPushedCreatedAt", "mountPath", "userVolumeId"}
STATE_HISTORY_FIELDS = {"date", "state"}
INFO_FIELDS = {"arguments", "code", "message"}
ENV_FIELDS = {"name", "value"}
JOB_LIST_FIELDS = {"items", "metadata"}
METADATA_FIELDS = {"currentPage", "links", "pageCount", "total"}
LINKS_FIELDS = {"next"}
LABEL_UPDATE_FIELDS = {"name", "value"}

# ovhai model module → the copied list (checked against the module when ovhai is installed).
OVHAI_MODELS = {
    "job": JOB_FIELDS,
    "job_status": JOB_STATUS_FIELDS,
    "job_spec": JOB_SPEC_FIELDS,
    "resources": RESOURCES_FIELDS,
    "volume": VOLUME_FIELDS,
    "data_store_volume_source": DATA_STORE_FIELDS,
    "volume_status": VOLUME_STATUS_FIELDS,
    "job_state_history": STATE_HISTORY_FIELDS,
    "info": INFO_FIELDS,
    "env": ENV_FIELDS,
    "job_list": JOB_LIST_FIELDS,
    "metadata": METADATA_FIELDS,
    "links": LINKS_FIELDS,
    "label_update": LABEL_UPDATE_FIELDS,
}

FULL_SPEC: dict[str, Any] = {
    "image": IMAGE,
    "name": "contract",
    "command": ["python", "train.py"],
    "envVars": [{"name": "EPOCHS", "value": "3"}],
    "labels": {"team": "ml"},
    "resources": {"cpu": 2, "memory": 4096},
    "volumes": [
        {
            "mountPath": "/workspace/data",
            "permission": "RO",
            "cache": True,
            "dataStore": {"alias": "GRA", "container": "in", "prefix": "v2/", "internal": False},
        },
        {
            "mountPath": "/workspace/out",
            "permission": "RW",
            "dataStore": {"alias": "GRA", "container": "scratch"},
            "targetDataStore": {"alias": "GRA", "container": "results", "archive": "out.tar"},
        },
    ],
    "defaultHttpPort": 8080,
    "timeout": 3600,
    "unsecureHttp": False,
}


@pytest.fixture
def client(emu: OVHCloudAIEmulator) -> openai.OpenAI:
    return openai.OpenAI(base_url=emu.endpoints_url, api_key=emu.token, max_retries=0, timeout=10)


# ======================================================================== AI Endpoints with openai


def test_models_list_and_retrieve(client: openai.OpenAI) -> None:
    ids = [model.id for model in client.models.list()]
    assert MODEL in ids and EMBEDDING_MODEL in ids
    model = client.models.retrieve(MODEL)
    assert (model.id, model.object) == (MODEL, "model")


def test_chat_plain(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model=MODEL, messages=HELLO)
    (choice,) = completion.choices
    assert choice.message.role == "assistant" and "What is Airflow?" in (choice.message.content or "")
    assert choice.finish_reason == "stop"
    assert completion.usage is not None and completion.usage.total_tokens > 0


def test_chat_stream(client: openai.OpenAI) -> None:
    full = client.chat.completions.create(model=MODEL, messages=HELLO)
    stream = client.chat.completions.create(
        model=MODEL,
        messages=HELLO,
        stream=True,
        stream_options={"include_usage": True},
    )
    text, finish, usage = "", None, None
    for chunk in stream:
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
        usage = chunk.usage or usage
    assert text == full.choices[0].message.content
    assert finish == "stop" and usage is not None


def test_chat_tools(client: openai.OpenAI) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["C", "F"]}},
                "required": ["city", "unit"],
            },
        },
    }
    completion = client.chat.completions.create(
        model=MODEL,
        messages=HELLO,
        tools=[tool],
        tool_choice="required",
    )
    (call,) = completion.choices[0].message.tool_calls or []
    assert completion.choices[0].finish_reason == "tool_calls"
    assert call.type == "function" and call.function.name == "get_weather"


def test_chat_json_schema(client: openai.OpenAI) -> None:
    class Verdict(pydantic.BaseModel):
        label: str
        confidence: float = pydantic.Field(ge=0, le=1)

    parsed = [
        client.chat.completions.parse(
            model=MODEL,
            messages=[{"role": "user", "content": f"Classify ticket {i}"}],
            response_format=Verdict,
        )
        .choices[0]
        .message.parsed
        for i in range(3)
    ]
    assert all(isinstance(p, Verdict) for p in parsed)
    assert len({p.label for p in parsed if p is not None}) == 3  # each prompt its own answer


def test_chat_n_choices(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model=MODEL, messages=HELLO, n=3)
    assert [c.index for c in completion.choices] == [0, 1, 2]
    assert len({c.message.content for c in completion.choices}) == 3


def test_embeddings_float_and_base64(client: openai.OpenAI, emu: OVHCloudAIEmulator) -> None:
    floats = client.embeddings.create(model=EMBEDDING_MODEL, input=["a", "b"], encoding_format="float")
    default = client.embeddings.create(model=EMBEDDING_MODEL, input=["a", "b"])  # openai asks for base64
    raw = client.embeddings.create(model=EMBEDDING_MODEL, input=["a", "b"], encoding_format="base64")
    sent = [r.body.get("encoding_format") for r in emu.requests_to("/embeddings")]
    assert sent == ["float", "base64", "base64"]
    for plain, decoded, encoded in zip(floats.data, default.data, raw.data, strict=True):
        assert len(plain.embedding) == len(decoded.embedding) == 1024
        assert max(abs(x - y) for x, y in zip(plain.embedding, decoded.embedding, strict=True)) < 1e-6
        packed = base64.b64decode(encoded.embedding)
        assert list(struct.unpack(f"<{len(packed) // 4}f", packed)) == decoded.embedding


def test_errors_are_openai_exception_types(client: openai.OpenAI, emu: OVHCloudAIEmulator) -> None:
    wrong = openai.OpenAI(base_url=emu.endpoints_url, api_key="wrong-key", max_retries=0, timeout=10)
    with pytest.raises(openai.AuthenticationError):
        wrong.chat.completions.create(model=MODEL, messages=HELLO)
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="no-such-model", messages=HELLO)
    emu.requests_per_minute = 1
    client.chat.completions.create(model=MODEL, messages=HELLO)
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model=MODEL, messages=HELLO)
    assert int(info.value.response.headers["retry-after"]) >= 1
    assert info.value.code == "rate_limit_exceeded"
    with pytest.raises(openai.RateLimitError):
        client.embeddings.create(model=EMBEDDING_MODEL, input="a")
        client.embeddings.create(model=EMBEDDING_MODEL, input="a")
    assert [r.fault for r in emu.journal].count("rate_limited") == 2


def test_anonymous_calls_over_the_limit_are_rate_limit_errors(emu: OVHCloudAIEmulator) -> None:
    """The openai client always sends a key; an anonymous caller (plain HTTP) gets the same 429."""
    url = f"{emu.endpoints_url}/embeddings"
    answers = [requests.post(url, json={"model": EMBEDDING_MODEL, "input": "a"}, timeout=5) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[-1].headers["Retry-After"].isdigit()
    assert answers[-1].json()["error"]["type"] == "rate_limit_error"


# ======================================================================== AI Training field names


def _fields(
    document: Any, allowed: set[str], where: str, required: set[str] | frozenset[str] = frozenset()
) -> dict[str, Any]:
    assert isinstance(document, dict), where
    unknown = set(document) - allowed
    assert not unknown, f"{where}: fields ovhai does not know: {sorted(unknown)}"
    missing = set(required) - set(document)
    assert not missing, f"{where}: fields ovhai requires: {sorted(missing)}"
    return document


def _check_job(job: Any, where: str = "job") -> None:
    _fields(job, JOB_FIELDS, where, JOB_FIELDS)
    spec = _fields(job["spec"], JOB_SPEC_FIELDS, f"{where}.spec", {"image"})
    for index, env in enumerate(spec.get("envVars") or []):
        _fields(env, ENV_FIELDS, f"{where}.spec.envVars[{index}]", ENV_FIELDS)
    if spec.get("resources") is not None:
        _fields(spec["resources"], RESOURCES_FIELDS, f"{where}.spec.resources")
    for index, volume in enumerate(spec.get("volumes") or []):
        at = f"{where}.spec.volumes[{index}]"
        _fields(volume, VOLUME_FIELDS, at, {"mountPath", "permission"})
        for key in ("dataStore", "targetDataStore"):
            if volume.get(key) is not None:
                _fields(volume[key], DATA_STORE_FIELDS, f"{at}.{key}", {"alias", "container"})
    status = _fields(job["status"], JOB_STATUS_FIELDS, f"{where}.status", {"state", "history", "volumes"})
    for index, entry in enumerate(status["history"]):
        _fields(entry, STATE_HISTORY_FIELDS, f"{where}.status.history[{index}]", STATE_HISTORY_FIELDS)
    _fields(status["info"], INFO_FIELDS, f"{where}.status.info")
    assert len(status["volumes"]) == len(spec.get("volumes") or [])  # one entry per volume
    for index, volume in enumerate(status["volumes"]):
        _fields(volume, VOLUME_STATUS_FIELDS, f"{where}.status.volumes[{index}]", VOLUME_STATUS_FIELDS)


def test_training_answers_use_ovhai_field_names(http: requests.Session, emu: OVHCloudAIEmulator) -> None:
    base = f"{emu.training_url}/v1/job"
    submitted = http.post(base, json=FULL_SPEC, timeout=5).json()
    _check_job(submitted, "submitted")
    job_id = submitted["id"]
    for _ in range(3):
        _check_job(http.get(f"{base}/{job_id}", timeout=5).json(), "polled")
    http.post(base, json={"image": IMAGE}, timeout=5)
    page = http.get(base, params={"size": 1, "sort": "status.state", "updatedAfter": 0}, timeout=5).json()
    _fields(page, JOB_LIST_FIELDS, "list", JOB_LIST_FIELDS)
    metadata = _fields(page["metadata"], METADATA_FIELDS, "list.metadata", METADATA_FIELDS)
    _fields(metadata["links"], LINKS_FIELDS, "list.metadata.links")
    assert (metadata["currentPage"], metadata["pageCount"], metadata["total"]) == (1, 2, 2)
    assert all(isinstance(metadata[k], int) for k in ("currentPage", "pageCount", "total"))
    for item in page["items"]:
        _check_job(item, "list.items[]")
    label = _fields({"name": "team"}, LABEL_UPDATE_FIELDS, "label")  # a label update without value deletes
    assert http.put(f"{base}/{job_id}/label", json=label, timeout=5).status_code == 204
    assert "team" not in emu.job(job_id)["spec"]["labels"]


# ======================================================================== AI Training with ovhai


def _unknown_fields(value: Any, where: str = "") -> Iterator[str]:
    """Fields an ovhai model kept as ``additional_properties``: names it does not know."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unknown_fields(item, f"{where}[{index}]")
        return
    if not hasattr(value, "additional_properties") or not hasattr(type(value), "__attrs_attrs__"):
        return
    if not type(value).__name__.endswith("LabelsType0"):  # labels are free-form: all "additional"
        yield from (f"{where}.{key}" for key in value.additional_properties)
    for attribute in type(value).__attrs_attrs__:
        if attribute.name != "additional_properties":
            yield from _unknown_fields(getattr(value, attribute.name), f"{where}.{attribute.name}")


def test_copied_field_lists_match_ovhai() -> None:
    pytest.importorskip("ovhai.models")
    import importlib

    for module_name, copied in OVHAI_MODELS.items():
        source = inspect.getsource(importlib.import_module(f"ovhai.models.{module_name}"))
        assert set(re.findall(r'd\.pop\("([^"]+)"', source)) == copied, module_name


def test_ovhai_client_drives_the_emulator(emu: OVHCloudAIEmulator) -> None:
    pytest.importorskip("ovhai.models")
    from ovhai import AuthenticatedClient
    from ovhai.api.job import job_edit_label, job_get, job_get_all, job_kill, job_log, job_new
    from ovhai.models.job_spec import JobSpec
    from ovhai.models.label_update import LabelUpdate
    from ovhai.models.order import Order

    client = AuthenticatedClient(base_url=emu.training_url, token=emu.token, raise_on_unexpected_status=True)
    created = job_new.sync_detailed(client=client, body=JobSpec.from_dict(FULL_SPEC))
    assert created.status_code == 200 and created.parsed is not None
    job = created.parsed
    assert not list(_unknown_fields(job, "job"))
    assert job.spec.volumes[1].target_data_store.archive == "out.tar"
    unnamed = job_new.sync(client=client, body=JobSpec(image=IMAGE))
    assert unnamed is not None and unnamed.spec.name

    for _ in range(3):  # QUEUED → INITIALIZING → PENDING → RUNNING
        polled = job_get.sync(client=client, id=job.id)
        assert polled is not None and not list(_unknown_fields(polled, "polled"))
    assert polled.status.state == "RUNNING"
    assert [v.mount_path for v in polled.status.volumes] == ["/workspace/data", "/workspace/out"]

    listed = job_get_all.sync(
        client=client,
        page=1,
        size=1,
        order=Order.ASC,
        sort="status.state",
        updated_after=0,
        status_state=["QUEUED", "RUNNING"],
        label_selector="team=ml",
    )
    assert listed is not None and not list(_unknown_fields(listed, "list"))
    assert [j.id for j in listed.items] == [job.id]
    assert (listed.metadata.current_page, listed.metadata.page_count, listed.metadata.total) == (1, 1, 1)

    labelled = job_edit_label.sync_detailed(job.id, client=client, body=LabelUpdate(name="team"))
    assert labelled.status_code == 204
    assert emu.job(job.id)["spec"]["labels"] == {}
    assert job_kill.sync_detailed(job.id, client=client).status_code == 204
    log = job_log.sync_detailed(job.id, client=client)
    assert log.status_code == 200 and b"entered RUNNING" in log.content
