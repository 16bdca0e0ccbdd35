"""StartTrainingJob against moto's SageMaker."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from lambdas.common.errors import ResourceConflictError
from lambdas.common.events import Execution
from lambdas.common.names import EXECUTION_TAG
from lambdas.start_training_job.core import TrainingSettings, start_training_job

NOW = datetime(2026, 11, 22, 6, 0, 5, tzinfo=UTC)
SETTINGS = TrainingSettings(
    pipeline="churn",
    bucket="churn-data",
    model_prefix="models/churn",
    image="382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1",
    role_arn="arn:aws:iam::123456789012:role/churn-sagemaker",
    instance_type="ml.m5.large",
    instance_count=1,
    volume_size_gb=30,
    max_runtime_seconds=7200,
    hyperparameters={"predictor_type": "regressor", "epochs": "5"},
    poll_interval_seconds=60,
)
RUN = {
    "run_id": "churn-20261122060000-abcdef12",
    "manifest_uri": "s3://churn-data/manifests/churn/x.manifest",
}


@pytest.fixture
def sagemaker(aws: None) -> Any:
    return boto3.client("sagemaker")


def test_starts_a_job_reading_the_manifest_and_writing_under_the_model_prefix(
    sagemaker: Any, execution: Execution
) -> None:
    state = start_training_job(RUN, execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    job = sagemaker.describe_training_job(TrainingJobName=RUN["run_id"])
    source = job["InputDataConfig"][0]["DataSource"]["S3DataSource"]
    assert (source["S3DataType"], source["S3Uri"]) == ("ManifestFile", RUN["manifest_uri"])
    assert job["InputDataConfig"][0]["ContentType"] == "text/csv"
    assert job["OutputDataConfig"]["S3OutputPath"] == "s3://churn-data/models/churn/"
    assert job["HyperParameters"] == SETTINGS.hyperparameters
    assert job["AlgorithmSpecification"]["TrainingImage"] == SETTINGS.image
    assert job["StoppingCondition"]["MaxRuntimeInSeconds"] == 7200
    assert state.job_name == RUN["run_id"]
    assert (state.status, state.poll_seconds, state.started_at) == (
        "InProgress",
        60,
        "2026-11-22T06:00:05.000Z",
    )


def test_retried_attempt_adopts_the_job_instead_of_starting_a_second(sagemaker: Any, execution: Execution) -> None:
    start_training_job(RUN, execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    again = start_training_job(RUN, execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    assert again.job_name == RUN["run_id"]
    assert len(sagemaker.list_training_jobs()["TrainingJobSummaries"]) == 1


def test_a_job_of_the_same_name_from_another_execution_is_a_conflict(sagemaker: Any, execution: Execution) -> None:
    other = Execution(id=execution.id + "-other", name="other", start_time=execution.start_time)
    start_training_job(RUN, other, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    with pytest.raises(ResourceConflictError, match=RUN["run_id"]):
        start_training_job(RUN, execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)


def test_the_job_is_tagged_with_its_execution(sagemaker: Any, execution: Execution) -> None:
    start_training_job(RUN, execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    arn = sagemaker.describe_training_job(TrainingJobName=RUN["run_id"])["TrainingJobArn"]
    tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=arn)["Tags"]}
    assert tags[EXECUTION_TAG] == execution.id
