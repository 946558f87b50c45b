"""AI Endpoints' Files and Batch API on the wire: multipart uploads, OpenAI-style files and batches.

Routes (under the AI Endpoints prefix, like ``/v1/chat/completions``): ``POST/GET /v1/files``,
``GET/DELETE /v1/files/{file_id}``, ``GET /v1/files/{file_id}/content``, ``POST/GET /v1/batches``,
``GET /v1/batches/{batch_id}`` and ``POST /v1/batches/{batch_id}/cancel``. Unlike chat and
embeddings they refuse calls without a key (401, saying so), as the real service does.

Uploads are ``multipart/form-data`` (``purpose=batch``, ``file=@requests.jsonl``), parsed here with
the standard library in one pass over the body; the journal keeps the form's text fields and the
file's name and size, not its bytes (they are kept once, in the file store). An upload may be as
large as ``file_size_limit`` (200 MB), far above the 2 MB of other requests.
"""

from __future__ import annotations

import email.message
import email.parser
import email.utils
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_ovhcloud.testing.emulator.endpoints.batches import BatchBackend
from airflow_ovhcloud.testing.emulator.errors import InvalidRequest, openai_error
from airflow_ovhcloud.testing.emulator.wire import Call, Reply, json_reply

if TYPE_CHECKING:
    from airflow_ovhcloud.testing.emulator.routing import Router

#: Said in the 401 a call without a key gets on these routes.
KEY_REASON = "the Files and Batch APIs refuse anonymous calls (chat and embeddings do not)."
#: Room for the multipart framing around an upload's file (boundaries, part headers, ``purpose``).
_FORM_OVERHEAD = 64 * 1024
_DEFAULT_LIST_LIMIT, _MAX_LIST_LIMIT = 20, 100
_MAX_FILE_LIST_LIMIT = 10_000


@dataclass(frozen=True)
class FormFile:
    """A file part of a multipart form."""

    filename: str
    content_type: str
    data: bytes


def parse_multipart(body: bytes, content_type: str) -> dict[str, str | FormFile]:
    """The fields of a ``multipart/form-data`` body (RFC 7578); ``ValueError`` when it is not one.

    One pass with ``bytes.find`` (a 30 MB upload parses in milliseconds); part headers are read by
    :mod:`email`'s header parser. A file part's bytes are kept exactly, line endings included.
    """
    header = email.message.Message()
    header["Content-Type"] = content_type
    if header.get_content_type() != "multipart/form-data":
        raise ValueError(f"the body must be multipart/form-data, not {content_type or 'unspecified'!r}")
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise ValueError("the multipart/form-data Content-Type has no boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    position = body.find(delimiter)
    if position < 0:
        raise ValueError("the body does not contain the multipart boundary")
    fields: dict[str, str | FormFile] = {}
    parser = email.parser.HeaderParser()
    while True:
        position += len(delimiter)
        if body.startswith(b"--", position):
            return fields
        line_end = body.find(b"\r\n", position)
        if line_end < 0:
            raise ValueError("the multipart body ends inside a part")
        start = line_end + 2
        end = body.find(b"\r\n" + delimiter, start)
        if end < 0:
            raise ValueError("the multipart body has no closing boundary")
        headers_end = body.find(b"\r\n\r\n", start - 2, end)
        if headers_end < 0:
            raise ValueError("a multipart part has no blank line after its headers")
        # Browsers and HTTP clients send non-ASCII file names as raw UTF-8 (the HTML form rule).
        part = parser.parsestr(body[start : headers_end + 4].decode("utf-8", errors="replace"))
        name = part.get_param("name", header="content-disposition")
        if name is None:
            raise ValueError("a multipart part has no name in its Content-Disposition")
        name = email.utils.collapse_rfc2231_value(name)
        data = body[headers_end + 4 : end]
        filename = part.get_param("filename", header="content-disposition")
        if filename is not None:
            fields[name] = FormFile(
                email.utils.collapse_rfc2231_value(filename),
                part.get_content_type() if part.get("Content-Type") else "application/octet-stream",
                data,
            )
        else:
            fields[name] = data.decode("utf-8", errors="replace")
        position = end + 2


def decode_form(body: bytes, content_type: str) -> tuple[Any, Any]:
    """For the journal: text fields as they are, files as ``{"filename", "content_type", "bytes"}``;
    for the handler: the parsed form, or the ``ValueError`` saying why it is not one."""
    try:
        form = parse_multipart(body, content_type)
    except ValueError as exc:
        return {"invalid_form": str(exc), "bytes": len(body)}, exc
    summary = {
        name: value
        if isinstance(value, str)
        else {"filename": value.filename, "content_type": value.content_type, "bytes": len(value.data)}
        for name, value in form.items()
    }
    return summary, form


def _query_str(call: Call, name: str) -> str | None:
    values = call.query.get(name)
    return values[-1] if values and values[-1] else None


def _query_int(call: Call, name: str, default: int, maximum: int) -> int:
    values = call.query.get(name)
    if not values:
        return default
    try:
        value = int(values[-1])
    except ValueError:
        value = 0
    if not 1 <= value <= maximum:
        raise InvalidRequest(f"'{name}' must be an integer from 1 to {maximum}", "invalid_query")
    return value


class BatchResponses:
    """The Files and Batch API handlers over a :class:`BatchBackend`."""

    def __init__(self, backend: BatchBackend) -> None:
        self.backend = backend

    def reset(self) -> None:
        """Nothing of its own: the knobs live on the backend."""

    def register(self, router: Router) -> None:
        def upload_limit() -> int:
            return int(self.backend.file_size_limit) + _FORM_OVERHEAD

        common: dict[str, Any] = {"errors": openai_error, "key_reason": KEY_REASON}
        router.add("/v1/files", "POST", self.upload, max_body=upload_limit, decoder=decode_form, **common)
        for template, method, handler in (
            ("/v1/files", "GET", self.list_files),
            ("/v1/files/{file_id}", "GET", self.get_file),
            ("/v1/files/{file_id}", "DELETE", self.delete_file),
            ("/v1/files/{file_id}/content", "GET", self.file_content),
            ("/v1/batches", "POST", self.create),
            ("/v1/batches", "GET", self.list_batches),
            ("/v1/batches/{batch_id}", "GET", self.get),
            ("/v1/batches/{batch_id}/cancel", "POST", self.cancel),
        ):
            router.add(template, method, handler, **common)

    # ---------------------------------------------------------------------------------- files

    def upload(self, call: Call) -> Reply:
        form = call.payload
        if isinstance(form, ValueError):
            raise InvalidRequest(f"Upload a file as multipart/form-data: {form}", "invalid_form")
        if not isinstance(form, dict):
            raise InvalidRequest(
                "Upload a file as multipart/form-data (purpose=batch, file=@requests.jsonl)", "invalid_form"
            )
        purpose = form.get("purpose")
        if not isinstance(purpose, str):
            raise InvalidRequest("The form needs a 'purpose' field ('batch')", "missing_purpose")
        upload = form.get("file")
        if not isinstance(upload, FormFile):
            raise InvalidRequest("The form needs a 'file' part with a filename", "missing_file")
        return json_reply(self.backend.upload(upload.filename or "upload.jsonl", purpose, upload.data))

    def list_files(self, call: Call) -> Reply:
        purpose = _query_str(call, "purpose")
        order = (call.query.get("order") or ["desc"])[-1]
        if order not in ("asc", "desc"):
            raise InvalidRequest(f"'order' must be asc or desc, not {order!r}", "invalid_query")
        limit = _query_int(call, "limit", _MAX_FILE_LIST_LIMIT, _MAX_FILE_LIST_LIMIT)
        files = self.backend.list_files(purpose, order == "desc")
        after = _query_str(call, "after")
        if after:
            position = next((i for i, f in enumerate(files) if f["id"] == after), None)
            if position is None:
                raise InvalidRequest(f"'after': no file {after!r}", "invalid_after")
            files = files[position + 1 :]
        page = files[:limit]
        return json_reply(_page(page, len(files) > limit))

    def get_file(self, call: Call) -> Reply:
        return json_reply(self.backend.get_file(call.params["file_id"]))

    def delete_file(self, call: Call) -> Reply:
        return json_reply(self.backend.delete_file(call.params["file_id"]))

    def file_content(self, call: Call) -> Reply:
        return Reply(200, self.backend.file_content(call.params["file_id"]), "application/octet-stream")

    # ---------------------------------------------------------------------------------- batches

    def create(self, call: Call) -> Reply:
        return json_reply(self.backend.create(call.body))

    def get(self, call: Call) -> Reply:
        return json_reply(self.backend.poll(call.params["batch_id"]))

    def list_batches(self, call: Call) -> Reply:
        limit = _query_int(call, "limit", _DEFAULT_LIST_LIMIT, _MAX_LIST_LIMIT)
        after = _query_str(call, "after")
        page, has_more = self.backend.list_batches(limit, after)
        return json_reply(_page(page, has_more))

    def cancel(self, call: Call) -> Reply:
        return json_reply(self.backend.cancel(call.params["batch_id"]))


def _page(items: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {
        "object": "list",
        "data": items,
        "first_id": items[0]["id"] if items else None,
        "last_id": items[-1]["id"] if items else None,
        "has_more": has_more,
    }
