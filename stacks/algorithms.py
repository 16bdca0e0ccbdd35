"""The training and inference images of a pipeline: SageMaker's Linear Learner in any region, or the caller's."""

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
    assert algorithm.builtin == LINEAR_LEARNER, algorithm.builtin
    image = _linear_learner_image(scope, pipeline=config.name)
    return AlgorithmImages(training=image, inference=image)


def preprocessing_image(scope: Construct, config: PipelineConfig) -> str:
    """The image that fits and serves the pipeline's preprocessing: the caller's, or SageMaker's scikit-learn."""
    preprocessing = config.preprocessing
    if preprocessing is None:
        raise ValueError(f"pipeline {config.name!r} has no preprocessing")
    if preprocessing.image is not None:
        return preprocessing.image.uri
    return _builtin_image(
        scope,
        scikit_learn_registries(),
        mapping_id="ScikitLearnRegistries",
        missing=f"pipeline {config.name!r}: region {{region}} has no scikit-learn image in "
        f"{SCIKIT_LEARN_REGISTRIES_FILE.name}; set preprocessing.image_uri to an image of your own",
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
    registries = CfnMapping(
        scope,
        mapping_id,
        mapping={name: {"account": account} for name, account in table.accounts.items()},
        lazy=True,
    )
    account = registries.find_in_map(region, "account")
    return f"{account}.dkr.ecr.{region}.{Aws.URL_SUFFIX}/{table.repository}:{table.tag}"
