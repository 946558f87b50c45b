"""No id can send a request to another path: ids are checked against the services' id shape."""

from __future__ import annotations

from contextlib import closing
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_ovhcloud.exceptions import OVHCloudAIInvalidInputError
from airflow_ovhcloud.hooks.ai_training import OVHCloudAITrainingHook
from airflow_ovhcloud.utils.validation import path_segment

HOSTILE_IDS = ["..", ".", "?page=1", "#x", "a/b", "../v1/job", "%2e%2e", "job id", "", "  ", "\n", None, 42]


@pytest.mark.parametrize("job_id", HOSTILE_IDS, ids=[repr(i) for i in HOSTILE_IDS])
@pytest.mark.parametrize("call", ["delete_job", "stop_job", "get_job", "get_job_status", "get_job_logs"])
def test_a_hostile_job_id_is_refused_before_any_request(emulator: Any, call: str, job_id: Any) -> None:
    with closing(OVHCloudAITrainingHook()) as hook, pytest.raises(OVHCloudAIInvalidInputError) as info:
        getattr(hook, call)(job_id)
    assert "Invalid AI Training job id" in str(info.value)
    assert emulator.journal == []


@pytest.mark.parametrize("suffix", ["#x", "?page=1", "/../other", "/kill", " "], ids=repr)
def test_an_id_with_a_tail_never_acts_on_the_job_it_starts_with(emulator: Any, suffix: str) -> None:
    with closing(OVHCloudAITrainingHook()) as hook:
        victim = hook.submit_job(image="img")["id"]
        emulator.clear_journal()
        for call in (hook.stop_job, hook.delete_job):
            if suffix == " ":  # surrounding blanks are trimmed: the id itself is fine
                continue
            with pytest.raises(OVHCloudAIInvalidInputError):
                call(victim + suffix)
    assert emulator.journal == []
    assert emulator.job(victim)["status"]["state"] not in ("INTERRUPTING", "INTERRUPTED")


def test_a_valid_id_reaches_exactly_its_own_path(emulator: Any) -> None:
    with closing(OVHCloudAITrainingHook()) as hook:
        job = hook.submit_job(image="img")
        emulator.clear_journal()
        hook.stop_job(job["id"])
    (request,) = emulator.journal
    assert (request.method, request.path) == ("PUT", f"/v1/job/{job['id']}/kill")


@given(st.one_of(st.text(max_size=40), st.integers(), st.none(), st.binary(max_size=10)))
def test_an_id_is_one_plain_path_segment_or_an_error(value: Any) -> None:
    try:
        segment = path_segment(value, "id")
    except OVHCloudAIInvalidInputError as exc:
        assert "Invalid id" in str(exc)
        return
    assert segment not in (".", "..") and not any(c in segment for c in "/?#% \t\n")
    assert unquote(segment) == value.strip()
