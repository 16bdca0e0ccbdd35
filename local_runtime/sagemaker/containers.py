"""Which local program stands in for a training image: Linear Learner, built-in XGBoost, or a script-mode program."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from local_runtime.algorithms import linear_learner, xgboost
from local_runtime.sagemaker.frameworks import FrameworkImage, framework_image

ContainerKind = Literal["linear-learner", "xgboost", "script"]
LINEAR_LEARNER: ContainerKind = "linear-learner"
XGBOOST: ContainerKind = "xgboost"
SCRIPT: ContainerKind = "script"

# The hyperparameters the SageMaker Python SDK sets for script mode, JSON-encoded like every value it sets.
PROGRAM_HYPERPARAMETER = "sagemaker_program"
SUBMIT_DIRECTORY_HYPERPARAMETER = "sagemaker_submit_directory"
# The training toolkit's own hyperparameters (sagemaker_training/params.py, SAGEMAKER_HYPERPARAMETERS): neither
# arguments nor SM_HP_*; every other `sagemaker_*` one is a framework parameter (SM_FRAMEWORK_PARAMS).
TOOLKIT_HYPERPARAMETERS = frozenset(
    {
        PROGRAM_HYPERPARAMETER,
        SUBMIT_DIRECTORY_HYPERPARAMETER,
        "sagemaker_enable_cloudwatch_metrics",
        "sagemaker_region",
        "sagemaker_container_log_level",
        "sagemaker_job_name",
        "default_user_module_name",
        "_tuning_objective_metric",
        "sagemaker_s3_output",
    }
)
_SAGEMAKER_PREFIX = "sagemaker_"

_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com(?:\.cn)?"
    r"/(?P<repository>[a-z0-9][a-z0-9._/-]*)(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})|@sha256:[0-9a-f]{64})?$"
)
# SageMaker's framework training images: their entry point (the sagemaker-training toolkit) runs a user's script.
_FRAMEWORK_REPOSITORIES = re.compile(
    r"^(?:sagemaker-scikit-learn|sagemaker-xgboost|pytorch-training|tensorflow-training|mxnet-training"
    r"|huggingface-pytorch-training|huggingface-tensorflow-training|sagemaker-chainer|sagemaker-pytorch"
    r"|sagemaker-tensorflow-scriptmode|sagemaker-mxnet|sagemaker-rl-[a-z0-9-]+)$"
)


class UnknownImageError(Exception):
    """The training image has no local implementation."""


@dataclass(frozen=True)
class TrainingContainer:
    """What runs for a training image: `command` is started in the job's directory (script mode: in its code/).

    `metric_definitions` are the algorithm's own, which SageMaker shows in place of the caller's for a built-in.
    `framework` is set for a SageMaker framework image (scikit-learn, XGBoost, PyTorch, TensorFlow).
    """

    kind: ContainerKind
    image_uri: str
    command: tuple[str, ...]
    program: str | None = None
    submit_directory: str | None = None
    metric_definitions: tuple[Mapping[str, str], ...] = ()
    framework: FrameworkImage | None = None


def resolve_training_image(image_uri: str, hyperparameters: Mapping[str, str]) -> TrainingContainer:
    """Map an image URI (and the script-mode hyperparameters) to a local program; raise UnknownImageError."""
    program = _decoded(hyperparameters.get(PROGRAM_HYPERPARAMETER))
    submit_directory = _decoded(hyperparameters.get(SUBMIT_DIRECTORY_HYPERPARAMETER))
    match = _ECR_IMAGE.match(image_uri)
    repository = match["repository"] if match else None
    if program is not None and submit_directory is not None:
        program, submit_directory = str(program), str(submit_directory)
        return TrainingContainer(
            kind=SCRIPT,
            image_uri=image_uri,
            command=(sys.executable, program, *script_arguments(hyperparameters)),
            program=program,
            submit_directory=submit_directory,
            framework=framework_image(image_uri),
        )
    if repository == "linear-learner":
        return TrainingContainer(
            kind=LINEAR_LEARNER,
            image_uri=image_uri,
            command=(sys.executable, "-m", linear_learner.__name__, "train"),
            metric_definitions=tuple(
                {"Name": name, "Regex": regex} for name, regex in linear_learner.METRIC_DEFINITIONS
            ),
        )
    if repository == "sagemaker-xgboost":
        # The XGBoost image without a script runs its algorithm mode; the stand-in is told the image's version.
        version = ("--image-version", match["tag"]) if match and match["tag"] else ()
        return TrainingContainer(
            kind=XGBOOST,
            image_uri=image_uri,
            command=(sys.executable, "-m", xgboost.__name__, "train", *version),
            metric_definitions=tuple({"Name": name, "Regex": regex} for name, regex in xgboost.METRIC_DEFINITIONS),
        )
    if framework_image(image_uri) is not None or (repository and _FRAMEWORK_REPOSITORIES.match(repository)):
        missing = [
            name
            for name, value in ((PROGRAM_HYPERPARAMETER, program), (SUBMIT_DIRECTORY_HYPERPARAMETER, submit_directory))
            if value is None
        ]
        raise UnknownImageError(
            f"image {image_uri} is a SageMaker framework image: script mode needs the hyperparameters "
            f"{PROGRAM_HYPERPARAMETER} and {SUBMIT_DIRECTORY_HYPERPARAMETER} (missing: {', '.join(missing)})"
        )
    raise UnknownImageError(
        f"image {image_uri} has no local implementation; the local runtime runs SageMaker's Linear Learner "
        f"(<account>.dkr.ecr.<region>.amazonaws.com/linear-learner:<tag>), built-in XGBoost "
        f"(<account>.dkr.ecr.<region>.amazonaws.com/sagemaker-xgboost:<version>) and script mode (any image with the "
        f"hyperparameters {PROGRAM_HYPERPARAMETER} and {SUBMIT_DIRECTORY_HYPERPARAMETER})"
    )


def user_hyperparameters(hyperparameters: Mapping[str, str]) -> dict[str, Any]:
    """The caller's hyperparameters, JSON-decoded where they parse, without the toolkit's and framework ones.

    As the toolkit splits them (`split_by_criteria` on the `sagemaker_` prefix and its own names).
    """
    return {
        key: _decoded(value)
        for key, value in hyperparameters.items()
        if not key.startswith(_SAGEMAKER_PREFIX) and key not in TOOLKIT_HYPERPARAMETERS
    }


def framework_parameters(hyperparameters: Mapping[str, str]) -> dict[str, Any]:
    """`sagemaker_*` hyperparameters that are not the toolkit's own (`sagemaker_mpi_enabled`, ...), decoded."""
    return {
        key: _decoded(value)
        for key, value in hyperparameters.items()
        if key.startswith(_SAGEMAKER_PREFIX) and key not in TOOLKIT_HYPERPARAMETERS
    }


def toolkit_parameter(hyperparameters: Mapping[str, str], name: str) -> Any:
    """One of the toolkit's own hyperparameters, JSON-decoded; None when absent."""
    return _decoded(hyperparameters.get(name))


def script_arguments(hyperparameters: Mapping[str, str]) -> list[str]:
    """The entry point's arguments, as the training toolkit's `mapping.to_cmd_args` builds them.

    Sorted by key; `--key` (`-k` for a one-letter key) then the value as `str()` gives it (`True`, `[1, 2]`),
    a mapping as `k1=v1,k2=v2` and null as an empty string.
    """
    arguments: list[str] = []
    for key, value in sorted(user_hyperparameters(hyperparameters).items()):
        arguments += [f"--{key}" if len(key) > 1 else f"-{key}", _argument(value)]
    return arguments


def _argument(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return ",".join(f"{key}={item}" for key, item in sorted(value.items()))
    return str(value)


def _decoded(value: str | None) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return value
