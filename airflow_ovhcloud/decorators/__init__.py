"""TaskFlow decorators, also reachable as ``@task.ovh_chat``, ``@task.ovh_embed``, ``@task.ovh_training``...

Import the typed factories from here when you want your type checker to know their arguments.
"""

from __future__ import annotations

from airflow_ovhcloud.decorators.batch import ovh_batch_task
from airflow_ovhcloud.decorators.chat import ovh_chat_task
from airflow_ovhcloud.decorators.embed import ovh_embed_task
from airflow_ovhcloud.decorators.training import ovh_training_task

__all__ = ["ovh_batch_task", "ovh_chat_task", "ovh_embed_task", "ovh_training_task"]
