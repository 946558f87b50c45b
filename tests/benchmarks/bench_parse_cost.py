"""Figure 1, parse cost: what importing our operators and decorators adds to parsing a DAG file.

Measured in fresh interpreters after ``from airflow.sdk import dag, task`` (the first line of a
TaskFlow DAG file), median of N. Baseline in the same run: ``import requests`` after the same line.
"""

from __future__ import annotations

import argparse
from typing import Any

from _common import median, report, time_in_fresh_process

OURS = (
    "import airflow_ovhcloud.operators.ai_endpoints, airflow_ovhcloud.operators.ai_training, "
    "airflow_ovhcloud.decorators.chat, airflow_ovhcloud.decorators.embed, airflow_ovhcloud.decorators.training"
)
GOAL_MS = 5.0
SETUP = "from airflow.sdk import dag, task\ntask.python  # resolves the TaskFlow machinery, as any @task use does"


def run(quick: bool) -> dict[str, Any]:
    runs = 5 if quick else 21
    ours = median(time_in_fresh_process(SETUP, OURS, runs))
    requests_ms = median(time_in_fresh_process(SETUP, "import requests", runs))
    return report(
        "1. Parse cost (imports after airflow.sdk and @task, median of fresh processes)",
        {
            "runs": runs,
            "airflow_ovhcloud operators + decorators (ms)": ours,
            "baseline: import requests (ms)": requests_ms,
            "ratio ours / requests": ours / requests_ms,
        },
        f"<= {GOAL_MS} ms",
        ours <= GOAL_MS,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    run(parser.parse_args().quick)
