"""The distribution: a wheel and an sdist holding only airflow_ovhcloud, installable into a clean venv."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).parent.parent
pytestmark = pytest.mark.packaging


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(REPO)], check=True, capture_output=True)
    return out


def test_wheel_and_sdist_hold_only_the_package_and_pass_twine(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert top == {"airflow_ovhcloud", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}
    assert "airflow_ovhcloud/py.typed" in names
    assert "airflow_ovhcloud/examples/flagship.py" in names
    # Every package of the source tree is in the wheel (the package list in pyproject.toml is explicit,
    # and an editable install hides a missing one: utils/ once was).
    packages = {p.parent.relative_to(REPO).as_posix() for p in (REPO / "airflow_ovhcloud").rglob("__init__.py")}
    missing = sorted(p for p in packages if f"{p}/__init__.py" not in names)
    assert not missing, f"packages missing from the wheel (add them to pyproject.toml): {missing}"
    with tarfile.open(sdist) as tar:
        assert not [n for n in tar.getnames() if "/hooks/" in n and "/airflow_ovhcloud/" not in n]
    subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *map(str, dist.iterdir())], check=True)


def test_wheel_installs_into_a_clean_venv_and_airflow_sees_the_provider(dist: Path, tmp_path: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True, capture_output=True)
    env = {
        "PATH": f"{venv / 'bin'}:{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
    }
    listed = subprocess.run(
        [str(venv / "bin" / "airflow"), "providers", "list"], capture_output=True, text=True, env=env, check=True
    )
    assert "airflow-ovhcloud" in listed.stdout
    code = (
        "import airflow_ovhcloud.testing; from airflow.sdk import task; "
        "print(task.ovh_chat.__module__, task.ovh_training.__name__)"
    )
    # Run away from the checkout: from the repository root, `python -c` would import the source tree.
    resolved = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, env=env, check=True, cwd=tmp_path
    )
    assert resolved.stdout.split() == ["airflow_ovhcloud.decorators.chat", "ovh_training_task"]
