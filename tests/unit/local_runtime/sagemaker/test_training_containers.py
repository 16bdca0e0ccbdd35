"""Which local program runs for a training image: Linear Learner or XGBoost in any region, script mode, or an error."""

from __future__ import annotations

import json
import re
import sys

import pytest

from local_runtime.algorithms import linear_learner, xgboost
from local_runtime.sagemaker.containers import (
    LINEAR_LEARNER,
    SCRIPT,
    XGBOOST,
    UnknownImageError,
    resolve_training_image,
    script_arguments,
    user_hyperparameters,
)

SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
SCRIPT_HYPERPARAMETERS = {
    "sagemaker_program": json.dumps("train.py"),
    "sagemaker_submit_directory": json.dumps("s3://code/job/source/sourcedir.tar.gz"),
    "sagemaker_container_log_level": "20",
    "alpha": "0.5",
    "kernel": json.dumps("rbf"),
}


@pytest.mark.parametrize(
    "image",
    [
        "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1",
        "438346466558.dkr.ecr.eu-west-1.amazonaws.com/linear-learner:1",
        "390948362332.dkr.ecr.cn-north-1.amazonaws.com.cn/linear-learner:1",
        "226302683700.dkr.ecr.us-gov-west-1.amazonaws.com/linear-learner:latest",
        "664544806723.dkr.ecr.eu-central-1.amazonaws.com/linear-learner",
        "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner@sha256:" + "a" * 64,
    ],
)
def test_linear_learner_image_of_any_region_runs_the_local_linear_learner(image: str) -> None:
    # GIVEN Linear Learner's image as the SDK resolves it in some region
    # WHEN it is resolved
    container = resolve_training_image(image, {"predictor_type": "regressor"})

    # THEN the local implementation runs with the interpreter of the runtime, and LL's metric definitions apply
    assert container.kind == LINEAR_LEARNER
    assert container.command == (sys.executable, "-m", "local_runtime.algorithms.linear_learner", "train")
    names = {definition["Name"] for definition in container.metric_definitions}
    assert {"train:objective_loss", "train:mse", "validation:objective_loss", "test:mse"} <= names


@pytest.mark.parametrize(
    "image",
    [
        SKLEARN,
        "763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-training:2.1-cpu-py310",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/my-own-image:7",
    ],
)
def test_script_mode_hyperparameters_run_the_entry_point_with_the_user_arguments(image: str) -> None:
    # GIVEN the hyperparameters the SageMaker Python SDK sets for script mode, JSON-encoded
    # WHEN the image is resolved
    container = resolve_training_image(image, SCRIPT_HYPERPARAMETERS)

    # THEN the program runs with `--key value` for each user hyperparameter, sorted, without sagemaker_* ones
    assert container.kind == SCRIPT
    assert container.program == "train.py"
    assert container.submit_directory == "s3://code/job/source/sourcedir.tar.gz"
    assert container.command == (sys.executable, "train.py", "--alpha", "0.5", "--kernel", "rbf")
    assert container.metric_definitions == ()


@pytest.mark.parametrize(
    ("image", "version"),
    [
        ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", ("--image-version", "1.7-1")),
        ("450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-xgboost:3.0-5", ("--image-version", "3.0-5")),
        ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost@sha256:" + "b" * 64, ()),
    ],
)
def test_the_xgboost_image_without_an_entry_point_runs_built_in_xgboost(image: str, version: tuple[str, ...]) -> None:
    # WHEN the XGBoost image is resolved without script-mode hyperparameters
    container = resolve_training_image(image, {"num_round": "10"})

    # THEN it runs the local algorithm mode, told the image's version, with SageMaker's metric definitions
    assert container.kind == XGBOOST
    assert container.command == (sys.executable, "-m", xgboost.__name__, "train", *version)
    assert {"Name": "validation:auc", "Regex": dict(xgboost.METRIC_DEFINITIONS)["validation:auc"]} in (
        container.metric_definitions
    )


def test_the_xgboost_image_with_an_entry_point_runs_the_script() -> None:
    image = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"

    assert resolve_training_image(image, SCRIPT_HYPERPARAMETERS).kind == SCRIPT


def test_a_framework_image_without_an_entry_point_names_the_missing_hyperparameters() -> None:
    with pytest.raises(UnknownImageError, match=r"framework image.*missing: sagemaker_program"):
        resolve_training_image(SKLEARN, {"sagemaker_submit_directory": json.dumps("s3://code/sourcedir.tar.gz")})


@pytest.mark.parametrize(
    "image",
    [
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-algorithm:1",
        "382416733822.dkr.ecr.us-east-1.amazonaws.com/xgboost:1",
        "linear-learner:1",
        "docker.io/library/linear-learner:1",
        "382416733822.dkr.ecr.us-east-1.amazonaws.com/team/linear-learner:1",
    ],
)
def test_an_image_without_a_local_implementation_is_rejected_with_its_uri(image: str) -> None:
    with pytest.raises(UnknownImageError, match=f"image {re.escape(image)} has no local implementation"):
        resolve_training_image(image, {"predictor_type": "regressor"})


def test_user_hyperparameters_are_decoded_like_the_training_toolkit_does() -> None:
    # GIVEN values as the SDK encodes them: JSON, or plain strings set by hand
    hyperparameters = {"epochs": "10", "flag": "true", "name": '"x"', "plain": "not json", "sagemaker_region": "1"}

    # WHEN decoded and turned into arguments
    decoded = user_hyperparameters(hyperparameters)
    arguments = script_arguments(hyperparameters)

    # THEN JSON values are decoded, others kept, and the SDK's sagemaker_* ones left out
    assert decoded == {"epochs": 10, "flag": True, "name": "x", "plain": "not json"}
    assert arguments == ["--epochs", "10", "--flag", "True", "--name", "x", "--plain", "not json"]


def test_arguments_are_built_as_the_training_toolkits_to_cmd_args_builds_them() -> None:
    # GIVEN a one-letter name, a mapping, a list, null and a framework parameter
    hyperparameters = {
        "C": "0.1",
        "layers": json.dumps({"b": 2, "a": 1}),
        "sizes": "[1, 2]",
        "none": "null",
        "sagemaker_mpi_enabled": "true",
        "_tuning_objective_metric": json.dumps("validation:auc"),
    }

    # WHEN they become arguments
    arguments = script_arguments(hyperparameters)

    # THEN `-C`, `k=v,...`, Python's str() and an empty string; the toolkit's and framework ones are left out
    assert arguments == ["-C", "0.1", "--layers", "a=1,b=2", "--none", "", "--sizes", "[1, 2]"]


def test_linear_learner_metric_definitions_match_the_lines_the_algorithm_prints() -> None:
    definitions = {name: re.compile(regex) for name, regex in linear_learner.METRIC_DEFINITIONS}
    line = "[11/22/2026 06:00:00 INFO 1] #quality_metric: host=algo-1, train mse <loss>=0.25"
    epoch_line = "#quality_metric: host=algo-1, epoch=3, train square_loss_objective <loss>=0.5"

    matched = {name for name, pattern in definitions.items() if pattern.search(line)}
    matched_epoch = {name for name, pattern in definitions.items() if pattern.search(epoch_line)}

    assert matched == {"train:mse"}
    assert matched_epoch == {"train:objective_loss"}
