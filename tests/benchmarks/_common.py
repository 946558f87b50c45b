"""Helpers the benchmark scripts share: fresh-process timing and figure reporting."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from typing import Any


def time_in_fresh_process(setup: str, statement: str, runs: int) -> list[float]:
    """Milliseconds ``statement`` takes after ``setup``, each measured in a new interpreter."""
    code = f"import time\n{setup}\nt0 = time.perf_counter()\n{statement}\nprint((time.perf_counter() - t0) * 1000)\n"
    timings = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        timings.append(float(done.stdout.split()[-1]))
    return timings


def report(name: str, figures: dict[str, Any], goal: str, met: bool) -> dict[str, Any]:
    """Print one benchmark's figures as a readable block and return them (for --json)."""
    print(f"\n{name}")
    for key, value in figures.items():
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"  {key:<44} {shown}")
    print(f"  {'goal':<44} {goal}  ->  {'met' if met else 'MISSED'}")
    return {"name": name, "goal": goal, "met": met, **figures}


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def dump(results: list[dict[str, Any]], path: str | None) -> None:
    if path:
        with open(path, "w") as handle:
            json.dump(results, handle, indent=2)
