"""ApprovalListener: a person approved or rejected a model version; resume the run that waits for it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from contract.events import MODEL_PACKAGE_STATE_CHANGE
from lambdas.common import approvals
from lambdas.request_approval.core import ApprovalSettings

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sagemaker import SageMakerClient
    from types_boto3_stepfunctions import SFNClient


def on_state_change(
    event: Mapping[str, Any],
    *,
    s3: S3Client,
    sagemaker: SageMakerClient,
    stepfunctions: SFNClient,
    settings: ApprovalSettings,
) -> str:
    """Handle one EventBridge event; return what happened, for the log.

    The registry is asked for the version's status rather than trusting the event, which may arrive late or
    twice. Versions no run waits for (decided after a timeout, or registered already decided) are ignored.
    """
    if event.get("detail-type") != MODEL_PACKAGE_STATE_CHANGE:
        return f"ignored: not a model package state change ({event.get('detail-type')})"
    detail = event.get("detail") or {}
    arn = detail.get("ModelPackageArn")
    version = detail.get("ModelPackageVersion")
    if not arn or version is None:
        return "ignored: the event names no model package version"
    record = approvals.load(s3, settings.bucket, settings.prefix, int(version))
    if record is None:
        return f"ignored: no run waits for version {version}"
    decision = approvals.decision_of(sagemaker.describe_model_package(ModelPackageName=arn))
    if decision is None:
        return f"ignored: version {version} still waits for a decision"
    if approvals.resume(stepfunctions, s3, settings.bucket, settings.prefix, int(version), record, decision):
        return f"resumed {record.execution_id}: version {version} {decision.status}"
    return f"too late: {record.execution_id} no longer waits for version {version} ({decision.status})"
