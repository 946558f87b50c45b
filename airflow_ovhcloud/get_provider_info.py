"""What Airflow's providers manager reads about this distribution (entry point ``apache_airflow_provider``).

Kept import-free: the providers manager calls it in every Airflow process.
"""

from __future__ import annotations

from typing import Any

from airflow_ovhcloud import __version__
from airflow_ovhcloud.constants import ENDPOINTS_CONN_TYPE, TRAINING_CONN_TYPE

#: Where the documentation lives. There is no published site yet: the docs are the Markdown pages of
#: the repository, which the source host renders. pyproject.toml's ``[project.urls]`` says the same
#: (Airflow 3.3 links the providers page to its ``Documentation`` entry, and without one to a page
#: of airflow.apache.org that does not exist); a test keeps the two equal.
SOURCE_URL = "https://github.com/airflow-ovhcloud/airflow-ovhcloud"
DOCUMENTATION_URL = f"{SOURCE_URL}/tree/main/docs"

#: Shown, not hidden: Airflow 3.3's Test button sends ``port: 0`` for a connection stored without a
#: port and then refuses the test ("The host or port to test differs from the stored connection").
#: A stored port (443, HTTPS's) makes the Test button work; the hook uses it only when the base URL
#: names no port.
_PORT_LABEL = "Port (443; the Test button needs it)"
_PORT_PLACEHOLDER = "443"


def _conn_fields(hook_timeout: int, *, rate_limit: bool) -> dict[str, Any]:
    """The connection extras the form shows. No field has a default: an empty field saves nothing."""
    fields: dict[str, Any] = {
        "timeout": {
            "label": "Request timeout (seconds)",
            "schema": {"type": ["integer", "null"]},
            "description": f"Leave empty to use the hook's timeout ({hook_timeout} s); a value here overrides it.",
        },
        "max_retries": {
            "label": "Client retries (429, 5xx, network)",
            "schema": {"type": ["integer", "null"]},
            "description": "Leave empty for 3; 0 disables client retries.",
        },
        "backoff_factor": {
            "label": "Retry backoff factor (seconds)",
            "schema": {"type": ["number", "null"]},
            "description": "Leave empty for 1: the n-th retry waits factor * 2^(n-1) s plus up to factor s of jitter.",
        },
        "stream_timeout": {
            "label": "Streamed answer timeout (seconds)",
            "schema": {"type": ["number", "null"]},
            "description": "Leave empty for 600: how long a streamed answer may take from start to end.",
        },
    }
    if rate_limit:
        fields["requests_per_minute"] = {
            "label": "Requests per minute per model (many-call tasks)",
            "schema": {"type": ["integer", "null"]},
            "description": "Leave empty for no limit; an operator or decorator argument wins over it.",
        }
    return fields


_ENDPOINTS_FIELDS: dict[str, Any] = {
    "connection-type": ENDPOINTS_CONN_TYPE,
    "hook-class-name": "airflow_ovhcloud.hooks.ai_endpoints.OVHCloudAIEndpointsHook",
    "hook-name": "OVHcloud AI Endpoints",
    "ui-field-behaviour": {
        "hidden-fields": ["login", "schema"],
        "relabeling": {"password": "API key", "host": "Base URL (optional)", "port": _PORT_LABEL},
        "placeholders": {
            "password": "your AI Endpoints API key (leave empty for anonymous, rate-limited calls)",
            "host": "https://oai.endpoints.kepler.ai.cloud.ovh.net/v1 (leave empty for OVHcloud)",
            "port": _PORT_PLACEHOLDER,
        },
    },
    "conn-fields": _conn_fields(60, rate_limit=True),
}

_TRAINING_FIELDS: dict[str, Any] = {
    "connection-type": TRAINING_CONN_TYPE,
    "hook-class-name": "airflow_ovhcloud.hooks.ai_training.OVHCloudAITrainingHook",
    "hook-name": "OVHcloud AI Training",
    "ui-field-behaviour": {
        "hidden-fields": ["schema"],
        "relabeling": {
            "login": "Region",
            "password": "AI Training token",
            "host": "Base URL (optional)",
            "port": _PORT_LABEL,
        },
        "placeholders": {
            "login": "gra or bhs",
            "password": "an AI Training application token",
            "host": "https://gra.ai.cloud.ovh.net (leave empty to use the region's URL)",
            "port": _PORT_PLACEHOLDER,
        },
    },
    "conn-fields": _conn_fields(120, rate_limit=False),
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
        "documentation-url": DOCUMENTATION_URL,
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
                "python-modules": [
                    "airflow_ovhcloud.operators.ai_endpoints",
                    "airflow_ovhcloud.operators.ai_endpoints_batch",
                ],
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
            {
                "integration-name": "OVHcloud AI Endpoints",
                "python-modules": ["airflow_ovhcloud.triggers.ai_endpoints_batch"],
            },
        ],
        "task-decorators": [
            {"name": "ovh_chat", "class-name": "airflow_ovhcloud.decorators.chat.ovh_chat_task"},
            {"name": "ovh_embed", "class-name": "airflow_ovhcloud.decorators.embed.ovh_embed_task"},
            {"name": "ovh_training", "class-name": "airflow_ovhcloud.decorators.training.ovh_training_task"},
            {"name": "ovh_batch", "class-name": "airflow_ovhcloud.decorators.batch.ovh_batch_task"},
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
