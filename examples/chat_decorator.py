"""``@task.ovh_chat``: one prompt per document, mapped, with structured output for a report.

The decorated function returns the prompt; the task returns the model's answer (text, or the
parsed and validated JSON when ``response_format`` is a pydantic model).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task
from pydantic import BaseModel

MODEL = "Meta-Llama-3_3-70B-Instruct"


class Triage(BaseModel):
    """What the model must answer for each ticket."""

    category: str
    urgent: bool
    summary: str


@dag(
    dag_id="ovhcloud_chat_decorator",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule=None,
    catchup=False,
    tags=["ovhcloud", "example"],
)
def chat_decorator() -> None:
    @task
    def tickets() -> list[str]:
        return [
            "The nightly export failed with a timeout again.",
            "Please add dark mode to the dashboard.",
        ]

    @task.ovh_chat(model=MODEL, system_prompt="You triage support tickets.", response_format=Triage, temperature=0)
    def triage(ticket: str) -> str:
        return f"Triage this ticket: {ticket}"

    @task.ovh_chat(model=MODEL, max_tokens=300)
    def weekly_report(triaged: list[dict]) -> list[dict[str, str]]:
        lines = "\n".join(f"- [{t['category']}] {t['summary']}" for t in triaged)
        return [{"role": "user", "content": f"Write a two-sentence weekly report from:\n{lines}"}]

    weekly_report(triage.expand(ticket=tickets()))


chat_decorator()
