"""Figure 6, many prompts in one task: concurrency, rate limits, one task against mapped tasks, durability, memory.

6a. N prompts through ``OVHCloudAIEndpointsHook.chat_completions`` (the ``many=True`` path), 16 in
    flight, 50 ms per request: against the bound ceil(N / 16) x 50 ms.
6b. The same with the emulator enforcing 12,000 requests/minute per model and the task set to the
    same limit: against the bound N / (12,000 / 60) s; no answer may be a 429.
6c. The same prompts as one task (``@task.ovh_chat(many=True)``) and as mapped task instances
    (``@task.ovh_chat`` + ``.expand``), both through ``dag.test()``: prompts per second of each.
6d. Durable progress: a many-prompt task that fails after half its answers and is retried; the
    requests the retry sends, counted in the emulator's journal.
6e. Peak memory of 10,000 prompts with 1 KB answers (the emulator in another process), against
    the answers' own size.

6c and 6d need a metadata database: they run in a child process with its own AIRFLOW_HOME.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import tracemalloc
from typing import Any

from _common import report

from airflow_ovhcloud.testing import OVHCloudAIEmulator

MODEL = "Meta-Llama-3_3-70B-Instruct"
LATENCY = 0.05
CONCURRENCY = 16
RPM = 12_000


def _requests(count: int, size: int = 0) -> list[dict[str, Any]]:
    pad = "x" * size
    return [{"model": MODEL, "messages": [{"role": "user", "content": f"prompt {i} {pad}"}]} for i in range(count)]


def _hook(emulator: Any, **extra: Any) -> Any:
    from airflow_ovhcloud.hooks.ai_endpoints import OVHCloudAIEndpointsHook

    conn = json.loads(emulator.endpoints_connection_json())
    conn["extra"] = extra
    os.environ["AIRFLOW_CONN_BENCH_MANY"] = json.dumps(conn)
    return OVHCloudAIEndpointsHook("bench_many")


def run_concurrency(quick: bool) -> dict[str, Any]:
    count = 300 if quick else 1_000
    with OVHCloudAIEmulator(latency=LATENCY) as emulator:
        hook = _hook(emulator)
        started = time.perf_counter()
        outcome = hook.chat_completions(_requests(count), max_concurrency=CONCURRENCY)
        elapsed = time.perf_counter() - started
        hook.close()
    assert not outcome.errors and len(outcome.results) == count
    bound = math.ceil(count / CONCURRENCY) * LATENCY
    return report(
        f"6a. Many prompts, no limit ({count} prompts, {LATENCY * 1000:.0f} ms each, max_concurrency={CONCURRENCY})",
        {"bound: ceil(N/16) x latency (s)": bound, "one task (s)": elapsed, "one task / bound": elapsed / bound},
        "<= 1.2 x bound",
        elapsed <= 1.2 * bound,
    )


def run_rate_limited(quick: bool) -> dict[str, Any]:
    count = 300 if quick else 1_000
    with OVHCloudAIEmulator(latency=LATENCY) as emulator:
        if not hasattr(emulator, "requests_per_minute"):
            raise RuntimeError("the emulator has no per-model rate limit to enforce")
        emulator.requests_per_minute = RPM
        hook = _hook(emulator)
        started = time.perf_counter()
        outcome = hook.chat_completions(_requests(count), max_concurrency=CONCURRENCY, requests_per_minute=RPM)
        elapsed = time.perf_counter() - started
        hook.close()
        refused = [r for r in emulator.requests_to("/chat/completions") if r.fault == "rate_limited"]
    assert not outcome.errors and len(outcome.results) == count
    bound = count / (RPM / 60)
    return report(
        f"6b. Many prompts at the service's limit ({count} prompts, emulator and task at {RPM:,} requests/min)",
        {
            "bound: N / (limit / 60) (s)": bound,
            "one task (s)": elapsed,
            "one task / bound": elapsed / bound,
            "answers that were 429": len(refused),
        },
        "<= 1.1 x bound, 0 answers of 429",
        elapsed <= 1.1 * bound and not refused,
    )


def run_memory(quick: bool) -> dict[str, Any]:
    count = 2_000 if quick else 10_000
    emulator = subprocess.Popen(
        [sys.executable, "-m", "airflow_ovhcloud.cli", "emulator", "--port", "0", "--token", "bench"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = ""
        for line in emulator.stdout or ():
            if "AI Endpoints base URL:" in line:
                url = line.split("URL:", 1)[1].strip()
                break
        from airflow_ovhcloud.hooks.ai_endpoints import OVHCloudAIEndpointsHook

        os.environ["AIRFLOW_CONN_BENCH_MEM"] = json.dumps(
            {"conn_type": "ovhcloud_ai_endpoints", "host": url, "password": "bench"}
        )
        hook = OVHCloudAIEndpointsHook("bench_mem")
        requests = _requests(count, size=1_000)

        def keep(index: int, response: dict[str, Any]) -> str:
            return str(response["choices"][0]["message"]["content"])

        tracemalloc.start()
        base, _ = tracemalloc.get_traced_memory()
        outcome = hook.chat_completions(requests, max_concurrency=CONCURRENCY, keep=keep)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        hook.close()
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    answers = sum(len(a.encode()) for a in outcome.results.values())
    growth = peak - base
    return report(
        f"6e. Memory of many prompts ({count} prompts, answers of about 1 KB)",
        {
            "answers' size (MB)": answers / 1e6,
            "peak memory growth (MB)": growth / 1e6,
            "growth / answers": growth / answers,
        },
        "<= 3 x the answers' size",
        growth <= 3 * answers,
    )


DAGS = textwrap.dedent(
    """
    from datetime import timedelta
    import pendulum
    from airflow.sdk import dag, task

    START = pendulum.datetime(2024, 1, 1, tz="UTC")
    MODEL = "Meta-Llama-3_3-70B-Instruct"
    N = int(__import__("os").environ["BENCH_PROMPTS"])

    @dag(dag_id="bench_one_task", start_date=START, schedule=None)
    def one_task():
        @task.ovh_chat(model=MODEL, many=True, max_concurrency=16)
        def ask():
            return [f"prompt {i}" for i in range(N)]
        ask()

    @dag(dag_id="bench_mapped", start_date=START, schedule=None)
    def mapped():
        @task.ovh_chat(model=MODEL)
        def ask(i):
            return f"prompt {i}"
        ask.expand(i=list(range(N)))

    @dag(dag_id="bench_resume", start_date=START, schedule=None)
    def resume():
        @task.ovh_chat(model=MODEL, many=True, max_concurrency=16, response_format={"type": "json_object"},
                       retries=1, retry_delay=timedelta(seconds=0))
        def ask():
            return [f"prompt {i}" for i in range(N)]
        ask()

    one_task(); mapped(); resume()
    """
)

CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    from airflow_ovhcloud.testing.dagrun import prepare_airflow_home
    home = sys.argv[1]
    prepare_airflow_home(home)
    from airflow_ovhcloud.testing import OVHCloudAIEmulator
    from airflow_ovhcloud.testing.dagrun import load_dag, run_dag
    path = os.path.join(home, "dags", "bench_many_dags.py")
    figures = {}
    with OVHCloudAIEmulator(latency=float(sys.argv[2])) as emulator:
        os.environ["AIRFLOW_CONN_OVH_AI_ENDPOINTS_DEFAULT"] = emulator.endpoints_connection_json()
        n = int(os.environ["BENCH_PROMPTS"])
        run_dag(load_dag(path, "bench_one_task"))  # warm-up: the first dag.test() of a process pays ~5 s
        for dag_id in ("bench_one_task", "bench_mapped"):
            started = time.perf_counter()
            result = run_dag(load_dag(path, dag_id))
            figures[dag_id] = n / (time.perf_counter() - started)
            assert result.state == "success", result.task_states
        emulator.clear_journal()
        for _ in range(n // 2):
            emulator.script_chat('{"ok": true}')
        emulator.script_chat("not JSON")  # the first try fails after half its answers
        result = run_dag(load_dag(path, "bench_resume"))
        assert result.state == "success", result.task_states
        figures["resume_total"] = len(emulator.requests_to("/chat/completions"))
    print("FIGURES " + json.dumps(figures))
    """
)


def run_dag_figures(quick: bool) -> list[dict[str, Any]]:
    count = 40 if quick else 300
    with tempfile.TemporaryDirectory(prefix="bench-many-") as home:
        os.makedirs(os.path.join(home, "dags"))
        with open(os.path.join(home, "dags", "bench_many_dags.py"), "w") as handle:
            handle.write(DAGS)
        env = {
            **os.environ,
            "BENCH_PROMPTS": str(count),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        }
        env.pop("AIRFLOW_HOME", None)
        done = subprocess.run(
            [sys.executable, "-c", CHILD, home, str(LATENCY)], env=env, capture_output=True, text=True, check=False
        )
    line = next((x for x in done.stdout.splitlines() if x.startswith("FIGURES ")), None)
    if line is None:
        raise RuntimeError(f"the dag.test() benchmark failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    figures = json.loads(line.removeprefix("FIGURES "))
    speedup = figures["bench_one_task"] / figures["bench_mapped"]
    retry_sent = figures["resume_total"] - (count // 2 + 1)  # the first try: half its answers, then the bad one
    in_flight_slack = CONCURRENCY
    return [
        report(
            f"6c. One task against mapped tasks ({count} prompts through dag.test(), {LATENCY * 1000:.0f} ms each)",
            {
                "one task, many=True (prompts/s)": figures["bench_one_task"],
                "mapped task instances (prompts/s)": figures["bench_mapped"],
                "one task / mapped": speedup,
            },
            "> 20 x faster",
            speedup > 20,
        ),
        report(
            f"6d. Durable progress ({count} prompts; the first try fails after {count // 2} answers)",
            {
                "requests in all": figures["resume_total"],
                "requests sent by the retry (at most)": retry_sent,
                "bound: N/2 + max_concurrency": count // 2 + in_flight_slack,
            },
            "retry sends <= N/2 + max_concurrency",
            retry_sent <= count // 2 + in_flight_slack,
        ),
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    return [run_concurrency(quick), run_rate_limited(quick), *run_dag_figures(quick), run_memory(quick)]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    run(parser.parse_args().quick)
