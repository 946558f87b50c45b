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


def env_secrets(env_vars: Any) -> list[str]:
    """Every string in ``env_vars`` that may be a secret, valid shape or not (``"NAME=value"`` items too)."""
    found: list[str] = []
    if isinstance(env_vars, Mapping):
        items: Any = env_vars.values()
    elif isinstance(env_vars, (list, tuple)):
        items = env_vars
    else:
        items = [env_vars]
    for item in items:
        if isinstance(item, Mapping):
            item = item.get("value")
        if isinstance(item, str) and item:
            found.append(item)
            if "=" in item:
                found.append(item.split("=", 1)[1])
    return [value for value in found if value]


def redact_env_vars(env_vars: Any) -> Any:
    """``env_vars`` as it may be shown (rendered fields, XCom): names kept, every value ``***``."""
    if env_vars is None:
        return None
    if isinstance(env_vars, Mapping):
        return {str(name): REDACTED for name in env_vars}
    if isinstance(env_vars, (list, tuple)):
        return [
            {**item, "value": REDACTED} if isinstance(item, Mapping) and "value" in item else REDACTED
            for item in env_vars
        ]
    return REDACTED
