"""``@task.ovh_training``: a hyper-parameter sweep, one AI Training job per mapped task instance."""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task


@dag(
    dag_id="ovhcloud_training_decorator",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule=None,
    catchup=False,
    tags=["ovhcloud", "example"],
)
def training_decorator() -> None:
    @task.ovh_training(region="gra", image="pytorch/pytorch:latest", flavor="ai1-1-gpu", gpu=1, deferrable=True)
    def train(lr: float) -> dict:
        return {"name": f"sweep-lr-{lr}", "command": ["python", "train.py", f"--lr={lr}"]}

    @task
    def best(jobs: list[dict]) -> str:
        """Every job finished: pick one (read your metrics store here)."""
        # jobs[:] reads the mapped results in one request (iterating reads them one by one).
        return sorted(job["spec"]["name"] for job in jobs[:])[0]

    best(train.expand(lr=[1e-4, 3e-4, 1e-3]))


training_decorator()
