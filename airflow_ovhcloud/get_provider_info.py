"""What Airflow's providers manager reads about this distribution (entry point ``apache_airflow_provider``).

Kept import-free: the providers manager calls it in every Airflow process.
"""

from __future__ import annotations

from typing import Any

from airflow_ovhcloud import __version__
from airflow_ovhcloud.constants import ENDPOINTS_CONN_TYPE, TRAINING_CONN_TYPE

_ENDPOINTS_FIELDS: dict[str, Any] = {
    "connection-type": ENDPOINTS_CONN_TYPE,
    "hook-class-name": "airflow_ovhcloud.hooks.ai_endpoints.OVHCloudAIEndpointsHook",
    "hook-name": "OVHcloud AI Endpoints",
    "ui-field-behaviour": {
        "hidden-fields": ["login", "schema", "port"],
        "relabeling": {"password": "API key", "host": "Base URL (optional)"},
        "placeholders": {
            "password": "your AI Endpoints API key",
            "host": "https://oai.endpoints.kepler.ai.cloud.ovh.net/v1 (leave empty for OVHcloud)",
        },
    },
    "conn-fields": {
        "timeout": {
            "label": "Request timeout (seconds)",
            "schema": {"type": ["integer", "null"]},
            "description": "Leave empty to use the hook's timeout (60 s); a value here overrides it.",
        },
        "max_retries": {
            "label": "Client retries (429, 5xx, network)",
            "schema": {"type": ["integer", "null"]},
            "description": "Leave empty for 3; 0 disables client retries.",
        },
    },
}

_TRAINING_FIELDS: dict[str, Any] = {
    "connection-type": TRAINING_CONN_TYPE,
    "hook-class-name": "airflow_ovhcloud.hooks.ai_training.OVHCloudAITrainingHook",
    "hook-name": "OVHcloud AI Training",
    "ui-field-behaviour": {
        "hidden-fields": ["schema", "port"],
        "relabeling": {"login": "Region", "password": "AI Training token", "host": "Base URL (optional)"},
        "placeholders": {
            "login": "gra or bhs",
            "password": "an AI Training application token",
            "host": "https://gra.ai.cloud.ovh.net (leave empty to use the region's URL)",
        },
    },
    "conn-fields": {
        "timeout": {
            "label": "Request timeout (seconds)",
            "schema": {"type": ["integer", "null"]},
            "description": "Leave empty to use the hook's timeout (120 s); a value here overrides it.",
        },
        "max_retries": {
            "label": "Client retries (429, 5xx, network)",
            "schema": {"type": ["integer", "null"]},
            "description": "Leave empty for 3; 0 disables client retries.",
        },
    },
}


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-ovhcloud",
        "name": "OVHcloud AI",
        "description": (
            "OVHcloud AI Endpoints (OpenAI-compatible chat, streaming, tools, structured output, "
            "embeddings) and AI Training (jobs) for Apache Airflow, TaskFlow-first, with a local emulator."
        ),
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "OVHcloud AI Endpoints",
                "external-doc-url": "https://endpoints.ai.cloud.ovh.net/",
                "tags": ["ai", "llm"],
            },
            {
                "integration-name": "OVHcloud AI Training",
                "external-doc-url": "https://help.ovhcloud.com/csm/en-public-cloud-ai-training",
                "tags": ["ai", "ml"],
            },
        ],
        "connection-types": [_ENDPOINTS_FIELDS, _TRAINING_FIELDS],
        "hooks": [
            {
                "integration-name": "OVHcloud AI Endpoints",
                "python-modules": ["airflow_ovhcloud.hooks.ai_endpoints"],
            },
            {
                "integration-name": "OVHcloud AI Training",
                "python-modules": ["airflow_ovhcloud.hooks.ai_training"],
            },
        ],
        "operators": [
            {
                "integration-name": "OVHcloud AI Endpoints",
                "python-modules": ["airflow_ovhcloud.operators.ai_endpoints"],
            },
            {
                "integration-name": "OVHcloud AI Training",
                "python-modules": ["airflow_ovhcloud.operators.ai_training"],
            },
        ],
        "triggers": [
            {
                "integration-name": "OVHcloud AI Training",
                "python-modules": ["airflow_ovhcloud.triggers.ai_training"],
            },
        ],
        "task-decorators": [
            {"name": "ovh_chat", "class-name": "airflow_ovhcloud.decorators.chat.ovh_chat_task"},
            {"name": "ovh_embed", "class-name": "airflow_ovhcloud.decorators.embed.ovh_embed_task"},
            {"name": "ovh_training", "class-name": "airflow_ovhcloud.decorators.training.ovh_training_task"},
        ],
        "extra-links": ["airflow_ovhcloud.links.ai_training.OVHCloudAITrainingJobLink"],
    }


def ui_field_behaviour(conn_type: str) -> dict[str, Any]:
    """The form layout in the snake_case shape that hooks' ``get_ui_field_behaviour`` returns."""
    for conn in get_provider_info()["connection-types"]:
        if conn["connection-type"] == conn_type:
            behaviour = conn["ui-field-behaviour"]
            return {
                "hidden_fields": list(behaviour["hidden-fields"]),
                "relabeling": dict(behaviour["relabeling"]),
                "placeholders": dict(behaviour["placeholders"]),
            }
    return {}
