"""``airflow-ovhcloud demo``: run the flagship example DAG end to end, on the emulator or on OVHcloud.

It prepares a throw-away ``AIRFLOW_HOME`` (migrated SQLite database, dags folder holding the
example), starts the embedded emulator and points the connections at it, runs the DAG with
``dag.test()``, and prints one line per finished task and a summary. Airflow's own logging is
turned down to warnings so the progress stays readable. The throw-away home is removed at the
end (a home given with ``--airflow-home`` is kept).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import warnings
from contextlib import ExitStack
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from airflow_ovhcloud.constants import (
    ENDPOINTS_CONN_ENV,
    ENDPOINTS_CONN_TYPE,
    TRAINING_CONN_ENV,
    TRAINING_CONN_TYPE,
)

DEMO_DAG_FILE = "flagship.py"
DEMO_DAG_ID = "ovhcloud_flagship"
ENDPOINTS_TOKEN_ENV = "OVH_AI_ENDPOINTS_ACCESS_TOKEN"
TRAINING_TOKEN_ENV = "OVH_AI_TRAINING_TOKEN"
#: Warnings from what ``dag.test()`` uses inside, not from the user's DAG: the demo does not show them.
#: Starlette >= 1 warns that its test client (which ``dag.test()`` runs Airflow's execution API with)
#: prefers ``httpx2`` when only ``httpx`` is installed, as in a fresh ``pip install``.
DEMO_QUIET_WARNINGS = (r"Using `httpx` with `starlette\.testclient` is deprecated",)


def quiet_internal_warnings() -> None:
    """Ignore the warnings of :data:`DEMO_QUIET_WARNINGS`, and deprecations, in this process (the demo's own).

    Deprecation warnings come from inside Airflow and its libraries (Airflow 3.1 warns about its own
    imports, older Starlette about anyio), never from what the demo shows: they are not shown.
    """
    for message in DEMO_QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=message)
    for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", category=category)


def _preview(value: Any, width: int = 100) -> str:
    """Show what a person wants from a result: the answer's text, the vectors' shape, else JSON."""
    if isinstance(value, dict) and value.get("object") == "chat.completion" and value.get("choices"):
        message = value["choices"][0].get("message") or {}
        value = message.get("content") or message.get("tool_calls") or message
    elif isinstance(value, dict) and isinstance(value.get("status"), dict) and value.get("spec"):
        status = value["status"]
        value = f"job {value.get('id')} {status.get('state')} (exit code {status.get('exitCode')})"
    elif isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        value = f"{len(value)} vectors of {len(value[0])} dimensions"
    elif isinstance(value, dict) and value.get("object") == "list" and isinstance(value.get("data"), list):
        vectors = [item.get("embedding") or [] for item in value["data"] if isinstance(item, dict)]
        value = f"{len(vectors)} vectors of {len(vectors[0]) if vectors else 0} dimensions"
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _live_connections(out: TextIO) -> bool:
    """Use the user's connections, or build them from the token env vars; say what is missing."""
    missing = []
    for conn_env, token_env, conn_type in (
        (ENDPOINTS_CONN_ENV, ENDPOINTS_TOKEN_ENV, ENDPOINTS_CONN_TYPE),
        (TRAINING_CONN_ENV, TRAINING_TOKEN_ENV, TRAINING_CONN_TYPE),
    ):
        if os.environ.get(conn_env):
            continue
        token = os.environ.get(token_env)
        if token:
            conn: dict[str, Any] = {"conn_type": conn_type, "password": token}
            if conn_type == TRAINING_CONN_TYPE:
                conn["login"] = os.environ.get("OVH_AI_TRAINING_REGION", "gra")
            os.environ[conn_env] = json.dumps(conn)
        else:
            missing.append(f"{token_env} (or {conn_env})")
    if missing:
        print(
            "demo --live needs OVHcloud credentials; set " + " and ".join(missing) + ". The AI Training "
            "region defaults to gra (OVH_AI_TRAINING_REGION=bhs to change it).",
            file=out,
        )
        return False
    return True


def _progress_callbacks(dag: Any, out: TextIO) -> None:
    """Print one line as each task finishes, instead of Airflow's log flood."""

    def report(context: Any) -> None:
        ti = context["ti"]
        index = f"[{ti.map_index}]" if getattr(ti, "map_index", -1) >= 0 else ""
        state = "failed" if context.get("exception") else "success"
        print(f"  {state:<8} {ti.task_id}{index}", file=out, flush=True)

    for task in dag.tasks:
        task.on_success_callback = [*(task.on_success_callback or []), report]
        task.on_failure_callback = [*(task.on_failure_callback or []), report]


def run_demo(*, live: bool = False, airflow_home: str | None = None, out: TextIO | None = None) -> int:
    """Run the demo DAG; return 0 when every task succeeded."""
    out = out or sys.stdout
    if live and not _live_connections(out):
        return 2
    started = time.monotonic()
    quiet_internal_warnings()
    if airflow_home:
        return _run_in(Path(airflow_home), live, out, started, temporary=False)
    home = Path(tempfile.mkdtemp(prefix="airflow-ovhcloud-demo-"))
    try:
        return _run_in(home, live, out, started, temporary=True)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _run_in(home: Path, live: bool, out: TextIO, started: float, *, temporary: bool) -> int:
    """Run the demo DAG with ``home`` as ``AIRFLOW_HOME``."""
    dags = home / "dags"
    dags.mkdir(parents=True, exist_ok=True)
    source = resources.files("airflow_ovhcloud.examples") / DEMO_DAG_FILE
    with resources.as_file(source) as path:
        shutil.copyfile(path, dags / DEMO_DAG_FILE)
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    # A task reading a mapped task's results logs a harmless "XCom not found" at the end of the list.
    os.environ.setdefault("AIRFLOW__LOGGING__NAMESPACE_LEVELS", "airflow.sdk.api.client=CRITICAL")

    from airflow_ovhcloud.testing.dagrun import fast_polling, load_dag, prepare_airflow_home, run_dag

    kept = " (temporary: removed at the end; --airflow-home DIR keeps one)" if temporary else ""
    print(f"airflow-ovhcloud demo: AIRFLOW_HOME={home}{kept}", file=out, flush=True)
    prepare_airflow_home(home, dags)
    import airflow.settings  # noqa: F401  (configures Airflow, which installs warning filters of its own)

    quiet_internal_warnings()  # again, now in front of Airflow's
    with ExitStack() as stack:
        if live:
            print("Running against OVHcloud (live): this submits a real, billed AI Training job.", file=out, flush=True)
        else:
            from airflow_ovhcloud.testing.emulator import OVHCloudAIEmulator

            emulator = stack.enter_context(OVHCloudAIEmulator())
            os.environ[ENDPOINTS_CONN_ENV] = emulator.endpoints_connection_json()
            os.environ[TRAINING_CONN_ENV] = emulator.training_connection_json()
            print(f"Started the OVHcloud AI emulator at {emulator.url}.", file=out, flush=True)
        dag = load_dag(dags / DEMO_DAG_FILE, DEMO_DAG_ID)
        if not live:
            fast_polling(dag, 0.2)
        _progress_callbacks(dag, out)
        print(f"Running DAG {dag.dag_id} ({len(dag.tasks)} tasks):", file=out, flush=True)
        result = run_dag(dag, raise_on_failure=False)  # the summary below reports failures

    print("\nSummary:", file=out)
    order = {task_id: position for position, task_id in enumerate(dag.task_ids)}
    for (task_id, map_index), state in sorted(result.task_states.items(), key=lambda i: (order.get(i[0][0], 0), i[0])):
        label = task_id + (f"[{map_index}]" if map_index >= 0 else "")
        line = f"  {label:<28} {state:<8}"
        if (task_id, map_index, "return_value") in result.xcoms:
            line += " " + _preview(result.xcoms[(task_id, map_index, "return_value")])
        print(line, file=out)
        usage = result.xcoms.get((task_id, map_index, "usage"))
        if usage:
            print(f"  {'':<28} {'':<8} tokens: {_preview(usage)}", file=out)
    ok = result.state == "success"
    print(
        f"\nDAG run {result.state} in {time.monotonic() - started:.1f} s.",
        file=out,
        flush=True,
    )
    return 0 if ok else 1
