"""The steps' code asset and dependencies layer, bundled locally without Docker."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from aws_cdk import FileSystem

from stacks.constructs import lambda_assets
from stacks.constructs.lambda_assets import (
    CODE_EXCLUDES,
    RUNTIME,
    RUNTIME_PROVIDED_DISTRIBUTIONS,
    CopyLambdaSources,
    PipInstallLayer,
    code_asset_hash,
    compile_bytecode,
    layer_asset_hash,
    runtime_python,
)
from stacks.paths import CODE_SOURCES, CONTRACT_DIR, LAMBDAS_DIR, LAYER_LOCK
from tests.unit.stacks.synth import pipeline, pipeline_template

LAYER_SIZE_LIMIT = 15 * 1024 * 1024


def tree_size(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The layer bundled for real, once: pip downloads the runtime's wheels from PyPI (a few seconds)."""
    output = tmp_path_factory.mktemp("layer")
    bundler = PipInstallLayer(LAYER_LOCK, python_version=RUNTIME.name.removeprefix("python"))
    assert bundler.try_bundle(str(output))
    return output


def test_layer_holds_the_dependencies_under_python(layer: Path) -> None:
    assert (layer / "python" / "aws_lambda_powertools" / "__init__.py").is_file()
    assert (layer / "python" / "slack_sdk" / "__init__.py").is_file()
    assert (layer / "python" / "aws_xray_sdk").is_dir()  # Powertools' tracer extra


def test_layer_leaves_the_runtimes_own_sdk_to_the_runtime(layer: Path) -> None:
    python = layer / "python"

    assert not list(python.glob("botocore*"))
    assert not list(python.glob("boto3*"))
    assert not (python / "bin").exists()


def test_layer_leaves_the_sdks_dependencies_to_the_runtime(layer: Path) -> None:
    # botocore's own dependencies come with the runtime, precompiled and matched to its botocore
    installed = {
        distribution.metadata["Name"].lower().replace("_", "-")
        for distribution in metadata.distributions(path=[str(layer / "python")])
    }

    assert installed.isdisjoint(RUNTIME_PROVIDED_DISTRIBUTIONS), installed & RUNTIME_PROVIDED_DISTRIBUTIONS
    assert {"jmespath", "python-dateutil", "six", "urllib3"} <= RUNTIME_PROVIDED_DISTRIBUTIONS
    for package in ("urllib3", "dateutil", "jmespath"):
        assert not (layer / "python" / package).exists()
    assert not (layer / "python" / "six.py").exists()
    assert {"aws-lambda-powertools", "slack-sdk", "aws-xray-sdk"} <= installed


def test_layer_ships_no_bytecode_and_stays_small(layer: Path) -> None:
    assert not list(layer.rglob("*.pyc"))
    assert not list(layer.rglob("__pycache__"))
    assert tree_size(layer) < LAYER_SIZE_LIMIT, tree_size(layer)


def test_layer_wheels_target_the_lambda_runtime(layer: Path) -> None:
    # wrapt is the one compiled dependency: its extension must be built for the runtime's CPython on Linux
    extensions = [path.name for path in (layer / "python" / "wrapt").glob("*.so")]

    assert extensions
    assert all(f"cpython-{RUNTIME.name.removeprefix('python').replace('.', '')}" in name for name in extensions)
    assert all("x86_64-linux-gnu" in name for name in extensions)


def test_code_asset_drops_the_layer_input_and_bytecode(tmp_path: Path) -> None:
    # GIVEN a lambdas/ tree with bytecode from a local run and the layer's requirements
    source = tmp_path / "src" / "lambdas"
    for name in ("__init__.py", "common/env.py", "check_data/handler.py", "common/__pycache__/env.cpython-311.pyc"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text("")
    (source / "dependencies").mkdir()
    (source / "dependencies" / "requirements.txt").write_text("slack-sdk==3.47.0\n")
    output = tmp_path / "out"
    output.mkdir()

    # WHEN bundled
    assert CopyLambdaSources(source).try_bundle(str(output))

    # THEN the package is copied under lambdas/, without dependencies/ or bytecode
    copied = sorted(str(path.relative_to(output)) for path in output.rglob("*") if path.is_file())
    assert copied == ["lambdas/__init__.py", "lambdas/check_data/handler.py", "lambdas/common/env.py"]


def test_code_asset_of_the_project_lets_handlers_import_as_lambdas_steps(tmp_path: Path) -> None:
    assert CopyLambdaSources(*CODE_SOURCES).try_bundle(str(tmp_path))

    assert (tmp_path / "lambdas" / "__init__.py").is_file()
    assert (tmp_path / "lambdas" / "common" / "env.py").is_file()
    assert (tmp_path / "contract" / "env.py").is_file()
    assert not (tmp_path / "lambdas" / "dependencies").exists()


def test_every_handler_imports_from_the_code_asset_alone(tmp_path: Path) -> None:
    # GIVEN the code asset as Lambda unpacks it into its task root
    assert CopyLambdaSources(*CODE_SOURCES).try_bundle(str(tmp_path))
    handlers = sorted(f"lambdas.{path.parent.name}.handler" for path in LAMBDAS_DIR.glob("*/handler.py"))

    # WHEN each handler is imported with the task root first on the path and the project nowhere on it
    probe = (
        "import importlib, sys; sys.path.insert(0, sys.argv[1]); "
        "[importlib.import_module(name) for name in sys.argv[2:]]; "
        "import contract, lambdas; print(contract.__file__); print(lambdas.__file__)"
    )
    imported = subprocess.run(
        [sys.executable, "-I", "-c", probe, str(tmp_path), *handlers],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "1"},
    )

    # THEN every handler and the contract it imports load from the asset
    assert imported.returncode == 0, imported.stderr
    assert len(handlers) > 10
    assert all(Path(line).is_relative_to(tmp_path) for line in imported.stdout.split()), imported.stdout


def test_code_asset_hash_ignores_bytecode_and_the_layer_input(tmp_path: Path) -> None:
    # GIVEN the fingerprint CDK takes of a lambdas/ tree (the asset hash: a changed hash re-uploads the code)
    source = tmp_path / "lambdas"
    (source / "common").mkdir(parents=True)
    (source / "common" / "env.py").write_text("A = 1\n")
    (source / "dependencies").mkdir()
    (source / "dependencies" / "requirements.txt").write_text("slack-sdk==3.47.0\n")
    before = FileSystem.fingerprint(str(source), exclude=list(CODE_EXCLUDES))

    # WHEN a local run leaves bytecode and the layer's requirements change
    (source / "common" / "__pycache__").mkdir()
    (source / "common" / "__pycache__" / "env.cpython-311.pyc").write_bytes(b"\0")
    (source / "dependencies" / "requirements.txt").write_text("slack-sdk==3.48.0\n")

    # THEN the code asset is the same; a source change does change it
    assert FileSystem.fingerprint(str(source), exclude=list(CODE_EXCLUDES)) == before
    (source / "common" / "env.py").write_text("A = 2\n")
    assert FileSystem.fingerprint(str(source), exclude=list(CODE_EXCLUDES)) != before


def test_code_asset_hash_changes_with_the_contract_as_with_the_handlers(tmp_path: Path) -> None:
    # GIVEN the code asset's hash over a lambdas/ and a contract/ package
    lambdas, contract = tmp_path / "lambdas", tmp_path / "contract"
    for package in (lambdas, contract):
        package.mkdir()
        (package / "__init__.py").write_text("")
    before = code_asset_hash([lambdas, contract])

    # WHEN only the contract changes, THEN so does the hash: the functions get the new names
    (contract / "env.py").write_text('DATA_BUCKET = "DATA_BUCKET"\n')
    assert code_asset_hash([lambdas, contract]) != before
    assert code_asset_hash(CODE_SOURCES) == code_asset_hash((LAMBDAS_DIR, CONTRACT_DIR))


def test_layer_hash_changes_with_the_requirements_and_with_how_they_are_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the hash of a requirements file installed for Python 3.14
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("slack-sdk==3.47.0\n")
    before = layer_asset_hash(requirements, python_version="3.14")

    # THEN it is stable, and changes with the Python version, with what is left to the runtime, and with a pin
    assert layer_asset_hash(requirements, python_version="3.14") == before
    assert layer_asset_hash(requirements, python_version="3.13") != before
    monkeypatch.setattr(lambda_assets, "RUNTIME_PROVIDED_DISTRIBUTIONS", frozenset({"boto3", "botocore"}))
    assert layer_asset_hash(requirements, python_version="3.14") != before
    monkeypatch.undo()
    requirements.write_text("slack-sdk==3.48.0\n")
    assert layer_asset_hash(requirements, python_version="3.14") != before
    assert layer_asset_hash(requirements, python_version="3.14", bytecode=True) != layer_asset_hash(
        requirements, python_version="3.14"
    )


THIS_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def test_runtime_python_is_the_named_interpreter_when_it_is_the_runtimes_version() -> None:
    environ = {lambda_assets.BYTECODE_PYTHON_ENV: sys.executable}

    assert runtime_python(THIS_PYTHON, environ) == sys.executable


def test_runtime_python_of_another_version_is_an_error_naming_the_variable() -> None:
    environ = {lambda_assets.BYTECODE_PYTHON_ENV: sys.executable}

    with pytest.raises(ValueError, match=rf"LAMBDA_BYTECODE_PYTHON=.* is Python {THIS_PYTHON}.* Python 3\.99"):
        runtime_python("3.99", environ)


def test_without_the_runtimes_python_the_layer_is_left_without_bytecode() -> None:
    # nothing named, and no python3.99 on PATH
    assert runtime_python("3.99", {}) is None


def test_bytecode_is_loaded_without_checking_the_sources(tmp_path: Path) -> None:
    # GIVEN a package compiled with this interpreter standing in for the runtime's
    package = tmp_path / "package"
    package.mkdir()
    (package / "__init__.py").write_text("VALUE = 'compiled'\n")
    compile_bytecode(tmp_path, python=sys.executable)
    (compiled,) = (package / "__pycache__").glob(f"__init__.{sys.implementation.cache_tag}.pyc")

    # THEN the .pyc is hash-based and unchecked (flags 0b01): zipping loses the sources' timestamps, and a
    # changed source next to it (which a layer version never has) does not make Python recompile
    assert int.from_bytes(compiled.read_bytes()[4:8], "little") == 0b01
    (package / "__init__.py").write_text("VALUE = 'source'\n")
    loaded = subprocess.run(
        [sys.executable, "-B", "-c", "import package; print(package.VALUE)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "compiled"


def test_the_synthesized_layer_changes_when_its_install_recipe_does(monkeypatch: pytest.MonkeyPatch) -> None:
    def layer_key() -> str:
        (layer,) = pipeline_template(pipeline()).find_resources("AWS::Lambda::LayerVersion").values()
        return str(layer["Properties"]["Content"]["S3Key"])

    before = layer_key()
    monkeypatch.setattr(lambda_assets, "RUNTIME_PROVIDED_DISTRIBUTIONS", frozenset({"boto3", "botocore"}))

    # a new key: CloudFormation publishes a new layer version, and a kept cdk.out does not serve the old one
    assert layer_key() != before
