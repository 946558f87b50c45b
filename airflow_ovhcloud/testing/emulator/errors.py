"""Service errors, and how each service shapes an error on the wire.

Backends and request handlers raise a :class:`ServiceError` (a bad request, an unknown resource, a
conflict); the HTTP layer turns it into a reply in the error shape of the route's service. A shape is
a plain function, so a new service brings its own: AI Endpoints answers OpenAI-style
(``{"error": {"message", "type", "code"}}``), AI Training answers ``{"message": ...}``.
"""

from __future__ import annotations

import http
from collections.abc import Callable
from typing import Any

#: ``shape(status, message, code, type_)`` → the JSON body of an error reply.
ErrorShape = Callable[[int, str, str | None, str | None], Any]


class ServiceError(Exception):
    """A request the service refuses; ``status`` is the class's, ``code`` a machine-readable reason."""

    status = 400

    def __init__(self, message: str, code: str, type_: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.type = type_


class InvalidRequest(ServiceError):
    """The request is malformed or breaks a rule of the service (400)."""

    status = 400


class NotFound(ServiceError):
    """The request names a model or a job the service does not know (404)."""

    status = 404


class Conflict(ServiceError):
    """The resource is in a state that forbids the operation (409)."""

    status = 409


def openai_kind(status: int) -> tuple[str, str]:
    """OpenAI-style (type, code) for a status, so injected failures look like real ones."""
    if status == 401:
        return "authentication_error", "invalid_api_key"
    if status == 403:
        return "permission_error", "permission_denied"
    if status == 429:
        return "rate_limit_error", "rate_limit_exceeded"
    try:
        code = http.HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        code = f"http_{status}"
    return ("server_error" if status >= 500 else "invalid_request_error"), code


def openai_error(status: int, message: str, code: str | None = None, type_: str | None = None) -> Any:
    """AI Endpoints (and any OpenAI-compatible route): ``{"error": {"message", "type", "code"}}``."""
    default_type, default_code = openai_kind(status)
    return {"error": {"message": message, "type": type_ or default_type, "code": code or default_code}}


def ovh_error(status: int, message: str, code: str | None = None, type_: str | None = None) -> Any:
    """AI Training (the OVHcloud API style): ``{"message": ...}``."""
    return {"message": message}
