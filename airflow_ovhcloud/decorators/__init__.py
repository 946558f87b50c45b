"""TaskFlow decorators, also reachable as ``@task.ovh_chat``, ``@task.ovh_embed``, ``@task.ovh_training``...

Import the typed factories from here when you want your type checker to know their arguments.
Resolved lazily (module ``__getattr__``): Airflow imports ``airflow_ovhcloud.decorators.chat`` for
``@task.ovh_chat``, which runs this file first, so a DAG file using one decorator must not pay for
the modules of the others.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_ovhcloud.decorators.batch import ovh_batch_task
    from airflow_ovhcloud.decorators.chat import ovh_chat_task
    from airflow_ovhcloud.decorators.embed import ovh_embed_task
    from airflow_ovhcloud.decorators.training import ovh_training_task

_MODULE_OF = {
    "ovh_batch_task": "batch",
    "ovh_chat_task": "chat",
    "ovh_embed_task": "embed",
    "ovh_training_task": "training",
}

__all__ = ["ovh_batch_task", "ovh_chat_task", "ovh_embed_task", "ovh_training_task"]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
