"""Run every benchmark and print its figures; ``--quick`` is the small size CI uses to keep them working.

    python tests/benchmarks/run_all.py            # the figures in docs/performance.md
    python tests/benchmarks/run_all.py --quick    # a smoke run (about a minute)

Benchmarks report figures and whether each goal was met; they never fail on a timing, only when
a benchmark itself breaks (an exception, or work that did not complete).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys

os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_batch
import bench_embedding_throughput
import bench_hook_overhead
import bench_many_prompts
import bench_parse_cost
import bench_streaming_memory
import bench_triggers
import bench_waiting_at_scale
from _common import dump


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI")
    parser.add_argument("--json", help="also write the figures to this file")
    options = parser.parse_args()
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    results = [
        bench_parse_cost.run(options.quick),
        bench_hook_overhead.run(options.quick),
        bench_embedding_throughput.run(options.quick),
        bench_waiting_at_scale.run(options.quick),
        bench_waiting_at_scale.run_deferrable(options.quick),
        bench_streaming_memory.run(options.quick),
        *bench_many_prompts.run(options.quick),
        *bench_batch.run(options.quick),
        *bench_triggers.run(options.quick),
    ]
    dump(results, options.json)
    missed = [r["name"] for r in results if not r["met"]]
    print(f"\n{len(results) - len(missed)} of {len(results)} goals met" + (f"; missed: {missed}" if missed else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
