"""Figure 2, hook overhead: chat completions per second through the hook vs a bare requests.Session.

Both talk to the same local emulator; rounds alternate so machine noise hits both alike. It runs
twice, in child processes: with Airflow's log level at WARNING (the hook's own HTTP path: the goal
applies here) and at INFO, where the hook's per-call usage line goes through Airflow's console
log renderer (reported, to show what that line costs against a sub-millisecond local round trip).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

import requests
from _common import median, report

from airflow_ovhcloud.testing import OVHCloudAIEmulator

MODEL = "Meta-Llama-3_3-70B-Instruct"
MESSAGES = [{"role": "user", "content": "How fast is this?"}]
GOAL = 0.95


def measure(quick: bool) -> dict[str, float]:
    """Child process: hook and bare-session rates, alternating rounds."""
    from airflow_ovhcloud.hooks.ai_endpoints import OVHCloudAIEndpointsHook

    calls, rounds = (200, 3) if quick else (1000, 7)
    with OVHCloudAIEmulator() as emulator:
        os.environ["AIRFLOW_CONN_OVH_AI_ENDPOINTS_DEFAULT"] = emulator.endpoints_connection_json()
        hook = OVHCloudAIEndpointsHook()
        bare = requests.Session()
        bare.headers.update({"Authorization": f"Bearer {emulator.token}"})
        url = f"{emulator.endpoints_url}/chat/completions"

        def through_hook() -> None:
            hook.chat_completion(model=MODEL, messages=MESSAGES)

        def through_bare_session() -> None:
            answer = bare.post(url, data=json.dumps({"model": MODEL, "messages": MESSAGES}), timeout=60)
            answer.raise_for_status()
            answer.json()

        def rate(call: Any) -> float:
            started = time.perf_counter()
            for _ in range(calls):
                call()
            return calls / (time.perf_counter() - started)

        rate(through_hook), rate(through_bare_session)  # warm up both connections
        hook_rates, bare_rates = [], []
        for _ in range(rounds):
            hook_rates.append(rate(through_hook))
            bare_rates.append(rate(through_bare_session))
    return {"calls": calls, "rounds": rounds, "hook": median(hook_rates), "bare": median(bare_rates)}


def run(quick: bool) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    ratios = {}
    for level in ("WARNING", "INFO"):
        env = {**os.environ, "AIRFLOW__LOGGING__LOGGING_LEVEL": level}
        args = [sys.executable, __file__, "--child", *(["--quick"] if quick else [])]
        out = subprocess.run(args, env=env, capture_output=True, text=True, check=True).stdout
        child = json.loads(out.strip().splitlines()[-1])
        ratios[level] = child["hook"] / child["bare"]
        figures["calls x rounds"] = f"{child['calls']} x {child['rounds']}"
        figures[f"log level {level}: hook (calls/s)"] = child["hook"]
        figures[f"log level {level}: bare session (calls/s)"] = child["bare"]
        figures[f"log level {level}: ratio hook / bare"] = ratios[level]
    return report(
        "2. Hook overhead (chat completions/s, hook vs bare requests.Session, same emulator)",
        figures,
        f">= {GOAL} (HTTP path, log level WARNING)",
        ratios["WARNING"] >= GOAL,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        sys.stdout.flush()
        result = measure(options.quick)
        print(json.dumps(result))
    else:
        run(options.quick)
