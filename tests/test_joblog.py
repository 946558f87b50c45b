"""The job-log cursor: every line exactly once and in order, whatever the windows and the log's growth."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_ovhcloud.exceptions import OVHCloudAIInvalidInputError
from airflow_ovhcloud.utils.joblog import (
    MAX_LINE_CHARS,
    LogCursor,
    PollResult,
    check_max_lines,
    cursor_from_job,
    cursor_label,
    drive_sync,
    follow_log,
    format_lines,
    secret_pieces,
    split_log,
)


def serve(log: list[str]) -> Callable[[dict[str, int]], str]:
    """``GET /log?page=&size=`` as the emulator answers it, over a list of lines."""

    def fetch(query: dict[str, int]) -> str:
        page, size = query["page"], query["size"]
        return "".join(line + "\n" for line in log[(page - 1) * size : page * size])

    return fetch


@given(
    lines=st.integers(min_value=0, max_value=60),
    windows=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 30)), max_size=40),
)
def test_overlapping_windows_print_every_line_once_in_order(lines: int, windows: list[tuple[int, int]]) -> None:
    log = [f"line {i}" for i in range(lines)]
    cursor, printed = LogCursor(), []
    # windows in any overlap, always moving forward from where the cursor is (as pages read from it)
    for offset, length in windows:
        start = max(0, min(cursor.position, lines) - offset % (cursor.position + 1))
        new, skipped = cursor.take(start, log[start : start + length])
        assert skipped == 0
        printed += new
    new, _ = cursor.take(cursor.position, log[cursor.position :])
    printed += new
    assert printed == log


@settings(max_examples=150, deadline=None)
@given(
    growth=st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=15),
    cap=st.integers(min_value=1, max_value=25),
    start=st.integers(min_value=0, max_value=5),
)
def test_polls_of_a_growing_log_print_each_line_once_or_count_it_skipped(
    growth: list[int], cap: int, start: int
) -> None:
    log: list[str] = []
    position, printed, skipped = 0, [], 0
    for poll, added in enumerate(growth):
        log += [f"{poll}:{i}" for i in range(added)]
        result = drive_sync(follow_log(position, cap), serve(log))
        assert len(result.lines) <= cap
        # what was skipped is exactly the lines between the old cursor and the first printed line
        assert log[position + result.skipped : result.position] == result.lines
        printed += result.lines
        skipped += result.skipped
        position = result.position
    # a last poll after the job ended drains the rest
    while position < len(log):
        result = drive_sync(follow_log(position, cap, final=True), serve(log))
        printed += result.lines
        skipped += result.skipped
        position = result.position
    assert position == len(log)
    assert len(printed) + skipped == len(log)
    assert printed == sorted(printed, key=log.index)  # in order, no repeats
    assert len(set(printed)) == len(printed)


def test_a_flood_is_summarised_and_the_newest_lines_printed() -> None:
    log = [f"step {i}" for i in range(100_000)]
    requests: list[dict[str, int]] = []
    fetch = serve(log)

    def counting(query: dict[str, int]) -> str:
        requests.append(query)
        return fetch(query)

    result = drive_sync(follow_log(0, 1000), counting)
    assert result.skipped == 99_000 and result.lines == log[-1000:] and result.position == 100_000
    assert len(requests) < 40  # one-line probes, not 100 pages
    assert sum(q["size"] for q in requests) < 3100
    lines = list(format_lines("j1", result))
    assert lines[0] == "[job j1] ... 99000 lines skipped (more than max_log_lines_per_poll in one poll) ..."
    assert lines[1] == "[job j1] step 99000"


def test_a_half_written_last_line_waits_until_the_job_ended() -> None:
    assert split_log("a\nb\npartial", final=False) == ["a", "b"]
    assert split_log("a\nb\npartial", final=True) == ["a", "b", "partial"]
    assert split_log("", final=True) == []
    assert split_log("a\r\n\n", final=False) == ["a", ""]


def test_the_cursor_label_is_a_valid_label_and_its_value_is_checked() -> None:
    label = cursor_label("dag\x1ftask\x1frun\x1f-1")
    assert label.startswith("airflow-log-") and len(label) <= 63 and label.replace("-", "").isalnum()
    assert cursor_from_job({"spec": {"labels": {label: "42"}}}, label) == 42
    for bad in ("-1", "x", "9" * 40, None, 3):
        assert cursor_from_job({"spec": {"labels": {label: bad}}}, label) == 0
    assert cursor_from_job({"spec": None}, label) == 0
    assert cursor_from_job({"spec": {"labels": {label: "3"}}}, None) == 0


def test_format_lines_redacts_and_prefixes() -> None:
    result = PollResult(lines=["token=s3cret-value", "ok"], position=2)
    assert list(format_lines("j", result, lambda t: t.replace("s3cret-value", "***"))) == [
        "[job j] token=***",
        "[job j] ok",
    ]


@pytest.mark.parametrize("bad", [0, -1, 10_001, "100", 1.5, True])
def test_max_lines_per_poll_is_checked(bad: object) -> None:
    with pytest.raises(OVHCloudAIInvalidInputError, match="max_log_lines_per_poll"):
        check_max_lines(bad)


def test_a_very_long_line_is_cut_after_its_secret_is_masked() -> None:
    secret = "S3CRET-VALUE-0123"
    line = "x" * (MAX_LINE_CHARS - 3) + secret + "y" * 50_000
    (shown,) = format_lines("j", PollResult(lines=[line], position=1), lambda t: t.replace(secret, "***"))
    assert len(shown) < MAX_LINE_CHARS + 100  # one line of a flood cannot fill the task log
    assert "S3C" not in shown and shown.endswith(f"({len(line) - len(secret) + 3 - MAX_LINE_CHARS} more characters)")


def test_every_line_of_a_multi_line_secret_is_masked_on_its_own() -> None:
    pieces = secret_pieces(["-----BEGIN KEY-----\nAAAAsecret1\r\nBBBBsecret2\n}\n", "plain-secret"])
    assert {"AAAAsecret1", "BBBBsecret2", "plain-secret"} <= set(pieces)
    assert "}" not in pieces  # too short to mask without blanking ordinary text
