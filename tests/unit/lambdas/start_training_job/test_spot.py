"""StartTrainingJob with Managed Spot training: spot capacity, the max wait, and checkpoints in the run's folder."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from lambdas.common import env as names
from lambdas.common.errors import ConfigurationError
from lambdas.common.events import Execution
from lambdas.start_training_job.core import TrainingSettings, start_training_job
from tests.unit.lambdas.start_training_job.test_core import NOW, RUN, SETTINGS

SPOT = replace(SETTINGS, spot_max_wait_seconds=10_800)
ENVIRONMENT = {
    names.PIPELINE_NAME: "churn",
    names.DATA_BUCKET: "churn-data",
    names.MODEL_PREFIX: "models/churn",
    names.TRAINING_IMAGE: SETTINGS.image,
    names.SAGEMAKER_ROLE_ARN: SETTINGS.role_arn,
    names.TRAINING_INSTANCE_TYPE: "ml.m5.large",
    names.TRAINING_INSTANCE_COUNT: "1",
    names.TRAINING_VOLUME_SIZE_GB: "30",
    names.TRAINING_MAX_RUNTIME_SECONDS: "7200",
    names.HYPERPARAMETERS: "{}",
    names.POLL_INTERVAL_SECONDS: "60",
    names.VALIDATE_DATA: "true",
}


@pytest.fixture
def sagemaker(aws: None) -> Any:
    return boto3.client("sagemaker")


def test_a_spot_job_waits_at_most_the_max_wait_and_checkpoints_under_its_own_model_folder(
    sagemaker: Any, execution: Execution
) -> None:
    # GIVEN a pipeline with spot training; WHEN the run starts its job
    start_training_job(RUN, execution, sagemaker=sagemaker, settings=SPOT, now=NOW)

    # THEN SageMaker is asked for spot capacity, the max wait beside the runtime, and checkpoints synced with the
    # job's own folder beside its model artifacts, from SageMaker's default local path
    job = sagemaker.describe_training_job(TrainingJobName=RUN.run_id)
    assert job["EnableManagedSpotTraining"] is True
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 7_200, "MaxWaitTimeInSeconds": 10_800}
    assert job["CheckpointConfig"] == {
        "S3Uri": f"s3://churn-data/models/churn/{RUN.run_id}/checkpoints/",
        "LocalPath": "/opt/ml/checkpoints",
    }


def test_an_on_demand_job_asks_for_no_spot_capacity_and_no_checkpoints(execution: Execution) -> None:
    client = boto3.client("sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        stubber.add_client_error("describe_training_job", "ValidationException", "Requested resource not found")
        stubber.add_response("create_training_job", {"TrainingJobArn": "arn"})
        requests: list[dict[str, Any]] = []
        client.meta.events.register("provide-client-params.sagemaker.CreateTrainingJob", _keep(requests))
        start_training_job(RUN, execution, sagemaker=client, settings=SETTINGS, now=NOW)

    assert {"EnableManagedSpotTraining", "CheckpointConfig"}.isdisjoint(requests[0])
    assert requests[0]["StoppingCondition"] == {"MaxRuntimeInSeconds": 7_200}


def test_a_spot_request_is_valid_for_botocore(execution: Execution) -> None:
    client = boto3.client("sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        stubber.add_client_error("describe_training_job", "ValidationException", "Requested resource not found")
        stubber.add_response("create_training_job", {"TrainingJobArn": "arn"})
        start_training_job(RUN, execution, sagemaker=client, settings=SPOT, now=NOW)
        stubber.assert_no_pending_responses()


@pytest.mark.parametrize(("value", "expected"), [(None, None), ("", None), ("3600", 3_600)])
def test_the_max_wait_is_read_from_the_environment_when_set(value: str | None, expected: int | None) -> None:
    environment = dict(ENVIRONMENT)
    if value is not None:
        environment[names.TRAINING_SPOT_MAX_WAIT_SECONDS] = value

    assert TrainingSettings.from_env(environment).spot_max_wait_seconds == expected


def test_an_unreadable_max_wait_names_the_variable() -> None:
    environment = {**ENVIRONMENT, names.TRAINING_SPOT_MAX_WAIT_SECONDS: "an hour"}

    with pytest.raises(ConfigurationError, match=names.TRAINING_SPOT_MAX_WAIT_SECONDS):
        TrainingSettings.from_env(environment)


def _keep(requests: list[dict[str, Any]]) -> Any:
    def keep(params: dict[str, Any], **_: Any) -> None:
        requests.append(params)

    return keep
