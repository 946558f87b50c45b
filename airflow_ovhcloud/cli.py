"""The ``airflow-ovhcloud`` command: ``emulator`` serves the local emulator, ``demo`` runs the main job."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence


def _emulator(args: argparse.Namespace) -> int:
    from airflow_ovhcloud.testing.emulator import OVHCloudAIEmulator

    emulator = OVHCloudAIEmulator(host=args.host, port=args.port, token=args.token, latency=args.latency)
    emulator.start()
    print(f"OVHcloud AI emulator listening on {emulator.url}", flush=True)
    print(f"  AI Endpoints base URL: {emulator.endpoints_url}")
    print(f"  AI Training base URL:  {emulator.training_url}")
    print(f"  token:                 {emulator.token}")
    print("Point Airflow at it with:")
    print(f"  export AIRFLOW_CONN_OVH_AI_ENDPOINTS_DEFAULT='{emulator.endpoints_connection_json()}'")
    print(f"  export AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT='{emulator.training_connection_json()}'")
    print("Press Ctrl+C to stop.", flush=True)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _demo(args: argparse.Namespace) -> int:
    from airflow_ovhcloud.demo import run_demo

    return run_demo(live=args.live, airflow_home=args.airflow_home)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="airflow-ovhcloud",
        description="Tools of the airflow-ovhcloud Airflow provider.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    emulator = sub.add_parser("emulator", help="serve the local OVHcloud AI emulator until Ctrl+C")
    emulator.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    emulator.add_argument("--port", type=int, default=8080, help="port to bind (0 picks a free one)")
    emulator.add_argument("--token", default="emulator-token", help="the API token it accepts")
    emulator.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    emulator.set_defaults(func=_emulator)

    demo = sub.add_parser("demo", help="run the example DAG end to end on the embedded emulator")
    demo.add_argument("--live", action="store_true", help="run against OVHcloud instead of the emulator")
    demo.add_argument("--airflow-home", default=None, help="AIRFLOW_HOME to use (default: a temporary one)")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
