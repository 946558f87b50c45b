"""The public face: :class:`OVHCloudAIEmulator`, which wires the parts together and delegates to them.

It owns no behaviour of its own. It builds the journal, the fault injector, one backend and one
``responses`` module per service, registers each service's routes on the router, and serves the
gate chain. Its knobs are attributes of the part they tune (:class:`_Knob` reads and writes through),
so a new service adds its backend, its ``register(router)`` call and a few delegating methods here.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast, overload

from airflow_ovhcloud.testing.emulator.control.responses import ControlResponses
from airflow_ovhcloud.testing.emulator.endpoints.backend import EndpointsBackend, model_entry, scripted_chat
from airflow_ovhcloud.testing.emulator.endpoints.batch_responses import BatchResponses
from airflow_ovhcloud.testing.emulator.endpoints.batches import BatchBackend, batch_script, item_rule
from airflow_ovhcloud.testing.emulator.endpoints.responses import EndpointsResponses
from airflow_ovhcloud.testing.emulator.faults import Fault, FaultInjector, StreamFault, chaos
from airflow_ovhcloud.testing.emulator.journal import Journal, RecordedRequest
from airflow_ovhcloud.testing.emulator.routing import Gateway, Router
from airflow_ovhcloud.testing.emulator.server import Listener
from airflow_ovhcloud.testing.emulator.training.backend import (
    UNSET,
    TrainingBackend,
    Unset,
    data_sync_script,
    job_script,
)
from airflow_ovhcloud.testing.emulator.training.responses import TrainingResponses

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["OVHCloudAIEmulator"]

T = TypeVar("T")


class _Knob(Generic[T]):
    """An attribute of the emulator that lives on one of its parts: reading and writing go through."""

    def __init__(self, part: str, doc: str) -> None:
        self._part = part
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> _Knob[T]: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...

    def __get__(self, obj: object | None, owner: type | None = None) -> _Knob[T] | T:
        if obj is None:
            return self
        return cast("T", getattr(getattr(obj, self._part), self._name))

    def __set__(self, obj: object, value: T) -> None:
        setattr(getattr(obj, self._part), self._name, value)


class OVHCloudAIEmulator:
    """OVHcloud AI Endpoints and AI Training over real HTTP on 127.0.0.1, with scripting, faults and a journal.

    Use it as a context manager (or ``start()``/``stop()``); point clients at ``endpoints_url`` (AI
    Endpoints) or ``training_url`` (AI Training, paths under ``/v1/job``) with ``token`` as the bearer
    key. Knobs (``latency``, ``embedding_input_limit``, ``require_auth``, ``reverse_embedding_data``,
    ``training_region``, ``job_progress``, ``job_step_seconds``, ``job_list_style``,
    ``requests_per_minute``, ``anonymous_requests_per_minute``, ``rate_limit_window``, ``batch_progress``,
    ``batch_step_seconds``, ``file_size_limit``) are plain attributes that may change at any time;
    ``reset()`` restores them.

    Auth and rate limits as on the real service: AI Endpoints answers without a key, at
    ``anonymous_requests_per_minute`` (2) requests per model per ``rate_limit_window`` (60 s); a wrong
    key gets 401; ``requests_per_minute`` (None: no limit) caps calls with the key the same way. Above
    a limit: 429 with ``Retry-After``, journaled with ``fault="rate_limited"``. ``require_auth=True``
    refuses calls without a key everywhere. AI Training always needs the token.

    AI Training in short: ``POST /v1/job`` validates the JobSpec strictly and answers a QUEUED job;
    each ``GET /v1/job/{id}`` advances it one step *before* answering (in ``"polls"`` mode), so the
    first poll already shows INITIALIZING; listing, ``jobs`` and ``job()`` never advance a job.
    Faults reach training routes like any other: ``fail_next(path=f"/v1/job/{job_id}")`` hits only
    that job's polls (and its DELETE) — not ``/log``, ``/kill`` and the like, which ``path="/log"`` or
    ``path="/kill"`` target — and ``path="/v1/job"`` hits submissions and listings only. A failed
    poll does not advance the job. ``POST /v1/job/{id}/datasync`` on a RUNNING job starts a data sync
    that advances with its job's polls (``script_data_sync``, ``data_syncs``); ``PUT .../start``
    runs an ended job again.
    """

    token = _Knob[str]("_gateway", "The bearer token clients must send (kept by ``reset()``).")
    latency = _Knob[float]("_gateway", "Seconds slept before every answer (after the request is journaled).")
    require_auth = _Knob[bool](
        "_gateway",
        "Strict mode: refuse requests without a key on every route (401). Off by default: like the real "
        "service, AI Endpoints then answers anonymous calls, rate-limited; a wrong key is always refused, "
        "and AI Training always needs the token.",
    )
    requests_per_minute = _Knob[int | None](
        "_endpoints_api", "Chat/embedding requests with the key admitted per model per ``rate_limit_window`` (None)."
    )
    anonymous_requests_per_minute = _Knob[int | None](
        "_endpoints_api", "Chat/embedding requests without a key admitted per model per ``rate_limit_window`` (2)."
    )
    rate_limit_window = _Knob[float](
        "_endpoints_api", "The sliding window of both rate limits, in seconds (60; tests may use 1)."
    )
    stream_interval = _Knob[float](
        "_endpoints_api", "Seconds between two streamed events (a model generates tokens over time); 0 sends at once."
    )
    embedding_input_limit = _Knob[int | None]("_endpoints_api", "Inputs one embeddings request may hold (None: any).")
    reverse_embedding_data = _Knob[bool](
        "_endpoints_api", "Answer embeddings in reverse order (clients must sort by ``index``)."
    )
    training_region = _Knob[str]("_training", 'The region in job URLs and the training connection ("gra").')
    job_progress = _Knob[str]("_training", '``"polls"``: one job step per poll; ``"time"``: per ``job_step_seconds``.')
    job_step_seconds = _Knob[float]("_training", 'Seconds per job step in ``"time"`` mode.')
    log_lines_per_step = _Knob["int | None"](
        "_training",
        "Scripted log lines a RUNNING job prints per step (poll or ``job_step_seconds``); it stays RUNNING until "
        "all are printed. ``None`` (default): all lines at once.",
    )
    job_list_style = _Knob[str]("_training_api", '``"paged"`` job lists (items and metadata) or ``"bare"`` lists.')
    batch_progress = _Knob[str](
        "_batches", '``"polls"``: one batch step per ``GET /v1/batches/{id}``; ``"time"``: per ``batch_step_seconds``.'
    )
    batch_step_seconds = _Knob[float]("_batches", 'Seconds per batch step in ``"time"`` mode (0.05).')
    file_size_limit = _Knob[int]("_batches", "The largest file ``POST /v1/files`` accepts, in bytes (200 MB).")

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = "emulator-token",
        latency: float = 0.0,
        embedding_input_limit: int | None = None,
        require_auth: bool = False,
        requests_per_minute: int | None = None,
        anonymous_requests_per_minute: int | None = 2,
        rate_limit_window: float = 60.0,
    ) -> None:
        self.host = host
        self.port = port
        self._journal = Journal()
        self._faults = FaultInjector()
        router = Router()
        self._gateway = Gateway(router, self._journal, self._faults, token, latency, require_auth)
        self._endpoints = EndpointsBackend()
        self._endpoints_api = EndpointsResponses(
            self._endpoints,
            self._faults,
            self._journal,
            embedding_input_limit,
            requests_per_minute,
            anonymous_requests_per_minute,
            rate_limit_window,
        )
        self._training = TrainingBackend()
        self._training_api = TrainingResponses(self._training)
        self._batches = BatchBackend(self._endpoints_api.answer)
        self._batches_api = BatchResponses(self._batches)
        self._endpoints_api.register(router)
        self._batches_api.register(router)
        self._training_api.register(router)
        self._control_api = ControlResponses(self)  # /_emulator/...: these verbs over HTTP, ungated
        self._control_api.register(router)
        self._listener = Listener(self._gateway.process, self._gateway.body_limit)

    # ---------------------------------------------------------------------------------- lifecycle

    def start(self) -> OVHCloudAIEmulator:
        """Serve in a daemon thread; returns self so ``emu = OVHCloudAIEmulator().start()`` reads well."""
        self._listener.start(self.host, self.port)
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread (for a CLI) until KeyboardInterrupt or ``stop()``."""
        self._listener.serve_forever(self.host, self.port)

    def stop(self) -> None:
        """Stop serving and close every socket; safe to call twice."""
        self._listener.stop()

    def __repr__(self) -> str:
        where = self.url if self._listener.running else "not started"
        return f"<OVHCloudAIEmulator {where}>"

    def __enter__(self) -> OVHCloudAIEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---------------------------------------------------------------------------------- addresses

    @property
    def url(self) -> str:
        return self._listener.url

    @property
    def endpoints_url(self) -> str:
        return self.url + "/v1"

    @property
    def training_url(self) -> str:
        return self.url

    def endpoints_connection(self, conn_type: str = "ovhcloud_ai_endpoints") -> dict[str, Any]:
        """An Airflow connection (as a dict) pointing at this emulator."""
        return {"conn_type": conn_type, "host": self.endpoints_url, "password": self.token}

    def endpoints_connection_json(self, conn_type: str = "ovhcloud_ai_endpoints") -> str:
        """The connection in Airflow's JSON form, for an ``AIRFLOW_CONN_*`` environment variable."""
        return json.dumps(self.endpoints_connection(conn_type))

    def training_connection(self, conn_type: str = "ovhcloud_ai_training", region: str | None = None) -> dict[str, Any]:
        """An AI Training Airflow connection (as a dict): host is ``training_url``, login the region.

        ``region`` defaults to ``training_region`` (``"gra"`` unless changed).
        """
        return {
            "conn_type": conn_type,
            "host": self.training_url,
            "login": self.training_region if region is None else region,
            "password": self.token,
        }

    def training_connection_json(self, conn_type: str = "ovhcloud_ai_training", region: str | None = None) -> str:
        """The training connection in Airflow's JSON form, for ``AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT``."""
        return json.dumps(self.training_connection(conn_type, region))

    # ---------------------------------------------------------------------------------- journal

    @property
    def journal(self) -> list[RecordedRequest]:
        return self._journal.records()

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        """Recorded requests whose path equals ``path`` or ends with it (``"/chat/completions"``)."""
        return self._journal.matching(path, method)

    def clear_journal(self) -> None:
        self._journal.clear()

    def reset(self) -> None:
        """Back to a fresh emulator (same socket and token): journal, scripts, faults, knobs, catalog, batches."""
        self._journal.clear()
        self._faults.clear()
        for part in (
            self._gateway,
            self._endpoints,
            self._endpoints_api,
            self._batches,
            self._batches_api,
            self._training,
            self._training_api,
        ):
            part.reset()

    # ---------------------------------------------------------------------------------- AI Endpoints

    def script_chat(
        self,
        content: str | None = None,
        *,
        tool_calls: list[dict[str, Any]] | None = None,
        finish_reason: str | None = None,
        reasoning: str | None = None,
        usage: dict[str, Any] | None = None,
    ) -> None:
        """Queue the answer of the next chat completion (FIFO, streamed or not).

        ``tool_calls`` items are ``{"name": str, "arguments": dict | str}``; ids and types are added.
        """
        self._endpoints.script_chat(scripted_chat(content, tool_calls, finish_reason, reasoning, usage))

    def add_model(self, model_id: str, *, kind: str = "chat", dimensions: int | None = None) -> None:
        """Add a model to the catalog; an embedding model without ``dimensions`` gets 1024."""
        self._endpoints.add_model(model_id, model_entry(kind, dimensions))

    # ---------------------------------------------------------------------------------- faults

    def fail_next(
        self,
        count: int = 1,
        status: int = 503,
        *,
        path: str | None = None,
        retry_after: str | int | None = None,
        message: str | None = None,
        body: str | bytes | None = None,
        content_type: str | None = None,
    ) -> None:
        """Answer the next ``count`` matching requests with ``status``.

        The default body is an OpenAI-style error; ``body`` replaces it verbatim (plain text or
        another JSON shape) so clients can be tested against every error shape.
        """
        self._faults.add_failure(Fault(count, path, status, retry_after, message, body, content_type))

    def drop_next(self, count: int = 1, *, path: str | None = None) -> None:
        """Read the next ``count`` matching requests, then close the socket without any answer."""
        self._faults.add_drop(Fault(count, path))

    def cut_next_stream(self, after_chunks: int = 2) -> None:
        """End the next streamed chat answer cleanly after ``after_chunks`` events, without ``[DONE]``."""
        self._faults.add_stream_fault(StreamFault("cut", after_chunks))

    def error_next_stream(
        self,
        after_chunks: int = 2,
        message: str = "Internal error during generation",
        code: int | str = 500,
    ) -> None:
        """After ``after_chunks`` events of the next streamed chat answer, send an error event and end."""
        self._faults.add_stream_fault(StreamFault("error", after_chunks, message, code))

    def random_faults(
        self,
        rate: float,
        *,
        statuses: tuple[int, ...] = (429, 503),
        drop: bool = True,
        retry_after: str | int | None = 0,
        path: str | None = None,
        seed: int = 0,
    ) -> None:
        """From now on, fail a random ``rate`` of the (matching) requests; ``rate=0`` stops it.

        Each faulty request gets one of ``statuses`` (429s carry ``Retry-After``) or, with
        ``drop``, a closed connection, chosen by a seeded generator so a soak test is repeatable.
        Explicit ``fail_next``/``drop_next`` faults take precedence.
        """
        self._faults.set_chaos(chaos(rate, statuses, drop, retry_after, path, seed))

    def clear_faults(self) -> None:
        """Forget every queued fault (failures, drops, stream faults) and stop random faults."""
        self._faults.clear()

    # ---------------------------------------------------------------------------------- AI Training

    def script_job(
        self,
        *,
        final_state: str = "DONE",
        exit_code: int | None = None,
        info_message: str | None = None,
        stick_in: str | None = None,
        logs: list[str] | None = None,
        name: str | None = None,
    ) -> None:
        """Script how the next submitted job lives and ends (FIFO; one script per job).

        ``final_state`` picks the path (each arrow is one step):

        - ``DONE``: QUEUED → INITIALIZING → PENDING → RUNNING → FINALIZING → DONE (exit code 0)
        - ``FAILED``: … RUNNING → FINALIZING → FAILED (exit code 1 unless ``exit_code``)
        - ``SYNC_FAILED``: … RUNNING → FINALIZING → SYNC_FAILED (exit code 0: the code ran, the output sync failed)
        - ``ERROR``: QUEUED → INITIALIZING → ERROR (exit code 1; it never ran)
        - ``TIMEOUT``: … RUNNING → TIMEOUT → INTERRUPTING → FINALIZING → INTERRUPTED (exit code 143)
        - ``INTERRUPTED``: … RUNNING → INTERRUPTING → FINALIZING → INTERRUPTED (stopped from elsewhere)

        ``exit_code`` and ``info_message`` (``status.info.message``, e.g. "CUDA out of memory") apply
        when the job reaches that scripted ending; a job killed through the API ends INTERRUPTED with
        exit code 143 instead. ``stick_in`` (a non-terminal state on the path, e.g. ``"RUNNING"``) stops
        automatic progress (polls or time) there until the job is killed, finished with
        ``finish_job()``, pushed with ``advance_job()`` or released with ``set_job(id, stick_in=None)``.
        ``logs`` replace the generated log lines. With ``name``, the script waits for the next job whose
        ``spec.name`` equals it; a job takes the first script naming it, else the first unnamed one.
        """
        self._training.add_script(job_script(final_state, exit_code, info_message, stick_in, logs, name))

    def set_job(
        self,
        job_id: str,
        *,
        final_state: str | Unset = UNSET,
        exit_code: int | Unset | None = UNSET,
        info_message: str | Unset | None = UNSET,
        stick_in: str | Unset | None = UNSET,
        logs: list[str] | Unset | None = UNSET,
    ) -> None:
        """Change the script of an existing job; options left out keep their value (``None`` clears one).

        A new ``final_state`` re-routes a moving job: it continues along the new path from its current
        state, or goes straight to the new ending when its state is not on that path (a PENDING job set
        to ``ERROR`` errors at its next step). A killed job stays on its way to INTERRUPTED, and a
        terminal job keeps its state (the new script applies after a restart), but ``logs`` always apply.
        Raises ``KeyError`` for an unknown job and ``ValueError`` for invalid options.
        """
        self._training.set_job(job_id, final_state, exit_code, info_message, stick_in, logs)

    def finish_job(
        self,
        job_id: str,
        state: str = "DONE",
        *,
        exit_code: int | None = None,
        info_message: str | None = None,
    ) -> None:
        """Move a job straight to a terminal state (no intermediate steps); ``ValueError`` if it already ended."""
        self._training.finish_job(job_id, state, exit_code, info_message)

    def advance_job(self, job_id: str, steps: int = 1) -> None:
        """Move a job ``steps`` steps along its path now, past a ``stick_in`` state too; stops at its end."""
        self._training.advance_job(job_id, steps)

    @property
    def jobs(self) -> dict[str, dict[str, Any]]:
        """Every job as the API would show it (deep copies), by id in submission order; reading never advances."""
        return self._training.jobs()

    def job(self, job_id: str) -> dict[str, Any]:
        """One job as the API would show it (a deep copy); ``KeyError`` if unknown or deleted. Never advances it."""
        return self._training.job(job_id)

    @property
    def submitted_jobs(self) -> int:
        """How many ``POST /v1/job`` succeeded since the emulator was created or reset."""
        return self._training.submitted

    def script_data_sync(self, *, final_state: str = "DONE", info_message: str | None = None) -> None:
        """Script how the next data sync (``POST /v1/job/{id}/datasync``, any job) ends (FIFO).

        A sync goes QUEUED → RUNNING → ``final_state`` (DONE, FAILED, ERROR or INTERRUPTED), one step
        per poll of its job (``GET /v1/job/{id}``) or per ``job_step_seconds``; ``info_message``
        replaces ``status.info.message`` of that ending. A job that leaves RUNNING interrupts its
        unfinished syncs. Syncs are taken only while the job is RUNNING (409 otherwise).
        """
        self._training.add_sync_script(data_sync_script(final_state, info_message))

    def data_syncs(self, job_id: str) -> list[dict[str, Any]]:
        """The job's data syncs as its ``status.dataSync`` shows them (oldest first); ``KeyError`` if unknown."""
        return self._training.data_syncs(job_id)

    # ---------------------------------------------------------------------------------- Batch API

    def fail_batch_items(self, contains: str, *, status_code: int = 500, message: str = "scripted failure") -> None:
        """From now on, a batch request whose ``body`` (as JSON text) contains ``contains`` fails.

        It goes to the batch's error file with ``response.status_code`` = ``status_code`` and an
        OpenAI-style error body carrying ``message`` (code ``scripted_failure``), and counts in
        ``request_counts.failed``. Applies to requests that have not run yet, in any batch; ``reset()`` clears it.
        """
        self._batches.add_rule(item_rule(contains, status_code, message))

    def script_next_batch(
        self,
        final_status: str = "completed",
        *,
        completed_before: int | None = None,
        message: str | None = None,
        stick_in: str | None = None,
    ) -> None:
        """Script how the next created batch ends (FIFO; one script per batch).

        - ``"expired"``: validating → in_progress → expired. The first ``completed_before`` requests
          (default: half) ran and are in the output file; the others are in the error file with
          ``"error": {"code": "batch_expired", ...}`` and count as failed.
        - ``"failed"``: validating → failed, with ``errors.data[0].message`` = ``message``.
        - ``"completed"``: the normal way (useful with ``stick_in``).

        ``stick_in`` (``"validating"``, ``"in_progress"`` or ``"finalizing"``) stops automatic progress
        there until ``advance_batch``/``finish_batch``, or a cancel, moves the batch on.
        """
        self._batches.add_script(batch_script(final_status, completed_before, message, stick_in))

    def advance_batch(self, batch_id: str, steps: int = 1) -> None:
        """Move a batch ``steps`` steps now (past ``stick_in`` too); stops at its end. ``KeyError`` if unknown."""
        self._batches.advance(batch_id, steps)

    def finish_batch(self, batch_id: str) -> None:
        """Run every remaining step of a batch now; ``ValueError`` if it already ended, ``KeyError`` if unknown."""
        self._batches.finish(batch_id)

    def batches(self) -> dict[str, dict[str, Any]]:
        """Every batch as the API shows it (copies), by id in creation order; reading never advances one."""
        return self._batches.batches()

    def batch(self, batch_id: str) -> dict[str, Any]:
        """One batch as the API shows it (a copy); ``KeyError`` if unknown. Never advances it."""
        return self._batches.batch(batch_id)

    def files(self) -> dict[str, dict[str, Any]]:
        """Every stored file's metadata (uploads, output and error files), by id in creation order."""
        return self._batches.files()

    def file_content(self, file_id: str) -> bytes:
        """A stored file's bytes; ``KeyError`` if unknown or deleted."""
        return self._batches.file_bytes(file_id)

    @property
    def created_batches(self) -> int:
        """How many ``POST /v1/batches`` succeeded since the emulator was created or reset."""
        return self._batches.created

    @property
    def uploaded_files(self) -> int:
        """How many ``POST /v1/files`` succeeded since the emulator was created or reset."""
        return self._batches.uploaded
