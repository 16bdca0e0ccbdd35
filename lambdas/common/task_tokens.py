"""A waiting execution's task token kept in S3, and handed back with SendTaskSuccess.

Used by the runs that wait for an approval (lambdas/common/approvals.py) and the wait/poll loops woken by
SageMaker's events (lambdas/common/wakeups.py): each keeps one JSON record per thing awaited.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_stepfunctions import SFNClient

# SendTaskSuccess answers these when the execution no longer waits on the token (timed out, stopped, or already
# resumed): normal, the run went on without it.
_GONE = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})


def store(s3: S3Client, bucket: str, key: str, record: Any) -> None:
    """Keep a record (a dataclass holding the token) at `key`, replacing what was there."""
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(asdict(record)).encode(), ContentType="application/json")


def load(s3: S3Client, bucket: str, key: str) -> dict[str, Any] | None:
    """The record's fields at `key`, or None when no run keeps a token there."""
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return None
        raise
    fields: dict[str, Any] = json.loads(body)
    return fields


def send_and_forget(
    stepfunctions: SFNClient, s3: S3Client, bucket: str, key: str, task_token: str, output: Any
) -> bool:
    """Resume the waiting execution with `output` and delete its record; False if it no longer waits."""
    try:
        stepfunctions.send_task_success(taskToken=task_token, output=json.dumps(output))
        sent = True
    except ClientError as error:
        if error.response["Error"]["Code"] not in _GONE:
            raise
        sent = False
    s3.delete_object(Bucket=bucket, Key=key)
    return sent
