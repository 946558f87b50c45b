"""The two hooks, also importable from here as OVHcloud's own provider exported them.

Resolved lazily (module ``__getattr__``): importing this package imports neither hook nor ``requests``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_ovhcloud.hooks.ai_endpoints import OVHCloudAIEndpointsHook
    from airflow_ovhcloud.hooks.ai_training import OVHCloudAITrainingHook

_MODULE_OF = {"OVHCloudAIEndpointsHook": "ai_endpoints", "OVHCloudAITrainingHook": "ai_training"}

__all__ = ["OVHCloudAIEndpointsHook", "OVHCloudAITrainingHook"]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
