"""A run stopped while it waited for approval: its version is Rejected and its approval record removed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambdas.common.approvals import record_key
from lambdas.common.events import Execution
from lambdas.run_ended.approvals import PendingApprovals, reject_pending

BUCKET, GROUP, PREFIX = "churn-data", "churn-models", "approvals/churn"
ARN = "arn:aws:states:us-east-1:123456789012:execution:sagemaker-retraining-churn:run-2"
STOPPED = Execution(id=ARN, name="run-2", start_time=datetime(2026, 11, 22, 6, 0, tzinfo=UTC))
APPROVALS = PendingApprovals(group=GROUP, bucket=BUCKET, prefix=PREFIX)


@pytest.fixture
def clients() -> Iterator[tuple[Any, Any]]:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        sagemaker = boto3.client("sagemaker", region_name="us-east-1")
        sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
        yield sagemaker, s3


def register(sagemaker: Any, s3: Any, execution_name: str, status: str = "PendingManualApproval") -> tuple[str, int]:
    """A version the run `execution_name` registered, with the record its RequestApproval keeps."""
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus=status,
        CustomerMetadataProperties={"execution": execution_name},
        InferenceSpecification={
            "Containers": [{"Image": "img", "ModelDataUrl": "s3://b/m.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )["ModelPackageArn"]
    version = int(arn.rsplit("/", 1)[1])
    execution_id = ARN.replace("run-2", execution_name)
    record = {"task_token": "t", "execution_id": execution_id, "model_package_arn": arn, "requested_at": "x"}
    s3.put_object(Bucket=BUCKET, Key=record_key(PREFIX, version), Body=json.dumps(record).encode())
    return arn, version


def status_of(sagemaker: Any, arn: str) -> str:
    return str(sagemaker.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"])


def record_exists(s3: Any, version: int) -> bool:
    return "Contents" in s3.list_objects_v2(Bucket=BUCKET, Prefix=record_key(PREFIX, version))


def test_the_stopped_runs_waiting_version_is_rejected_and_its_record_removed(clients: tuple[Any, Any]) -> None:
    sagemaker, s3 = clients
    # GIVEN an earlier run's version still waiting, and the stopped run's
    other, other_version = register(sagemaker, s3, "run-1")
    mine, my_version = register(sagemaker, s3, "run-2")

    # WHEN RunEnded reaps the stopped run
    rejected = reject_pending(sagemaker, s3, APPROVALS, STOPPED, "was stopped by hand (StopExecution)")

    # THEN only its version is Rejected, saying why, and only its record is gone
    assert rejected == [my_version]
    assert status_of(sagemaker, mine) == "Rejected"
    description = sagemaker.describe_model_package(ModelPackageName=mine)["ApprovalDescription"]
    assert (
        description == "No decision: the run waiting for it was stopped by hand (StopExecution); it was not deployed."
    )
    assert not record_exists(s3, my_version)
    assert status_of(sagemaker, other) == "PendingManualApproval"
    assert record_exists(s3, other_version)


def test_a_decided_version_is_left_alone(clients: tuple[Any, Any]) -> None:
    sagemaker, s3 = clients
    approved, _ = register(sagemaker, s3, "run-2", status="Approved")

    assert reject_pending(sagemaker, s3, APPROVALS, STOPPED, "was stopped by hand") == []
    assert status_of(sagemaker, approved) == "Approved"


def test_the_settings_exist_only_for_a_manually_approved_pipeline() -> None:
    assert PendingApprovals.from_env({"DATA_BUCKET": BUCKET}) is None
    env = {"DATA_BUCKET": BUCKET, "APPROVAL_PREFIX": "approvals/churn/", "MODEL_PACKAGE_GROUP": GROUP}
    assert PendingApprovals.from_env(env) == APPROVALS
