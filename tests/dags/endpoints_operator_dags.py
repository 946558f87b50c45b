"""DAGs the operator tests run with dag.test() against the emulator."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG
from pydantic import BaseModel

from airflow_ovhcloud.operators.ai_endpoints import (
    OVHCloudAIEndpointsChatCompletionsOperator,
    OVHCloudAIEndpointsEmbeddingOperator,
)

START = pendulum.datetime(2024, 1, 1, tz="UTC")

with DAG("test_endpoints_operators", start_date=START, schedule=None, catchup=False) as ok_dag:
    OVHCloudAIEndpointsChatCompletionsOperator(
        task_id="chat",
        model="{{ params.model }}",
        messages=[{"role": "user", "content": "Report for {{ ds }}"}],
        max_tokens=100,
        params={"model": "Meta-Llama-3_3-70B-Instruct"},
    )
    OVHCloudAIEndpointsChatCompletionsOperator(
        task_id="chat_streamed_json",
        model="Meta-Llama-3_3-70B-Instruct",
        messages=[{"role": "user", "content": "Give me JSON"}],
        stream=True,
        response_format={
            "type": "json_schema",
            "json_schema": {
                "name": "answer",
                "schema": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}, "score": {"type": "integer", "minimum": 3}},
                    "required": ["city", "score"],
                },
            },
        },
    )
    OVHCloudAIEndpointsEmbeddingOperator(
        task_id="embed",
        model="BGE-M3",
        input=["first {{ ds }}", "second"],
    )

with DAG("test_endpoints_operator_unknown_model", start_date=START, schedule=None, catchup=False) as bad_dag:
    OVHCloudAIEndpointsChatCompletionsOperator(
        task_id="chat",
        model="No-Such-Model",
        messages=[{"role": "user", "content": "hello"}],
        retries=2,
        retry_delay=timedelta(seconds=0),
    )

with DAG("test_endpoints_operator_overloaded", start_date=START, schedule=None, catchup=False) as busy_dag:
    OVHCloudAIEndpointsChatCompletionsOperator(
        task_id="chat",
        model="Meta-Llama-3_3-70B-Instruct",
        messages=[{"role": "user", "content": "hello"}],
        retries=1,
        retry_delay=timedelta(seconds=0),
    )


class Verdict(BaseModel):
    """A pydantic model the classic operator turns into a json_schema response_format."""

    label: str
    confidence: float


with DAG("test_endpoints_operator_answers", start_date=START, schedule=None, catchup=False) as answers_dag:
    OVHCloudAIEndpointsChatCompletionsOperator(
        task_id="structured",
        model="Meta-Llama-3_3-70B-Instruct",
        messages=[{"role": "user", "content": "Classify: great product"}],
        system_prompt="You classify reviews.",
        response_format=Verdict,
        returns="answer",
    )
    OVHCloudAIEndpointsChatCompletionsOperator(
        task_id="text",
        model="Meta-Llama-3_3-70B-Instruct",
        messages=[{"role": "system", "content": "Own system."}, {"role": "user", "content": "Hi"}],
        system_prompt="Ignored: the messages have one.",
        returns="answer",
    )
    OVHCloudAIEndpointsChatCompletionsOperator(
        task_id="full",
        model="Meta-Llama-3_3-70B-Instruct",
        messages=[{"role": "user", "content": "Hello"}],
        temperature=None,
        response_format=Verdict,
    )
    OVHCloudAIEndpointsEmbeddingOperator(
        task_id="embed_many",
        model="BGE-M3",
        input=[f"text {i}" for i in range(150)],
    )
