"""A real Airflow 3.3 deployment against the standalone emulator: the project's proof beyond ``dag.test()``.

What it does, in order (standard library only; every step prints what it is doing):

1. builds the project's wheel (``python -m build`` when installed, else ``pip wheel`` from a clean copy
   of the tree) and installs it with ``apache-airflow[postgres]==3.3.*`` into a fresh virtualenv
   (``--venv DIR`` keeps one across runs: Airflow is installed once, the wheel every time);
2. starts PostgreSQL from the distribution's packages (``/usr/lib/postgresql/*/bin``; as the
   ``postgres`` user when run as root) with a data directory in a temporary folder, on 127.0.0.1 and
   a free port;
3. starts ``airflow-ovhcloud emulator`` (jobs move one state per second of wall-clock time) and
   Airflow's own components — ``api-server``, ``scheduler``, ``dag-processor``, ``triggerer`` — with
   the LocalExecutor on that database, a temporary ``AIRFLOW_HOME``, a dags folder holding example
   DAGs (``flagship``: chat, embeddings and a deferred training job; ``training_decorator``: three
   mapped deferred jobs) and the connections as ``AIRFLOW_CONN_*`` variables;
4. waits until ``/api/v2/monitor/health`` says every component is healthy, then, through the REST
   API, unpauses each DAG and triggers it with ``logical_date: null`` (as a user's API call does),
   polls until each run ends, prints a table of task instance states, and checks every one
   succeeded and that the emulator saw exactly the training jobs the DAGs submit, all DONE;
5. with ``--browser-check``, runs ``check_test_button.py`` against the same running deployment
   (Playwright driving the system's Chromium).

On failure it exits non-zero and prints the tails of the component logs and of the failed tasks'
logs. Every process it started is stopped on the way out, also on Ctrl+C or SIGTERM. Needs
PostgreSQL's server packages (``apt-get install -y postgresql``) and, for the browser check,
``chromium``; ``.ci/run`` installs both. See docs/deployment-check.md.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
AIRFLOW_SPEC = "apache-airflow[postgres]==3.3.*"
#: DAG file (in examples/) -> the DAG ids in it; together they cover chat, embeddings and deferred training jobs.
EXAMPLES = {"flagship.py": "ovhcloud_flagship", "training_decorator.py": "ovhcloud_training_decorator"}
#: Training jobs each DAG submits (one per task instance that runs a job).
EXPECTED_JOBS = {"ovhcloud_flagship": 1, "ovhcloud_training_decorator": 3}
#: Tasks that must have waited in the triggerer (deferred), per DAG.
DEFERRED_TASKS = {"ovhcloud_flagship": {"fine_tune"}, "ovhcloud_training_decorator": {"train"}}
#: Log lines that fail the check when a component wrote them during the runs (before shutdown).
BAD_LOG_LINES = re.compile(r"\[(error|critical) *\]|^Traceback ", re.MULTILINE)
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 only: never a proxy


class DeploymentError(RuntimeError):
    """A step failed; the message says which and what was seen."""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    return "\n".join(text[-lines:])


def http(method: str, url: str, body: Any = None, timeout: float = 30.0) -> tuple[int, Any]:
    """One JSON request; returns (status, parsed body or text). Network errors give status 0."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        return 0, str(exc)
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


# ------------------------------------------------------------------------------------------- processes


class Processes:
    """Children started in their own process group, each logging to a file; all stopped by ``stop_all``."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.stop_signals: dict[str, int] = {}
        self.stop_last: set[str] = set()

    def start(
        self,
        name: str,
        argv: Sequence[str],
        env: dict[str, str],
        *,
        stop_signal: int = signal.SIGTERM,
        last: bool = False,
    ) -> subprocess.Popen[bytes]:
        path = self.log_file(name)
        with path.open("ab") as out:
            process = subprocess.Popen(
                list(argv),
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.running[name] = process
        self.stop_signals[name] = stop_signal
        if last:
            self.stop_last.add(name)
        log(f"started {name} (pid {process.pid}), log: {path}")
        return process

    def log_file(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def check_alive(self) -> None:
        for name, process in self.running.items():
            if process.poll() is not None:
                raise DeploymentError(
                    f"{name} exited with code {process.returncode}; its log ends with:\n{tail(self.log_file(name))}"
                )

    def stop_all(self, grace: float = 20.0) -> None:
        """Stop every process group: those started with ``last=True`` (the database) after the others."""
        first = {n: p for n, p in self.running.items() if n not in self.stop_last}
        self._stop(first, grace)
        self._stop({n: p for n, p in self.running.items() if n in self.stop_last}, grace)
        self.running.clear()

    def _stop(self, group: dict[str, subprocess.Popen[bytes]], grace: float) -> None:
        """Signal each process group, wait up to ``grace`` s, then kill what is left."""
        for name, process in group.items():
            if process.poll() is None:
                self._signal(process, self.stop_signals[name])
        deadline = time.monotonic() + grace
        for name, process in group.items():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log(f"{name} did not stop within {grace:g} s: killing it")
                self._signal(process, signal.SIGKILL)
                process.wait(timeout=10)
            # Children that outlived their leader (task runners, uvicorn workers) go with the group.
            self._signal(process, signal.SIGKILL)

    @staticmethod
    def _signal(process: subprocess.Popen[bytes], signum: int) -> None:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signum)


# ------------------------------------------------------------------------------------------- building


def run(argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a command to completion; raise with its output if it fails."""
    result = subprocess.run(list(argv), capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise DeploymentError(
            f"command failed ({result.returncode}): {' '.join(argv)}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def build_wheel(out: Path) -> Path:
    """The project's wheel, built from a clean copy so no stale ``build/`` leaks into it."""
    out.mkdir(parents=True, exist_ok=True)
    try:
        import build  # noqa: F401

        run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(REPO)])
    except ImportError:
        source = out / "source"
        ignore = shutil.ignore_patterns(".git", "build", "dist", "site", "*.egg-info", "__pycache__", ".*cache")
        shutil.copytree(REPO, source, ignore=ignore)
        run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(source)])
    (wheel,) = out.glob("airflow_ovhcloud-*.whl")
    return wheel


def prepare_venv(venv: Path, wheel: Path, browser: bool) -> Path:
    """A venv with Airflow 3.3 (installed once per venv) and this wheel (installed every run, with its dependencies)."""
    python = venv / "bin" / "python"
    marker = venv / ".airflow-ovhcloud-deployment"
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    if not marker.exists():
        log(f"creating {venv} with {AIRFLOW_SPEC} and the wheel (about a minute)")
        run([sys.executable, "-m", "venv", str(venv)])
        run([*pip, "--upgrade", "pip"])
        run([*pip, AIRFLOW_SPEC, str(wheel)])
        marker.write_text(AIRFLOW_SPEC + "\n")
    else:  # the same version number may hold new code: replace it, then add any new dependency
        run([*pip, "--no-deps", "--force-reinstall", str(wheel)])
        run([*pip, str(wheel)])
    if browser and subprocess.run([str(python), "-c", "import playwright"], capture_output=True).returncode:
        log("installing playwright into the venv")
        run([*pip, "playwright"])
    version = run([str(venv / "bin" / "airflow"), "version"], env=_bare_env()).stdout.strip().splitlines()[-1]
    log(f"venv ready: Airflow {version}, {wheel.name}")
    return python


def _bare_env() -> dict[str, str]:
    """The caller's environment without any Airflow setting, so the deployment is only what this script sets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


# ------------------------------------------------------------------------------------------- PostgreSQL


def postgres_bindir() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` (Debian's layout), or ``$PG_BINDIR``."""
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parts[-3]))
    if not found:
        raise DeploymentError("PostgreSQL's server is not installed: apt-get install -y postgresql (or set PG_BINDIR)")
    return found[-1].parent


def start_postgres(processes: Processes, work: Path, port: int) -> str:
    """Start a throw-away cluster (trust auth on 127.0.0.1) and return the SQLAlchemy URL of its ``airflow`` db."""
    bindir = postgres_bindir()
    pg = work / "postgres"
    (pg / "socket").mkdir(parents=True)
    as_user: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        owner = pwd.getpwnam("postgres")
        for path in (pg, pg / "socket"):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data = pg / "data"
    run([*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "airflow", "--auth=trust", "-E", "UTF8", "--no-sync"])
    processes.start(
        "postgres",
        [
            *as_user,
            str(bindir / "postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
            "-k",
            str(pg / "socket"),
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
        ],
        _bare_env(),
        stop_signal=signal.SIGINT,  # postgres' "fast" shutdown
        last=True,  # after the components, which would log its disappearance as errors
    )
    deadline = time.monotonic() + 60
    while subprocess.run(
        [str(bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port), "-U", "airflow"]
    ).returncode:
        processes.check_alive()
        if time.monotonic() > deadline:
            raise DeploymentError("PostgreSQL did not accept connections within 60 s")
        time.sleep(0.3)
    run([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "airflow", "airflow"])
    log(f"PostgreSQL {bindir.parent.name} ready on 127.0.0.1:{port}")
    return f"postgresql+psycopg2://airflow@127.0.0.1:{port}/airflow"


# ------------------------------------------------------------------------------------------- Airflow


def airflow_env(work: Path, venv: Path, sql_conn: str, api_port: int, emulator_url: str, token: str) -> dict[str, str]:
    """Everything the components share: the database, the executor, secrets, the connections."""
    api = f"http://127.0.0.1:{api_port}"
    env = _bare_env()
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    endpoints = {"conn_type": "ovhcloud_ai_endpoints", "host": f"{emulator_url}/v1", "password": token}
    training = {"conn_type": "ovhcloud_ai_training", "host": emulator_url, "login": "gra", "password": token}
    env.update(
        {
            "AIRFLOW_HOME": str(work / "airflow"),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__DAGS_FOLDER": str(work / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
            # Airflow 3.3's default auth manager with every caller an admin: the REST API and the UI need no login.
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql_conn,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__API__BASE_URL": api,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            # The flagship's @task.ovh_training follows [operators] default_deferrable: wait in the triggerer.
            "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
            "AIRFLOW_CONN_OVH_AI_ENDPOINTS_DEFAULT": json.dumps(endpoints),
            "AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT": json.dumps(training),
        }
    )
    return env


def wait_for(what: str, check: Any, processes: Processes, timeout: float, interval: float = 1.0) -> Any:
    """Call ``check()`` until it returns something truthy; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        processes.check_alive()
        result, last = check()
        if result:
            return result
        time.sleep(interval)
    raise DeploymentError(f"timed out after {timeout:g} s waiting for {what}; last seen: {last}")


def wait_healthy(api: str, processes: Processes, timeout: float) -> None:
    def check() -> tuple[bool, Any]:
        status, body = http("GET", f"{api}/api/v2/monitor/health", timeout=5)
        if status != 200 or not isinstance(body, dict):
            return False, (status, body)
        states = {name: (part or {}).get("status") for name, part in body.items()}
        return all(state == "healthy" for state in states.values()) and len(states) >= 4, states

    wait_for("every component healthy (/api/v2/monitor/health)", check, processes, timeout)
    log("api-server, scheduler, dag-processor, triggerer and database healthy")


def wait_parsed(api: str, dag_ids: Sequence[str], processes: Processes, timeout: float) -> None:
    def check() -> tuple[bool, Any]:
        status, errors = http("GET", f"{api}/api/v2/importErrors")
        if status == 200 and errors.get("total_entries"):
            raise DeploymentError(f"the dag-processor reports import errors: {json.dumps(errors, indent=1)[:4000]}")
        missing = [d for d in dag_ids if http("GET", f"{api}/api/v2/dags/{d}")[0] != 200]
        return not missing, f"not parsed yet: {missing}"

    wait_for("the DAGs to be parsed", check, processes, timeout)
    log(f"parsed: {', '.join(dag_ids)}")


def trigger(api: str, dag_id: str) -> str:
    status, body = http("PATCH", f"{api}/api/v2/dags/{dag_id}", {"is_paused": False})
    if status != 200 or body.get("is_paused"):
        raise DeploymentError(f"unpausing {dag_id} failed: HTTP {status} {body}")
    status, body = http("POST", f"{api}/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None})
    if status != 200:
        raise DeploymentError(f"triggering {dag_id} failed: HTTP {status} {body}")
    if body.get("logical_date") is not None:
        raise DeploymentError(f"the run of {dag_id} has a logical date ({body['logical_date']}); asked for none")
    log(f"triggered {dag_id}: run {body['dag_run_id']} (logical_date: null)")
    return str(body["dag_run_id"])


def wait_runs(api: str, runs: dict[str, str], processes: Processes, timeout: float) -> dict[str, str]:
    ended: dict[str, str] = {}

    def check() -> tuple[bool, Any]:
        for dag_id, run_id in runs.items():
            if dag_id in ended:
                continue
            status, body = http("GET", f"{api}/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id)}")
            if status == 200 and body.get("state") in ("success", "failed"):
                ended[dag_id] = body["state"]
                log(f"{dag_id}: run {body['state']}")
        return len(ended) == len(runs), {d: ended.get(d, "running") for d in runs}

    wait_for("the DAG runs to end", check, processes, timeout, interval=2.0)
    return ended


def task_instances(api: str, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    url = f"{api}/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id)}/taskInstances?limit=1000"
    status, body = http("GET", url)
    if status != 200:
        raise DeploymentError(f"listing task instances of {dag_id} failed: HTTP {status} {body}")
    return sorted(body["task_instances"], key=lambda ti: (ti.get("start_date") or "", ti["task_id"], ti["map_index"]))


def print_table(dag_id: str, tis: list[dict[str, Any]]) -> None:
    print(f"\n{dag_id}")
    print(f"  {'task':<16} {'map':>4}  {'state':<10} {'tries':>5}  {'seconds':>8}  operator")
    for ti in tis:
        duration = ti.get("duration")
        print(
            f"  {ti['task_id']:<16} {ti['map_index']:>4}  {ti['state']!s:<10} {ti.get('try_number', ''):>5}  "
            f"{'' if duration is None else f'{duration:8.1f}':>8}  {ti.get('operator') or ''}"
        )
    print(flush=True)


def check_emulator_jobs(emulator_url: str) -> None:
    """The jobs the DAGs submitted: exactly the expected number per DAG (none lost or duplicated), all DONE."""
    status, body = http("GET", f"{emulator_url}/_emulator/jobs")
    if status != 200:
        raise DeploymentError(f"reading the emulator's jobs failed: HTTP {status} {body}")
    jobs = body["jobs"].values() if isinstance(body.get("jobs"), dict) else body.get("jobs", [])
    per_dag: dict[str, int] = {}
    for job in jobs:
        dag = (job.get("spec", {}).get("labels") or {}).get("airflow-dag", "?")
        per_dag[dag] = per_dag.get(dag, 0) + 1
        state = job.get("status", {}).get("state")
        if state != "DONE":
            raise DeploymentError(f"AI Training job {job.get('id')} of {dag} ended {state}, not DONE")
    if per_dag != EXPECTED_JOBS:
        raise DeploymentError(f"jobs per DAG {per_dag}, expected {EXPECTED_JOBS}")
    log(f"emulator: {sum(per_dag.values())} training jobs, all DONE, as many per DAG as expected: {per_dag}")


def check_deferred(work: Path, dag_id: str, run_id: str, tis: list[dict[str, Any]]) -> int:
    """The training tasks really waited in the triggerer, fired a small event, and render the spec they returned.

    Each has a trigger log with the fired event (a few ids and the state, not the whole job), and its
    rendered fields show the job's name and command after the deferral (not ``null``).
    """
    checked = 0
    for ti in tis:
        if ti["task_id"] not in DEFERRED_TASKS.get(dag_id, ()):
            continue
        folder = work / "airflow" / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={ti['task_id']}"
        if ti["map_index"] >= 0:
            folder = folder / f"map_index={ti['map_index']}"
        name = f"{dag_id}.{ti['task_id']}[{ti['map_index']}]"
        events = [
            json.loads(line).get("result", "")
            for path in folder.glob("*.trigger.*.log")
            for line in path.read_text(errors="replace").splitlines()
            if '"Trigger fired event"' in line
        ]
        if not events:
            raise DeploymentError(
                f"{name} did not wait in the triggerer (no trigger log with a fired event in {folder})"
            )
        if max(len(str(event)) for event in events) > 400:
            raise DeploymentError(f"{name}: the trigger event is not small: {events}")
        rendered = ti.get("rendered_fields") or {}
        if not rendered.get("name") or not rendered.get("command"):
            raise DeploymentError(f"{name}: the rendered fields do not show the job's name and command: {rendered}")
        checked += 1
    return checked


def check_component_logs(processes: Processes) -> None:
    """No component logged an error or a traceback while the DAGs ran (shutdown comes later)."""
    found = []
    for name in processes.running:
        text = processes.log_file(name).read_text(errors="replace")
        found += [f"{name}: {line[:300]}" for line in text.splitlines() if BAD_LOG_LINES.search(line)]
    if found:
        raise DeploymentError("components logged errors during the runs:\n" + "\n".join(found[:40]))
    log(f"no error or traceback in the logs of {', '.join(processes.running)}")


def task_log_tails(work: Path, dag_id: str, run_id: str, tis: list[dict[str, Any]]) -> str:
    chunks = []
    for ti in tis:
        if ti["state"] == "success":
            continue
        folder = work / "airflow" / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={ti['task_id']}"
        for path in sorted(folder.rglob("*.log")) if folder.exists() else []:
            chunks.append(f"--- {path.relative_to(work)}\n{tail(path, 30)}")
    return "\n".join(chunks)


# ------------------------------------------------------------------------------------------- the run


def deploy_and_check(args: argparse.Namespace, work: Path, processes: Processes) -> dict[str, float]:
    timings: dict[str, float] = {}
    started = time.monotonic()

    def lap(name: str) -> None:
        timings[name] = round(time.monotonic() - started - sum(timings.values()), 1)

    wheel = Path(args.wheel) if args.wheel else build_wheel(work / "dist")
    log(f"wheel: {wheel}")
    lap("wheel")
    venv = Path(args.venv).resolve() if args.venv else work / "venv"
    prepare_venv(venv, wheel, args.browser_check)
    lap("venv")

    sql_conn = start_postgres(processes, work, free_port())
    emulator_port, api_port = free_port(), free_port()
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    token = "deployment-" + secrets.token_hex(8)
    processes.start(
        "emulator",
        [
            str(venv / "bin" / "airflow-ovhcloud"),
            "emulator",
            "--port",
            str(emulator_port),
            "--token",
            token,
            "--job-progress",
            "time",
            "--job-step-seconds",
            str(args.job_step_seconds),
        ],
        _bare_env(),
    )
    wait_for(
        "the emulator",
        lambda: (http("GET", f"{emulator_url}/_emulator", timeout=2)[0] == 200, None),
        processes,
        30,
        0.2,
    )

    env = airflow_env(work, venv, sql_conn, api_port, emulator_url, token)
    (work / "dags").mkdir()
    for name in EXAMPLES:
        shutil.copy(REPO / "examples" / name, work / "dags" / name)
    log("airflow db migrate")
    run([str(venv / "bin" / "airflow"), "db", "migrate"], env=env)
    lap("postgres+migrate")

    for component in COMPONENTS:
        processes.start(component, [str(venv / "bin" / "airflow"), component], env)
    api = f"http://127.0.0.1:{api_port}"
    wait_healthy(api, processes, args.timeout)
    wait_parsed(api, list(EXAMPLES.values()), processes, args.timeout)
    lap("components")

    runs = {dag_id: trigger(api, dag_id) for dag_id in EXAMPLES.values()}
    ended = wait_runs(api, runs, processes, args.timeout)
    failures = []
    deferred = 0
    for dag_id, run_id in runs.items():
        tis = task_instances(api, dag_id, run_id)
        print_table(dag_id, tis)
        bad = [f"{ti['task_id']}[{ti['map_index']}]={ti['state']}" for ti in tis if ti["state"] != "success"]
        if bad or ended[dag_id] != "success" or not tis:
            failures.append(
                f"{dag_id}: run {ended[dag_id]}, tasks not successful: {bad}\n"
                f"{task_log_tails(work, dag_id, run_id, tis)}"
            )
        else:
            deferred += check_deferred(work, dag_id, run_id, tis)
    if failures:
        raise DeploymentError("\n".join(failures))
    log(f"{deferred} training task instances waited in the triggerer: small events, job spec in the rendered fields")
    check_emulator_jobs(emulator_url)
    check_component_logs(processes)
    lap("dag runs")
    log("deployment check passed: every task instance succeeded")

    if args.browser_check:
        out = Path(args.out).resolve() if args.out else work / "screenshots"
        argv = [
            str(venv / "bin" / "python"),
            str(HERE / "check_test_button.py"),
            "--api-url",
            api,
            "--emulator-url",
            emulator_url,
            "--token",
            token,
            "--out",
            str(out),
            "--airflow",
            str(venv / "bin" / "airflow"),
        ]
        if args.chromium:
            argv += ["--chromium", args.chromium]
        log("browser check: " + " ".join(argv[1:]))
        if subprocess.run(argv, env=env).returncode:
            raise DeploymentError("the browser check of the Test button failed (see its output above)")
        lap("browser check")

    if args.keep_running:
        log(f"deployment running: UI {api}, emulator {emulator_url} (token {token}); Ctrl+C stops it")
        while True:
            processes.check_alive()
            time.sleep(1)
    return timings


@contextmanager
def interrupted_by_sigterm() -> Iterator[None]:
    """SIGTERM (CI cancelling the job) unwinds like Ctrl+C, so the ``finally`` blocks stop every process.

    SIGINT is set too: a shell starts background jobs with SIGINT ignored, and Python then never raises
    KeyboardInterrupt.
    """

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, handler) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument(
        "--venv", help="virtualenv to use, created with Airflow 3.3 if missing and kept (default: a temporary one)"
    )
    parser.add_argument("--wheel", help="an already built wheel of the project (default: build one)")
    parser.add_argument(
        "--browser-check", action="store_true", help="also run check_test_button.py against the deployment"
    )
    parser.add_argument("--out", help="where the browser check writes its screenshots (default: the temporary folder)")
    parser.add_argument("--chromium", help="Chromium binary for the browser check (default: chromium on PATH)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for health, parsing and the runs")
    parser.add_argument("--job-step-seconds", type=float, default=1.0, help="the emulator's seconds per job state")
    parser.add_argument(
        "--keep-running", action="store_true", help="after the checks, keep the deployment up until Ctrl+C"
    )
    parser.add_argument("--keep-files", action="store_true", help="keep the temporary folder (logs, AIRFLOW_HOME)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="airflow-ovhcloud-deployment-"))
    work.chmod(0o755)  # the postgres user must reach its data directory inside
    (work / "logs").mkdir()
    processes = Processes(work / "logs")
    started = time.monotonic()
    code = 1
    try:
        with interrupted_by_sigterm():
            timings = deploy_and_check(args, work, processes)
        log(f"timings (s): {json.dumps(timings)}; total {time.monotonic() - started:.0f} s")
        code = 0
    except Exception as exc:  # a DeploymentError says what failed; anything else is shown with its traceback
        if not isinstance(exc, DeploymentError):
            traceback.print_exc()
        print(f"\nDEPLOYMENT CHECK FAILED: {exc}\n", file=sys.stderr, flush=True)
        for name in processes.running:
            print(
                f"===== {name} (last lines of {processes.log_file(name)})\n{tail(processes.log_file(name))}\n",
                file=sys.stderr,
                flush=True,
            )
    except KeyboardInterrupt:
        log("interrupted")
        code = 130
    finally:
        log("stopping every process started")
        processes.stop_all()
        if args.keep_files or code == 1:
            log(f"files kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
