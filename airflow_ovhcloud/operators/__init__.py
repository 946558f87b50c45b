"""The classic operators, also importable from here as OVHcloud's own provider exported them.

Resolved lazily (module ``__getattr__``): importing this package imports no operator module, no
hook and no ``requests``, so a DAG file pays only for the operators it uses.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_ovhcloud.operators.ai_endpoints import (
        OVHCloudAIEndpointsChatCompletionsOperator,
        OVHCloudAIEndpointsEmbeddingOperator,
    )
    from airflow_ovhcloud.operators.ai_endpoints_batch import OVHCloudAIEndpointsBatchOperator
    from airflow_ovhcloud.operators.ai_training import (
        OVHCloudAITrainingDataSyncOperator,
        OVHCloudAITrainingDeleteJobOperator,
        OVHCloudAITrainingGetJobOperator,
        OVHCloudAITrainingGetLogsOperator,
        OVHCloudAITrainingRestartJobOperator,
        OVHCloudAITrainingStopJobOperator,
        OVHCloudAITrainingSubmitJobOperator,
        OVHCloudAITrainingWaitForJobOperator,
    )

_MODULE_OF = {
    "OVHCloudAIEndpointsBatchOperator": "ai_endpoints_batch",
    "OVHCloudAIEndpointsChatCompletionsOperator": "ai_endpoints",
    "OVHCloudAIEndpointsEmbeddingOperator": "ai_endpoints",
    "OVHCloudAITrainingSubmitJobOperator": "ai_training",
    "OVHCloudAITrainingGetJobOperator": "ai_training",
    "OVHCloudAITrainingStopJobOperator": "ai_training",
    "OVHCloudAITrainingDeleteJobOperator": "ai_training",
    "OVHCloudAITrainingGetLogsOperator": "ai_training",
    "OVHCloudAITrainingWaitForJobOperator": "ai_training",
    "OVHCloudAITrainingDataSyncOperator": "ai_training",
    "OVHCloudAITrainingRestartJobOperator": "ai_training",
}

__all__ = [
    "OVHCloudAIEndpointsBatchOperator",
    "OVHCloudAIEndpointsChatCompletionsOperator",
    "OVHCloudAIEndpointsEmbeddingOperator",
    "OVHCloudAITrainingDataSyncOperator",
    "OVHCloudAITrainingDeleteJobOperator",
    "OVHCloudAITrainingGetJobOperator",
    "OVHCloudAITrainingGetLogsOperator",
    "OVHCloudAITrainingRestartJobOperator",
    "OVHCloudAITrainingStopJobOperator",
    "OVHCloudAITrainingSubmitJobOperator",
    "OVHCloudAITrainingWaitForJobOperator",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
