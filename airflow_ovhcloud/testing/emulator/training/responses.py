"""AI Training on the wire: ``/v1/job...`` requests in, jobs as JSON (or plain-text logs) out.

Routes: submit and list (``/v1/job``), get and delete (``/v1/job/{job_id}``), ``kill``, ``start``,
``datasync``, ``label`` and ``log``. Errors answer ``{"message": ...}``, on unknown paths under ``/v1/job`` too.
Handlers parse query strings and bodies, call the
:class:`~airflow_ovhcloud.testing.emulator.training.backend.TrainingBackend`, and shape its answer;
``job_list_style`` (a paged object or a bare list) only changes the wire, so it lives here.

Listing as the generated client documents it: ``updatedAfter``/``updatedBefore`` are Unix
timestamps (integer seconds), ``sort`` a field path (``createdAt``, ``name``, ``status.state``...)
with ``order=asc|desc``, and a page's ``metadata`` is ``{"currentPage", "pageCount", "total",
"links"}`` (``links.next`` when there is a next page).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, cast
from urllib.parse import urlencode

from airflow_ovhcloud.testing.emulator.errors import InvalidRequest, ovh_error
from airflow_ovhcloud.testing.emulator.training.backend import JOB_STATES, JobQuery, TrainingBackend, is_sort_path
from airflow_ovhcloud.testing.emulator.training.jobspec import bad_spec
from airflow_ovhcloud.testing.emulator.wire import Call, Reply, json_reply, no_content, text_reply

if TYPE_CHECKING:
    from airflow_ovhcloud.testing.emulator.routing import Router


def _parse_timestamp(text: str, what: str) -> float:
    """A Unix timestamp in whole seconds, as the generated client sends it (an ISO date is refused)."""
    try:
        return float(int(text.strip()))
    except ValueError:
        raise InvalidRequest(
            f"{what} must be a Unix timestamp in seconds (an integer), not {text!r}", "invalid_query"
        ) from None


def _query_int(call: Call, name: str, default: int | None, minimum: int) -> int | None:
    values = call.query.get(name)
    if not values:
        return default
    try:
        value = int(values[-1])
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise InvalidRequest(f"query parameter {name} must be an integer >= {minimum}", "invalid_query")
    return value


def _job_query(call: Call) -> JobQuery:
    query = call.query
    page = cast("int", _query_int(call, "page", 1, 1))
    size = cast("int", _query_int(call, "size", 100, 1))
    states = {s.strip() for value in query.get("statusState", []) for s in value.split(",") if s.strip()}
    unknown = sorted(states - set(JOB_STATES))
    if unknown:
        raise InvalidRequest(f"statusState: unknown state {unknown[0]}", "invalid_query")
    selectors: list[tuple[str, str]] = []
    for value in query.get("labelSelector", []):
        for part in value.split(","):
            if not part.strip():
                continue
            key, sep, wanted = part.partition("=")
            if not sep or not key.strip():
                raise InvalidRequest(f"labelSelector: expected key=value, got {part!r}", "invalid_query")
            selectors.append((key.strip(), wanted.strip()))
    order = (query.get("order") or ["desc"])[-1].lower()
    if order not in ("asc", "desc"):
        raise InvalidRequest(f"order must be asc or desc, not {order!r}", "invalid_query")
    sort = (query.get("sort") or ["createdAt"])[-1].strip()
    if not is_sort_path(sort):
        raise InvalidRequest(
            f"sort must be a job field path such as createdAt, updatedAt, name or status.state, not {sort!r}",
            "invalid_query",
        )
    after = _parse_timestamp(query["updatedAfter"][-1], "updatedAfter") if query.get("updatedAfter") else None
    before = _parse_timestamp(query["updatedBefore"][-1], "updatedBefore") if query.get("updatedBefore") else None
    return JobQuery(frozenset(states), tuple(selectors), after, before, sort, order == "desc", page, size)


class TrainingResponses:
    """The AI Training handlers; ``job_list_style`` may change at any time and ``reset()`` restores it."""

    def __init__(self, backend: TrainingBackend) -> None:
        self.backend = backend
        self.reset()

    def reset(self) -> None:
        #: ``"paged"``: ``{"items": [...], "metadata": {...}}``; ``"bare"``: the list alone.
        self.job_list_style: str = "paged"

    def register(self, router: Router) -> None:
        router.claim("/v1/job", ovh_error)
        for template, method, handler in (
            ("/v1/job", "POST", self.submit),
            ("/v1/job", "GET", self.list_jobs),
            ("/v1/job/{job_id}", "GET", self.get),
            ("/v1/job/{job_id}", "DELETE", self.delete),
            ("/v1/job/{job_id}/kill", "PUT", self.kill),
            ("/v1/job/{job_id}/start", "PUT", self.start),
            ("/v1/job/{job_id}/datasync", "POST", self.data_sync),
            ("/v1/job/{job_id}/label", "PUT", self.label),
            ("/v1/job/{job_id}/log", "GET", self.log),
        ):
            router.add(template, method, handler, errors=ovh_error)

    def submit(self, call: Call) -> Reply:
        return json_reply(self.backend.submit(call.body))

    def get(self, call: Call) -> Reply:
        return json_reply(self.backend.poll(call.params["job_id"]))

    def list_jobs(self, call: Call) -> Reply:
        query = _job_query(call)
        items, total = self.backend.list_jobs(query)
        if self.job_list_style == "bare":
            return json_reply(items)
        pages = math.ceil(total / query.size)
        links: dict[str, str] = {}
        if query.page < pages:
            following = [(k, v) for k, values in call.query.items() if k != "page" for v in values]
            links["next"] = f"{call.record.path}?{urlencode([*following, ('page', query.page + 1)])}"
        metadata = {"currentPage": query.page, "pageCount": pages, "total": total, "links": links}
        return json_reply({"items": items, "metadata": metadata})

    def kill(self, call: Call) -> Reply:
        self.backend.kill(call.params["job_id"])
        return no_content()

    def delete(self, call: Call) -> Reply:
        force = (call.query.get("force") or ["false"])[-1].strip().lower() in ("true", "1")
        self.backend.delete(call.params["job_id"], force)
        return no_content()

    def start(self, call: Call) -> Reply:
        self.backend.restart(call.params["job_id"])
        return no_content()

    def data_sync(self, call: Call) -> Reply:
        """``{"direction": "push" | "pull", "volume"?, "manual"?}`` on a RUNNING job → the DataSync object."""
        return json_reply(self.backend.data_sync(call.params["job_id"], call.body))

    def label(self, call: Call) -> Reply:
        """``{"name", "value"}`` sets a label; without ``value`` (or ``null``) the label is deleted."""
        body = call.body
        if not isinstance(body, dict) or "name" not in body:
            raise bad_spec('The request body must be {"name": str, "value"?: str} (no value deletes the label)')
        self.backend.label(call.params["job_id"], body["name"], body.get("value"))
        return no_content()

    def log(self, call: Call) -> Reply:
        tail = _query_int(call, "tail", None, 0)
        page = cast("int", _query_int(call, "page", 1, 1))
        size = _query_int(call, "size", None, 1)
        lines = self.backend.log_lines(call.params["job_id"])
        if tail is not None:
            lines = lines[len(lines) - tail :] if tail else []
        if size is not None:
            lines = lines[(page - 1) * size : page * size]
        return text_reply("".join(line + "\n" for line in lines))
