"""Every Python block in the README and docs/ at least compiles; the README's commands stay true."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).parent.parent
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_python_blocks_compile(page: Path) -> None:
    for number, block in enumerate(BLOCK.findall(page.read_text()), start=1):
        compile(block, f"{page.name} block {number}", "exec")


def test_readme_first_screen_has_the_two_commands_ci_runs() -> None:
    first_screen = "\n".join(REPO.joinpath("README.md").read_text().splitlines()[:25])
    assert "airflow-ovhcloud demo" in first_screen
    assert "pip install -e '.[test]' && pytest" in first_screen
    ci = REPO.joinpath(".ci", "run").read_text().splitlines()
    assert "pytest" in ci, "CI must run the README's test command as it is"
