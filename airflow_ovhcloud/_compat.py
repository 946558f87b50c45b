"""What ``airflow.providers.common.compat`` does not give on every supported setup.

Python 3.10 stops at common-compat 1.20, which predates ``ResumableJobMixin`` and the
``mask_secret`` and ``redact`` exports; these fall back to the same behaviour (a mixin that resubmits, as below
Airflow 3.3, and the SDK's own masker).
"""

from __future__ import annotations

from typing import Any

try:
    from airflow.providers.common.compat.sdk import ResumableJobMixin
except ImportError:  # common-compat < 1.21 (the last for Python 3.10): no task state store to resume from

    class ResumableJobMixin:  # type: ignore[no-redef]
        """Stand-in: every try submits (our job labels still find an earlier try's job)."""

        external_id_key: str = "remote_job_id"

        def execute_resumable(self, context: Any) -> Any:
            external_id = self.submit_job(context)  # type: ignore[attr-defined]
            self.poll_until_complete(external_id, context)  # type: ignore[attr-defined]
            return self.get_job_result(external_id, context)  # type: ignore[attr-defined]


def mask_secret(secret: str) -> None:
    """Register a secret with Airflow's masker, wherever this Airflow keeps it."""
    try:
        from airflow.providers.common.compat.sdk import mask_secret as mask
    except ImportError:  # common-compat < 1.21; the task SDK of every Airflow 3.1+ has it here
        from airflow.sdk.log import mask_secret as sdk_mask

        sdk_mask(secret)
        return
    mask(secret)


def redact(value: Any) -> Any:
    """``value`` with every secret Airflow's masker knows replaced by ``***`` (as rendered fields are)."""
    try:
        from airflow.providers.common.compat.sdk import redact as masker_redact
    except ImportError:  # common-compat < 1.21: the task SDK's own masker
        try:
            from airflow.sdk.log import redact as masker_redact
        except ImportError:
            from airflow.sdk.execution_time.secrets_masker import redact as masker_redact  # type: ignore[no-redef]
    return masker_redact(value)


__all__ = ["ResumableJobMixin", "mask_secret", "redact"]
