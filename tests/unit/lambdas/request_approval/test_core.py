"""RequestApproval against moto's S3 and model registry; Step Functions' token API as a recording fake."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from contract.events import PENDING
from lambdas.common import approvals
from lambdas.common.errors import InvalidStepEventError
from lambdas.common.events import Execution
from lambdas.request_approval.core import ApprovalSettings, request_approval
from tests.fakes.stepfunctions import TaskTokens
from tests.unit.lambdas.registered_versions import NOW, registered_version

SETTINGS = ApprovalSettings(bucket="data", prefix="approvals/churn")


@pytest.fixture
def s3(aws: None) -> Any:
    client = boto3.client("s3")
    client.create_bucket(Bucket="data")
    return client


def test_a_pending_version_keeps_the_token_under_its_number_and_waits(s3: Any, execution: Execution) -> None:
    sagemaker = boto3.client("sagemaker")
    evaluation = registered_version(sagemaker, PENDING)
    tokens = TaskTokens("token-1")

    waiting = request_approval(
        evaluation,
        execution,
        "token-1",
        s3=s3,
        sagemaker=sagemaker,
        stepfunctions=tokens,
        settings=SETTINGS,
        now=NOW,
    )

    assert waiting
    record = approvals.load(s3, "data", "approvals/churn", 1)
    assert record is not None
    assert (record.task_token, record.execution_id) == ("token-1", execution.id)
    assert tokens.resumed == []


def test_a_version_decided_before_the_token_was_kept_resumes_the_run_at_once(s3: Any, execution: Execution) -> None:
    sagemaker = boto3.client("sagemaker")
    evaluation = registered_version(sagemaker, PENDING)
    sagemaker.update_model_package(
        ModelPackageArn=evaluation.model_package_arn, ModelApprovalStatus="Rejected", ApprovalDescription="no"
    )
    tokens = TaskTokens("token-1")

    waiting = request_approval(
        evaluation,
        execution,
        "token-1",
        s3=s3,
        sagemaker=sagemaker,
        stepfunctions=tokens,
        settings=SETTINGS,
        now=NOW,
    )

    assert not waiting
    assert tokens.resumed == [
        (
            "token-1",
            {
                "status": "Rejected",
                "model_package_arn": evaluation.model_package_arn,
                "model_package_version": 1,
                "description": "no",
            },
        )
    ]
    assert approvals.load(s3, "data", "approvals/churn", 1) is None


def test_without_a_task_token_the_step_refuses(s3: Any, execution: Execution) -> None:
    with pytest.raises(InvalidStepEventError, match="task_token"):
        request_approval(
            {"model_package_arn": "arn", "model_package_version": 1},
            execution,
            "",
            s3=s3,
            sagemaker=None,
            stepfunctions=None,
            settings=SETTINGS,
            now=NOW,
        )
