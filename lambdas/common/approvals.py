"""A run waiting for a person's approval: where its task token is kept, and how the decision resumes it.

RequestApproval keeps the token of the waiting execution in S3 under the version's number; ApprovalListener
receives the registry's state-change event and resumes the execution with SendTaskSuccess. Whichever of the
two sees a decided version first resumes the run, so an approval given before the token was stored is not lost.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import ClientError

APPROVED, PENDING, REJECTED = "Approved", "PendingManualApproval", "Rejected"
DECIDED = frozenset({APPROVED, REJECTED})
# SendTaskSuccess answers these when the execution no longer waits (timed out, stopped, already resumed).
_GONE = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})


@dataclass(frozen=True)
class ApprovalRecord:
    task_token: str
    execution_id: str
    model_package_arn: str
    requested_at: str


@dataclass(frozen=True)
class Decision:
    """What a waiting run resumes with (the state's `approval`)."""

    status: str
    model_package_arn: str
    model_package_version: int
    description: str | None

    def to_state(self) -> dict[str, Any]:
        return asdict(self)


def record_key(prefix: str, version: int) -> str:
    return f"{prefix}/{version}.json"


def store(s3: Any, bucket: str, prefix: str, version: int, record: ApprovalRecord) -> None:
    s3.put_object(
        Bucket=bucket,
        Key=record_key(prefix, version),
        Body=json.dumps(asdict(record)).encode(),
        ContentType="application/json",
    )


def load(s3: Any, bucket: str, prefix: str, version: int) -> ApprovalRecord | None:
    try:
        body = s3.get_object(Bucket=bucket, Key=record_key(prefix, version))["Body"].read()
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return None
        raise
    return ApprovalRecord(**json.loads(body))


def decision_of(described: dict[str, Any]) -> Decision | None:
    """The decision a DescribeModelPackage answer shows, or None while it waits."""
    status = str(described.get("ModelApprovalStatus", ""))
    if status not in DECIDED:
        return None
    return Decision(
        status=status,
        model_package_arn=str(described["ModelPackageArn"]),
        model_package_version=int(described.get("ModelPackageVersion") or 0),
        description=described.get("ApprovalDescription") or None,
    )


def resume(
    stepfunctions: Any, s3: Any, bucket: str, prefix: str, version: int, record: ApprovalRecord, decision: Decision
) -> bool:
    """Resume the waiting execution with the decision and forget its token; False if it no longer waits."""
    try:
        stepfunctions.send_task_success(taskToken=record.task_token, output=json.dumps(decision.to_state()))
        resumed = True
    except ClientError as error:
        if error.response["Error"]["Code"] not in _GONE:
            raise
        resumed = False
    s3.delete_object(Bucket=bucket, Key=record_key(prefix, version))
    return resumed
