"""Issue 14: what a real deployment, the web UI and the docs showed, each proven the way it was found.

Keyless AI Endpoints connections, a Test button that tests the key (and that Airflow 3.3's UI can
press), wording, project URLs, migration imports, install lines, and the deployment findings
(rendered fields of deferred tasks, small trigger events, templates without a logical date).
The demo's findings are in tests/test_demo.py, the wheel's contents in tests/test_packaging.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from airflow_ovhcloud.constants import ANONYMOUS_REQUESTS_PER_MINUTE, TEST_CHAT_MODEL
from airflow_ovhcloud.exceptions import (
    OVHCloudAIClientError,
    OVHCloudAIConfigurationError,
    OVHCloudAIJobFailedError,
    OVHCloudAIRequestError,
)
from airflow_ovhcloud.get_provider_info import DOCUMENTATION_URL, SOURCE_URL, get_provider_info
from airflow_ovhcloud.testing.dagrun import run_dag
from tests.helpers import ENV_SECRETS, REPO, SECRET_TOKEN
from tests.hostile import hostile_server, send_json

#: The Test button's route and its port check are Airflow 3.3's (the issue was found on 3.3); 3.1's
#: route answers differently and its `airflow connections add` prints the password it was given.
AIRFLOW_3_3_UI = pytest.mark.skipif(
    tuple(int(p) for p in __import__("airflow").__version__.split(".")[:2]) < (3, 3),
    reason="the Test button route of Airflow 3.3",
)

MODEL = "Meta-Llama-3_3-70B-Instruct"
HELLO = [{"role": "user", "content": "hello"}]
FILE = "deployment_dags.py"


def set_conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, conn: dict[str, Any]) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


def endpoints_hook(conn_id: str) -> Any:
    from airflow_ovhcloud.hooks.ai_endpoints import OVHCloudAIEndpointsHook

    return OVHCloudAIEndpointsHook(conn_id)


# ------------------------------------------------------------------------------ 1. keyless use


def test_a_keyless_connection_calls_anonymously_and_says_so_once(
    emulator: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    set_conn(monkeypatch, "anon", {"conn_type": "ovhcloud_ai_endpoints", "host": emulator.endpoints_url})
    hook = endpoints_hook("anon")
    assert hook.chat_completion(model=MODEL, messages=HELLO)["choices"]
    assert hook.create_embedding(model="BGE-M3", input="one text")["data"]
    assert MODEL in hook.list_models()

    assert {r.auth for r in emulator.journal} == {"missing"}  # no Authorization header at all
    assert "authorization" not in {h.lower() for h in hook.http.session.headers}
    out = capsys.readouterr()
    log = out.out + out.err
    assert log.count("calls are anonymous and rate-limited") == 1, log
    assert (
        f"connection 'anon' has no API key, so calls are anonymous and rate-limited by OVHcloud "
        f"({ANONYMOUS_REQUESTS_PER_MINUTE} requests per minute per IP and model)" in log
    )


def test_a_keyless_call_carries_no_authorization_header_on_the_wire(monkeypatch: pytest.MonkeyPatch) -> None:
    """Independent of the emulator: a plain local server records the raw headers."""

    def answer(handler: BaseHTTPRequestHandler, body: bytes) -> None:
        send_json(handler, 200, {"object": "list", "data": [{"id": MODEL, "object": "model"}]})

    with hostile_server(answer) as server:
        set_conn(monkeypatch, "anon_raw", {"conn_type": "generic", "host": server.url + "/v1"})
        assert endpoints_hook("anon_raw").list_models() == [MODEL]
    (request,) = server.requests
    assert "authorization" not in {name.lower() for name in request["headers"]}


def test_an_anonymous_429_says_how_to_add_a_key(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = {"conn_type": "ovhcloud_ai_endpoints", "host": emulator.endpoints_url, "extra": {"max_retries": 0}}
    set_conn(monkeypatch, "anon_limited", conn)
    hook = endpoints_hook("anon_limited")
    for _ in range(ANONYMOUS_REQUESTS_PER_MINUTE):
        hook.chat_completion(model=MODEL, messages=HELLO)
    with pytest.raises(OVHCloudAIRequestError) as info:
        hook.chat_completion(model=MODEL, messages=HELLO)
    message = str(info.value)
    assert info.value.http_status == 429
    assert "Calls without a key are limited by OVHcloud to 2 requests per minute per IP and model" in message
    assert "put an API key in connection 'anon_limited' (the form's 'API key' field" in message
    assert "Public Cloud > AI Endpoints > API keys" in message


def test_an_anonymous_401_says_the_call_went_without_a_key(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    emulator.require_auth = True  # a service (or a route) that does not serve anonymous calls
    set_conn(monkeypatch, "anon_refused", {"conn_type": "ovhcloud_ai_endpoints", "host": emulator.endpoints_url})
    with pytest.raises(OVHCloudAIClientError) as info:
        endpoints_hook("anon_refused").chat_completion(model=MODEL, messages=HELLO)
    assert "The request was sent without a key (connection 'anon_refused' has none): put an API key" in str(info.value)


def test_routes_that_need_a_key_keep_the_documented_error(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    set_conn(monkeypatch, "anon_batch", {"conn_type": "ovhcloud_ai_endpoints", "host": emulator.endpoints_url})
    hook = endpoints_hook("anon_batch")
    expected = "OVHcloud AI Endpoints API key not found in connection 'anon_batch'. Put the API key in the "
    with pytest.raises(OVHCloudAIConfigurationError) as info:
        hook.require_key()
    assert str(info.value).startswith(expected)
    with pytest.raises(OVHCloudAIConfigurationError) as info:  # the flag on the request path (Batch, Files)
        hook.http.request_json("GET", "batches", require_key=True)
    assert str(info.value).startswith(expected)
    assert emulator.journal == []  # refused before anything was sent
    # With a key, require_key gives it back and the flagged request goes out.
    assert endpoints_hook("ovh_ai_endpoints_default").require_key() == SECRET_TOKEN


def test_ai_training_still_requires_its_token(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_ovhcloud.hooks.ai_training import OVHCloudAITrainingHook

    set_conn(monkeypatch, "train_nokey", {"conn_type": "ovhcloud_ai_training", "host": "http://127.0.0.1:9"})
    with pytest.raises(OVHCloudAIConfigurationError) as info:
        OVHCloudAITrainingHook("train_nokey").list_jobs()
    assert str(info.value).startswith(
        "OVHcloud AI Training token not found in connection 'train_nokey'. Put an AI Training application token "
        "in the connection's 'AI Training token' field ('Password' in a generic connection)"
    )


# ----------------------------------------------------------------------- 2. the Test button


def test_the_test_button_spends_one_token_on_a_small_model(emulator: Any) -> None:
    ok, message = endpoints_hook("ovh_ai_endpoints_default").test_connection()
    assert ok is True, message
    assert f"the API key works (a 1-token chat completion on {TEST_CHAT_MODEL})" in message
    (call,) = emulator.requests_to("/chat/completions")
    assert call.auth == "ok"
    assert call.body["model"] == TEST_CHAT_MODEL and call.body["max_tokens"] == 1
    assert call.body["messages"] == [{"role": "user", "content": "ping"}]


@contextmanager
def service_like_ovhcloud(good_key: str) -> Iterator[Any]:
    """What the real service does and the old Test button missed: models for any key, chat only for a good one."""

    def answer(handler: BaseHTTPRequestHandler, body: bytes) -> None:
        if handler.path.endswith("/models"):
            send_json(handler, 200, {"object": "list", "data": [{"id": TEST_CHAT_MODEL}, {"id": "bge-m3"}]})
        elif handler.headers.get("Authorization") == f"Bearer {good_key}":
            send_json(handler, 200, {"object": "chat.completion", "choices": [{"index": 0, "message": {}}]})
        else:
            send_json(handler, 401, {"error": {"message": "Invalid API key.", "type": "authentication_error"}})

    with hostile_server(answer) as server:
        yield server


def test_the_test_button_reports_a_wrong_key_that_the_model_list_accepts(monkeypatch: pytest.MonkeyPatch) -> None:
    with service_like_ovhcloud("the-good-key") as server:
        set_conn(monkeypatch, "wrong_key", {"conn_type": "generic", "host": server.url + "/v1", "password": "wrong"})
        ok, message = endpoints_hook("wrong_key").test_connection()
        assert [r["path"] for r in server.requests] == ["/v1/models", "/v1/chat/completions"]
    assert ok is False
    assert message.startswith(
        "OVHcloud AI Endpoints refused the API key (HTTP 401): it is wrong, expired or revoked. Paste it again in "
        "the connection's 'API key' field"
    )
    assert "The service said: Invalid API key." in message


def test_the_test_button_says_a_keyless_connection_is_anonymous(monkeypatch: pytest.MonkeyPatch) -> None:
    with service_like_ovhcloud("the-good-key") as server:
        set_conn(monkeypatch, "no_key", {"conn_type": "generic", "host": server.url + "/v1"})
        ok, message = endpoints_hook("no_key").test_connection()
        assert [r["path"] for r in server.requests] == ["/v1/models"]  # no chat call spent
    assert ok is True
    assert "without an API key: the connection is anonymous, so calls are rate-limited by OVHcloud" in message


def test_the_test_button_model_can_be_chosen_and_is_never_an_embedding_model(
    emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = emulator.endpoints_connection()
    set_conn(monkeypatch, "pick", {**conn, "extra": {"test_model": "gpt-oss-20b"}})
    assert endpoints_hook("pick").test_connection()[0] is True
    assert emulator.requests_to("/chat/completions")[-1].body["model"] == "gpt-oss-20b"
    hook = endpoints_hook("ovh_ai_endpoints_default")
    assert hook.test_model(["BGE-M3", "bge-multilingual-gemma2", "Qwen3-Embedding-8B", "Mistral-7B"]) == "Mistral-7B"
    assert hook.test_model(["BGE-M3", "whisper-large-v3"]) is None
    with service_like_ovhcloud("k") as server:
        set_conn(monkeypatch, "none_to_test", {"conn_type": "generic", "host": server.url + "/v1", "password": "k"})
        server.answer = lambda h, b: send_json(h, 200, {"object": "list", "data": [{"id": "bge-m3"}]})
        ok, message = endpoints_hook("none_to_test").test_connection()
    assert ok is False and "was not checked" in message and "extra 'test_model'" in message


# --------------------------------------------------------------------------------- 3. wording


def test_the_401_message_names_the_form_field_and_has_no_doubled_period(
    emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_conn(monkeypatch, "wrong", {"conn_type": "generic", "host": emulator.endpoints_url, "password": "nope"})
    with pytest.raises(OVHCloudAIClientError) as info:
        endpoints_hook("wrong").chat_completion(model=MODEL, messages=HELLO)
    message = str(info.value)
    assert ".." not in message
    assert "Send it as 'Authorization: Bearer <key>'. Check the API key of Airflow connection 'wrong'" in message
    assert "(the form's 'API key' field, 'Password' in a generic connection)" in message


def test_no_message_sends_users_to_a_password_the_form_does_not_show(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_ovhcloud.hooks.ai_training import OVHCloudAITrainingHook

    set_conn(monkeypatch, "words", {"conn_type": "generic", "host": "http://127.0.0.1:9/v1", "password": "k"})
    set_conn(monkeypatch, "twords", {"conn_type": "generic", "host": "http://127.0.0.1:9", "password": "k"})
    hooks = [endpoints_hook("words"), OVHCloudAITrainingHook("twords")]
    texts = []
    for hook in hooks:
        texts += [hook.missing_token_message(), hook.anonymous_hint(), hook.http.token_hint]
    for text in texts:
        assert "password" not in text.replace("'Password' in a generic connection", ""), text
    for source in ("_http.py", "hooks/base.py", "hooks/ai_endpoints.py", "hooks/ai_training.py"):
        code = (REPO / "airflow_ovhcloud" / source).read_text()
        assert "in the password" not in code and "in the connection's password" not in code, source


def test_a_network_error_does_not_assume_it_ran_in_a_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = {"conn_type": "generic", "host": "http://127.0.0.1:9/v1", "password": "k", "extra": {"max_retries": 0}}
    set_conn(monkeypatch, "unreachable", conn)
    ok, message = endpoints_hook("unreachable").test_connection()
    assert ok is False
    assert "reachable from where this runs (the worker, the triggerer, or the API server" in message
    assert "from the worker" not in message


def test_the_forms_show_every_numeric_extra_without_defaults() -> None:
    by_type = {c["connection-type"]: c for c in get_provider_info()["connection-types"]}
    endpoints, training = by_type["ovhcloud_ai_endpoints"], by_type["ovhcloud_ai_training"]
    common = {"timeout", "max_retries", "backoff_factor", "stream_timeout"}
    assert set(endpoints["conn-fields"]) == common | {"requests_per_minute"}
    assert set(training["conn-fields"]) == common
    for conn in (endpoints, training):
        for name, spec in conn["conn-fields"].items():
            assert "default" not in spec["schema"], name  # an untouched field saves nothing
            assert "null" in spec["schema"]["type"], name
            assert spec["label"] and spec["description"], name


def test_extras_a_form_saves_empty_mean_the_defaults(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = dict.fromkeys(("timeout", "max_retries", "backoff_factor", "stream_timeout", "requests_per_minute"))
    set_conn(monkeypatch, "form_saved", {**emulator.endpoints_connection(), "port": 443, "extra": empty})
    hook = endpoints_hook("form_saved")
    assert (hook.http.timeout, hook.http.max_retries, hook.http.backoff_factor) == (60, 3, 1.0)
    assert hook.http.base_url == emulator.endpoints_url  # the host names its port: 443 is not used
    assert hook.chat_completion(model=MODEL, messages=HELLO)["choices"]


def test_the_port_fills_in_only_what_the_host_leaves_out(monkeypatch: pytest.MonkeyPatch) -> None:
    set_conn(monkeypatch, "p1", {"conn_type": "generic", "password": "k", "port": 443})
    set_conn(monkeypatch, "p2", {"conn_type": "generic", "password": "k", "host": "llm-proxy.internal", "port": 443})
    assert endpoints_hook("p1").http.base_url == "https://oai.endpoints.kepler.ai.cloud.ovh.net/v1"
    assert endpoints_hook("p2").http.base_url == "https://llm-proxy.internal:443/v1"


# -------------------------------------------------- 4. the Test button as Airflow 3.3's UI presses it


@pytest.fixture
def api(airflow_db: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Airflow's own REST API, in process (FastAPI's TestClient), with connection testing enabled."""
    monkeypatch.setenv("AIRFLOW__CORE__TEST_CONNECTION", "Enabled")
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "test-only-" + "0" * 64)  # long enough for HS512
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    with TestClient(create_app(apps="core")) as client:
        yield client


#: Airflow 3.3's own connection code (the test route, the CLI) warns about its own deprecated API.
_AIRFLOW_OWN_DEPRECATION = pytest.mark.filterwarnings("ignore:ProvidersManager.hooks is deprecated")


def ui_test_body(row: dict[str, Any]) -> dict[str, Any]:
    """The body of the Test button in Airflow 3.3.2's connection list, from the listed connection ``row``.

    Its source (ui/dist, minified): ``{conn_type, connection_id, description: n.description ?? "",
    extra: n.extra === "" || n.extra === null ? "{}" : n.extra, host: n.host ?? "", login: n.login ?? "",
    password: n.password ?? "", port: Number(n.port), schema: n.schema ?? ""}``: ``Number(null)`` is 0.
    """
    return {
        "conn_type": row["conn_type"],
        "connection_id": row["connection_id"],
        "description": row["description"] or "",
        "extra": row["extra"] or "{}",
        "host": row["host"] or "",
        "login": row["login"] or "",
        "password": row["password"] or "",
        "port": int(row["port"] or 0),
        "schema": row["schema"] or "",
    }


def press_test(api: Any, conn_id: str) -> Any:
    rows = api.get("/api/v2/connections", params={"limit": 1000}).json()["connections"]
    row = next(r for r in rows if r["connection_id"] == conn_id)
    assert row["password"] in ("***", None)  # the UI never has the key: the stored one is used
    return api.post("/api/v2/connections/test", json=ui_test_body(row))


@_AIRFLOW_OWN_DEPRECATION
@AIRFLOW_3_3_UI
def test_the_ui_test_button_needs_a_stored_port(api: Any, emulator: Any) -> None:
    """Airflow 3.3 compares the port the UI sends (0 for none) with the stored one; 443 stored passes."""
    form = {"conn_type": "ovhcloud_ai_endpoints", "host": emulator.endpoints_url, "password": emulator.token}
    try:
        assert api.post("/api/v2/connections", json={"connection_id": "ui_no_port", **form}).status_code == 201
        refused = press_test(api, "ui_no_port")
        assert refused.status_code == 400
        assert "The host or port to test differs from the stored connection" in refused.json()["detail"]

        created = api.post("/api/v2/connections", json={"connection_id": "ui_port", **form, "port": 443})
        assert created.status_code == 201
        tested = press_test(api, "ui_port")
        assert tested.status_code == 200, tested.text
        assert tested.json()["status"] is True, tested.json()
        assert "the API key works" in tested.json()["message"]
        assert emulator.requests_to("/chat/completions")[-1].body["max_tokens"] == 1
    finally:
        for conn_id in ("ui_no_port", "ui_port"):
            api.delete(f"/api/v2/connections/{conn_id}")


@_AIRFLOW_OWN_DEPRECATION
@AIRFLOW_3_3_UI
def test_the_ui_test_button_works_for_cli_made_connections(api: Any, emulator: Any) -> None:
    from airflow.cli import cli_parser

    parser = cli_parser.get_parser()
    added = [
        ["--conn-type", "ovhcloud_ai_endpoints", "--conn-host", emulator.endpoints_url, "--conn-port", "443"],
        ["--conn-uri", f"ovhcloud-ai-training://gra:{emulator.token}@{emulator.training_url[7:]}"],
    ]
    try:
        args = parser.parse_args(["connections", "add", "cli_ep", *added[0], "--conn-password", emulator.token])
        args.func(args)
        args = parser.parse_args(["connections", "add", "cli_tr", *added[1]])
        args.func(args)
        endpoints = press_test(api, "cli_ep").json()
        assert endpoints["status"] is True and "works" in endpoints["message"], endpoints
        training = press_test(api, "cli_tr").json()  # the URI names the emulator's port: stored, so it passes
        assert training["status"] is True and "Connected to OVHcloud AI Training in region gra" in training["message"]
    finally:
        for conn_id in ("cli_ep", "cli_tr"):
            api.delete(f"/api/v2/connections/{conn_id}")


@_AIRFLOW_OWN_DEPRECATION
@AIRFLOW_3_3_UI
def test_the_test_route_with_environment_connections(api: Any, emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not listed in the UI (only database connections are), but the REST route checks them the same way."""
    conn = {**emulator.endpoints_connection(), "port": 443}
    set_conn(monkeypatch, "env_port", conn)
    set_conn(monkeypatch, "env_no_port", emulator.endpoints_connection())
    set_conn(monkeypatch, "env_wrong", {**conn, "password": "wrong-key"})
    set_conn(monkeypatch, "env_anon", {key: v for key, v in conn.items() if key != "password"})
    body = {"conn_type": "ovhcloud_ai_endpoints", "host": emulator.endpoints_url, "password": "***"}

    def test(conn_id: str, port: int) -> Any:
        return api.post("/api/v2/connections/test", json={**body, "connection_id": conn_id, "port": port})

    assert test("env_no_port", 0).status_code == 400
    ok = test("env_port", 443).json()
    assert ok["status"] is True and "works" in ok["message"]
    wrong = test("env_wrong", 443).json()
    assert wrong["status"] is False and "refused the API key (HTTP 401)" in wrong["message"]
    anonymous = api.post(
        "/api/v2/connections/test", json={**body, "password": "", "connection_id": "env_anon", "port": 443}
    ).json()
    assert anonymous["status"] is True and "the connection is anonymous" in anonymous["message"]


def test_the_forms_show_the_port_for_the_test_button() -> None:
    for conn in get_provider_info()["connection-types"]:
        behaviour = conn["ui-field-behaviour"]
        assert "port" not in behaviour["hidden-fields"]
        assert behaviour["relabeling"]["port"] == "Port (443; the Test button needs it)"
        assert behaviour["placeholders"]["port"] == "443"


# ------------------------------------------------------------------------------ 5. project URLs


def _project_urls() -> dict[str, str]:
    text = (REPO / "pyproject.toml").read_text()
    section = text.split("[project.urls]", 1)[1].split("\n[", 1)[0]
    return dict(re.findall(r'^(\w+) = "([^"]+)"', section, flags=re.MULTILINE))


def test_project_urls_and_provider_info_agree_and_point_at_what_exists() -> None:
    urls = _project_urls()
    assert set(urls) == {"Documentation", "Source", "Changelog", "Issues"}
    assert urls["Documentation"] == DOCUMENTATION_URL == get_provider_info()["documentation-url"]
    assert urls["Source"] == SOURCE_URL
    assert all(url.startswith(SOURCE_URL) for url in urls.values())
    # What the URLs name in the repository exists (the host renders the Markdown).
    assert DOCUMENTATION_URL.endswith("/tree/main/docs") and (REPO / "docs" / "index.md").is_file()
    assert urls["Changelog"].endswith("/blob/main/CHANGELOG.md") and (REPO / "CHANGELOG.md").is_file()


def test_airflow_links_the_provider_to_the_documentation_url() -> None:
    from importlib.metadata import distribution

    from airflow.providers_manager import ProvidersManager

    assert f"Documentation, {DOCUMENTATION_URL}" in distribution("airflow-ovhcloud").metadata.get_all("Project-URL")
    info = ProvidersManager().providers["airflow-ovhcloud"]
    assert info.data["documentation-url"].strip() == DOCUMENTATION_URL  # what the providers page links the name to


# ------------------------------------------------------------------------------- 6. migration

OLD_OPERATORS = [
    "OVHCloudAIEndpointsChatCompletionsOperator",
    "OVHCloudAIEndpointsEmbeddingOperator",
    "OVHCloudAITrainingSubmitJobOperator",
    "OVHCloudAITrainingGetJobOperator",
    "OVHCloudAITrainingStopJobOperator",
    "OVHCloudAITrainingDeleteJobOperator",
    "OVHCloudAITrainingGetLogsOperator",
    "OVHCloudAITrainingWaitForJobOperator",
]


def test_package_level_imports_of_the_old_provider_resolve() -> None:
    import airflow_ovhcloud.hooks as hooks
    import airflow_ovhcloud.operators as operators
    from airflow_ovhcloud.hooks.ai_endpoints import OVHCloudAIEndpointsHook
    from airflow_ovhcloud.operators import ai_endpoints, ai_training

    for name in OLD_OPERATORS:
        module = ai_endpoints if "Endpoints" in name else ai_training
        assert getattr(operators, name) is getattr(module, name)
    # Every old name, plus the operators added since (each resolving to its module's class).
    assert set(operators.__all__) >= set(OLD_OPERATORS)
    for name in operators.__all__:
        assert getattr(operators, name).__name__ == name
    assert hooks.OVHCloudAIEndpointsHook is OVHCloudAIEndpointsHook
    assert set(dir(hooks)) >= {"OVHCloudAIEndpointsHook", "OVHCloudAITrainingHook"}
    with pytest.raises(AttributeError, match="has no attribute 'OVHCloudAINope'"):
        _ = operators.OVHCloudAINope


def test_package_level_imports_stay_cheap_at_parse_time() -> None:
    code = textwrap.dedent(
        """
        import sys
        import airflow_ovhcloud.operators, airflow_ovhcloud.hooks
        before = sorted(m for m in sys.modules if m in ("requests", "urllib3") or m.startswith("airflow_ovhcloud."))
        from airflow_ovhcloud.operators import OVHCloudAITrainingSubmitJobOperator
        after = [m for m in sys.modules if m == "requests" or m.startswith("airflow_ovhcloud.hooks.")]
        print(before, after)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "['airflow_ovhcloud.hooks', 'airflow_ovhcloud.operators'] []"


def test_a_dag_written_with_package_level_imports_runs(emulator: Any, load_dag: Any) -> None:
    result = run_dag(load_dag(FILE, "test_migrated_imports"), logical_date=None)
    assert result.value("train")["status"]["state"] == "DONE"
    assert result.value("train")["spec"]["name"].startswith("migrated-")


@pytest.mark.parametrize("conn_type", ["ai_endpoints", "generic", "ovhcloud_ai_endpoints"])
def test_old_endpoints_connection_types_work(conn_type: str, emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = {**emulator.endpoints_connection(conn_type), "extra": {f"extra__{conn_type}__max_retries": 0}}
    set_conn(monkeypatch, "old_type", conn)
    hook = endpoints_hook("old_type")
    assert hook.chat_completion(model=MODEL, messages=HELLO)["choices"]
    assert hook.http.max_retries == 0  # an old-style prefixed extra is read too
    assert hook.test_connection()[0] is True


def test_old_training_connection_type_works(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_ovhcloud.hooks.ai_training import OVHCloudAITrainingHook

    set_conn(monkeypatch, "old_training", {**emulator.training_connection("ai_training"), "login": "bhs"})
    hook = OVHCloudAITrainingHook("old_training")
    assert hook.region == "bhs"
    assert hook.submit_job(image="pytorch/pytorch")["id"] in {j["id"] for j in hook.list_jobs()["items"]}
    assert hook.test_connection()[0] is True


def test_get_conn_is_a_session_and_get_token_the_key(emulator: Any) -> None:
    import requests

    hook = endpoints_hook("ovh_ai_endpoints_default")
    session = hook.get_conn()
    assert isinstance(session, requests.Session)
    assert hook.get_token() == SECRET_TOKEN
    assert session.get(hook.http.url("models"), timeout=10).json()["data"]


# ------------------------------------------------------------------------- 7. install lines


def _install_lines() -> list[tuple[str, str]]:
    """Every `pip install` line in README and docs."""
    found = []
    sources = {"README.md": (REPO / "README.md").read_text()}
    sources.update({f"docs/{p.name}": p.read_text() for p in sorted((REPO / "docs").glob("*.md"))})
    for name, text in sources.items():
        found += [(name, line.strip()) for line in text.splitlines() if "pip install" in line]
    return found


def test_every_install_line_works_from_the_repository() -> None:
    """`pip install .`, `-e .`, `'.[extra]'` or a built wheel: not a package name PyPI does not have (yet)."""
    lines = _install_lines()
    assert len(lines) >= 5
    for where, line in lines:
        for command in re.findall(r"pip install\s+([^`&;#)]*)", line):
            for target in (t.strip("'\"") for t in command.split() if not t.startswith("-")):
                from_here = target.startswith((".", "dist/", "/path/to/airflow-ovhcloud")) or target.endswith(".whl")
                assert from_here or target == "pytest" or "future step" in line, f"{where}: {line}"


# ---------------------------------------------------------------- 8. found in the deployment


def test_deferred_mapped_training_shows_the_returned_spec_in_rendered_fields(emulator: Any, load_dag: Any) -> None:
    result = run_dag(load_dag("decorator_dags.py", "test_training_mapped"), raise_on_failure=False)
    for map_index, lr in enumerate((0.1, 0.2)):
        rendered = result.rendered[("train_deferred", map_index)]
        assert rendered["name"] == f"deferred-{lr}"
        assert rendered["command"] == ["python", "train.py", f"--lr={lr}"]
        # the non-deferrable one shows them too: the same view either way
        assert result.rendered[("train", map_index)]["name"] is not None


def test_deferred_training_keeps_env_masked_in_rendered_fields_success_or_failure(emulator: Any, load_dag: Any) -> None:
    emulator.script_job(final_state="FAILED", info_message="loss is NaN", name="deferred-failing")
    result = run_dag(load_dag(FILE, "test_deferred_training_rendered"), expect_failure=True)
    rendered = result.rendered[("train_one", -1)]
    assert rendered["name"] == "deferred-one" and rendered["command"] == ["python", "train.py", "--epochs=1"]
    assert rendered["env_vars"] == {"HF_TOKEN": "***"}
    assert result.value("train_one", key="ovh_ai_training_spec")["env_vars"] == {"HF_TOKEN": "***"}
    assert ENV_SECRETS[0] not in json.dumps({str(k): v for k, v in result.xcoms.items()})
    assert result.value("train_one")["spec"]["name"] == "deferred-one"  # fetched by execute_complete
    assert result.task_states[("train_failing", -1)] == "failed"
    assert result.rendered[("train_failing", -1)]["name"] == "deferred-failing"
    assert "entered failure state: FAILED (loss is NaN)" in (result.error("train_failing") or "")


def test_trigger_events_are_small_and_the_resumed_task_fetches_the_job(emulator: Any) -> None:
    import asyncio

    from airflow_ovhcloud.hooks.ai_training import OVHCloudAITrainingHook
    from airflow_ovhcloud.triggers.ai_training import OVHCloudAITrainingJobTrigger
    from airflow_ovhcloud.utils.jobs import result_of_event

    hook = OVHCloudAITrainingHook()
    spec = {"image": "pytorch/pytorch", "command": ["python", "-c", "x" * 1500], "env_vars": {"K": ENV_SECRETS[1]}}

    def fire(job_id: str) -> dict[str, Any]:
        async def first() -> dict[str, Any]:
            events = [event.payload async for event in OVHCloudAITrainingJobTrigger(job_id, check_interval=0).run()]
            assert len(events) == 1
            return events[0]

        return asyncio.run(first())

    done = hook.submit_job(**spec)["id"]
    event = fire(done)
    assert event == {"status": "success", "job_id": done, "state": "DONE"}
    assert len(json.dumps(event)) < 200  # was the whole job: 2.5 KB and more in the task log
    job = result_of_event(json.loads(json.dumps(event)), hook.get_job)
    assert job["id"] == done and job["status"]["state"] == "DONE"
    assert job["spec"]["envVars"] == [{"name": "K", "value": "***"}]

    emulator.script_job(final_state="FAILED", info_message="out of memory")
    failed = hook.submit_job(**spec)["id"]
    event = fire(failed)
    assert set(event) == {"status", "job_id", "state", "message"} and len(json.dumps(event)) < 300
    with pytest.raises(OVHCloudAIJobFailedError) as info:
        result_of_event(event, hook.get_job)
    assert info.value.state == "FAILED" and info.value.job["id"] == failed  # fetched for the exception
    assert "out of memory" in str(info.value)
    # An event fired by an earlier version (it carried the job) is still understood, redacted.
    old = {"status": "success", "job_id": done, "job": {"id": done, "spec": {"envVars": [{"name": "K", "value": "v"}]}}}
    assert result_of_event(old)["spec"]["envVars"] == [{"name": "K", "value": "***"}]


def test_examples_use_no_template_that_needs_a_logical_date_and_poll_calmly() -> None:
    needs_logical_date = re.compile(
        r"\{\{[^}]*\b(ds|ds_nodash|ts|ts_nodash|ts_nodash_with_tz|logical_date|data_interval_start|"
        r"data_interval_end|prev_\w+|next_\w+|yesterday_ds\w*|tomorrow_ds\w*)\b"
    )
    for path in sorted((REPO / "examples").glob("*.py")):
        text = path.read_text()
        assert not needs_logical_date.search(text), path.name
        for interval in re.findall(r"check_interval=(\d+)", text):
            assert int(interval) >= 10, f"{path.name}: check_interval={interval} invites the deferral race"
    # (tests/test_examples.py runs every example with logical_date=None, as an API-triggered run.)
