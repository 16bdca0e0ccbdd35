"""DeployModel against moto's SageMaker (with the UpdateEndpoint moto lacks, from the local runtime)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from lambdas.common.errors import EndpointNotUpdatableError, InvalidStepEventError
from lambdas.common.events import Execution
from lambdas.deploy_model.core import DeploySettings, deploy_model
from tests.fakes.sagemaker import EndpointInStatus, EndpointUpdating

NOW = datetime(2026, 11, 22, 8, 0, 0, tzinfo=UTC)
SETTINGS = DeploySettings(
    pipeline="churn",
    endpoint_name="churn",
    instance_type="ml.m5.large",
    instance_count=2,
    image="382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1",
    role_arn="arn:aws:iam::123456789012:role/churn-sagemaker",
    poll_interval_seconds=30,
)


def training(name: str) -> dict[str, Any]:
    return {"job_name": name, "model_artifact": f"s3://b/models/churn/{name}/output/model.tar.gz"}


@pytest.fixture
def sagemaker(aws: None) -> Any:
    return boto3.client("sagemaker")


def test_first_deployment_creates_model_config_and_endpoint(sagemaker: Any, execution: Execution) -> None:
    state = deploy_model(training("churn-1"), execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    model = sagemaker.describe_model(ModelName="churn-1")
    assert model["PrimaryContainer"]["ModelDataUrl"] == "s3://b/models/churn/churn-1/output/model.tar.gz"
    assert model["PrimaryContainer"]["Image"] == SETTINGS.image
    variant = sagemaker.describe_endpoint_config(EndpointConfigName="churn-1")["ProductionVariants"][0]
    assert (variant["ModelName"], variant["InitialInstanceCount"], variant["InstanceType"]) == (
        "churn-1",
        2,
        "ml.m5.large",
    )
    assert sagemaker.describe_endpoint(EndpointName="churn")["EndpointConfigName"] == "churn-1"
    assert (state.action, state.status, state.endpoint_config_name) == ("create", "Creating", "churn-1")


def test_existing_endpoint_is_updated_in_place(sagemaker: Any, execution: Execution) -> None:
    deploy_model(training("churn-1"), execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    state = deploy_model(training("churn-2"), execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    assert (state.action, state.status) == ("update", "Updating")
    assert sagemaker.describe_endpoint(EndpointName="churn")["EndpointConfigName"] == "churn-2"
    assert len(sagemaker.list_endpoints()["Endpoints"]) == 1


def test_retried_attempt_creates_nothing_twice_and_does_not_update_again(sagemaker: Any, execution: Execution) -> None:
    deploy_model(training("churn-1"), execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)
    deploy_model(training("churn-2"), execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    again = deploy_model(training("churn-2"), execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    assert again.action == "update"
    assert len(sagemaker.list_models()["Models"]) == 2
    assert len(sagemaker.list_endpoint_configs()["EndpointConfigs"]) == 2


def test_missing_model_artifact_is_rejected_before_creating_anything(sagemaker: Any, execution: Execution) -> None:
    with pytest.raises(InvalidStepEventError, match="no model artifact"):
        deploy_model({"job_name": "churn-1"}, execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    assert sagemaker.list_models()["Models"] == []


@pytest.mark.parametrize(("status", "message"), [("Updating", "another change"), ("Failed", "accepts no update")])
def test_endpoint_busy_or_failed_is_not_updated(
    sagemaker: Any, execution: Execution, status: str, message: str
) -> None:
    deploy_model(training("churn-1"), execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    with pytest.raises(EndpointNotUpdatableError, match=message):
        deploy_model(
            training("churn-2"),
            execution,
            sagemaker=EndpointInStatus(sagemaker, status),
            settings=SETTINGS,
            now=NOW,
        )

    assert sagemaker.describe_endpoint(EndpointName="churn")["EndpointConfigName"] == "churn-1"


class UpdatingTo(EndpointUpdating):
    """An endpoint in its update that refuses a second UpdateEndpoint."""

    def update_endpoint(self, **kwargs: Any) -> None:
        raise AssertionError("a retried attempt must not ask for the update again")


def test_retry_during_its_own_update_keeps_polling_instead_of_failing(sagemaker: Any, execution: Execution) -> None:
    deploy_model(training("churn-1"), execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)
    deploy_model(training("churn-2"), execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    again = deploy_model(
        training("churn-2"),
        execution,
        sagemaker=UpdatingTo(sagemaker, "churn-1", "churn-2"),
        settings=SETTINGS,
        now=NOW,
    )

    assert again.action == "update"
