"""A run stopped while it waited for a person's approval: its version must not stay pending.

The workflow's own approval timeout rejects the version (ExpireApproval); a run that ends otherwise (stopped by
hand, timed out) never gets there. Left PendingManualApproval, the version blocks `approve` without `--version`, and
approving it would resume nothing. RunEnded therefore does what ExpireApproval does: the token record goes first
(so that the registry's state-change event finds nothing to resume), then the version is Rejected, saying why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from contract.events import PENDING, REJECTED
from lambdas.common import env as names
from lambdas.common import task_tokens
from lambdas.common.approvals import record_key
from lambdas.common.events import Execution

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sagemaker import SageMakerClient

# The run's own version is among the group's newest pending ones: runs of a pipeline never overlap.
_NEWEST_PENDING = 10
_DESCRIPTION_LIMIT = 1024


@dataclass(frozen=True)
class PendingApprovals:
    """Where a manually approved pipeline keeps its versions and their approval records; None when it has none."""

    group: str
    bucket: str
    prefix: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PendingApprovals | None:
        prefix = names.optional_str(env, names.APPROVAL_PREFIX)
        if prefix is None:
            return None
        return cls(
            group=names.require_str(env, names.MODEL_PACKAGE_GROUP),
            bucket=names.require_str(env, names.DATA_BUCKET),
            prefix=prefix.strip("/"),
        )


def reject_pending(
    sagemaker: SageMakerClient, s3: S3Client, approvals: PendingApprovals, execution: Execution, how: str
) -> list[int]:
    """Reject the versions this execution registered that still wait for a decision; return their numbers."""
    listed = sagemaker.list_model_packages(
        ModelPackageGroupName=approvals.group,
        ModelApprovalStatus=PENDING,
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=_NEWEST_PENDING,
    )
    rejected = []
    for summary in listed.get("ModelPackageSummaryList", []):
        described = sagemaker.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
        if (described.get("CustomerMetadataProperties") or {}).get("execution") != execution.name:
            continue
        version = int(described["ModelPackageVersion"])
        key = record_key(approvals.prefix, version)
        record = task_tokens.load(s3, approvals.bucket, key)
        if record is not None and record.get("execution_id") == execution.id:
            try:
                s3.delete_object(Bucket=approvals.bucket, Key=key)
            except ClientError as error:
                if error.response["Error"]["Code"] not in ("NoSuchKey", "404"):
                    raise
        sagemaker.update_model_package(
            ModelPackageArn=str(described["ModelPackageArn"]),
            ModelApprovalStatus=REJECTED,
            ApprovalDescription=f"No decision: the run waiting for it {how}; it was not deployed."[:_DESCRIPTION_LIMIT],
        )
        rejected.append(version)
    return rejected
