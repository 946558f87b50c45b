"""The ``airflow-ovhcloud`` command: ``emulator`` serves the local emulator, ``demo`` runs the main job."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

#: The emulator's default port: not Airflow's api-server (8080), nor its log server (8793).
DEFAULT_PORT = 8765


def _non_negative(kind: type[float] | type[int]) -> Any:
    def parse(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _positive_int(text: str) -> int:
    value = _non_negative(int)(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return int(value)


def _port(text: str) -> int:
    value = int(_non_negative(int)(text))
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be at most 65535, got {text}")
    return value


def _limit(text: str) -> int | None:
    """A rate limit: a whole number of requests >= 1, or ``none`` for no limit."""
    return None if text.strip().lower() == "none" else _positive_int(text)


def _positive_float(text: str) -> float:
    value = float(_non_negative(float)(text))
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _rate(text: str) -> float:
    value = float(_non_negative(float)(text))
    if value > 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _emulator(args: argparse.Namespace) -> int:
    from airflow_ovhcloud.testing.emulator import OVHCloudAIEmulator
    from airflow_ovhcloud.testing.emulator.control import PREFIX
    from airflow_ovhcloud.testing.emulator.server import BindError

    emulator = OVHCloudAIEmulator(
        host=args.host,
        port=args.port,
        token=args.token,
        latency=args.latency,
        require_auth=args.require_auth,
        requests_per_minute=args.requests_per_minute,
        anonymous_requests_per_minute=args.anonymous_requests_per_minute,
        rate_limit_window=args.rate_limit_window,
        embedding_input_limit=args.embedding_input_limit,
    )
    # Knobs that are not constructor arguments: a reset through the control API applies them again.
    knobs = {
        "job_progress": args.job_progress,
        "job_step_seconds": args.job_step_seconds,
        "batch_progress": args.batch_progress,
        "batch_step_seconds": args.batch_step_seconds,
    }
    for name, value in knobs.items():
        setattr(emulator, name, value)
    emulator._control_api.baseline.update(knobs)
    if args.random_fault_rate:
        emulator.random_faults(args.random_fault_rate, seed=args.seed)
    try:
        emulator.start()
    except BindError as exc:
        hint = "pick another with --port (0 picks a free one)" if exc.port else "check --host"
        print(f"airflow-ovhcloud emulator: {exc}; {hint}", file=sys.stderr, flush=True)
        return 1
    timing = "one state per poll" if args.job_progress == "polls" else f"one state every {args.job_step_seconds:g} s"
    print(f"OVHcloud AI emulator listening on {emulator.url}", flush=True)
    print(f"  AI Endpoints base URL: {emulator.endpoints_url}")
    print(f"  AI Training base URL:  {emulator.training_url}")
    print(f"  token:                 {emulator.token}")
    print(f"  control API:           {emulator.url}{PREFIX} (airflow_ovhcloud.testing.EmulatorClient)")
    print(f"  auth:                  {'strict (every call needs the token)' if args.require_auth else 'as OVHcloud'}")
    print(f"  training jobs:         {timing}")
    batch_timing = (
        "one step per poll" if args.batch_progress == "polls" else f"one step every {args.batch_step_seconds:g} s"
    )
    print(f"  batches:               {batch_timing}")
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


def _add_emulator_parser(sub: Any) -> None:
    emulator = sub.add_parser(
        "emulator",
        help="serve the local OVHcloud AI emulator until Ctrl+C",
        description=(
            "Serve OVHcloud AI Endpoints and AI Training on one local port, with a control API under "
            "/_emulator (script answers and job outcomes, inject faults, read the journal: see "
            "airflow_ovhcloud.testing.EmulatorClient). Prints the URL it bound and the connections to export."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    server = emulator.add_argument_group("server")
    server.add_argument("--host", default="127.0.0.1", help="address to bind")
    server.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help="port to bind; 0 picks a free one (Airflow's api-server uses 8080)",
    )
    server.add_argument("--token", default="emulator-token", help="the API key it accepts")
    server.add_argument("--latency", type=_non_negative(float), default=0.0, help="seconds added to every answer")
    auth = emulator.add_argument_group("auth and rate limits")
    auth.add_argument(
        "--require-auth",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="strict mode: refuse every call without the token; otherwise AI Endpoints answers anonymous "
        "calls, rate-limited, as OVHcloud does (a wrong token is always refused)",
    )
    auth.add_argument(
        "--requests-per-minute",
        type=_limit,
        default=None,
        help="chat/embedding calls with the token admitted per model per window ('none': no limit)",
    )
    auth.add_argument(
        "--anonymous-requests-per-minute",
        type=_limit,
        default=2,
        help="chat/embedding calls without a token admitted per model per window ('none': no limit)",
    )
    auth.add_argument(
        "--rate-limit-window",
        type=_positive_float,
        default=60.0,
        help="the sliding window of both rate limits, in seconds; over a limit: 429 with Retry-After",
    )
    auth.add_argument(
        "--embedding-input-limit",
        type=_positive_int,
        default=None,
        help="inputs one embeddings request may hold (None: any)",
    )
    jobs = emulator.add_argument_group("AI Training jobs")
    jobs.add_argument(
        "--job-progress",
        choices=("polls", "time"),
        default="polls",
        help="jobs move one state per GET /v1/job/{id} (polls) or one state per --job-step-seconds (time); "
        "the control API also advances or finishes them",
    )
    jobs.add_argument(
        "--job-step-seconds",
        type=_non_negative(float),
        default=1.0,
        help="seconds per job state with --job-progress time",
    )
    batches = emulator.add_argument_group("AI Endpoints batches")
    batches.add_argument(
        "--batch-progress",
        choices=("polls", "time"),
        default="polls",
        help="batches move one step (validating, in_progress, finalizing, completed) per GET /v1/batches/{id} "
        "(polls) or one step per --batch-step-seconds (time); the control API also advances or finishes them",
    )
    batches.add_argument(
        "--batch-step-seconds",
        type=_non_negative(float),
        default=0.05,
        help="seconds per batch step with --batch-progress time",
    )
    faults = emulator.add_argument_group("faults")
    faults.add_argument(
        "--random-fault-rate",
        type=_rate,
        default=0.0,
        help="share of requests answered 429/503 or dropped at random (0 to 1)",
    )
    faults.add_argument("--seed", type=int, default=0, help="seed of the random faults, so a run is repeatable")
    emulator.set_defaults(func=_emulator)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="airflow-ovhcloud",
        description="Tools of the airflow-ovhcloud Airflow provider.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _add_emulator_parser(sub)

    demo = sub.add_parser(
        "demo",
        help="run the example DAG end to end on the embedded emulator",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    demo.add_argument("--live", action="store_true", help="run against OVHcloud instead of the emulator")
    demo.add_argument("--airflow-home", default=None, help="AIRFLOW_HOME to use (None: a temporary one)")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
