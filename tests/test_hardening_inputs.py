"""Bad inputs fail at once, before any request, as ``OVHCloudAIInvalidInputError`` naming the argument.

Never a raw ``TypeError``/``ValueError``/``KeyError``/``AttributeError``/``OverflowError``, and
never after a request: calls that would reach the service go to the emulator, whose journal must
stay empty. Operator arguments that are not templates are checked when the operator is built
(``OVHCloudAIInvalidArgumentError``, also a ``TypeError``); the validators themselves are
property-tested against arbitrary junk.
"""

from __future__ import annotations

import math
from contextlib import closing
from datetime import date, datetime, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_ovhcloud.exceptions import OVHCloudAIInvalidArgumentError, OVHCloudAIInvalidInputError
from airflow_ovhcloud.hooks.ai_endpoints import OVHCloudAIEndpointsHook
from airflow_ovhcloud.hooks.ai_training import OVHCloudAITrainingHook
from airflow_ovhcloud.operators.ai_endpoints import (
    OVHCloudAIEndpointsChatCompletionsOperator,
    OVHCloudAIEndpointsEmbeddingOperator,
)
from airflow_ovhcloud.operators.ai_training import (
    OVHCloudAITrainingGetLogsOperator,
    OVHCloudAITrainingSubmitJobOperator,
    OVHCloudAITrainingWaitForJobOperator,
)
from airflow_ovhcloud.utils.chat import check_chat_options, check_chat_parameters
from airflow_ovhcloud.utils.job_spec import JobSpec
from airflow_ovhcloud.utils.jobs import JobWatch, check_since, check_states
from airflow_ovhcloud.utils.validation import (
    check_bool,
    check_dict_list,
    check_int,
    check_mapping,
    check_number,
    check_str,
    check_str_list,
    shown,
)
from tests.helpers import StubTaskInstance

MODEL = "Meta-Llama-3_3-70B-Instruct"
HELLO = [{"role": "user", "content": "Say hello"}]
JOB_ID = "0d6f2b1e-5f7c-4e5a-9d8b-1c2d3e4f5a6b"
NAN, INF = float("nan"), float("inf")


def _permanent(exc: BaseException, fragment: str) -> None:
    assert isinstance(exc, OVHCloudAIInvalidInputError), type(exc)
    assert isinstance(exc, AirflowFailException)  # Airflow fails the task without burning retries
    assert fragment in str(exc), str(exc)


# ------------------------------------------------------------------------------------ chat

CHAT_CASES = {
    "bytes content part": ({"messages": [{"role": "user", "content": [b"\x89PNG"]}]}, "messages[0].content[0]"),
    "string content part": ({"messages": [{"role": "user", "content": ["hi"]}]}, "messages[0].content[0]"),
    "part without type": ({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}, "with a 'type'"),
    "part with a number type": ({"messages": [{"role": "user", "content": [{"type": 3}]}]}, "messages[0].content[0]"),
    "stop a set": ({"stop": {"\n"}}, "stop must be a list of strings or a string, got {'\\n'} (set)"),
    "stop a number": ({"stop": 3}, "stop must be a list of strings or a string"),
    "stop with a number": ({"stop": ["a", 3]}, "stop[1] must be a string, got 3 (int)"),
    "stop bytes": ({"stop": b"\n"}, "stop must be a list of strings or a string"),
    "temperature a string": ({"temperature": "hot"}, "temperature must be a finite number from 0 to 2, got 'hot'"),
    "temperature a bool": ({"temperature": True}, "temperature must be a finite number from 0 to 2, got True (bool)"),
    "temperature NaN": ({"temperature": NAN}, "temperature must be a finite number from 0 to 2, got nan"),
    "temperature inf": ({"temperature": INF}, "temperature must be a finite number from 0 to 2, got inf"),
    "temperature negative": ({"temperature": -0.5}, "temperature must be a finite number from 0 to 2"),
    "temperature too high": ({"temperature": 2.5}, "temperature must be a finite number from 0 to 2"),
    "top_p over 1": ({"top_p": 1.5}, "top_p must be a finite number from 0 to 1"),
    "top_p a list": ({"top_p": [0.9]}, "top_p must be a finite number from 0 to 1"),
    "max_tokens a float": ({"max_tokens": 1.5}, "max_tokens must be an integer ≥ 1, got 1.5 (float)"),
    "max_tokens zero": ({"max_tokens": 0}, "max_tokens must be an integer ≥ 1, got 0"),
    "max_tokens a string": ({"max_tokens": "10"}, "max_tokens must be an integer ≥ 1, got '10' (str)"),
    "max_tokens a bool": ({"max_tokens": True}, "max_tokens must be an integer ≥ 1, got True (bool)"),
    "presence_penalty NaN": ({"presence_penalty": NAN}, "presence_penalty must be a finite number from -2 to 2"),
    "frequency_penalty big": ({"frequency_penalty": 10**400}, "frequency_penalty must be a finite number"),
    "seed a float": ({"seed": 1.5}, "seed must be an integer, got 1.5"),
    "n zero": ({"n": 0}, "n must be an integer ≥ 1"),
    "tools a dict": ({"tools": {"type": "function"}}, "tools must be a list of dicts"),
    "tools of strings": ({"tools": ["get_weather"]}, "tools[0] must be a dict, got 'get_weather' (str)"),
    "tools a string": ({"tools": "get_weather"}, "tools must be a list of dicts"),
    "tool_choice a number": ({"tool_choice": 3}, "tool_choice must be 'auto', 'none', 'required' or a dict"),
    "tool_choice a list": ({"tool_choice": ["auto"]}, "tool_choice must be"),
    "response_format a string": ({"response_format": "json"}, "response_format must be a dict, got 'json'"),
    "response_format a class": ({"response_format": dict}, "response_format must be a dict"),
    "stream_options a bool": ({"stream_options": True}, "stream_options must be a dict"),
    "user a number": ({"user": 7}, "user must be a string, got 7"),
    "logprobs a string": ({"logprobs": "yes"}, "logprobs must be True or False, got 'yes'"),
}


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize(("kwargs", "fragment"), CHAT_CASES.values(), ids=CHAT_CASES.keys())
def test_bad_chat_input_fails_before_any_request(
    emulator: Any, kwargs: dict[str, Any], fragment: str, stream: bool
) -> None:
    arguments = {"model": MODEL, "messages": HELLO, **kwargs}
    with closing(OVHCloudAIEndpointsHook()) as hook, pytest.raises(Exception) as info:
        hook.chat_completion(**arguments, stream=stream)
    _permanent(info.value, fragment)
    assert str(info.value).startswith("Invalid chat request to OVHcloud AI Endpoints: ")
    assert emulator.requests_to("/chat/completions") == []


def test_the_bytes_content_part_says_how_to_send_an_image(emulator: Any) -> None:
    with pytest.raises(OVHCloudAIInvalidInputError) as info:
        OVHCloudAIEndpointsHook().chat_completion(MODEL, [{"role": "user", "content": [b"\x89PNG"]}])
    assert "data:image/png;base64" in str(info.value) and "got bytes b'\\x89PNG'" in str(info.value)


def test_good_chat_values_still_pass(emulator: Any) -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    OVHCloudAIEndpointsHook().chat_completion(
        MODEL,
        [{"role": "user", "content": [{"type": "text", "text": "What is it?"}, image]}],
        temperature=0,
        top_p=1,
        max_tokens=5,
        stop=("\n", "."),
        tools=[{"type": "function", "function": {"name": "noop", "parameters": {"type": "object"}}}],
        tool_choice="none",
        seed=-3,
        presence_penalty=-2,
        user="",
    )
    (sent,) = emulator.requests_to("/chat/completions")
    assert sent.body["stop"] == ["\n", "."] and sent.body["temperature"] == 0


# ------------------------------------------------------------------------------ embeddings


@pytest.mark.parametrize(
    ("texts", "fragment"),
    [
        (None, "'texts' must be a list of strings (create_embedding() embeds a single text), got NoneType None"),
        (3, "'texts' must be a list of strings (create_embedding() embeds a single text), got int 3"),
        ("one text", "'texts' must be a list of strings (create_embedding() embeds a single text), got str"),
        (b"bytes", "'texts' must be a list of strings"),
        ({"text": "x"}, "'texts' must be a list of strings"),
        (["ok", None], "inputs at positions 1 are not non-empty strings"),
    ],
    ids=["None", "int", "str", "bytes", "dict", "None item"],
)
def test_bad_texts_for_create_embeddings_fail_before_any_request(emulator: Any, texts: Any, fragment: str) -> None:
    with pytest.raises(Exception) as info:
        OVHCloudAIEndpointsHook().create_embeddings("BGE-M3", texts)
    _permanent(info.value, fragment)
    assert emulator.requests_to("/embeddings") == []


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"batch_size": "x"}, "batch_size must be an integer ≥ 1, got 'x' (str)"),
        ({"batch_size": 0}, "batch_size must be an integer ≥ 1, got 0"),
        ({"batch_size": True}, "batch_size must be an integer ≥ 1, got True (bool)"),
        ({"max_concurrency": 0}, "max_concurrency must be an integer from 1 to 32, got 0"),
        ({"max_concurrency": 33}, "max_concurrency must be an integer from 1 to 32, got 33"),
        ({"max_concurrency": 2.0}, "max_concurrency must be an integer from 1 to 32, got 2.0 (float)"),
    ],
)
def test_bad_batching_fails_before_any_request_even_with_no_texts(
    emulator: Any, kwargs: dict[str, Any], fragment: str
) -> None:
    for texts in (["a", "b"], []):
        with pytest.raises(Exception) as info:
            OVHCloudAIEndpointsHook().create_embeddings("BGE-M3", texts, **kwargs)
        _permanent(info.value, fragment)
    assert emulator.journal == []


@pytest.mark.parametrize("value", [None, 3, 2.5, b"x", {"a"}], ids=["None", "int", "float", "bytes", "set"])
def test_bad_input_for_create_embedding_fails_before_any_request(emulator: Any, value: Any) -> None:
    with pytest.raises(Exception) as info:
        OVHCloudAIEndpointsHook().create_embedding("BGE-M3", value)
    _permanent(info.value, "'input' must be a string or a non-empty list of strings")
    assert emulator.requests_to("/embeddings") == []


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"dimensions": 0}, "dimensions must be an integer ≥ 1 or None, got 0"),
        ({"dimensions": "512"}, "dimensions must be an integer ≥ 1 or None, got '512'"),
        ({"encoding_format": 64}, "encoding_format must be a non-empty string or None, got 64"),
    ],
)
def test_bad_embedding_options_fail_before_any_request(emulator: Any, kwargs: dict[str, Any], fragment: str) -> None:
    hook = OVHCloudAIEndpointsHook()
    for call in (hook.create_embedding, hook.create_embeddings):
        with pytest.raises(Exception) as info:
            call("BGE-M3", ["a", "b"], **kwargs)
        _permanent(info.value, fragment)
    assert emulator.journal == []


def test_a_generator_of_texts_is_still_embedded(emulator: Any) -> None:
    response = OVHCloudAIEndpointsHook().create_embeddings("BGE-M3", (f"text {i}" for i in range(3)), batch_size=2)
    assert [item["index"] for item in response["data"]] == [0, 1, 2]


# ----------------------------------------------------------------------------- AI Training

SPEC_CASES = {
    "ssh keys an int": ({"ssh_public_keys": 5}, "ssh_public_keys must be a list of strings, got 5 (int)"),
    "ssh keys one string": ({"ssh_public_keys": "ssh-ed25519 AAAA"}, "got the single string 'ssh-ed25519 AAAA'"),
    "ssh keys with a number": ({"ssh_public_keys": ["ssh-ed25519 AAAA", 7]}, "ssh_public_keys[1] must be"),
    "ssh keys a dict": ({"ssh_public_keys": {"k": "v"}}, "ssh_public_keys must be a list of strings"),
    "read_user a number": ({"read_user": 3}, "read_user must be a string or None, got 3 (int)"),
    "shutdown a list": ({"shutdown": ["IMMEDIATE"]}, "shutdown must be a string"),
    "timeout NaN": ({"timeout": NAN}, "job_timeout in operators) must be an integer ≥ 1, got nan"),
    "gpu a float": ({"gpu": 1.0}, "gpu must be an integer ≥ 0, got 1.0 (float)"),
    "labels a list": ({"labels": ["team=a"]}, "labels must be a dict of strings, got list"),
}


@pytest.mark.parametrize(("kwargs", "fragment"), SPEC_CASES.values(), ids=SPEC_CASES.keys())
def test_bad_job_spec_fields_fail_before_any_request(emulator: Any, kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(Exception) as info:
        JobSpec(image="pytorch/pytorch", **kwargs)
    _permanent(info.value, fragment)
    with pytest.raises(Exception) as info:
        OVHCloudAITrainingHook().submit_job(image="pytorch/pytorch", **kwargs)
    _permanent(info.value, fragment)
    assert emulator.journal == []


WATCH_CASES = {
    "target_states one string": ({"target_states": "DONE"}, "target_states must be a list of strings, got the single"),
    "target_states with a number": ({"target_states": ["DONE", 1]}, "target_states[1] must be a non-empty string"),
    "target_states with a blank": ({"target_states": [" "]}, "target_states[0] must be a non-empty string"),
    "target_states a dict": ({"target_states": {"DONE": True}}, "target_states must be a list of strings"),
    "failure_states one string": ({"failure_states": "FAILED"}, "failure_states must be a list of strings, got the"),
    "failure_states with None": ({"failure_states": [None]}, "failure_states[0] must be a non-empty string"),
    "check_interval negative": ({"check_interval": -1}, "check_interval must be a finite number ≥ 0, got -1"),
    "check_interval NaN": ({"check_interval": NAN}, "check_interval must be a finite number ≥ 0, got nan"),
    "check_interval a string": ({"check_interval": "30"}, "check_interval must be a finite number ≥ 0, got '30'"),
    "check_interval a bool": ({"check_interval": True}, "check_interval must be a finite number ≥ 0, got True"),
    "timeout negative": ({"timeout": -5}, "timeout must be a finite number ≥ 0, got -5"),
    "timeout inf": ({"timeout": INF}, "timeout must be a finite number ≥ 0, got inf"),
    "timeout a string": ({"timeout": "1h"}, "timeout must be a finite number ≥ 0, got '1h' (str)"),
}


@pytest.mark.parametrize(("kwargs", "fragment"), WATCH_CASES.values(), ids=WATCH_CASES.keys())
def test_bad_waiting_settings_fail_before_any_request(emulator: Any, kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(Exception) as info:
        JobWatch(JOB_ID, **kwargs)
    _permanent(info.value, fragment)
    with pytest.raises(Exception) as info:
        OVHCloudAITrainingHook().wait_for_job(JOB_ID, **kwargs)
    _permanent(info.value, fragment)
    assert emulator.journal == []


def test_states_may_be_a_tuple_or_a_set_and_are_upper_cased() -> None:
    watch = JobWatch(JOB_ID, target_states=("done", "interrupted"), failure_states={"failed"})
    assert watch.targets == {"DONE", "INTERRUPTED"} and watch.failures == {"FAILED"}
    assert JobWatch(JOB_ID, target_states=[]).targets == {"DONE"}  # empty: the default


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"state": 3}, "state must be a list of strings or a string, got 3 (int)"),
        ({"state": ["RUNNING", 3]}, "state[1] must be a non-empty string, got 3"),
        ({"state": b"RUNNING"}, "state must be a list of strings or a string"),
        ({"state": {"RUNNING": 1}}, "state must be a list of strings or a string"),
        ({"page": 0}, "page must be an integer ≥ 1, got 0"),
        ({"page": "2"}, "page must be an integer ≥ 1, got '2' (str)"),
        ({"size": -1}, "size must be an integer ≥ 1, got -1"),
        ({"size": 1.5}, "size must be an integer ≥ 1, got 1.5"),
        ({"labels": ["a=b"]}, "labels must be a dict of strings, got list"),
    ],
)
def test_bad_job_list_filters_fail_before_any_request(emulator: Any, kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(Exception) as info:
        OVHCloudAITrainingHook().list_jobs(**kwargs)
    _permanent(info.value, fragment)
    assert emulator.journal == []


def test_one_state_string_and_a_set_of_states_still_filter(emulator: Any) -> None:
    hook = OVHCloudAITrainingHook()
    hook.list_jobs(state="running")
    hook.list_jobs(state={"failed", "done"})
    first, second = emulator.requests_to("/v1/job", method="GET")
    assert first.query["statusState"] == ["RUNNING"]
    assert sorted(second.query["statusState"]) == ["DONE", "FAILED"]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"tail": -1}, "tail must be an integer ≥ 0, got -1"),
        ({"tail": "5"}, "tail must be an integer ≥ 0, got '5'"),
        ({"tail": True}, "tail must be an integer ≥ 0, got True"),
        ({"since": 5}, "since=5 is not an ISO-8601 date-time"),
        ({"since": []}, "since=[] is not an ISO-8601 date-time"),
        ({"since": "yesterday"}, "since='yesterday' is not an ISO-8601 date-time"),
        ({"since": 1.5e9}, "since=1500000000.0 is not an ISO-8601 date-time"),
    ],
)
def test_bad_log_arguments_fail_before_any_request(emulator: Any, kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(Exception) as info:
        OVHCloudAITrainingHook().get_job_logs(JOB_ID, **kwargs)
    _permanent(info.value, fragment)
    assert emulator.journal == []


def test_since_takes_a_date_a_naive_datetime_or_a_string() -> None:
    assert check_since(date(2024, 5, 1)) == datetime(2024, 5, 1, tzinfo=timezone.utc)
    assert check_since(datetime(2024, 5, 1, 10)) == datetime(2024, 5, 1, 10, tzinfo=timezone.utc)
    assert check_since("2024-05-01T10:00:00+02:00").utcoffset() is not None


# ------------------------------------------------------------------ operators, when built

OPERATOR_CASES = {
    "embedding batch_size a string": (
        lambda: OVHCloudAIEndpointsEmbeddingOperator(task_id="e", model="BGE-M3", input=["a"], batch_size="x"),
        "batch_size must be an integer ≥ 1 or None, got 'x'",
    ),
    "embedding max_concurrency 0": (
        lambda: OVHCloudAIEndpointsEmbeddingOperator(task_id="e", model="BGE-M3", input=["a"], max_concurrency=0),
        "max_concurrency must be an integer from 1 to 32, got 0",
    ),
    "chat stop a set": (
        lambda: OVHCloudAIEndpointsChatCompletionsOperator(task_id="c", model=MODEL, messages=HELLO, stop={"x"}),
        "stop must be a list of strings or a string",
    ),
    "chat temperature NaN": (
        lambda: OVHCloudAIEndpointsChatCompletionsOperator(task_id="c", model=MODEL, messages=HELLO, temperature=NAN),
        "temperature must be a finite number from 0 to 2, got nan",
    ),
    "chat tools a dict": (
        lambda: OVHCloudAIEndpointsChatCompletionsOperator(task_id="c", model=MODEL, messages=HELLO, tools={}),
        "tools must be a list of dicts",
    ),
    "chat tool_choice a number": (
        lambda: OVHCloudAIEndpointsChatCompletionsOperator(task_id="c", model=MODEL, messages=HELLO, tool_choice=1),
        "tool_choice must be",
    ),
    "chat extra_body a number": (
        lambda: OVHCloudAIEndpointsChatCompletionsOperator(task_id="c", model=MODEL, messages=HELLO, extra_body=3),
        "extra_body must be a dict, got 3",
    ),
    "chat extra_body seed a string": (
        lambda: OVHCloudAIEndpointsChatCompletionsOperator(
            task_id="c", model=MODEL, messages=HELLO, extra_body={"seed": "x"}
        ),
        "seed must be an integer, got 'x'",
    ),
    "wait check_interval negative": (
        lambda: OVHCloudAITrainingWaitForJobOperator(task_id="w", job_id=JOB_ID, check_interval=-1),
        "check_interval must be a finite number ≥ 0, got -1",
    ),
    "wait timeout a string": (
        lambda: OVHCloudAITrainingWaitForJobOperator(task_id="w", job_id=JOB_ID, timeout="1h"),
        "timeout must be a finite number ≥ 0, got '1h'",
    ),
    "wait target_states one string": (
        lambda: OVHCloudAITrainingWaitForJobOperator(task_id="w", job_id=JOB_ID, target_states="DONE"),
        "target_states must be a list of strings, got the single string 'DONE'",
    ),
    "submit check_interval NaN": (
        lambda: OVHCloudAITrainingSubmitJobOperator(task_id="s", image="i", check_interval=NAN),
        "check_interval must be a finite number ≥ 0, got nan",
    ),
    "submit wait_timeout negative": (
        lambda: OVHCloudAITrainingSubmitJobOperator(task_id="s", image="i", wait_timeout=-1),
        "wait_timeout must be a finite number ≥ 0, got -1",
    ),
    "submit labels a list": (
        lambda: OVHCloudAITrainingSubmitJobOperator(task_id="s", image="i", labels=["team=a"]),
        "labels must be a dict of label names to values, got ['team=a'] (list)",
    ),
    "submit gpu a string": (
        lambda: OVHCloudAITrainingSubmitJobOperator(task_id="s", image="i", gpu="2"),
        "gpu must be an integer ≥ 0, got '2' (str)",
    ),
    "submit ssh keys an int": (
        lambda: OVHCloudAITrainingSubmitJobOperator(task_id="s", image="i", ssh_public_keys=5),
        "ssh_public_keys must be a list of strings, got 5 (int)",
    ),
    "logs tail negative": (
        lambda: OVHCloudAITrainingGetLogsOperator(task_id="l", job_id=JOB_ID, tail=-1),
        "tail must be an integer ≥ 0 or None, got -1",
    ),
}


@pytest.mark.parametrize(("build", "fragment"), OPERATOR_CASES.values(), ids=OPERATOR_CASES.keys())
def test_bad_operator_arguments_fail_when_the_operator_is_built(build: Any, fragment: str) -> None:
    with pytest.raises(Exception) as info:
        build()
    _permanent(info.value, fragment)
    assert isinstance(info.value, OVHCloudAIInvalidArgumentError) and isinstance(info.value, TypeError)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"timeout": "1h"}, "timeout must be a finite number ≥ 0, got '1h'"),
        ({"check_interval": NAN}, "check_interval must be a finite number ≥ 0, got nan"),
    ],
)
def test_the_trigger_refuses_bad_waiting_settings(kwargs: dict[str, Any], fragment: str) -> None:
    from airflow_ovhcloud.triggers.ai_training import OVHCloudAITrainingJobTrigger

    with pytest.raises(Exception) as info:
        OVHCloudAITrainingJobTrigger(JOB_ID, **kwargs)
    _permanent(info.value, fragment)


def test_a_templated_labels_field_is_checked_when_the_task_runs_before_any_request(emulator: Any) -> None:
    operator = OVHCloudAITrainingSubmitJobOperator(task_id="s", image="pytorch/pytorch", labels="{{ params.labels }}")
    operator.labels = ["team=a"]  # type: ignore[assignment]  # what the template rendered to
    with pytest.raises(Exception) as info:
        operator.execute({"ti": StubTaskInstance()})  # type: ignore[arg-type]
    _permanent(info.value, "labels must be a dict of strings, got list")
    assert emulator.journal == []  # not even the reattach lookup


def test_waiting_settings_changed_after_construction_fail_before_any_request(emulator: Any) -> None:
    operator = OVHCloudAITrainingWaitForJobOperator(task_id="w", job_id=JOB_ID, deferrable=True)
    operator.check_interval = "soon"  # type: ignore[assignment]
    with pytest.raises(Exception) as info:
        operator.execute({"ti": StubTaskInstance()})  # type: ignore[arg-type]
    _permanent(info.value, "check_interval must be a finite number ≥ 0, got 'soon'")
    assert emulator.journal == []


@pytest.mark.parametrize(
    ("factory", "kwargs", "fragment"),
    [
        ("ovh_embed", {"model": "BGE-M3", "batch_size": 0}, "batch_size must be an integer ≥ 1, got 0"),
        ("ovh_embed", {"model": "BGE-M3", "max_concurrency": "4"}, "max_concurrency must be an integer from 1 to 32"),
        ("ovh_chat", {"model": MODEL, "stop": {"x"}}, "stop must be a list of strings or a string"),
        ("ovh_chat", {"model": MODEL, "tool_choice": 1}, "tool_choice must be"),
    ],
)
def test_bad_decorator_arguments_fail_when_the_dag_is_parsed_even_for_a_mapped_task(
    factory: str, kwargs: dict[str, Any], fragment: str
) -> None:
    from airflow.sdk import task

    with pytest.raises(Exception) as info:
        getattr(task, factory)(**kwargs)
    _permanent(info.value, fragment)
    assert isinstance(info.value, TypeError)


# -------------------------------------------------------------------- validators: properties


class _HostileRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


JSON_LIKE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
JUNK = (
    JSON_LIKE
    | st.binary(max_size=8)
    | st.sets(st.text(max_size=4), max_size=3)
    | st.frozensets(st.integers(), max_size=3)
    | st.tuples(st.integers(), st.text(max_size=4))
    | st.fractions()
    | st.decimals()
    | st.complex_numbers()
    | st.datetimes()
    | st.dates()
    | st.sampled_from([10**5000, -(10**400), Fraction(10**400, 3), Decimal("NaN"), Decimal("Infinity"), math.pi])
    | st.builds(_HostileRepr)
    | st.builds(object)
    | st.just(str)
)

VALIDATORS = {
    "check_number": lambda v: check_number("value", v, minimum=-1, maximum=1),
    "check_number none": lambda v: check_number("value", v, allow_none=True),
    "check_int": lambda v: check_int("value", v, minimum=1, maximum=10**6),
    "check_str": lambda v: check_str("value", v),
    "check_str_list": lambda v: check_str_list("value", v, non_empty_items=True),
    "check_str_list str set": lambda v: check_str_list("value", v, allow_str=True, allow_set=True),
    "check_dict_list": lambda v: check_dict_list("value", v),
    "check_mapping": lambda v: check_mapping("value", v),
    "check_bool": lambda v: check_bool("value", v),
    "check_states": lambda v: check_states("value", v),
}


@pytest.mark.parametrize("check", VALIDATORS.values(), ids=VALIDATORS.keys())
@settings(max_examples=150, deadline=None)
@given(value=JUNK)
def test_validators_raise_only_invalid_input_naming_the_argument(check: Any, value: Any) -> None:
    try:
        check(value)
    except OVHCloudAIInvalidInputError as exc:
        assert str(exc).startswith("value"), str(exc)
        assert len(str(exc)) < 400


@settings(max_examples=150, deadline=None)
@given(value=JUNK)
def test_check_since_raises_only_invalid_input_naming_since(value: Any) -> None:
    try:
        assert check_since(value).tzinfo is not None
    except OVHCloudAIInvalidInputError as exc:
        assert str(exc).startswith("since="), str(exc)


@settings(max_examples=200, deadline=None)
@given(value=st.floats(allow_nan=True, allow_infinity=True) | st.integers(), minimum=st.integers(-5, 5))
def test_check_number_accepts_exactly_the_finite_numbers_in_range(value: float, minimum: int) -> None:
    good = math.isfinite(value) and value >= minimum
    try:
        assert check_number("x", value, minimum=minimum) == value
    except OVHCloudAIInvalidInputError:
        assert not good
    else:
        assert good


CHAT_FIELDS = st.sampled_from(
    ["temperature", "top_p", "max_tokens", "stop", "tools", "tool_choice", "seed", "n", "response_format", "user"]
)


@settings(max_examples=200, deadline=None)
@given(parameters=st.dictionaries(CHAT_FIELDS, JUNK, max_size=3))
def test_chat_parameters_raise_only_invalid_input_naming_the_field(parameters: dict[str, Any]) -> None:
    try:
        check_chat_parameters(parameters)
    except OVHCloudAIInvalidInputError as exc:
        assert any(str(exc).startswith(name) for name in parameters), str(exc)
    try:
        check_chat_options(**parameters)
    except OVHCloudAIInvalidArgumentError as exc:
        assert any(name in str(exc) for name in parameters), str(exc)


@settings(max_examples=200, deadline=None)
@given(messages=JUNK | st.lists(st.dictionaries(st.sampled_from(["role", "content", "tool_calls"]), JUNK)))
def test_chat_bodies_of_junk_messages_raise_only_invalid_input(messages: Any) -> None:
    hook = OVHCloudAIEndpointsHook()  # building a body reads no connection
    try:
        body = hook._chat_body(MODEL, messages, None, None, None, False, None, {})
    except OVHCloudAIInvalidInputError as exc:
        assert "messages" in str(exc)
    else:
        assert body["messages"] == list(messages)


@settings(max_examples=100, deadline=None)
@given(value=JUNK)
def test_shown_never_raises_and_stays_short(value: Any) -> None:
    assert len(shown(value)) <= 80
