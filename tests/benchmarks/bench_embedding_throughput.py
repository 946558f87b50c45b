"""Figure 3, embedding throughput: many texts through the @task.ovh_embed execution path.

The decorator hands its texts to ``OVHCloudAIEndpointsHook.create_embeddings`` (batches of
``batch_size``, ``max_concurrency`` in flight); this drives that path against the emulator with
50 ms added to every request and a 128-input limit. Compared in the same run with one request per
text (measured on a sample and scaled) and with the ideal bound
ceil(N / 128) x 50 ms / max_concurrency. Vectors are 16-dimensional so the figure measures batching
and concurrency, not JSON decoding; the 1024-dimension figure (BGE-M3) is reported beside it.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from typing import Any

from _common import report

from airflow_ovhcloud.testing import OVHCloudAIEmulator

LATENCY = 0.05
LIMIT = 128
CONCURRENCY = 4
GOAL = 1.25


def run(quick: bool) -> dict[str, Any]:
    from airflow_ovhcloud.hooks.ai_endpoints import OVHCloudAIEndpointsHook

    texts = [f"document number {i} about something" for i in range(2_000 if quick else 10_000)]
    sample = 40 if quick else 200
    with OVHCloudAIEmulator(latency=LATENCY, embedding_input_limit=LIMIT) as emulator:
        emulator.add_model("bench-embed-16", kind="embedding", dimensions=16)
        os.environ["AIRFLOW_CONN_OVH_AI_ENDPOINTS_DEFAULT"] = emulator.endpoints_connection_json()
        hook = OVHCloudAIEndpointsHook()

        def timed(model: str, items: list[str], batch_size: int) -> float:
            started = time.perf_counter()
            answer = hook.create_embeddings(model, items, batch_size=batch_size, max_concurrency=CONCURRENCY)
            assert len(answer["data"]) == len(items)
            return time.perf_counter() - started

        batched = timed("bench-embed-16", texts, LIMIT)
        per_text = timed("bench-embed-16", texts[:sample], 1) * len(texts) / sample
        batched_1024 = timed("BGE-M3", texts, LIMIT)
    bound = math.ceil(len(texts) / LIMIT) * LATENCY / CONCURRENCY
    return report(
        f"3. Embedding throughput ({len(texts)} texts, {LATENCY * 1000:.0f} ms per request, "
        f"{LIMIT}-input limit, max_concurrency={CONCURRENCY})",
        {
            "bound: ceil(N/128) x latency / concurrency (s)": bound,
            "batched, 16 dims (s)": batched,
            "batched / bound": batched / bound,
            f"one request per text (s, scaled from {sample})": per_text,
            "speed-up of batching": per_text / batched,
            "batched, BGE-M3 1024 dims (s)": batched_1024,
        },
        f"batched <= {GOAL} x bound",
        batched <= GOAL * bound,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    run(parser.parse_args().quick)
