"""The suite's closing secret scan (``tests/conftest.py``) fails a session that leaked, and says where.

Each case runs a tiny suite in a subprocess with the real conftest loaded as a plugin, so it gets
the same fixtures, hooks and a private AIRFLOW_HOME of its own.
"""

from __future__ import annotations

import pytest

from tests.helpers import REPO

LEAKY = """
from tests.helpers import AIRFLOW_HOME, ENV_SECRETS, SECRET_TOKEN


def test_prints_the_token():
    print("Authorization: Bearer " + SECRET_TOKEN)


def test_writes_an_env_secret_to_a_task_log():
    log = AIRFLOW_HOME / "logs" / "dag_id=d" / "run_id=r" / "attempt=1.log"
    log.parent.mkdir(parents=True)
    log.write_text("env K=" + ENV_SECRETS[0])
"""

CLEAN = """
def test_prints_nothing_secret():
    print("nothing to see")


def test_left_out():
    pass
"""


def run_suite(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str], source: str, *args: str
) -> pytest.RunResult:
    pytester.makepyfile(test_sample=source)
    pytester.makeini("[pytest]\ntestpaths = test_sample.py\n")
    result = pytester.runpytest_subprocess("-p", "tests.conftest", "-p", "no:cacheprovider", *args)
    capsys.readouterr()  # pytester echoes the run, secrets included: read here, it is not a leak
    return result


@pytest.fixture(autouse=True)
def _repo_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(REPO))


def test_a_leak_fails_the_session_naming_the_secret_and_where(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_suite(pytester, capsys, LEAKY, "-k", "token or log")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=2, errors=1)  # the scan errors the teardown of the last test
    result.stdout.fnmatch_lines(
        [
            "*secret scan: 2 leak(s)*",
            "*SECRET_TOKEN ('sk-ovh-SECRET-*') leaked into test output test_sample.py::test_prints_the_token*",
            "*ENV_SECRETS[[]0[]] ('hf_SECRET-*') leaked into task log file */logs/dag_id=d/run_id=r/attempt=1.log*",
        ]
    )


def test_each_xdist_worker_scans_its_own_home(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("xdist")
    result = run_suite(pytester, capsys, LEAKY, "-n", "2", "--dist", "each")  # both workers run both tests
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=4, errors=2)  # one error per worker: each scanned its own home
    result.stdout.fnmatch_lines(["*SECRET_TOKEN*leaked into test output*"])
    result.stdout.fnmatch_lines(["*ENV_SECRETS[[]0[]]*task log file*"])


def test_a_clean_selection_passes_and_a_whole_run_that_saw_nothing_fails(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_suite(pytester, capsys, CLEAN, "-k", "nothing").ret == pytest.ExitCode.OK
    # Without any selection this tiny suite counts as "the whole suite", which ran no DAG.
    whole = run_suite(pytester, capsys, CLEAN)
    assert whole.ret == pytest.ExitCode.TESTS_FAILED
    whole.stdout.fnmatch_lines(["*the whole suite ran, yet the scan saw too little: tests=2*"])
