"""The "AI Training job" button on a task: opens the job's page."""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import BaseOperatorLink

#: XCom key under which operators store the URL of the job they worked on.
JOB_URL_XCOM_KEY = "ovh_job_url"
CONTROL_PANEL_URL = "https://www.ovh.com/manager/#/public-cloud/pci/projects"


def job_url(job: Any) -> str:
    """The most useful page for a job: its monitoring dashboard, its URL, else the control panel."""
    status = job.get("status") if isinstance(job, dict) else None
    if isinstance(status, dict):
        for key in ("monitoringUrl", "url", "infoUrl"):
            if status.get(key):
                return str(status[key])
    return CONTROL_PANEL_URL


class OVHCloudAITrainingJobLink(BaseOperatorLink):
    """Links a task to the AI Training job it submitted, waited for or inspected."""

    name = "AI Training job"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        from airflow.providers.common.compat.sdk import XCom  # the webserver pays, not DAG parsing

        url = XCom.get_value(ti_key=ti_key, key=JOB_URL_XCOM_KEY)
        return str(url) if url else ""
