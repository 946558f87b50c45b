"""``EmulatorClient``: the emulator's verbs, from another process, over its control API.

A test that runs in one process while the emulator runs in another (``airflow-ovhcloud emulator``
serving a real Airflow deployment, a container, a CI service) scripts it with the same calls as the
in-process :class:`~airflow_ovhcloud.testing.emulator.OVHCloudAIEmulator`::

    client = EmulatorClient("http://127.0.0.1:8765").wait_until_ready()
    client.script_chat("A short summary.")
    client.fail_next(1, 429, retry_after=1)
    ...  # trigger the DAG in Airflow
    assert client.requests_to("/chat/completions", "POST")[-1].body["model"] == "Meta-Llama-3_3-70B-Instruct"

Standard library only (``urllib``; proxies from the environment are ignored). Journal entries come
back as :class:`~airflow_ovhcloud.testing.emulator.RecordedRequest`; an unknown job raises
``KeyError`` and a bad argument ``ValueError`` or ``TypeError``, as in process.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from airflow_ovhcloud.testing.emulator.control.responses import PREFIX
from airflow_ovhcloud.testing.emulator.journal import RecordedRequest

__all__ = ["EmulatorClient", "EmulatorControlError"]

_RAISED = {"KeyError": KeyError, "ValueError": ValueError, "TypeError": TypeError}
_UNSET: Any = object()


class EmulatorControlError(RuntimeError):
    """The control API answered an error that has no in-process equivalent, or nothing answered."""


class EmulatorClient:
    """The control API of an emulator at ``url`` (the server root, as ``airflow-ovhcloud emulator`` prints it)."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def __repr__(self) -> str:
        return f"<EmulatorClient {self.url}>"

    # ---------------------------------------------------------------------------------- transport

    def _call(
        self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None, *, as_bytes: bool = False
    ) -> Any:
        url = self.url + PREFIX + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                error = json.loads(raw)["error"]
            except (ValueError, KeyError, TypeError):
                raise EmulatorControlError(f"{method} {url}: HTTP {exc.code}: {raw[:500]!r}") from None
            raised = _RAISED.get(str(error.get("type")))
            if raised is not None:
                raise raised(error.get("message")) from None
            raise EmulatorControlError(f"{method} {url}: HTTP {exc.code}: {error.get('message')}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise EmulatorControlError(f"no emulator answers at {self.url} ({reason})") from None
        if as_bytes:
            return raw
        return json.loads(raw) if raw else None

    def wait_until_ready(self, timeout: float = 10.0) -> EmulatorClient:
        """Wait until the emulator answers (it may still be starting); returns self."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.info()
                return self
            except EmulatorControlError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    # ---------------------------------------------------------------------------------- addresses

    def info(self) -> dict[str, Any]:
        """What the server says of itself: its URLs, token, knobs and job count."""
        return dict(self._call("GET", ""))

    @property
    def token(self) -> str:
        return str(self.info()["token"])

    @property
    def endpoints_url(self) -> str:
        return self.url + "/v1"

    @property
    def training_url(self) -> str:
        return self.url

    def endpoints_connection(self, conn_type: str = "ovhcloud_ai_endpoints") -> dict[str, Any]:
        """An Airflow connection (as a dict) pointing at this emulator, as reached from here."""
        return {"conn_type": conn_type, "host": self.endpoints_url, "password": self.token}

    def endpoints_connection_json(self, conn_type: str = "ovhcloud_ai_endpoints") -> str:
        return json.dumps(self.endpoints_connection(conn_type))

    def training_connection(self, conn_type: str = "ovhcloud_ai_training", region: str | None = None) -> dict[str, Any]:
        """An AI Training Airflow connection (as a dict): host ``training_url``, login the region."""
        info = self.info()
        login = info["knobs"].get("training_region", "gra") if region is None else region
        return {"conn_type": conn_type, "host": self.training_url, "login": login, "password": info["token"]}

    def training_connection_json(self, conn_type: str = "ovhcloud_ai_training", region: str | None = None) -> str:
        return json.dumps(self.training_connection(conn_type, region))

    # ---------------------------------------------------------------------------------- journal, knobs

    @property
    def journal(self) -> list[RecordedRequest]:
        """Every request the services received (control calls are not recorded)."""
        return self._records(None)

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        """Recorded requests whose path equals ``path`` or ends with it (``"/chat/completions"``)."""
        return self._records({"path": path, **({"method": method} if method else {})})

    def _records(self, query: dict[str, str] | None) -> list[RecordedRequest]:
        return [RecordedRequest(**entry) for entry in self._call("GET", "/journal", query=query)["requests"]]

    def clear_journal(self) -> None:
        self._call("DELETE", "/journal")

    def reset(self) -> None:
        """Back to the server as it was started: journal, scripts, faults, jobs; knobs to its options."""
        self._call("POST", "/reset")

    def knobs(self) -> dict[str, Any]:
        """Every knob (``latency``, ``require_auth``, ``job_progress``...) and its value."""
        return dict(self._call("GET", "/knobs"))

    def set_knobs(self, **values: Any) -> dict[str, Any]:
        """Set knobs (``set_knobs(latency=0.05, job_progress="time")``); returns every knob's value."""
        return dict(self._call("PATCH", "/knobs", values))

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
        """Queue the answer of the next chat completion (FIFO, streamed or not)."""
        self._call(
            "POST",
            "/chat/script",
            {
                "content": content,
                "tool_calls": tool_calls,
                "finish_reason": finish_reason,
                "reasoning": reasoning,
                "usage": usage,
            },
        )

    def add_model(self, model_id: str, *, kind: str = "chat", dimensions: int | None = None) -> None:
        self._call("POST", "/models", {"model_id": model_id, "kind": kind, "dimensions": dimensions})

    # ---------------------------------------------------------------------------------- faults

    def fail_next(
        self,
        count: int = 1,
        status: int = 503,
        *,
        path: str | None = None,
        retry_after: str | int | None = None,
        message: str | None = None,
        body: str | None = None,
        content_type: str | None = None,
    ) -> None:
        """Answer the next ``count`` matching requests with ``status``."""
        self._call(
            "POST",
            "/faults/fail",
            {
                "count": count,
                "status": status,
                "path": path,
                "retry_after": retry_after,
                "message": message,
                "body": body,
                "content_type": content_type,
            },
        )

    def drop_next(self, count: int = 1, *, path: str | None = None) -> None:
        """Read the next ``count`` matching requests, then close the socket without any answer."""
        self._call("POST", "/faults/drop", {"count": count, "path": path})

    def cut_next_stream(self, after_chunks: int = 2) -> None:
        self._call("POST", "/faults/cut-stream", {"after_chunks": after_chunks})

    def error_next_stream(
        self, after_chunks: int = 2, message: str = "Internal error during generation", code: int | str = 500
    ) -> None:
        self._call("POST", "/faults/error-stream", {"after_chunks": after_chunks, "message": message, "code": code})

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
        """From now on, fail a random ``rate`` of the (matching) requests; ``rate=0`` stops it."""
        self._call(
            "POST",
            "/faults/random",
            {
                "rate": rate,
                "statuses": list(statuses),
                "drop": drop,
                "retry_after": retry_after,
                "path": path,
                "seed": seed,
            },
        )

    def clear_faults(self) -> None:
        """Forget every queued fault and stop random faults."""
        self._call("DELETE", "/faults")

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
        """Script how the next submitted job lives and ends (see ``OVHCloudAIEmulator.script_job``)."""
        self._call(
            "POST",
            "/jobs/script",
            {
                "final_state": final_state,
                "exit_code": exit_code,
                "info_message": info_message,
                "stick_in": stick_in,
                "logs": logs,
                "name": name,
            },
        )

    def set_job(
        self,
        job_id: str,
        *,
        final_state: str = _UNSET,
        exit_code: int | None = _UNSET,
        info_message: str | None = _UNSET,
        stick_in: str | None = _UNSET,
        logs: list[str] | None = _UNSET,
    ) -> dict[str, Any]:
        """Change the script of an existing job (options left out keep their value); returns the job."""
        given = {
            "final_state": final_state,
            "exit_code": exit_code,
            "info_message": info_message,
            "stick_in": stick_in,
            "logs": logs,
        }
        return dict(self._call("PATCH", f"/jobs/{_quote(job_id)}", {k: v for k, v in given.items() if v is not _UNSET}))

    def finish_job(
        self, job_id: str, state: str = "DONE", *, exit_code: int | None = None, info_message: str | None = None
    ) -> dict[str, Any]:
        """Move a job straight to a terminal state; returns the job."""
        body = {"state": state, "exit_code": exit_code, "info_message": info_message}
        return dict(self._call("POST", f"/jobs/{_quote(job_id)}/finish", body))

    def advance_job(self, job_id: str, steps: int = 1) -> dict[str, Any]:
        """Move a job ``steps`` steps along its path now (past ``stick_in`` too); returns the job."""
        return dict(self._call("POST", f"/jobs/{_quote(job_id)}/advance", {"steps": steps}))

    @property
    def jobs(self) -> dict[str, dict[str, Any]]:
        """Every job as the API would show it, by id in submission order; reading never advances."""
        return dict(self._call("GET", "/jobs")["jobs"])

    def job(self, job_id: str) -> dict[str, Any]:
        """One job as the API would show it; ``KeyError`` if unknown. Never advances it."""
        return dict(self._call("GET", f"/jobs/{_quote(job_id)}"))

    @property
    def submitted_jobs(self) -> int:
        return int(self._call("GET", "/jobs")["submitted_jobs"])

    def script_data_sync(self, *, final_state: str = "DONE", info_message: str | None = None) -> None:
        """Script how the next data sync ends (FIFO): DONE, FAILED, ERROR or INTERRUPTED."""
        self._call("POST", "/data-syncs/script", {"final_state": final_state, "info_message": info_message})

    def data_syncs(self, job_id: str) -> list[dict[str, Any]]:
        """The job's data syncs as its ``status.dataSync`` shows them; ``KeyError`` if the job is unknown."""
        return list(self._call("GET", f"/jobs/{_quote(job_id)}/data-syncs")["data_syncs"])

    # ---------------------------------------------------------------------------------- Batch API

    def fail_batch_items(self, contains: str, *, status_code: int = 500, message: str = "scripted failure") -> None:
        """From now on, a batch request whose body contains ``contains`` fails (see the emulator's method)."""
        self._call(
            "POST", "/batches/fail-items", {"contains": contains, "status_code": status_code, "message": message}
        )

    def script_next_batch(
        self,
        final_status: str = "completed",
        *,
        completed_before: int | None = None,
        message: str | None = None,
        stick_in: str | None = None,
    ) -> None:
        """Script how the next created batch ends (see ``OVHCloudAIEmulator.script_next_batch``)."""
        body = {
            "final_status": final_status,
            "completed_before": completed_before,
            "message": message,
            "stick_in": stick_in,
        }
        self._call("POST", "/batches/script", body)

    def advance_batch(self, batch_id: str, steps: int = 1) -> dict[str, Any]:
        """Move a batch ``steps`` steps now (past ``stick_in`` too); returns the batch."""
        return dict(self._call("POST", f"/batches/{_quote(batch_id)}/advance", {"steps": steps}))

    def finish_batch(self, batch_id: str) -> dict[str, Any]:
        """Run every remaining step of a batch now; returns the batch."""
        return dict(self._call("POST", f"/batches/{_quote(batch_id)}/finish"))

    def batches(self) -> dict[str, dict[str, Any]]:
        """Every batch as the API shows it, by id in creation order; reading never advances one."""
        return dict(self._call("GET", "/batches")["batches"])

    def batch(self, batch_id: str) -> dict[str, Any]:
        """One batch as the API shows it; ``KeyError`` if unknown. Never advances it."""
        return dict(self._call("GET", f"/batches/{_quote(batch_id)}"))

    def files(self) -> dict[str, dict[str, Any]]:
        """Every stored file's metadata, by id in creation order."""
        return dict(self._call("GET", "/files")["files"])

    def file_content(self, file_id: str) -> bytes:
        """A stored file's bytes; ``KeyError`` if unknown or deleted."""
        return bytes(self._call("GET", f"/files/{_quote(file_id)}/content", as_bytes=True))

    @property
    def created_batches(self) -> int:
        return int(self._call("GET", "/batches")["created_batches"])

    @property
    def uploaded_files(self) -> int:
        return int(self._call("GET", "/files")["uploaded_files"])


def _quote(job_id: str) -> str:
    return urllib.parse.quote(job_id, safe="")
