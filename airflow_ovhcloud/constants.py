"""Names shared by every layer, defined once: default connection ids and connection types."""

from __future__ import annotations

#: The connection every AI Endpoints hook, operator and decorator uses unless told otherwise.
ENDPOINTS_CONN_ID = "ovh_ai_endpoints_default"
#: The connection every AI Training hook, operator, trigger and decorator uses unless told otherwise.
TRAINING_CONN_ID = "ovh_ai_training_default"
ENDPOINTS_CONN_TYPE = "ovhcloud_ai_endpoints"
TRAINING_CONN_TYPE = "ovhcloud_ai_training"
#: The environment variables Airflow reads for the two default connections (``AIRFLOW_CONN_<ID>``).
ENDPOINTS_CONN_ENV = f"AIRFLOW_CONN_{ENDPOINTS_CONN_ID.upper()}"
TRAINING_CONN_ENV = f"AIRFLOW_CONN_{TRAINING_CONN_ID.upper()}"
#: Embedding inputs per request unless told otherwise: small enough for every OVHcloud embedding model seen.
EMBEDDING_BATCH_SIZE = 64
#: Embedding requests in flight at once unless told otherwise: well under the 400 requests/minute rate limit.
EMBEDDING_MAX_CONCURRENCY = 4
#: Chat calls in flight at once in a many-prompt task unless told otherwise.
MANY_MAX_CONCURRENCY = 16
#: What OVHcloud AI Endpoints allows calls without an API key: requests per minute, per IP and model.
ANONYMOUS_REQUESTS_PER_MINUTE = 2
#: The small chat model the connection Test button sends its 1-token completion to, when the service lists it.
TEST_CHAT_MODEL = "Llama-3.1-8B-Instruct"
