"""The connection Test button of Airflow 3.3's web UI, pressed in a real browser, for AI Endpoints and AI Training.

Runs against a running deployment (``run_deployment.py --browser-check`` starts one and calls this;
``run_deployment.py --keep-running`` keeps one up to run it by hand). Playwright (from PyPI) drives the
system's Chromium (``apt-get install -y chromium``; Playwright's own browser download is not used).

Each case creates a connection the way users do — through the **Add Connection form** (as
docs/connections.md says, Port 443 filled in), with ``airflow connections add``, or as an
``AIRFLOW_CONN_*`` variable of the deployment — presses the row's Test button, and asserts the toast
the UI shows: a good key is reported working, a wrong key as refused (401), no key as anonymous and
rate-limited, an unreachable host as such. Connections from environment variables are not listed in
the UI, so those are tested through the same REST route the button calls (``POST
/api/v2/connections/test``). One screenshot per case goes to ``--out``. Exit code 0 when every case
shows what it should.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

ENDPOINTS = "OVHcloud AI Endpoints"
TRAINING = "OVHcloud AI Training"
GOOD = r"Connected to OVHcloud AI Endpoints at \S+: the API key works \(a 1-token chat completion on \S+\)"
WRONG = r"OVHcloud AI Endpoints refused the API key \(HTTP 401\): it is wrong, expired or revoked"
ANONYMOUS = (
    r"Connected to OVHcloud AI Endpoints at \S+ without an API key: the connection is anonymous, "
    r"so calls are rate-limited by OVHcloud"
)
UNREACHABLE = r"Request to OVHcloud AI Endpoints failed: could not connect.*reachable from where this runs"
TRAINING_GOOD = r"Connected to OVHcloud AI Training in region gra at \S+: \d+ jobs?"
#: Airflow 3.3's answer when the list's Test button sends ``port: 0`` for a connection stored without a port.
AIRFLOW_PORT_BUG = "The host or port to test differs from the stored connection"


@dataclass
class Case:
    """One connection, how it is made, and what the Test button must say."""

    conn_id: str
    made_by: str  # "form", "cli" or "env"
    expect_ok: bool
    expect: str  # a regular expression the message must match
    title: str
    fields: dict[str, str] = field(default_factory=dict)  # form field name -> value
    hook_name: str = ENDPOINTS
    extra_fields: dict[str, str] = field(default_factory=dict)  # extra field label -> value


@dataclass
class Outcome:
    case: Case
    ok: bool | None
    message: str
    shown: str  # the toast's text as the page shows it (form and CLI cases)
    screenshot: Path | None
    seconds: float
    problems: list[str] = field(default_factory=list)


def cases(emulator_url: str, token: str) -> list[Case]:
    base = f"{emulator_url}/v1"
    return [
        Case(
            "ovh_form_good_key", "form", True, GOOD, "form, good key", {"host": base, "password": token, "port": "443"}
        ),
        Case(
            "ovh_form_wrong_key",
            "form",
            False,
            WRONG,
            "form, wrong key",
            {"host": base, "password": "not-" + token, "port": "443"},
        ),
        Case("ovh_form_no_key", "form", True, ANONYMOUS, "form, no key", {"host": base, "port": "443"}),
        Case(
            "ovh_form_unreachable",
            "form",
            False,
            UNREACHABLE,
            "form, unreachable host (client retries 0)",
            {"host": "http://127.0.0.1:9/v1", "password": token, "port": "443"},
            extra_fields={"Client retries (429, 5xx, network)": "0"},
        ),
        Case(
            "ovh_form_training",
            "form",
            True,
            TRAINING_GOOD,
            "form, AI Training token",
            {"host": emulator_url, "login": "gra", "password": token, "port": "443"},
            hook_name=TRAINING,
        ),
        Case(
            "ovh_cli_good_key",
            "cli",
            True,
            GOOD,
            "CLI (airflow connections add), good key",
            {"host": base, "password": token, "port": "443"},
        ),
        Case("ovh_ai_endpoints_default", "env", True, GOOD, "AIRFLOW_CONN_OVH_AI_ENDPOINTS_DEFAULT (REST route)"),
        Case(
            "ovh_ai_training_default",
            "env",
            True,
            TRAINING_GOOD,
            "AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT (REST route)",
            hook_name=TRAINING,
        ),
    ]


def http(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with _OPENER.open(request, timeout=60) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


# ------------------------------------------------------------------------------------------- making connections


def add_through_form(page: Any, api: str, case: Case) -> None:
    """Airflow 3.3's Add Connection dialog, filled in as a user does."""
    page.goto(f"{api}/connections")
    page.get_by_role("button", name="Add Connection").first.click()
    dialog = page.get_by_role("dialog")
    dialog.locator("input[name=connection_id]").fill(case.conn_id)
    kind = dialog.locator("input[aria-autocomplete=list]")  # react-select
    kind.focus()
    kind.press_sequentially(case.hook_name)
    page.get_by_role("option", name=case.hook_name, exact=True).click()
    for name, value in case.fields.items():
        dialog.locator(f"input[name={name}]").fill(value)
    if case.extra_fields:
        dialog.get_by_role("button", name="Extra Fields", exact=True).click()
        for label, value in case.extra_fields.items():
            dialog.get_by_label(label).fill(value)
    dialog.get_by_role("button", name="Save").click()
    dialog.wait_for(state="hidden")


def add_through_cli(airflow: str, case: Case) -> None:
    argv = [airflow, "connections", "add", case.conn_id, "--conn-type", "ovhcloud_ai_endpoints"]
    for name, value in case.fields.items():
        argv += [f"--conn-{name}", value]
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"airflow connections add failed: {result.stdout}{result.stderr}")


# ------------------------------------------------------------------------------------------- pressing Test


def press_test(page: Any, api: str, case: Case, out: Path) -> Outcome:
    """Press the row's Test button; read the answer of the REST call and the toast the page shows."""
    started = time.monotonic()
    page.goto(f"{api}/connections")
    row = page.get_by_role("row").filter(has=page.get_by_role("cell", name=case.conn_id, exact=True))
    row.wait_for()
    with page.expect_response(lambda r: r.url.endswith("/api/v2/connections/test"), timeout=60_000) as answer:
        row.get_by_role("button", name="Test Connection").click()
    response = answer.value
    body = response.json()
    if response.status == 200:
        ok, message = bool(body["status"]), str(body["message"])
    else:  # Airflow refused to run the test (its own error, shown in an error toast)
        detail = body.get("detail") if isinstance(body, dict) else body
        ok, message = None, f"HTTP {response.status}: {detail}"
    toast = page.locator("[data-scope=toast][data-part=root]").last
    toast.wait_for(timeout=10_000)
    shown = toast.inner_text()
    screenshot = out / f"{case.conn_id}.png"
    page.screenshot(path=str(screenshot))
    return Outcome(case, ok, message, shown, screenshot, time.monotonic() - started)


def test_by_rest(api: str, case: Case) -> Outcome:
    """What the Test button calls, for a connection the UI does not list (environment variables)."""
    started = time.monotonic()
    kind = "ovhcloud_ai_training" if case.hook_name == TRAINING else "ovhcloud_ai_endpoints"
    status, body = http("POST", f"{api}/api/v2/connections/test", {"connection_id": case.conn_id, "conn_type": kind})
    if status != 200:
        return Outcome(case, None, f"HTTP {status}: {body}", "", None, time.monotonic() - started)
    return Outcome(case, bool(body["status"]), str(body["message"]), "", None, time.monotonic() - started)


def judge(outcome: Outcome) -> None:
    case = outcome.case
    if outcome.ok is not case.expect_ok:
        outcome.problems.append(f"status {outcome.ok}, expected {case.expect_ok}")
    if not re.search(case.expect, outcome.message, re.DOTALL):
        outcome.problems.append(f"message does not match /{case.expect}/")
    if case.made_by != "env":
        # The user sees the toast: it must carry the same message (the UI may wrap lines).
        flat = " ".join(outcome.shown.split())
        if " ".join(outcome.message.split())[:120] not in flat:
            outcome.problems.append(f"the page's toast does not show the message: {outcome.shown!r}")
        title = "Test Connection Successful" if case.expect_ok else "Test Connection Failed"
        if title not in outcome.shown:
            outcome.problems.append(f"toast title is not {title!r}: {outcome.shown!r}")


def check_port_bug(page: Any, api: str, case: Case, out: Path) -> str:
    """What a form connection *without* a port shows (docs/connections.md explains it): reported, not asserted."""
    add_through_form(page, api, case)
    outcome = press_test(page, api, case, out)
    if outcome.ok is True:
        return "Test works without a stored port too (Airflow fixed its port: 0 check)"
    if AIRFLOW_PORT_BUG in outcome.message:
        return (
            f"as documented, Airflow refuses the test of a connection stored without a port ({outcome.message}); "
            f"the page shows only: {' / '.join(outcome.shown.split(chr(10)))}"
        )
    return f"unexpected: {outcome.message}"


# ------------------------------------------------------------------------------------------- main


def find_chromium(given: str | None) -> str:
    for candidate in (given, "chromium", "chromium-browser", "google-chrome"):
        path = candidate and (shutil.which(candidate) or (candidate if Path(candidate).is_file() else None))
        if path:
            return str(path)
    raise SystemExit("no Chromium found: apt-get install -y chromium, or pass --chromium PATH")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api-url", required=True, help="the api-server, e.g. http://127.0.0.1:8080")
    parser.add_argument("--emulator-url", required=True, help="the emulator's root URL, as the api-server reaches it")
    parser.add_argument("--token", required=True, help="the emulator's API key (--token of airflow-ovhcloud emulator)")
    parser.add_argument("--out", default="test-button-screenshots", help="folder for one screenshot per case")
    parser.add_argument("--chromium", help="Chromium binary (default: chromium on PATH)")
    parser.add_argument("--airflow", default="airflow", help="the airflow CLI of the deployment (same environment)")
    parser.add_argument("--skip-cli", action="store_true", help="skip the case made with `airflow connections add`")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from playwright.sync_api import sync_playwright

    api = args.api_url.rstrip("/")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    chosen = [c for c in cases(args.emulator_url.rstrip("/"), args.token) if not (args.skip_cli and c.made_by == "cli")]
    no_port = Case(
        "ovh_form_no_port",
        "form",
        True,
        GOOD,
        "form, good key, Port left empty",
        {"host": f"{args.emulator_url.rstrip('/')}/v1", "password": args.token},
    )
    for case in [*chosen, no_port]:  # a re-run against the same deployment starts clean
        if case.made_by != "env":
            http("DELETE", f"{api}/api/v2/connections/{case.conn_id}")
    outcomes: list[Outcome] = []
    with sync_playwright() as playwright:
        # --no-sandbox: Chromium's sandbox refuses to run as root (CI containers); /dev/shm is small in containers.
        browser = playwright.chromium.launch(
            executable_path=find_chromium(args.chromium), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(30_000)
        for case in chosen:
            outcomes.append(report(run_case(page, api, case, out, args.airflow)))
        try:
            port_note = check_port_bug(page, api, no_port, out)
        except Exception as exc:  # a note, never a failure
            port_note = f"could not be checked: {type(exc).__name__}: {exc}"
        browser.close()
    print(f"[note] form, Port left empty: {port_note}")
    failed = sum(bool(outcome.problems) for outcome in outcomes)
    print(f"{len(outcomes) - failed}/{len(outcomes)} Test-button cases show what they should; screenshots in {out}")
    return 1 if failed else 0


def run_case(page: Any, api: str, case: Case, out: Path, airflow: str) -> Outcome:
    """Make the connection, test it, judge what was shown; a step that breaks is this case's failure."""
    started = time.monotonic()
    try:
        if case.made_by == "env":
            listed = http("GET", f"{api}/api/v2/connections?connection_id_pattern={case.conn_id}")[1]
            if listed.get("total_entries"):
                print(f"note: {case.conn_id} is listed in the UI; testing it through the REST route anyway")
            outcome = test_by_rest(api, case)
        else:
            if case.made_by == "form":
                add_through_form(page, api, case)
            else:
                add_through_cli(airflow, case)
            outcome = press_test(page, api, case, out)
    except Exception as exc:
        shot: Path | None = out / f"{case.conn_id}-broken.png"
        try:
            page.screenshot(path=str(shot))
        except Exception:
            shot = None
        outcome = Outcome(case, None, "", "", shot, time.monotonic() - started)
        outcome.problems.append(f"the check broke: {type(exc).__name__}: {exc}")
        return outcome
    judge(outcome)
    return outcome


def report(outcome: Outcome) -> Outcome:
    verdict = "FAIL" if outcome.problems else "ok"
    print(f"[{verdict:>4}] {outcome.case.title} ({outcome.case.conn_id}, {outcome.seconds:.1f} s)")
    print(f"       status={outcome.ok} message: {outcome.message}")
    if outcome.screenshot:
        print(f"       screenshot: {outcome.screenshot}")
    for problem in outcome.problems:
        print(f"       PROBLEM: {problem}")
    sys.stdout.flush()
    return outcome


if __name__ == "__main__":
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    sys.exit(main())
