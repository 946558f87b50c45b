"""Every Python block in the README and docs/ at least compiles; the README's commands stay true."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).parent.parent
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BLOCK = re.compile(r"```python[^\n]*\n(.*?)```", re.DOTALL)
#: A block that is a whole file of a user's project: ```python title="tests/test_my_dag.py"
PROJECT_FILE = re.compile(r'```python title="([\w/.]+)"\n(.*?)```', re.DOTALL)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_python_blocks_compile(page: Path) -> None:
    for number, block in enumerate(BLOCK.findall(page.read_text()), start=1):
        compile(block, f"{page.name} block {number}", "exec")


def _dag_blocks() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for number, block in enumerate(BLOCK.findall(page.read_text()), start=1):
            if "@dag(" in block or "with DAG(" in block:
                found.append((f"{page.stem}_{number}".replace("-", "_"), block))
    return found


@pytest.mark.parametrize(("name", "block"), _dag_blocks(), ids=[name for name, _ in _dag_blocks()])
def test_complete_dags_in_the_docs_run_against_the_emulator(
    name: str, block: str, emulator: Any, airflow_db: Path
) -> None:
    from airflow_ovhcloud.testing.dagrun import fast_polling, parse_dags, run_dag
    from tests.helpers import DAGS_FOLDER

    path = DAGS_FOLDER / f"doc_{name}.py"
    path.write_text(block)
    bag = parse_dags(path)
    assert bag.import_errors == {} and bag.dags
    for dag in bag.dags.values():
        result = run_dag(fast_polling(dag))
        assert result.state == "success", result.task_states


def test_readme_first_screen_has_the_two_commands_ci_runs() -> None:
    first_screen = "\n".join(REPO.joinpath("README.md").read_text().splitlines()[:25])
    assert "airflow-ovhcloud demo" in first_screen
    assert "pip install -e '.[test]' && pytest" in first_screen
    ci = REPO.joinpath(".ci", "run").read_text().splitlines()
    assert "pytest" in ci, "CI must run the README's test command as it is"


def _project_files() -> dict[str, str]:
    files: dict[str, str] = {}
    for page in (REPO / "README.md", REPO / "docs" / "testing.md"):
        for name, text in PROJECT_FILE.findall(page.read_text()):
            assert files.get(name, text) == text, f"{name} is shown twice, differently"
            files[name] = text
    return files


def test_documented_test_files_pass_in_a_fresh_project(tmp_path: Path) -> None:
    """Every documented DAG and test file, copied as shown into an empty project, passes under plain pytest.

    No conftest.py, no AIRFLOW_HOME, no ini file, a HOME without ~/airflow: only this package and
    pytest installed (its pytest11 plugin does the rest). One pytest run for all of them.
    """
    files = _project_files()
    tests = sorted(name for name in files if name.startswith("tests/test_"))
    assert len(tests) >= 4 and any(name.startswith("dags/") for name in files)
    project = tmp_path / "project"
    for name, text in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    home = tmp_path / "home"
    home.mkdir()
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    env = {name: os.environ[name] for name in keep if name in os.environ} | {"HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error::pytest.PytestConfigWarning"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = done.stdout[-6000:] + done.stderr[-3000:]
    assert done.returncode == 0, report
    counts = re.search(r"(\d+) passed", done.stdout)
    test_count = sum(text.count("\ndef test_") for name, text in files.items() if name in tests)
    assert counts is not None and int(counts.group(1)) == test_count, report
    assert not (home / "airflow").exists(), "the user's ~/airflow must stay untouched"
    assert sorted(p.name for p in project.iterdir()) == ["dags", "tests"], "nothing written into the project"
