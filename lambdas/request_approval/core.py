"""RequestApproval: park the run until a person approves or rejects its model version.

The state machine invokes this step with a task token and waits (up to the approval timeout) for someone to
return it. Nothing polls: the token is kept in S3, and the registry's state-change event brings it back
through ApprovalListener.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from lambdas.common import approvals
from lambdas.common import env as names
from lambdas.common.errors import InvalidStepEventError
from lambdas.common.events import Execution, format_timestamp
from lambdas.common.models import EvaluationState

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sagemaker import SageMakerClient
    from types_boto3_stepfunctions import SFNClient


@dataclass(frozen=True)
class ApprovalSettings:
    bucket: str
    prefix: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ApprovalSettings:
        return cls(
            bucket=names.require_str(env, names.DATA_BUCKET), prefix=names.require_str(env, names.APPROVAL_PREFIX)
        )


def request_approval(
    evaluation: EvaluationState,
    execution: Execution,
    task_token: str,
    *,
    s3: S3Client,
    sagemaker: SageMakerClient,
    stepfunctions: SFNClient,
    settings: ApprovalSettings,
    now: datetime,
) -> bool:
    """Keep the token where ApprovalListener finds it; return True while the run waits.

    If the version was decided before the token was stored (the event then found nothing to resume), the
    run resumes here at once.
    """
    if not task_token:
        raise InvalidStepEventError("event field 'task_token' is missing: invoke with waitForTaskToken")
    arn = evaluation.model_package_arn
    version = evaluation.model_package_version
    record = approvals.ApprovalRecord(
        task_token=task_token, execution_id=execution.id, model_package_arn=arn, requested_at=format_timestamp(now)
    )
    approvals.store(s3, settings.bucket, settings.prefix, version, record)
    decision = approvals.decision_of(sagemaker.describe_model_package(ModelPackageName=arn))
    if decision is None:
        return True
    approvals.resume(stepfunctions, s3, settings.bucket, settings.prefix, version, record, decision)
    return False
