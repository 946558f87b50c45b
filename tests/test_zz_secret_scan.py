"""Runs last: scans what the whole suite's DAG runs left behind for the token and job env secrets.

Every DAG run of the suite used a recognisable API token and recognisable job environment values;
none may appear in an XCom, a rendered template field, a trigger event, a task log file, or
anything the tests printed (task logs, exception texts and tracebacks included).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import AIRFLOW_HOME, ENV_SECRETS, LEFTOVER_OUTPUT, SECRET_TOKEN


def test_no_secret_in_xcoms_rendered_fields_trigger_events_logs_or_output(airflow_db: Path) -> None:
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        xcoms = [json.dumps(row.value, default=str) for row in session.scalars(select(XComModel))]
        rendered = [
            json.dumps(row.rendered_fields, default=str) for row in session.scalars(select(RenderedTaskInstanceFields))
        ]
    logs = [p.read_text(errors="replace") for p in (AIRFLOW_HOME / "logs").rglob("*") if p.is_file()]
    haystacks = {"xcom": xcoms, "rendered fields": rendered, "log files": logs, "test output": LEFTOVER_OUTPUT}

    assert len(xcoms) > 50 and len(rendered) > 20 and len(LEFTOVER_OUTPUT) > 100  # the suite really ran DAGs
    assert any("***" in r for r in rendered)  # env values were there, and masked
    for secret in (SECRET_TOKEN, *ENV_SECRETS):
        for where, texts in haystacks.items():
            leaks = [t for t in texts if secret in t]
            assert not leaks, f"{secret!r} leaked into {where}: {leaks[0][:300]!r}"
