"""Keeping job secrets out of what the provider returns: XCom values and trigger events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: What a redacted value is replaced with, the same marker Airflow's own masker uses.
REDACTED = "***"


def redact_job(job: Any) -> Any:
    """A copy of a job whose ``spec.envVars`` values are replaced by ``***`` (names kept): XCom-safe."""
    if not isinstance(job, Mapping):
        return job
    redacted = dict(job)
    spec = job.get("spec")
    if isinstance(spec, Mapping) and isinstance(spec.get("envVars"), list):
        redacted["spec"] = {
            **spec,
            "envVars": [{**env, "value": REDACTED} if isinstance(env, Mapping) else env for env in spec["envVars"]],
        }
    return redacted
