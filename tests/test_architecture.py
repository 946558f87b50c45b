"""ARCHITECTURE.md stays true: every file and every ``file:Name`` it mentions exists."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

REPO = Path(__file__).parent.parent
TEXT = (REPO / "ARCHITECTURE.md").read_text()
REFERENCE = re.compile(r"`((?:airflow_ovhcloud|tests|examples)/[\w/.]*)(?::([\w.]+))?`")


def test_every_path_and_name_in_the_architecture_map_exists() -> None:
    references = REFERENCE.findall(TEXT)
    assert len(references) > 60  # the map and both journeys
    for path, name in references:
        assert (REPO / path).exists(), f"ARCHITECTURE.md names {path}, which does not exist"
        if not name:
            continue
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        target: object = module
        for part in name.split("."):
            assert hasattr(target, part), f"ARCHITECTURE.md names {path}:{name}, which does not exist"
            target = getattr(target, part)


def test_every_package_module_is_on_the_map() -> None:
    mentioned = {path for path, _ in REFERENCE.findall(TEXT)}
    for source in sorted((REPO / "airflow_ovhcloud").rglob("*.py")):
        relative = source.relative_to(REPO).as_posix()
        if source.name == "__init__.py" or relative.startswith("airflow_ovhcloud/examples"):
            continue
        assert relative in mentioned or any(relative.startswith(m) for m in mentioned if m.endswith("/")), (
            f"{relative} is missing from ARCHITECTURE.md"
        )
