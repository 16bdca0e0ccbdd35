"""A run waiting for a person's approval: where its task token is kept, and how the decision resumes it.

RequestApproval keeps the token of the waiting execution in S3 under the version's number; ApprovalListener
receives the registry's state-change event and resumes the execution with SendTaskSuccess. Whichever of the
two sees a decided version first resumes the run, so an approval given before the token was stored is not lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from contract.events import DECIDED
from lambdas.common import task_tokens
from lambdas.common.models import ApprovalState

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_stepfunctions import SFNClient


@dataclass(frozen=True)
class ApprovalRecord:
    task_token: str
    execution_id: str
    model_package_arn: str
    requested_at: str


def record_key(prefix: str, version: int) -> str:
    return f"{prefix}/{version}.json"


def store(s3: S3Client, bucket: str, prefix: str, version: int, record: ApprovalRecord) -> None:
    task_tokens.store(s3, bucket, record_key(prefix, version), record)


def load(s3: S3Client, bucket: str, prefix: str, version: int) -> ApprovalRecord | None:
    fields = task_tokens.load(s3, bucket, record_key(prefix, version))
    return None if fields is None else ApprovalRecord(**fields)


def decision_of(described: Mapping[str, Any]) -> ApprovalState | None:
    """The decision (the state's `approval`) a DescribeModelPackage answer shows, or None while it waits."""
    status = str(described.get("ModelApprovalStatus", ""))
    if status not in DECIDED:
        return None
    return ApprovalState(
        status=status,
        model_package_arn=str(described["ModelPackageArn"]),
        model_package_version=int(described.get("ModelPackageVersion") or 0),
        description=described.get("ApprovalDescription") or None,
    )


def resume(
    stepfunctions: SFNClient,
    s3: S3Client,
    bucket: str,
    prefix: str,
    version: int,
    record: ApprovalRecord,
    decision: ApprovalState,
) -> bool:
    """Resume the waiting execution with the decision and forget its token; False if it no longer waits."""
    key = record_key(prefix, version)
    return task_tokens.send_and_forget(stepfunctions, s3, bucket, key, record.task_token, decision.to_state())
