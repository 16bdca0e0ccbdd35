"""What RunEnded's alert says happened to a reaped run: whether it had already deployed and recorded its model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambdas.run_ended.core import EndedRun, run_ended
from tests.unit.lambdas.run_ended.test_core import (
    ARN,
    NOTIFY,
    SETTINGS,
    Functions,
    StepFunctions,
    history,
    sample_event,
)

PARAMETER = "/sagemaker-retraining/churn/watermark"


@pytest.fixture
def clients() -> Iterator[tuple[Any, Any]]:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=SETTINGS.bucket)
        yield s3, boto3.client("ssm", region_name="us-east-1")


def reaped_cause(clients: tuple[Any, Any], watermark_execution: str) -> str:
    s3, ssm = clients
    ssm.put_parameter(Name=PARAMETER, Type="String", Value=json.dumps({"execution_id": watermark_execution}))
    invoke = Functions()
    run_ended(
        EndedRun.from_event(sample_event(status="ABORTED")),
        s3=s3,
        sfn=StepFunctions(history("UpdateParameters", "WaitForBatchTransform")),
        invoke=invoke,
        settings=replace(SETTINGS, watermark_parameter=PARAMETER),
        ssm=ssm,
    )
    failure = invoke.payload(NOTIFY)["state"]["failure"]["WaitForBatchTransform"]
    return str(failure["Cause"])


def test_a_run_stopped_after_it_deployed_and_recorded_its_model_is_said_to_serve_it(clients: tuple[Any, Any]) -> None:
    # A run stopped during its batch transform: UpdateParameters had recorded it, and its model keeps serving
    cause = reaped_cause(clients, ARN)

    assert "It had already deployed its model and the watermark records it" in cause
    assert "rollback" not in cause
    assert "did not move" not in cause


def test_a_run_the_watermark_does_not_record_is_said_to_have_moved_nothing(clients: tuple[Any, Any]) -> None:
    cause = reaped_cause(clients, "arn:aws:states:us-east-1:123456789012:execution:sagemaker-retraining-churn:older")

    assert "the watermark did not move" in cause
