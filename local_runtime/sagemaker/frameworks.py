"""Which machine-learning framework a SageMaker framework image carries, and whether this machine has it.

A framework image (scikit-learn, XGBoost, PyTorch, TensorFlow) runs the user's script on its own framework release;
the local runtime runs it on the one installed here. It says so when the two differ in major.minor, and fails the
job naming the package to install when the framework is missing.
"""

from __future__ import annotations

import importlib.machinery
import importlib.metadata
import re
from collections.abc import Sequence
from dataclasses import dataclass

_ECR_REPOSITORY = re.compile(
    r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/(?P<repository>[a-z0-9][a-z0-9._/-]*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})|@sha256:[0-9a-f]{64})?$"
)
_MAJOR_MINOR = re.compile(r"^(\d+)\.(\d+)")


@dataclass(frozen=True)
class Framework:
    """A framework as its images name it: the module a script imports and the distributions that provide it.

    `training_module` is the image's SAGEMAKER_TRAINING_MODULE (the toolkit's `framework_module`).
    """

    name: str
    module: str
    distributions: tuple[str, ...]
    training_module: str | None

    @property
    def package(self) -> str:
        """The package to `pip install` for it."""
        return self.distributions[0]


SKLEARN = Framework("scikit-learn", "sklearn", ("scikit-learn",), "sagemaker_sklearn_container.training:main")
XGBOOST = Framework("XGBoost", "xgboost", ("xgboost", "xgboost-cpu"), "sagemaker_xgboost_container.training:main")
PYTORCH = Framework("PyTorch", "torch", ("torch",), "sagemaker_pytorch_container.training:main")
TENSORFLOW = Framework(
    "TensorFlow", "tensorflow", ("tensorflow", "tensorflow-cpu"), "sagemaker_tensorflow_container.training:main"
)

# The repositories of SageMaker's framework images (training and inference) in the SDK's image tables.
_REPOSITORIES = {
    "sagemaker-scikit-learn": SKLEARN,
    "sagemaker-xgboost": XGBOOST,
    "pytorch-training": PYTORCH,
    "pytorch-inference": PYTORCH,
    "sagemaker-pytorch": PYTORCH,
    "tensorflow-training": TENSORFLOW,
    "tensorflow-inference": TENSORFLOW,
    "sagemaker-tensorflow-scriptmode": TENSORFLOW,
}


@dataclass(frozen=True)
class FrameworkImage:
    """A framework image: its framework and the release its tag names (`1.2` for `1.2-1-cpu-py3`), if any."""

    image_uri: str
    framework: Framework
    version: str | None


def framework_image(image_uri: str) -> FrameworkImage | None:
    """The framework image `image_uri` names, or None for any other image (a built-in algorithm, one's own)."""
    match = _ECR_REPOSITORY.match(image_uri)
    if match is None:
        return None
    framework = _REPOSITORIES.get(match["repository"])
    if framework is None:
        return None
    version = _MAJOR_MINOR.match(match["tag"] or "")
    return FrameworkImage(image_uri, framework, f"{version[1]}.{version[2]}" if version else None)


def installed_version(framework: Framework, paths: Sequence[str]) -> str | None:
    """The version of the framework's distribution found on `paths` (a sys.path), or None when none is."""
    for name in framework.distributions:
        for distribution in importlib.metadata.distributions(name=name, path=list(paths)):
            return str(distribution.version)
    return None


def importable(framework: Framework, paths: Sequence[str]) -> bool:
    """True when an interpreter with `paths` as its sys.path can import the framework's module."""
    return importlib.machinery.PathFinder.find_spec(framework.module, list(paths)) is not None


def missing_message(image: FrameworkImage) -> str:
    """Why a job or model of the image cannot run here, naming the package to install."""
    release = f" {image.version}" if image.version else ""
    return (
        f"the image {image.image_uri} runs {image.framework.name}{release}, which is not installed here: install "
        f"the {image.framework.package} package (pip install {image.framework.package}) to run it locally"
    )


def version_note(image: FrameworkImage, installed: str | None) -> str | None:
    """One line saying the local release differs from the image's in major.minor; None when they agree."""
    if image.version is None or installed is None:
        return None
    local = _MAJOR_MINOR.match(installed)
    if local is None or f"{local[1]}.{local[2]}" == image.version:
        return None
    return (
        f"the image runs {image.framework.name} {image.version}; this machine runs {image.framework.package} "
        f"{installed}: results may differ from SageMaker's"
    )
