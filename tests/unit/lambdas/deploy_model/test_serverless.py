"""DeployModel for a serverless endpoint: a ServerlessConfig variant, updated in place, never from instances."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from lambdas.common import env
from lambdas.common.errors import ConfigurationError, EndpointNotUpdatableError
from lambdas.common.events import Execution
from lambdas.common.models import TrainingJobState
from lambdas.deploy_model.core import DeploySettings, deploy_model
from tests.unit.lambdas.states import training_section

NOW = datetime(2026, 11, 22, 8, 0, 0, tzinfo=UTC)
SERVERLESS = {"MemorySizeInMB": 2048, "MaxConcurrency": 5, "ProvisionedConcurrency": 1}
SETTINGS = DeploySettings(
    pipeline="churn",
    endpoint_name="churn",
    instance_type=None,
    instance_count=None,
    serverless=SERVERLESS,
    image="382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1",
    role_arn="arn:aws:iam::123456789012:role/churn-sagemaker",
    poll_interval_seconds=30,
)
ENVIRONMENT = {
    env.PIPELINE_NAME: "churn",
    env.ENDPOINT_NAME: "churn",
    env.INFERENCE_IMAGE: SETTINGS.image,
    env.SAGEMAKER_ROLE_ARN: SETTINGS.role_arn,
    env.POLL_INTERVAL_SECONDS: "30",
}


def training(name: str) -> TrainingJobState:
    return training_section(job_name=name, model_artifact=f"s3://b/models/churn/{name}/output/model.tar.gz")


@pytest.fixture
def sagemaker(aws: None) -> Any:
    return boto3.client("sagemaker")


def test_a_serverless_endpoint_config_has_a_serverless_variant_without_instances(
    sagemaker: Any, execution: Execution
) -> None:
    # WHEN the first run deploys with serverless settings
    state = deploy_model(training("churn-1"), execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    # THEN the config's one variant carries the ServerlessConfig and no instance type or count
    variant = sagemaker.describe_endpoint_config(EndpointConfigName="churn-1")["ProductionVariants"][0]
    assert variant["ServerlessConfig"] == SERVERLESS
    assert "InstanceType" not in variant
    assert "InitialInstanceCount" not in variant
    assert (variant["VariantName"], variant["ModelName"]) == ("AllTraffic", "churn-1")
    assert (state.action, state.status) == ("create", "Creating")


def test_a_serverless_endpoint_is_updated_in_place(sagemaker: Any, execution: Execution) -> None:
    deploy_model(training("churn-1"), execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    state = deploy_model(training("churn-2"), execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    assert (state.action, state.previous_endpoint_config) == ("update", "churn-1")
    endpoint = sagemaker.describe_endpoint(EndpointName="churn")
    assert endpoint["EndpointConfigName"] == "churn-2"
    assert endpoint["ProductionVariants"][0]["CurrentServerlessConfig"] == SERVERLESS


def test_an_instance_endpoint_is_not_turned_serverless(sagemaker: Any, execution: Execution) -> None:
    # GIVEN an endpoint a run deployed on instances
    on_instances = replace(SETTINGS, instance_type="ml.m5.large", instance_count=1, serverless=None)
    deploy_model(training("churn-1"), execution, sagemaker=sagemaker, settings=on_instances, now=NOW)

    # WHEN the pipeline's endpoint became serverless THEN DeployModel refuses with the way out, creating no config
    with pytest.raises(EndpointNotUpdatableError, match="cannot update an instance endpoint to serverless; delete"):
        deploy_model(training("churn-2"), execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)
    assert [c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]] == ["churn-1"]


def test_a_serverless_endpoint_may_move_to_instances(sagemaker: Any, execution: Execution) -> None:
    # SageMaker converts a serverless endpoint to instances (not back): DeployModel lets it.
    deploy_model(training("churn-1"), execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)
    on_instances = replace(SETTINGS, instance_type="ml.m5.large", instance_count=1, serverless=None)

    state = deploy_model(training("churn-2"), execution, sagemaker=sagemaker, settings=on_instances, now=NOW)

    assert state.action == "update"


def test_the_settings_read_the_serverless_config_instead_of_instances() -> None:
    settings = DeploySettings.from_env(
        {**ENVIRONMENT, env.ENDPOINT_SERVERLESS_CONFIG: '{"MemorySizeInMB": 1024, "MaxConcurrency": 3}'}
    )

    assert settings.serverless == {"MemorySizeInMB": 1024, "MaxConcurrency": 3}
    assert (settings.instance_type, settings.instance_count) == (None, None)


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        '{"MemorySizeInMB": 1024}',
        '{"MemorySizeInMB": 1024, "MaxConcurrency": "3"}',
        '{"MemorySizeInMB": 1024, "MaxConcurrency": 3, "InstanceType": 1}',
    ],
)
def test_a_malformed_serverless_config_is_a_configuration_error(raw: str) -> None:
    with pytest.raises(ConfigurationError, match=env.ENDPOINT_SERVERLESS_CONFIG):
        DeploySettings.from_env({**ENVIRONMENT, env.ENDPOINT_SERVERLESS_CONFIG: raw})
