"""The error types every layer of airflow-ovhcloud raises.

Two families matter to Airflow: errors a retry may fix (rate limits, 5xx, network) subclass
:class:`OVHCloudAIError` only, so the task's ``retries`` apply; errors a retry cannot fix (bad
input, bad token, unknown model) also subclass ``AirflowFailException``, so the task fails at
once instead of burning its retries on the same mistake.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

__all__ = [
    "PERMANENT_STATUSES",
    "OVHCloudAIClientError",
    "OVHCloudAIConfigurationError",
    "OVHCloudAIDataSyncFailedError",
    "OVHCloudAIError",
    "OVHCloudAIInvalidArgumentError",
    "OVHCloudAIInvalidInputError",
    "OVHCloudAIJobFailedError",
    "OVHCloudAIJobTimeoutError",
    "OVHCloudAIPermanentError",
    "OVHCloudAIRequestError",
    "OVHCloudAIStreamError",
]

#: HTTP statuses that no retry can fix: the request itself or its credentials are wrong.
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 413, 422})


class OVHCloudAIError(AirflowException):
    """Base of every error raised by this provider; retryable by Airflow unless a subclass says not."""

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        service_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.service_message = service_message


class OVHCloudAIPermanentError(OVHCloudAIError, AirflowFailException):
    """An error a retry cannot fix: Airflow fails the task without using its retries."""


class OVHCloudAIRequestError(OVHCloudAIError):
    """A request that failed after the HTTP client's own retries (429, 5xx, network errors)."""


class OVHCloudAIClientError(OVHCloudAIRequestError, OVHCloudAIPermanentError):
    """The service refused the request (400/401/403/404/413/422): fix the request or the connection."""


class OVHCloudAIConfigurationError(OVHCloudAIPermanentError):
    """The Airflow connection or the hook arguments are unusable (no token, bad region...)."""


class OVHCloudAIInvalidInputError(OVHCloudAIPermanentError, ValueError):
    """Arguments rejected before any request is sent."""


class OVHCloudAIInvalidArgumentError(OVHCloudAIInvalidInputError, TypeError):
    """An operator or decorator argument refused when the DAG is parsed (the operator is built).

    Also a ``TypeError``, which is what Python raises for a bad argument and what 0.2 raised here.
    """


class OVHCloudAIStreamError(OVHCloudAIRequestError):
    """A streamed answer broke off or carried an error; a retry may succeed."""


class OVHCloudAIJobFailedError(OVHCloudAIError):
    """The job reached a failure state; Airflow may retry the task (which reattaches or resubmits)."""

    def __init__(self, message: str, *, job: Any = None, state: str | None = None) -> None:
        super().__init__(message)
        self.job = job
        self.state = state


class OVHCloudAIJobTimeoutError(OVHCloudAIError):
    """Waiting for the job took longer than allowed; the job itself may still be running."""


class OVHCloudAIDataSyncFailedError(OVHCloudAIError):
    """A data sync of a job ended FAILED, ERROR or INTERRUPTED; a task retry starts a new sync."""

    def __init__(self, message: str, *, data_sync: Any = None, state: str | None = None) -> None:
        super().__init__(message)
        self.data_sync = data_sync
        self.state = state
