"""Following a job's log: which lines are new, what to fetch next, where the reading stopped.

No HTTP here (the hook's sync and async methods drive it), so the worker's blocking wait and the
trigger read the log the same way, and the rules are tested without a server.

**The cursor** is a position in the log: how many lines from its start were printed or
skipped. ``GET /v1/job/{id}/log?page=P&size=S`` answers the lines ``[(P-1)*S, P*S)``, so every
window has a known position and a line is printed only if it lies at or past the cursor: each line
exactly once, whatever windows overlap. The cursor survives what the process does not:

- it is written to a label of the job (:func:`cursor_label`, one per task instance) after the
  lines are printed, and read back from the job every poll, so a trigger re-created on another
  triggerer, a retried task that reattaches and the worker after a deferral all continue where
  the last reader stopped (the job is the one thing they all see, on every Airflow version);
- a crash between printing and writing the label repeats at most the lines of that one poll;
- a token that may not write labels (403) or a job that takes no more labels (400) does not stop
  the wait: one warning, no more attempts, and the cursor lives in the process only (a trigger
  moved elsewhere or a retry may then print some lines again).

**A flood** (more new lines than ``max_log_lines_per_poll``) is not downloaded: the end of the log
is found with one-line probes, the lines before the last ``max_log_lines_per_poll`` are
summarised as "N lines skipped", the newest are printed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_ovhcloud.utils.validation import check_int

#: Lines printed per poll unless told otherwise; the rest of a flood is summarised.
DEFAULT_MAX_LOG_LINES_PER_POLL = 1000
#: The hard ceiling of ``max_log_lines_per_poll``: a page larger than this is not asked for.
MAX_LOG_LINES_PER_POLL = 10_000
#: Prefix of the job label holding a task's cursor (the rest is a hash of the task instance).
CURSOR_LABEL_PREFIX = "airflow-log-"
#: Characters of one job log line copied into the task log; a longer line is cut (after redaction).
MAX_LINE_CHARS = 10_000

#: What the log fetcher asks: the ``page``/``size`` query of ``GET /v1/job/{id}/log``.
LogRequest = dict[str, int]


def secret_pieces(values: Iterable[str]) -> list[str]:
    """What to mask in log lines: each secret, and each line of a multi-line secret (a PEM key, a JSON).

    The log is printed line by line, maybe over several polls, so a secret spanning lines is never
    whole in one of them: each of its lines is masked on its own. Pieces too short to be told from
    ordinary words are left out (as everywhere, :data:`~airflow_ovhcloud._http_rules.MIN_SECRET_LENGTH`).
    """
    from airflow_ovhcloud._http_rules import MIN_SECRET_LENGTH

    pieces: set[str] = set()
    for value in values:
        for piece in (value, *value.splitlines()):
            piece = piece.strip()
            if len(piece) >= MIN_SECRET_LENGTH:
                pieces.add(piece)
    return sorted(pieces, key=len, reverse=True)


def check_max_lines(value: Any) -> int:
    return check_int("max_log_lines_per_poll", value, minimum=1, maximum=MAX_LOG_LINES_PER_POLL)


def cursor_label(run_key: str) -> str:
    """The label name keeping one task instance's cursor on its job (valid label syntax, ≤ 63 chars)."""
    return CURSOR_LABEL_PREFIX + hashlib.sha256(run_key.encode("utf-8")).hexdigest()[:24]


def cursor_from_job(job: Any, label: str | None) -> int:
    """The cursor a job's label holds (0 when absent or unreadable: a label is data from the network)."""
    if not label or not isinstance(job, dict):
        return 0
    spec = job.get("spec")
    labels = spec.get("labels") if isinstance(spec, dict) else None
    value = labels.get(label) if isinstance(labels, dict) else None
    if isinstance(value, str) and value.isdigit() and len(value) <= 15:
        return int(value)
    return 0


def split_log(text: str, *, final: bool) -> list[str]:
    """The log's complete lines; a last line without its newline is kept only once the job ended.

    A running job may be in the middle of writing that line: counted now, its end would be lost.
    """
    lines = text.split("\n")
    last = lines.pop()  # "" when the text ends with a newline
    if last and final:
        lines.append(last)
    return [line.rstrip("\r") for line in lines]


@dataclass
class LogCursor:
    """The position in the log up to which lines were printed or skipped; windows are fed to it."""

    position: int = 0

    def take(self, start: int, lines: Sequence[str]) -> tuple[list[str], int]:
        """The lines of a window at position ``start`` not seen yet, and how many lines were jumped over."""
        skipped = max(0, start - self.position)
        new = list(lines[max(0, self.position - start) :])
        if new or skipped:
            self.position = start + len(lines)
        return new, skipped


@dataclass
class PollResult:
    """What one poll of the log found: lines to print (in order), lines skipped before them, the new cursor."""

    lines: list[str] = field(default_factory=list)
    skipped: int = 0
    position: int = 0


def follow_log(position: int, max_lines: int, *, final: bool = False) -> Generator[LogRequest, str, PollResult]:
    """One poll of the log, as a generator: it yields the query to send and receives the answer's text.

    Drive it with :func:`drive_sync` or the async equivalent in the hook. At most ``max_lines``
    lines come back; when more are new, the oldest of them are counted as skipped.
    """
    cursor = LogCursor(position)
    size = max_lines
    first = position // size + 1
    start = (first - 1) * size
    lines = split_log((yield {"page": first, "size": size}), final=final)
    result = PollResult(position=position)
    if len(lines) < size:  # the end of the log is in this page
        result.lines, result.skipped = cursor.take(start, lines)
        result.position = cursor.position
        return result
    # A full page: more lines may follow. Find the end E with one-line probes (line q exists?).
    known, step = start + size - 1, size
    missing: int | None = None
    while missing is None:
        probe = known + step
        if (yield {"page": probe + 1, "size": 1}):
            known, step = probe, step * 2
        else:
            missing = probe
    while missing - known > 1:
        middle = (known + missing) // 2
        if (yield {"page": middle + 1, "size": 1}):
            known = middle
        else:
            missing = middle
    end = missing  # lines [0, end) exist
    wanted = max(position, end - max_lines)
    printed: list[str] = []
    skipped = wanted - position
    cursor.position = wanted
    page = wanted // size + 1
    while cursor.position < end:
        window = split_log((yield {"page": page, "size": size}), final=final)
        new, jumped = cursor.take((page - 1) * size, window)
        printed += new
        skipped += jumped
        if len(window) < size:
            break
        page += 1
    result.lines, result.skipped, result.position = printed[:max_lines], skipped, cursor.position
    if len(printed) > max_lines:  # the log grew between the requests: the rest waits for the next poll
        result.position = cursor.position - (len(printed) - max_lines)
    return result


def drive_sync(plan: Generator[LogRequest, str, PollResult], fetch: Any) -> PollResult:
    """Run :func:`follow_log` with a blocking ``fetch(query) -> text``."""
    try:
        query = next(plan)
        while True:
            query = plan.send(fetch(query))
    except StopIteration as stop:
        return stop.value


def format_lines(job_id: str, result: PollResult, redact: Any = None) -> Iterable[str]:
    """The task-log lines of one poll: the skipped count first, then each line with the job's prefix."""
    prefix = f"[job {job_id}] "
    if result.skipped:
        yield f"{prefix}... {result.skipped} lines skipped (more than max_log_lines_per_poll in one poll) ..."
    for line in result.lines:
        line = redact(line) if redact is not None else line
        if len(line) > MAX_LINE_CHARS:  # cut after redaction: a cut secret would escape its mask
            line = f"{line[:MAX_LINE_CHARS]} ... ({len(line) - MAX_LINE_CHARS} more characters)"
        yield prefix + line


class JobLogFollower:
    """One waiting task's reading of its job's log: where it is, what to print, when to save the cursor.

    Shared by the blocking wait and the trigger (each drives the HTTP its own way). Lines go to
    ``log.info`` with the ``[job <id>] `` prefix, the job's env values and the ``redact`` function's
    secrets (the HTTP client's: the token) hidden.
    """

    def __init__(
        self,
        job_id: str,
        *,
        log: Any,
        max_lines: int = DEFAULT_MAX_LOG_LINES_PER_POLL,
        label: str | None = None,
        position: int = 0,
        redact: Any = None,
    ) -> None:
        self.job_id = job_id
        self.log = log
        self.max_lines = check_max_lines(max_lines)
        self.label = label
        self.position = check_int("log_position", position, minimum=0)
        self.saved = self.position
        self.redact = redact
        self._secrets: list[str] = []
        #: False once the job refused the cursor label for good (403, 400...): not asked again.
        self.label_writable = label is not None
        self._read_failing = False

    def plan(self, job: Any) -> Generator[LogRequest, str, PollResult]:
        """The reading of this poll: from the furthest cursor known (ours, or the job label's)."""
        from airflow_ovhcloud.utils.jobs import TERMINAL_STATES, job_state
        from airflow_ovhcloud.utils.redaction import env_secrets

        stored = cursor_from_job(job, self.label)
        self.position = max(self.position, stored)
        self.saved = max(self.saved, stored)
        spec = job.get("spec") if isinstance(job, dict) else None
        if isinstance(spec, dict):
            self._secrets = secret_pieces(env_secrets(spec.get("envVars")))
        final = isinstance(job, dict) and job_state(job) in TERMINAL_STATES
        return follow_log(self.position, self.max_lines, final=final)

    def _hide(self, line: str) -> str:
        from airflow_ovhcloud._http_rules import redact_secrets

        line = redact_secrets(line, self._secrets) if self._secrets else line
        return self.redact(line) if self.redact is not None else line

    def emit(self, result: PollResult) -> bool:
        """Print one poll's lines; True when the cursor moved and should be saved on the job."""
        for line in format_lines(self.job_id, result, self._hide):
            self.log.info("%s", line)
        self.position = max(self.position, result.position)
        self._read_failing = False
        return self.label is not None and self.label_writable and self.position > self.saved

    def mark_saved(self) -> None:
        self.saved = self.position

    def read_failed(self, error: Exception) -> None:
        """A poll could not read the log: the next poll tries again from the same cursor; said once per outage."""
        if not self._read_failing:
            self.log.warning(
                "Could not read the log of AI Training job %s (will try again at each poll; said once): %s",
                self.job_id,
                error,
            )
        self._read_failing = True

    def save_failed(self, error: Exception) -> None:
        """The cursor label could not be written. The wait goes on; a refusal stops the attempts, with one warning.

        A retryable failure (network, 5xx) is tried again at the next poll, silently.
        """
        from airflow_ovhcloud.exceptions import OVHCloudAIPermanentError

        if not isinstance(error, OVHCloudAIPermanentError):
            return
        self.label_writable = False
        self.log.warning(
            "Could not save the log position of AI Training job %s in its label %r, so it is kept by this "
            "process only: if the wait moves to another triggerer or the task is retried, some job log lines "
            "may be printed again. Give the connection's token the right to modify the job (or remove labels "
            "from the job) to avoid it. The wait goes on. %s",
            self.job_id,
            self.label,
            error,
        )
