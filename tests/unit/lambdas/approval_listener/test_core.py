"""ApprovalListener: the registry's state-change event resumes exactly the run that waits for the version."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from contract.events import MODEL_PACKAGE_STATE_CHANGE, PENDING
from lambdas.approval_listener.core import on_state_change
from lambdas.common import approvals
from lambdas.common.events import Execution
from lambdas.common.models import EvaluationState
from lambdas.request_approval.core import ApprovalSettings, request_approval
from tests.fakes.stepfunctions import TaskTokens
from tests.unit.lambdas.registered_versions import NOW, registered_version

SETTINGS = ApprovalSettings(bucket="data", prefix="approvals/churn")


def state_change(evaluation: EvaluationState, status: str) -> dict[str, Any]:
    """The event as SageMaker sends it to EventBridge."""
    return {
        "source": "aws.sagemaker",
        "detail-type": MODEL_PACKAGE_STATE_CHANGE,
        "detail": {
            "ModelPackageGroupName": "churn-models",
            "ModelPackageVersion": evaluation.model_package_version,
            "ModelPackageArn": evaluation.model_package_arn,
            "ModelApprovalStatus": status,
        },
    }


@pytest.fixture
def waiting_run(aws: None, execution: Execution) -> tuple[Any, Any, TaskTokens, dict[str, Any]]:
    s3, sagemaker = boto3.client("s3"), boto3.client("sagemaker")
    s3.create_bucket(Bucket="data")
    evaluation = registered_version(sagemaker, PENDING)
    tokens = TaskTokens("token-1")
    request_approval(
        evaluation,
        execution,
        "token-1",
        s3=s3,
        sagemaker=sagemaker,
        stepfunctions=tokens,
        settings=SETTINGS,
        now=NOW,
    )
    return s3, sagemaker, tokens, evaluation


def test_an_approval_resumes_the_waiting_run_with_the_decision(waiting_run: Any) -> None:
    s3, sagemaker, tokens, evaluation = waiting_run
    sagemaker.update_model_package(ModelPackageArn=evaluation.model_package_arn, ModelApprovalStatus="Approved")

    outcome = on_state_change(
        state_change(evaluation, "Approved"), s3=s3, sagemaker=sagemaker, stepfunctions=tokens, settings=SETTINGS
    )

    assert outcome.startswith("resumed")
    assert [(token, output["status"]) for token, output in tokens.resumed] == [("token-1", "Approved")]
    assert approvals.load(s3, "data", "approvals/churn", 1) is None


def test_a_second_delivery_of_the_same_event_resumes_nothing(waiting_run: Any) -> None:
    s3, sagemaker, tokens, evaluation = waiting_run
    sagemaker.update_model_package(ModelPackageArn=evaluation.model_package_arn, ModelApprovalStatus="Rejected")
    event = state_change(evaluation, "Rejected")
    on_state_change(event, s3=s3, sagemaker=sagemaker, stepfunctions=tokens, settings=SETTINGS)

    outcome = on_state_change(event, s3=s3, sagemaker=sagemaker, stepfunctions=tokens, settings=SETTINGS)

    assert outcome == "ignored: no run waits for version 1"
    assert len(tokens.resumed) == 1


def test_a_decision_after_the_run_timed_out_forgets_the_token(waiting_run: Any) -> None:
    s3, sagemaker, _, evaluation = waiting_run
    timed_out = TaskTokens()  # the token no longer waits: SendTaskSuccess answers TaskTimedOut
    sagemaker.update_model_package(ModelPackageArn=evaluation.model_package_arn, ModelApprovalStatus="Approved")

    outcome = on_state_change(
        state_change(evaluation, "Approved"), s3=s3, sagemaker=sagemaker, stepfunctions=timed_out, settings=SETTINGS
    )

    assert outcome.startswith("too late")
    assert approvals.load(s3, "data", "approvals/churn", 1) is None


def test_an_event_the_registry_contradicts_is_ignored(waiting_run: Any) -> None:
    s3, sagemaker, tokens, evaluation = waiting_run  # still PendingManualApproval in the registry

    outcome = on_state_change(
        state_change(evaluation, "Approved"), s3=s3, sagemaker=sagemaker, stepfunctions=tokens, settings=SETTINGS
    )

    assert "still waits" in outcome
    assert tokens.resumed == []
    assert approvals.load(s3, "data", "approvals/churn", 1) is not None


def test_other_events_are_ignored(waiting_run: Any) -> None:
    s3, sagemaker, tokens, _ = waiting_run

    outcome = on_state_change(
        {"detail-type": "Scheduled Event", "detail": {}},
        s3=s3,
        sagemaker=sagemaker,
        stepfunctions=tokens,
        settings=SETTINGS,
    )

    assert outcome.startswith("ignored")
