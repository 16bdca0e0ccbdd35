"""GetStatus's handler: `target` picks the section it describes; the transform loop's target is "transform"."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from lambdas.common.errors import InvalidStepEventError
from lambdas.get_status.handler import lambda_handler
from tests.unit.lambdas.get_status.test_core import TRANSFORM

EXECUTION = {
    "id": "arn:aws:states:us-east-1:123456789012:execution:sagemaker-retraining-churn:run-1",
    "name": "run-1",
    "start_time": "2026-11-22T06:00:00.000Z",
}


@pytest.fixture
def environment(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "POLL_INTERVAL_SECONDS": "30",
        "MAX_TRAINING_WAIT_SECONDS": "3600",
        "MAX_DEPLOYMENT_WAIT_SECONDS": "900",
        "MAX_BATCH_TRANSFORM_WAIT_SECONDS": "2400",
    }.items():
        monkeypatch.setenv(name, value)
    boto3.client("sagemaker").create_transform_job(
        TransformJobName=TRANSFORM["job_name"],
        ModelName="churn-model",
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": TRANSFORM["input_uri"]}}},
        TransformOutput={"S3OutputPath": TRANSFORM["output_uri"]},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
    )


def test_the_transform_target_updates_the_batch_transform_section(environment: None, lambda_context: Any) -> None:
    # GIVEN a run whose transform job moto completed at once
    state = {"run": {"run_id": "churn-1"}, "batch_transform": TRANSFORM}

    # WHEN the transform loop asks for its status
    result = lambda_handler({"state": state, "execution": EXECUTION, "target": "transform"}, lambda_context)

    # THEN only the batch_transform section changes, with the job's status and the time waited
    assert {k: v for k, v in result.items() if k != "batch_transform"} == {"run": state["run"]}
    assert result["batch_transform"]["status"] == "Completed"
    assert result["batch_transform"]["failure_reason"] is None
    assert result["batch_transform"]["waited_seconds"] > 0
    assert result["batch_transform"]["output_uri"] == TRANSFORM["output_uri"]


def test_an_unknown_target_names_the_transform_target_among_the_known(environment: None, lambda_context: Any) -> None:
    with pytest.raises(InvalidStepEventError, match="'transform' or 'evaluation', got 'batch'"):
        lambda_handler(
            {"state": {"batch_transform": TRANSFORM}, "execution": EXECUTION, "target": "batch"}, lambda_context
        )
