"""The project is a real Python package: it builds, installs the `sagemaker-retraining` command, ships its packages
and their data files, and leaves the tests and benchmarks out."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("contract", "stacks", "lambdas", "statemachine", "operator_cli", "local_runtime", "demo")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    # pip builds it as `pip install .` would: pyproject.toml's build-system in an isolated environment, from a copy
    # of the tracked files (setuptools writes build/ and *.egg-info/ beside the sources it builds).
    source = tmp_path_factory.mktemp("source")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True).stdout
    for name in tracked.decode().split("\0"):
        if name and (PROJECT_ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(PROJECT_ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_installs_the_sagemaker_retraining_command(wheel: zipfile.ZipFile) -> None:
    (entry_points,) = [name for name in wheel.namelist() if name.endswith(".dist-info/entry_points.txt")]

    assert "sagemaker-retraining = operator_cli.cli:main" in wheel.read(entry_points).decode()


def test_the_wheel_holds_every_package_with_its_data_and_no_tests(wheel: zipfile.ZipFile) -> None:
    top_level = {name.split("/")[0] for name in wheel.namelist() if not name.split("/")[0].endswith(".dist-info")}

    assert top_level == {*PACKAGES, "app.py"}
    assert {
        "statemachine/retraining.asl.json",
        "stacks/data/linear_learner_registries.json",
        "demo/pipelines.json",
        "lambdas/dependencies/requirements.txt",
    } <= set(wheel.namelist())


def test_python_m_operator_cli_is_the_same_command() -> None:
    answer = subprocess.run(
        [sys.executable, "-m", "operator_cli", "--help"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )

    assert answer.stdout.startswith("usage: sagemaker-retraining")
