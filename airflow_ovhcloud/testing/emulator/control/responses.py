"""The control API on the wire: routes under ``/_emulator`` that call the emulator's own verbs.

No backend of its own: each route reads a JSON object and calls the method of the same name on
:class:`~airflow_ovhcloud.testing.emulator.OVHCloudAIEmulator` with it as keyword arguments, so the
HTTP verbs and the in-process ones cannot drift apart. The routes are registered on the same router
as the services but :meth:`~airflow_ovhcloud.testing.emulator.routing.Router.reserve` puts them
behind no gate: they are not journaled and meet no latency, fault, size limit, token or rate limit.

Errors answer ``{"error": {"message", "type", "code"}}`` where ``type`` names the Python exception the
in-process call raised (``KeyError`` for an unknown job, ``ValueError`` or ``TypeError`` for a bad
argument), so :class:`~airflow_ovhcloud.testing.emulator.control.client.EmulatorClient` raises the same.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import TYPE_CHECKING, Any

from airflow_ovhcloud.testing.emulator.errors import InvalidRequest, NotFound, openai_error
from airflow_ovhcloud.testing.emulator.wire import Call, Handler, Reply, json_reply, no_content

if TYPE_CHECKING:
    from airflow_ovhcloud.testing.emulator.facade import OVHCloudAIEmulator
    from airflow_ovhcloud.testing.emulator.routing import Router

#: Where the control API lives; no OVHcloud path starts with it.
PREFIX = "/_emulator"

#: ``(method, path under PREFIX, what it does)``: the route table, also printed in the docs.
ROUTES: tuple[tuple[str, str, str], ...] = (
    ("GET", "", "addresses, token, knobs, job count"),
    ("GET", "/journal", "recorded requests (``?path=&method=`` filter as ``requests_to``)"),
    ("DELETE", "/journal", "``clear_journal()``"),
    ("POST", "/reset", "``reset()``, then the options the server was started with"),
    ("GET", "/knobs", "every knob and its value"),
    ("PATCH", "/knobs", "set knobs: ``{name: value}``"),
    ("POST", "/chat/script", "``script_chat(**body)``"),
    ("POST", "/models", "``add_model(**body)``"),
    ("POST", "/faults/fail", "``fail_next(**body)``"),
    ("POST", "/faults/drop", "``drop_next(**body)``"),
    ("POST", "/faults/cut-stream", "``cut_next_stream(**body)``"),
    ("POST", "/faults/error-stream", "``error_next_stream(**body)``"),
    ("POST", "/faults/random", "``random_faults(**body)``"),
    ("DELETE", "/faults", "``clear_faults()``"),
    ("POST", "/jobs/script", "``script_job(**body)``"),
    ("GET", "/jobs", "``jobs`` and ``submitted_jobs``"),
    ("GET", "/jobs/{job_id}", "``job(job_id)``"),
    ("PATCH", "/jobs/{job_id}", "``set_job(job_id, **body)``; answers the job"),
    ("POST", "/jobs/{job_id}/advance", "``advance_job(job_id, **body)``; answers the job"),
    ("POST", "/jobs/{job_id}/finish", "``finish_job(job_id, **body)``; answers the job"),
    ("POST", "/data-syncs/script", "``script_data_sync(**body)``"),
    ("GET", "/jobs/{job_id}/data-syncs", "``data_syncs(job_id)``"),
    ("POST", "/batches/script", "``script_next_batch(**body)``"),
    ("POST", "/batches/fail-items", "``fail_batch_items(**body)``"),
    ("GET", "/batches", "``batches()`` and ``created_batches``"),
    ("GET", "/batches/{batch_id}", "``batch(batch_id)``"),
    ("POST", "/batches/{batch_id}/advance", "``advance_batch(batch_id, **body)``; answers the batch"),
    ("POST", "/batches/{batch_id}/finish", "``finish_batch(batch_id)``; answers the batch"),
    ("GET", "/files", "``files()`` and ``uploaded_files``"),
    ("GET", "/files/{file_id}/content", "``file_content(file_id)``: the file's bytes"),
)


def _guarded(handler: Handler) -> Handler:
    """The in-process exceptions as replies: ``KeyError`` → 404, ``ValueError``/``TypeError`` → 400."""

    @functools.wraps(handler)
    def run(call: Call) -> Reply:
        try:
            return handler(call)
        except KeyError as exc:
            message = str(exc.args[0]) if exc.args else "not found"
            raise NotFound(message, "not_found", "KeyError") from None
        except (ValueError, TypeError) as exc:
            raise InvalidRequest(str(exc), "invalid_argument", type(exc).__name__) from None

    return run


def _kwargs(call: Call) -> dict[str, Any]:
    body = call.body
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise TypeError("the request body must be a JSON object of keyword arguments")
    return body


def knob_types(emulator_type: type) -> dict[str, Any]:
    """Every knob of the emulator class, by name, with its declared value type (``object`` if unknown).

    Knobs are the class's ``_Knob`` descriptors, so a knob added to the facade is settable here at once.
    """
    from airflow_ovhcloud.testing.emulator.facade import _Knob

    found: dict[str, Any] = {}
    for klass in reversed(emulator_type.__mro__):
        for name, attr in vars(klass).items():
            if isinstance(attr, _Knob):
                orig = getattr(attr, "__orig_class__", None)
                found[name] = typing.get_args(orig)[0] if orig is not None else object
    return found


def _accepts(declared: Any, value: Any) -> bool:
    options = typing.get_args(declared) if isinstance(declared, types.UnionType) else (declared,)
    for option in options:
        if option is object or (option is type(None) and value is None):
            return True
        if option is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
        if isinstance(option, type) and isinstance(value, option) and not (option is int and isinstance(value, bool)):
            return True
    return False


class ControlResponses:
    """The control routes of one emulator; ``baseline`` holds knobs a control reset re-applies."""

    def __init__(self, emulator: OVHCloudAIEmulator) -> None:
        self.emulator = emulator
        #: Knobs applied again after ``POST /_emulator/reset``: the command line's options, so that a
        #: test resetting a standalone server gets back the server it started, not the class defaults.
        self.baseline: dict[str, Any] = {}

    def register(self, router: Router) -> None:
        router.reserve(PREFIX)
        router.claim(PREFIX, openai_error)
        handlers: dict[tuple[str, str], Handler] = {
            ("GET", ""): self.info,
            ("GET", "/journal"): self.journal,
            ("DELETE", "/journal"): self.clear_journal,
            ("POST", "/reset"): self.reset,
            ("GET", "/knobs"): self.knobs,
            ("PATCH", "/knobs"): self.set_knobs,
            ("POST", "/chat/script"): self._verb("script_chat"),
            ("POST", "/models"): self._verb("add_model"),
            ("POST", "/faults/fail"): self._verb("fail_next"),
            ("POST", "/faults/drop"): self._verb("drop_next"),
            ("POST", "/faults/cut-stream"): self._verb("cut_next_stream"),
            ("POST", "/faults/error-stream"): self._verb("error_next_stream"),
            ("POST", "/faults/random"): self.random_faults,
            ("DELETE", "/faults"): self._verb("clear_faults"),
            ("POST", "/jobs/script"): self._verb("script_job"),
            ("GET", "/jobs"): self.jobs,
            ("GET", "/jobs/{job_id}"): self.job,
            ("PATCH", "/jobs/{job_id}"): self._job_verb("set_job"),
            ("POST", "/jobs/{job_id}/advance"): self._job_verb("advance_job"),
            ("POST", "/jobs/{job_id}/finish"): self._job_verb("finish_job"),
            ("POST", "/data-syncs/script"): self._verb("script_data_sync"),
            ("GET", "/jobs/{job_id}/data-syncs"): self.data_syncs,
            ("POST", "/batches/script"): self._verb("script_next_batch"),
            ("POST", "/batches/fail-items"): self._verb("fail_batch_items"),
            ("GET", "/batches"): self.batches,
            ("GET", "/batches/{batch_id}"): self.batch,
            ("POST", "/batches/{batch_id}/advance"): self._batch_verb("advance_batch"),
            ("POST", "/batches/{batch_id}/finish"): self._batch_verb("finish_batch"),
            ("GET", "/files"): self.files,
            ("GET", "/files/{file_id}/content"): self.file_content,
        }
        assert set(handlers) == {(method, path) for method, path, _ in ROUTES}
        for (method, path), handler in handlers.items():
            router.add(PREFIX + path, method, _guarded(handler), errors=openai_error)

    # ---------------------------------------------------------------------------------- generic verbs

    def _verb(self, name: str) -> Handler:
        def run(call: Call) -> Reply:
            getattr(self.emulator, name)(**_kwargs(call))
            return no_content()

        return run

    def _job_verb(self, name: str) -> Handler:
        def run(call: Call) -> Reply:
            job_id = call.params["job_id"]
            getattr(self.emulator, name)(job_id, **_kwargs(call))
            return json_reply(self.emulator.job(job_id))

        return run

    def _batch_verb(self, name: str) -> Handler:
        def run(call: Call) -> Reply:
            batch_id = call.params["batch_id"]
            getattr(self.emulator, name)(batch_id, **_kwargs(call))
            return json_reply(self.emulator.batch(batch_id))

        return run

    # ---------------------------------------------------------------------------------- the rest

    def info(self, call: Call) -> Reply:
        emulator = self.emulator
        return json_reply(
            {
                "url": emulator.url,
                "endpoints_url": emulator.endpoints_url,
                "training_url": emulator.training_url,
                "control_url": emulator.url + PREFIX,
                "token": emulator.token,
                "knobs": self._knob_values(),
                "submitted_jobs": emulator.submitted_jobs,
                "created_batches": emulator.created_batches,
                "uploaded_files": emulator.uploaded_files,
            }
        )

    def journal(self, call: Call) -> Reply:
        path = (call.query.get("path") or [""])[-1]
        method = (call.query.get("method") or [""])[-1] or None
        records = self.emulator.requests_to(path, method) if path else self.emulator.journal
        if method and not path:
            records = [r for r in records if r.method.upper() == method.upper()]
        return json_reply({"requests": [dataclasses.asdict(record) for record in records]})

    def clear_journal(self, call: Call) -> Reply:
        self.emulator.clear_journal()
        return no_content()

    def reset(self, call: Call) -> Reply:
        self.emulator.reset()
        for name, value in self.baseline.items():
            setattr(self.emulator, name, value)
        return no_content()

    def _knob_values(self) -> dict[str, Any]:
        return {name: getattr(self.emulator, name) for name in knob_types(type(self.emulator))}

    def knobs(self, call: Call) -> Reply:
        return json_reply(self._knob_values())

    def set_knobs(self, call: Call) -> Reply:
        changes = _kwargs(call)
        declared = knob_types(type(self.emulator))
        for name, value in changes.items():
            if name not in declared:
                raise ValueError(f"unknown knob {name!r}; knobs: {', '.join(sorted(declared))}")
            if not _accepts(declared[name], value):
                raise TypeError(f"knob {name} takes {declared[name]}, not {value!r}")
        for name, value in changes.items():
            setattr(self.emulator, name, value)
        return json_reply(self._knob_values())

    def random_faults(self, call: Call) -> Reply:
        kwargs = _kwargs(call)
        if isinstance(kwargs.get("statuses"), list):
            kwargs["statuses"] = tuple(kwargs["statuses"])
        self.emulator.random_faults(**kwargs)
        return no_content()

    def jobs(self, call: Call) -> Reply:
        return json_reply({"jobs": self.emulator.jobs, "submitted_jobs": self.emulator.submitted_jobs})

    def job(self, call: Call) -> Reply:
        return json_reply(self.emulator.job(call.params["job_id"]))

    def data_syncs(self, call: Call) -> Reply:
        return json_reply({"data_syncs": self.emulator.data_syncs(call.params["job_id"])})

    def batches(self, call: Call) -> Reply:
        return json_reply({"batches": self.emulator.batches(), "created_batches": self.emulator.created_batches})

    def batch(self, call: Call) -> Reply:
        return json_reply(self.emulator.batch(call.params["batch_id"]))

    def files(self, call: Call) -> Reply:
        return json_reply({"files": self.emulator.files(), "uploaded_files": self.emulator.uploaded_files})

    def file_content(self, call: Call) -> Reply:
        return Reply(200, self.emulator.file_content(call.params["file_id"]), "application/octet-stream")
