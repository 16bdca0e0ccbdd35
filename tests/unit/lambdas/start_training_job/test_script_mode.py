"""StartTrainingJob for a framework's script and for an own image with metric definitions."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from lambdas.common import env
from lambdas.common.errors import ConfigurationError
from lambdas.common.events import Execution
from lambdas.start_training_job.core import TrainingSettings, start_training_job, training_job_request
from tests.unit.lambdas.start_training_job.test_core import RUN, SETTINGS

NOW = datetime(2026, 11, 22, 6, 0, 5, tzinfo=UTC)
# What the stack sets for a scikit-learn script: every value JSON-encoded, as the SDK's Framework sends them.
SCRIPT_HYPERPARAMETERS = {
    "kernel": '"rbf"',
    "sagemaker_program": '"train.py"',
    "sagemaker_submit_directory": '"s3://cdk-assets/abc.gz"',
    "sagemaker_container_log_level": "20",
    "sagemaker_region": '"eu-west-1"',
}
SCRIPT = replace(
    SETTINGS,
    image="141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
    hyperparameters=SCRIPT_HYPERPARAMETERS,
    script_mode=True,
    metric_definitions=({"Name": "validation:f1", "Regex": "f1=([0-9.]+)"},),
)
ENVIRONMENT = {
    env.PIPELINE_NAME: "churn",
    env.DATA_BUCKET: "churn-data",
    env.MODEL_PREFIX: "models/churn",
    env.TRAINING_IMAGE: SCRIPT.image,
    env.SAGEMAKER_ROLE_ARN: SETTINGS.role_arn,
    env.TRAINING_INSTANCE_TYPE: "ml.m5.large",
    env.TRAINING_INSTANCE_COUNT: "1",
    env.TRAINING_VOLUME_SIZE_GB: "30",
    env.TRAINING_MAX_RUNTIME_SECONDS: "7200",
    env.HYPERPARAMETERS: json.dumps(SCRIPT_HYPERPARAMETERS),
    env.POLL_INTERVAL_SECONDS: "60",
    env.VALIDATE_DATA: "false",
}


def test_a_scripts_job_gets_its_name_as_a_json_encoded_hyperparameter(execution: Execution) -> None:
    request = training_job_request(RUN.run_id, RUN.manifest(), execution, SCRIPT)

    assert request["HyperParameters"] == {**SCRIPT_HYPERPARAMETERS, "sagemaker_job_name": f'"{RUN.run_id}"'}
    assert json.loads(request["HyperParameters"]["sagemaker_job_name"]) == RUN.run_id


def test_metric_definitions_go_to_the_algorithm_specification(execution: Execution) -> None:
    request = training_job_request(RUN.run_id, RUN.manifest(), execution, SCRIPT)

    assert request["AlgorithmSpecification"] == {
        "TrainingImage": SCRIPT.image,
        "TrainingInputMode": "File",
        "MetricDefinitions": [{"Name": "validation:f1", "Regex": "f1=([0-9.]+)"}],
    }


def test_a_built_in_algorithms_job_gets_neither(execution: Execution) -> None:
    request = training_job_request(RUN.run_id, RUN.manifest(), execution, SETTINGS)

    assert request["HyperParameters"] == SETTINGS.hyperparameters
    assert "MetricDefinitions" not in request["AlgorithmSpecification"]


def test_the_scripts_job_is_created_so(aws: None, execution: Execution) -> None:
    sagemaker: Any = boto3.client("sagemaker")

    start_training_job(RUN, execution, sagemaker=sagemaker, settings=SCRIPT, now=NOW)

    job = sagemaker.describe_training_job(TrainingJobName=RUN.run_id)
    assert job["HyperParameters"]["sagemaker_job_name"] == f'"{RUN.run_id}"'
    assert job["HyperParameters"]["sagemaker_program"] == '"train.py"'


def test_the_settings_read_script_mode_and_metric_definitions_from_the_environment() -> None:
    settings = TrainingSettings.from_env(
        {**ENVIRONMENT, env.SCRIPT_MODE: "true", env.METRIC_DEFINITIONS: json.dumps(list(SCRIPT.metric_definitions))}
    )

    assert (settings.script_mode, settings.metric_definitions) == (True, SCRIPT.metric_definitions)
    assert settings.hyperparameters == SCRIPT_HYPERPARAMETERS


def test_without_the_variables_there_is_no_script_and_no_metric_definition() -> None:
    settings = TrainingSettings.from_env(ENVIRONMENT)

    assert (settings.script_mode, settings.metric_definitions) == (False, ())


@pytest.mark.parametrize("raw", ["[", '{"Name": "a"}', '[{"Name": "a"}]', '[{"Name": "a", "Regex": 1}]'])
def test_malformed_metric_definitions_name_the_variable(raw: str) -> None:
    with pytest.raises(ConfigurationError, match=env.METRIC_DEFINITIONS):
        TrainingSettings.from_env({**ENVIRONMENT, env.METRIC_DEFINITIONS: raw})
