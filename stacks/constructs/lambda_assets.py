"""The steps' code asset (`lambdas/` and the `contract/` they import) and dependencies layer, bundled on this
machine (no Docker engine needed)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, FileSystem, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.paths import CODE_SOURCES, DEPENDENCIES_DIR, LAMBDAS_DIR, LAYER_LOCK

# The newest Python runtime aws-cdk-lib knows, which is the only one cdk-nag's AwsSolutions-L1 accepts.
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.X86_64
# Both tags: with manylinux2014 alone pip silently picks older releases of packages that ship only newer wheels.
PIP_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
# The runtime ships boto3 with its own botocore and botocore's dependencies. Copies in the layer (pulled in by
# aws-xray-sdk and Powertools) would come first on sys.path and pair the runtime's boto3 with releases it was not
# tested with (a newer urllib3 breaks an older botocore at import), and the runtime's copies are precompiled while
# the layer's are compiled again at every cold start. botocore alone is also 30 MB.
RUNTIME_PROVIDED_DISTRIBUTIONS = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}
)
# Lambda's file system is read-only, so a cold start compiles every module of the layer that it imports, again and
# again: about 100 ms per function, 200 ms for NotifySlack (slack-sdk). Only the runtime's own Python can write
# bytecode the runtime loads; when this machine has it (this variable names it, or python3.X is on PATH), the layer
# ships that bytecode, unchecked against the sources since a layer version never changes.
BYTECODE_PYTHON_ENV = "LAMBDA_BYTECODE_PYTHON"
# Left out of the code asset and of its hash: bytecode of local runs, and the layer's own input.
CODE_EXCLUDES = ("dependencies", "dependencies/**", "**/__pycache__", "**/*.pyc")


@jsii.implements(ILocalBundling)
class CopyLambdaSources:
    """Copy each source package (`lambdas/`, `contract/`) into `<output>/<its name>/`, so handlers import as
    `lambdas.<step>.handler` and find the contract beside them, as on Lambda's task root."""

    def __init__(self, *sources: Path) -> None:
        self._sources = sources

    # jsii passes the BundlingOptions struct positionally: accept whatever follows the output directory.
    def try_bundle(self, output_dir: str, *args: Any, **kwargs: Any) -> bool:
        for source in self._sources:
            shutil.copytree(source, Path(output_dir) / source.name, ignore=_ignore_for_code(source), dirs_exist_ok=True)
        return True


@jsii.implements(ILocalBundling)
class PipInstallLayer:
    """pip-install a lock file into `<output>/python` for the Lambda runtime's platform.

    The lock (lambdas/dependencies/requirements.lock, written by `make lock`) pins and hashes every distribution
    the layer holds, resolved for the runtime's Python and platform: pip installs exactly those files, checks
    their hashes and resolves nothing, so a new release of a transitive dependency never reaches a deployment
    unreviewed.
    """

    def __init__(self, requirements: Path, *, python_version: str, bytecode_python: str | None = None) -> None:
        self._requirements = requirements
        self._python_version = python_version
        self._bytecode_python = bytecode_python

    def try_bundle(self, output_dir: str, *args: Any, **kwargs: Any) -> bool:
        target = Path(output_dir) / "python"
        platforms = [flag for platform in PIP_PLATFORMS for flag in ("--platform", platform)]
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--require-hashes",
                "--no-deps",
                "--requirement",
                str(self._requirements),
                "--target",
                str(target),
                *platforms,
                "--only-binary=:all:",
                "--python-version",
                self._python_version,
                "--implementation",
                "cp",
                "--no-compile",  # or the host Python's .pyc files get shipped
                "--disable-pip-version-check",
                "--quiet",
            ],
            check=True,
        )
        remove_distributions(target, RUNTIME_PROVIDED_DISTRIBUTIONS)
        shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts: nothing in a layer runs them
        if self._bytecode_python is not None:
            compile_bytecode(target, python=self._bytecode_python)
        return True


def runtime_python(python_version: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """The interpreter that can precompile the layer for a runtime of `python_version` ("3.14"), or None.

    $LAMBDA_BYTECODE_PYTHON if set (an error if it is not that version: the runtime would ignore its bytecode),
    else python<version> on PATH.
    """
    explicit = environ.get(BYTECODE_PYTHON_ENV)
    candidate = explicit or shutil.which(f"python{python_version}")
    if not candidate:
        return None
    try:
        answer = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError) as error:
        if explicit:
            raise ValueError(f"{BYTECODE_PYTHON_ENV}={explicit}: cannot run it ({error})") from error
        return None
    found = answer.stdout.strip()
    if found != python_version:
        if explicit:
            raise ValueError(
                f"{BYTECODE_PYTHON_ENV}={explicit} is Python {found}, but the functions run on Python "
                f"{python_version}: the runtime would ignore its bytecode"
            )
        return None
    return candidate


def compile_bytecode(target: Path, *, python: str) -> None:
    """Write `__pycache__` bytecode for every module under `target` with `python`, as unchecked hash-based .pyc
    files: loaded without comparing them to the sources, whose timestamps zipping does not keep."""
    subprocess.run(
        [python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(target)],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def remove_distributions(target: Path, names: frozenset[str]) -> None:
    """Delete the files of the named distributions installed in `target` (pip cannot uninstall there)."""
    emptied: set[Path] = set()
    for distribution in metadata.distributions(path=[str(target)]):
        if distribution.metadata["Name"].lower().replace("_", "-") not in names:
            continue
        for file in distribution.files or ():
            path = Path(str(distribution.locate_file(file))).resolve()
            path.unlink(missing_ok=True)
            emptied.add(path.parent)
    root = target.resolve()
    # Deepest first, so a package directory goes once its subpackages have gone.
    for directory in sorted(emptied, key=lambda path: len(path.parts), reverse=True):
        while directory != root and directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()
            directory = directory.parent


class LambdaAssets(Construct):
    """One code asset shared by every step's function, and one layer with their Python dependencies.

    Both hash their inputs, not their output: a synth that finds `cdk.out/asset.<hash>` skips bundling.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        # One AssetCode bound to several functions of a stack makes a single asset. Its hash covers every source
        # package it holds: a source hash of lambdas/ alone would keep serving an old contract.
        self.code = lambda_.Code.from_asset(
            str(LAMBDAS_DIR),
            asset_hash_type=AssetHashType.CUSTOM,
            asset_hash=code_asset_hash(CODE_SOURCES),
            exclude=list(CODE_EXCLUDES),
            bundling=BundlingOptions(image=RUNTIME.bundling_image, local=CopyLambdaSources(*CODE_SOURCES)),
        )
        python_version = RUNTIME.name.removeprefix("python")
        bytecode_python = runtime_python(python_version)
        self.layer = lambda_.LayerVersion(
            self,
            "Dependencies",
            description="Python dependencies of the retraining steps (lambdas/dependencies/requirements.lock)",
            code=lambda_.Code.from_asset(
                str(DEPENDENCIES_DIR),
                asset_hash_type=AssetHashType.CUSTOM,
                asset_hash=layer_asset_hash(
                    LAYER_LOCK,
                    python_version=python_version,
                    bytecode=bytecode_python is not None,
                ),
                bundling=BundlingOptions(
                    image=RUNTIME.bundling_image,
                    local=PipInstallLayer(
                        LAYER_LOCK,
                        python_version=python_version,
                        bytecode_python=bytecode_python,
                    ),
                ),
            ),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
        )


def code_asset_hash(sources: Sequence[Path]) -> str:
    """The code asset's hash: CDK's fingerprint of each source package, without bytecode or the layer's input."""
    fingerprints = {source.name: FileSystem.fingerprint(str(source), exclude=list(CODE_EXCLUDES)) for source in sources}
    return hashlib.sha256(json.dumps(fingerprints, sort_keys=True).encode()).hexdigest()


def layer_asset_hash(requirements: Path, *, python_version: str, bytecode: bool = False) -> str:
    """The layer's asset hash: its requirements and how they are installed.

    A source hash would cover the lock only: a change to what the bundling leaves out or targets would
    keep the hash, so a kept cdk.out, and the asset already uploaded under that hash, would go on serving the
    old layer. Bundled again when, and only when, one of these changes.
    """
    recipe = {
        "requirements": requirements.read_text(),
        "python_version": python_version,
        "platforms": list(PIP_PLATFORMS),
        "left_to_the_runtime": sorted(RUNTIME_PROVIDED_DISTRIBUTIONS),
        "bytecode": bytecode,
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def _ignore_for_code(root: Path) -> Callable[[str, list[str]], set[str]]:
    def ignore(directory: str, names: list[str]) -> set[str]:
        ignored = {name for name in names if name == "__pycache__" or name.endswith(".pyc")}
        if Path(directory) == root and "dependencies" in names:
            ignored.add("dependencies")
        return ignored

    return ignore
