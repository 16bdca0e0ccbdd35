"""The training and inference images of a pipeline: SageMaker's Linear Learner, XGBoost or a framework's image in
any region that has it, or the caller's."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from aws_cdk import Aws, CfnMapping, Stack, Token
from constructs import Construct

from stacks.config import LINEAR_LEARNER, ConfigError, PipelineConfig
from stacks.image_tables import ImageVersion, Scope, image_table, processor_of

# Copied from the SageMaker Python SDK (see "source" in the file): the registry account differs per region.
LINEAR_LEARNER_REGISTRIES_FILE = Path(__file__).parent / "data" / "linear_learner_registries.json"
# The same, for SageMaker's scikit-learn image: the preprocessing is fitted and served with one version.
SCIKIT_LEARN_REGISTRIES_FILE = Path(__file__).parent / "data" / "sklearn_registries.json"


@dataclass(frozen=True)
class RegistryTable:
    """Where a built-in algorithm's image lives: `<account>.dkr.ecr.<region>.<suffix>/<repository>:<tag>`."""

    repository: str
    tag: str
    accounts: MappingProxyType[str, str]


@dataclass(frozen=True)
class AlgorithmImages:
    """The image URIs (possibly tokens) the training job and the endpoint run."""

    training: str
    inference: str


@cache
def linear_learner_registries() -> RegistryTable:
    """Load the region → registry account table of the Linear Learner image."""
    return _registries(LINEAR_LEARNER_REGISTRIES_FILE)


@cache
def scikit_learn_registries() -> RegistryTable:
    """Load the region → registry account table of SageMaker's scikit-learn image."""
    return _registries(SCIKIT_LEARN_REGISTRIES_FILE)


def _registries(path: Path) -> RegistryTable:
    document: dict[str, Any] = json.loads(path.read_text())
    return RegistryTable(
        repository=document["repository"],
        tag=document["tag"],
        accounts=MappingProxyType(dict(document["registries"])),
    )


def algorithm_images(scope: Construct, config: PipelineConfig) -> AlgorithmImages:
    """Resolve the pipeline's images; raise ConfigError when a concrete region has no built-in image."""
    algorithm = config.algorithm
    if algorithm.image is not None:
        inference = algorithm.inference_image or algorithm.image
        return AlgorithmImages(training=algorithm.image.uri, inference=inference.uri)
    if algorithm.builtin == LINEAR_LEARNER:
        image = _linear_learner_image(scope, pipeline=config.name)
        return AlgorithmImages(training=image, inference=image)
    # Built-in XGBoost's algorithm mode and the XGBoost framework run the same image (the SDK's xgboost.json).
    framework = algorithm.framework or algorithm.builtin
    if framework is None or algorithm.version is None:
        raise ValueError(f"pipeline {config.name!r}: the algorithm names no image")
    return AlgorithmImages(
        training=_table_image(scope, config, framework, "training", instance_field="training.instance_type"),
        inference=_table_image(scope, config, framework, "inference", instance_field="endpoint.instance_type"),
    )


def _table_image(
    scope: Construct, config: PipelineConfig, framework: str, image_scope: Scope, *, instance_field: str
) -> str:
    """The image of the configured version for one scope, its tag naming the processor the instance type needs."""
    algorithm, table = config.algorithm, image_table(framework)
    version = str(algorithm.version)
    image = table.scope(image_scope)[version]
    instance_type = config.training.instance_type if image_scope == "training" else config.endpoint.instance_type
    processor = processor_of(instance_type)
    if image.processors and processor not in image.processors:
        raise ConfigError(
            f"pipeline {config.name!r}: {instance_field} {instance_type} runs on {processor} and {framework} "
            f"{version} has {image_scope} images for {', '.join(image.processors)} only"
        )
    tag = image.tag(version, processor=processor, py_version=algorithm.py_version)
    return _builtin_image(
        scope,
        RegistryTable(repository=image.repository, tag=tag, accounts=image.registries),
        mapping_id=_mapping_id(framework, version, image_scope, image, table.training[version]),
        missing=f"pipeline {config.name!r}: region {{region}} has no {framework} {version} {image_scope} image in "
        f"{table.file.name}; choose another algorithm.version (or set algorithm.image_uri to an image of your own)",
    )


def _mapping_id(framework: str, version: str, image_scope: Scope, image: ImageVersion, training: ImageVersion) -> str:
    """One mapping per registry table: the inference image shares the training image's when they are the same."""
    shared = image_scope == "inference" and image.registries == training.registries
    digits = "".join(character for character in version if character.isalnum())
    return f"{framework.title()}{digits}{'Training' if shared else image_scope.title()}Registries"


def preprocessing_image(scope: Construct, config: PipelineConfig) -> str:
    """The image that fits and serves the pipeline's preprocessing: the caller's, or SageMaker's scikit-learn."""
    preprocessing = config.preprocessing
    if preprocessing is None:
        raise ValueError(f"pipeline {config.name!r} has no preprocessing")
    if preprocessing.image is not None:
        return preprocessing.image.uri
    return _scikit_learn_image(scope, config.name, "preprocessing.image_uri")


def evaluation_script_image(scope: Construct, config: PipelineConfig) -> str:
    """The image that runs the pipeline's evaluation script: the caller's, or SageMaker's scikit-learn."""
    script = config.evaluation_script
    if script is None:
        raise ValueError(f"pipeline {config.name!r} has no evaluation script")
    if script.image is not None:
        return script.image.uri
    return _scikit_learn_image(scope, config.name, "evaluation.script.image_uri")


def _scikit_learn_image(scope: Construct, pipeline: str, field: str) -> str:
    return _builtin_image(
        scope,
        scikit_learn_registries(),
        mapping_id="ScikitLearnRegistries",
        missing=f"pipeline {pipeline!r}: region {{region}} has no scikit-learn image in "
        f"{SCIKIT_LEARN_REGISTRIES_FILE.name}; set {field} to an image of your own",
    )


def _linear_learner_image(scope: Construct, *, pipeline: str) -> str:
    return _builtin_image(
        scope,
        linear_learner_registries(),
        mapping_id="LinearLearnerRegistries",
        missing=f"pipeline {pipeline!r}: region {{region}} has no Linear Learner image in "
        f"{LINEAR_LEARNER_REGISTRIES_FILE.name}; set algorithm.image_uri to an image of your own",
    )


def _builtin_image(scope: Construct, table: RegistryTable, *, mapping_id: str, missing: str) -> str:
    region = Stack.of(scope).region
    if not Token.is_unresolved(region) and region not in table.accounts:
        raise ConfigError(missing.format(region=region))
    # An environment-agnostic stack learns its region at deploy time: look the account up there.
    found = scope.node.try_find_child(mapping_id)
    registries = (
        found
        if isinstance(found, CfnMapping)
        else CfnMapping(
            scope,
            mapping_id,
            mapping={name: {"account": account} for name, account in table.accounts.items()},
            lazy=True,
        )
    )
    account = registries.find_in_map(region, "account")
    return f"{account}.dkr.ecr.{region}.{Aws.URL_SUFFIX}/{table.repository}:{table.tag}"
