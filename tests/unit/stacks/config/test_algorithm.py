"""The algorithm section: built-in XGBoost, a framework's script, own images with metrics and environment."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stacks.config import ConfigError
from tests.unit.stacks.config.raw import parse_one

IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/trainer:1"


def sklearn(**fields: Any) -> dict[str, Any]:
    return {"framework": "sklearn", "version": "1.2-1", "source_dir": "examples/churn", **fields}


def test_builtin_xgboost_defaults_to_the_newest_supported_version() -> None:
    config = parse_one(algorithm={"builtin": "xgboost"}, hyperparameters={"num_round": 50})

    assert (config.algorithm.kind, config.algorithm.version) == ("builtin", "3.0-5")
    # Built-in hyperparameters stay plain strings, as SageMaker's algorithms read them.
    assert dict(config.hyperparameters) == {"num_round": "50"}
    assert config.training.validate_data is True


def test_builtin_xgboost_takes_a_supported_version() -> None:
    config = parse_one(algorithm={"builtin": "xgboost", "version": "1.7-1"}, hyperparameters={"num_round": 5})

    assert config.algorithm.version == "1.7-1"


def test_a_framework_gets_its_defaults_and_json_encoded_hyperparameters() -> None:
    # GIVEN a scikit-learn script with typed hyperparameters
    config = parse_one(algorithm=sklearn(), hyperparameters={"kernel": "rbf", "C": 1.5, "trees": 10, "scale": True})

    # THEN the entry point and Python default, and every value is JSON-encoded as the SDK's Framework sends it
    assert (config.algorithm.kind, config.algorithm.entry_point, config.algorithm.py_version) == (
        "framework",
        "train.py",
        "py3",
    )
    assert dict(config.hyperparameters) == {"kernel": '"rbf"', "C": "1.5", "trees": "10", "scale": "true"}
    assert {key: json.loads(value) for key, value in config.hyperparameters.items()} == {
        "kernel": "rbf",
        "C": 1.5,
        "trees": 10,
        "scale": True,
    }
    # A script may read any format: its data is checked only when asked.
    assert config.training.validate_data is False


def test_a_framework_may_ask_for_the_data_check() -> None:
    config = parse_one(algorithm=sklearn(), training={"validate_data": True})

    assert config.training.validate_data is True


def test_an_own_image_takes_metric_definitions_and_an_environment() -> None:
    config = parse_one(
        algorithm={
            "image_uri": IMAGE,
            "environment": {"MODEL_SERVER_WORKERS": "2"},
            "metric_definitions": [{"Name": "validation:rmse", "Regex": r"rmse=([0-9.]+)"}],
        }
    )

    assert dict(config.algorithm.environment) == {"MODEL_SERVER_WORKERS": "2"}
    assert [(m.name, m.regex) for m in config.algorithm.metric_definitions] == [("validation:rmse", r"rmse=([0-9.]+)")]
    assert config.training.validate_data is True


def test_a_quality_gate_on_a_defined_metric_of_a_script_is_accepted() -> None:
    config = parse_one(
        algorithm=sklearn(metric_definitions=[{"Name": "validation:f1", "Regex": r"f1=([0-9.]+)"}]),
        quality_gate={"metric": "validation:f1", "direction": "maximize", "threshold": 0.6},
    )

    assert config.quality_gate is not None


@pytest.mark.parametrize(
    ("algorithm", "hyperparameters", "expected"),
    [
        ({"builtin": "kmeans"}, {}, "algorithm.builtin must be one of linear-learner, xgboost"),
        ({"builtin": "xgboost", "version": "0.90-1"}, {"num_round": 1}, "algorithm.version must be one of 1.5-1"),
        ({"builtin": "xgboost"}, {}, "hyperparameters.num_round is required by built-in XGBoost"),
        ({"builtin": "linear-learner", "version": "2"}, {}, "algorithm.version must be one of 1 for linear-learner"),
        ({"framework": "caffe", "version": "1", "source_dir": "x"}, {}, "algorithm.framework must be one of sklearn"),
        (sklearn(version="1.4-2"), {}, "algorithm.version must be one of 1.0-1, 1.2-1 for framework sklearn"),
        (sklearn(version=None), {}, "algorithm.version must be one of 1.0-1, 1.2-1 for framework sklearn, got null"),
        (sklearn(source_dir=None), {}, "algorithm.source_dir is required"),
        (sklearn(source_dir="../elsewhere"), {}, "algorithm.source_dir must be a directory inside the project"),
        (sklearn(source_dir="/abs/models"), {}, "algorithm.source_dir must be a directory inside the project"),
        (sklearn(entry_point="train.sh"), {}, "algorithm.entry_point must be a Python file name like train.py"),
        (sklearn(entry_point="src/train.py"), {}, "algorithm.entry_point must be a file name in source_dir"),
        (
            {"framework": "pytorch", "version": "2.6.0", "py_version": "py38", "source_dir": "x"},
            {},
            "algorithm.py_version must be one of py312 for pytorch 2.6.0",
        ),
        (
            sklearn(metric_definitions=[{"Name": "f1", "Regex": "f1=([0-9"}]),
            {},
            "algorithm.metric_definitions[0].Regex must be a regular expression that compiles",
        ),
        (
            sklearn(metric_definitions=[{"Name": "f1", "Regex": "f1=[0-9]+"}]),
            {},
            "algorithm.metric_definitions[0].Regex must capture the metric's value in a group",
        ),
        (
            sklearn(metric_definitions=[{"Name": "f1", "Regex": "f1=(.+)"}, {"Name": "f1", "Regex": "F1=(.+)"}]),
            {},
            "algorithm.metric_definitions[1].Name 'f1' is defined twice",
        ),
        (
            sklearn(metric_definitions=[{"Name": f"m{n}", "Regex": "(.)"} for n in range(41)]),
            {},
            "algorithm.metric_definitions may hold at most 40 metric definitions, got 41",
        ),
        (sklearn(environment={"SAGEMAKER_PROGRAM": "x.py"}), {}, "algorithm.environment.SAGEMAKER_PROGRAM is set by"),
        (sklearn(), {"sagemaker_submit_directory": "s3://b/k"}, "hyperparameters.sagemaker_submit_directory is set by"),
        (sklearn(), {f"h{n}": n for n in range(96)}, "hyperparameters may hold at most 95 entries"),
        (sklearn(image_uri=IMAGE), {}, "algorithm.framework and image_uri are exclusive"),
        ({"builtin": "xgboost", "framework": "xgboost"}, {}, "algorithm.builtin and framework are exclusive"),
        (
            {"builtin": "xgboost", "metric_definitions": [{"Name": "a", "Regex": "(a)"}]},
            {"num_round": 1},
            "algorithm.metric_definitions is not taken by builtin xgboost",
        ),
        ({"environment": {"A": "b"}}, {}, "algorithm.environment is not taken by builtin linear-learner"),
        ({"image_uri": IMAGE, "source_dir": "x"}, {}, "algorithm.source_dir is not taken by an image_uri"),
        ({"image_uri": IMAGE, "environment": {"1A": "b"}}, {}, "algorithm.environment keys must be variable names"),
        ({"image_uri": IMAGE, "environment": {"A": 1}}, {}, "algorithm.environment.A must be a string"),
    ],
)
def test_a_bad_algorithm_fails_naming_the_pipeline_and_the_field(
    algorithm: dict[str, Any], hyperparameters: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_one(algorithm=algorithm, hyperparameters=hyperparameters)

    assert str(raised.value).startswith(f"pipeline 'churn': {expected}"), str(raised.value)


def test_a_quality_gate_on_a_metric_the_script_does_not_define_fails() -> None:
    with pytest.raises(ConfigError, match=r"^pipeline 'churn': quality_gate.metric 'auc' is not one of"):
        parse_one(
            algorithm=sklearn(metric_definitions=[{"Name": "f1", "Regex": "f1=(.+)"}]),
            quality_gate={"metric": "auc", "direction": "maximize", "threshold": 0.5},
        )


def test_a_built_in_gate_on_a_train_metric_is_accepted() -> None:
    config = parse_one(
        algorithm={"builtin": "xgboost"},
        hyperparameters={"num_round": 10, "eval_metric": "auc"},
        quality_gate={"metric": "train:auc", "direction": "maximize", "threshold": 0.7},
    )

    assert config.quality_gate is not None
    assert config.quality_gate.metric == "train:auc"
