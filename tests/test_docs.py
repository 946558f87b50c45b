"""Every Python block in the README and docs/ at least compiles; the README's commands stay true."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).parent.parent
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


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
