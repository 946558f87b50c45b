"""Figure 5, streaming: a 5 MB completion streamed through the hook.

The emulator runs in a child process (so its memory is not counted) and streams the scripted
answer. Measured with tracemalloc in this process: peak memory growth while the hook assembles the
stream, against the content size; and when the first chunk reaches the caller against the last.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
import tracemalloc
from typing import Any

os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")

from _common import report

MODEL = "Meta-Llama-3_3-70B-Instruct"
GOAL_RATIO = 3.0


def content_of(size: int) -> str:
    word = "x" * 199
    return " ".join([word] * (size // 200))


def serve(size: int, urls: Any, stop: Any) -> None:
    from airflow_ovhcloud.testing import OVHCloudAIEmulator

    with OVHCloudAIEmulator() as emulator:
        emulator.stream_interval = 0.00005  # a model generating ~20,000 chunks a second
        for _ in range(4):
            emulator.script_chat(content_of(size))
        urls.put(emulator.endpoints_connection_json())
        stop.wait(300)


def run(quick: bool) -> dict[str, Any]:
    from airflow_ovhcloud.hooks.ai_endpoints import OVHCloudAIEndpointsHook, assemble_chat_stream

    size = (1 if quick else 5) * 1024 * 1024
    context = multiprocessing.get_context("spawn")
    urls, stop = context.Queue(), context.Event()
    child = context.Process(target=serve, args=(size, urls, stop), daemon=True)
    child.start()
    try:
        os.environ["AIRFLOW_CONN_OVH_AI_ENDPOINTS_DEFAULT"] = urls.get(timeout=60)
        hook = OVHCloudAIEndpointsHook()
        messages = [{"role": "user", "content": "Say a lot."}]
        hook.chat_completion(model=MODEL, messages=messages, stream=True)  # warm up (imports, connection)

        tracemalloc.start()
        baseline, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        response = hook.chat_completion(model=MODEL, messages=messages, stream=True)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        received = len(response["choices"][0]["message"]["content"])
        del response

        started = time.perf_counter()
        arrivals = []

        def timed_chunks() -> Any:
            for chunk in hook.stream_chat_completion(model=MODEL, messages=messages):
                arrivals.append(time.perf_counter() - started)
                yield chunk

        assemble_chat_stream(timed_chunks())
    finally:
        stop.set()
        child.join(timeout=10)
    growth = peak - baseline
    return report(
        f"5. Streaming memory ({size / 1024 / 1024:.0f} MB completion)",
        {
            "content received (MB)": received / 1024 / 1024,
            "peak memory growth (MB)": growth / 1024 / 1024,
            "growth / content size": growth / received,
            "chunks": len(arrivals),
            "first chunk after (s)": arrivals[0],
            "last chunk after (s)": arrivals[-1],
        },
        f"growth <= {GOAL_RATIO:.0f}x content; first chunk long before the last",
        received == size // 200 * 200 - 1 and growth <= GOAL_RATIO * received and arrivals[0] < arrivals[-1] / 10,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    run(parser.parse_args().quick)
