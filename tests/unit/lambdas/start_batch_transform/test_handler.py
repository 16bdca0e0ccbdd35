"""StartBatchTransform's handler: the job started from the environment, the state passed on with its section."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from lambdas.common.errors import ConfigurationError
from lambdas.start_batch_transform.handler import lambda_handler
from tests.unit.lambdas.start_batch_transform.test_core import (
    BUCKET,
    ENVIRONMENT,
    FLAT_KEY,
    MANIFEST_URI,
    RUN_ID,
    STATE,
)

EVENT = {
    "state": {**STATE, "run": {**STATE["run"], "batch_transform": True}, "has_new_data": True},
    "execution": {
        "id": "arn:aws:states:us-east-1:123456789012:execution:sagemaker-retraining-churn:run-1",
        "name": "run-1",
        "start_time": "2026-11-22T06:00:00.000Z",
    },
}


@pytest.fixture
def environment(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=FLAT_KEY, Body=b"0,basic,12\n")


def test_returns_the_state_with_the_batch_transform_section(environment: None, lambda_context: Any) -> None:
    # WHEN the step runs
    state = lambda_handler(EVENT, lambda_context)

    # THEN the state it was given goes on, with the job's section added
    assert {k: v for k, v in state.items() if k != "batch_transform"} == EVENT["state"]
    assert state["batch_transform"]["job_name"] == RUN_ID
    assert state["batch_transform"]["input_uri"] == MANIFEST_URI
    assert state["batch_transform"]["output_uri"] == f"s3://{BUCKET}/predictions/daily/churn/"
    jobs = boto3.client("sagemaker").list_transform_jobs()["TransformJobSummaries"]
    assert [j["TransformJobName"] for j in jobs] == [RUN_ID]


def test_without_a_batch_transform_configured_no_job_is_started(
    environment: None, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a pipeline without a batch transform
    monkeypatch.delenv("BATCH_TRANSFORM")

    # WHEN the step runs / THEN it fails naming the variable, and no job exists
    with pytest.raises(ConfigurationError, match="BATCH_TRANSFORM"):
        lambda_handler(EVENT, lambda_context)
    assert boto3.client("sagemaker").list_transform_jobs()["TransformJobSummaries"] == []
