"""DeployModel and EvaluateModel give the algorithm's container the environment the stack computed."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import boto3
import pytest

from lambdas.common import env
from lambdas.common.errors import ConfigurationError
from lambdas.common.events import Execution
from lambdas.common.inference import model_environment, serving_containers
from lambdas.deploy_model.core import deploy_model
from tests.unit.lambdas.deploy_model.test_core import NOW, SETTINGS, training

# What the stack sets for a scikit-learn script, as the SDK's FrameworkModel does.
SCRIPT_ENVIRONMENT = {
    "SAGEMAKER_PROGRAM": "train.py",
    "SAGEMAKER_SUBMIT_DIRECTORY": "s3://cdk-assets/abc.gz",
    "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
    "SAGEMAKER_REGION": "eu-west-1",
}


def test_the_model_container_gets_the_environment(aws: None, execution: Execution) -> None:
    sagemaker: Any = boto3.client("sagemaker")
    settings = replace(SETTINGS, environment=SCRIPT_ENVIRONMENT)

    deploy_model(training("churn-1"), execution, sagemaker=sagemaker, settings=settings, now=NOW)

    assert sagemaker.describe_model(ModelName="churn-1")["PrimaryContainer"]["Environment"] == SCRIPT_ENVIRONMENT


def test_without_an_environment_the_container_has_none() -> None:
    (container,) = serving_containers(None, "s3://b/model.tar.gz", SETTINGS.image, None, {})

    assert "Environment" not in container


def test_the_environment_is_read_from_its_variable() -> None:
    assert model_environment({env.MODEL_ENVIRONMENT: json.dumps(SCRIPT_ENVIRONMENT)}) == SCRIPT_ENVIRONMENT
    assert model_environment({}) == {}


@pytest.mark.parametrize("raw", ["{", "[]", '{"A": 1}'])
def test_a_malformed_environment_names_the_variable(raw: str) -> None:
    with pytest.raises(ConfigurationError, match=env.MODEL_ENVIRONMENT):
        model_environment({env.MODEL_ENVIRONMENT: raw})
