"""The pipeline's run lease: one object in S3 that names the one execution allowed to train now.

ListExecutions, the guard this replaces, is eventually consistent (the Step Functions API reference says so of
ListExecutions): two runs started close together could both see no other and both go on. The lease is a
compare-and-set on one key instead (S3 conditional writes, strongly consistent):
- taken with PutObject `If-None-Match: *` (only when no lease exists),
- taken over with PutObject `If-Match: <ETag>` when its holder is no longer RUNNING (DescribeExecution is
  strongly consistent) — a run that died without releasing it blocks nobody,
- released with DeleteObject `If-Match: <ETag>` (S3 conditional deletes,
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html), by the holder's end-of-run
  listener, so a release never removes a lease another run has taken over meanwhile.
A write that loses a race fails with 412 PreconditionFailed (or 409 ConditionalRequestConflict while another
conditional write on the key is in flight), and the loser reads the lease again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from lambdas.common.errors import TransientAwsError
from lambdas.common.events import Execution, format_timestamp

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_stepfunctions import SFNClient

_LOST_RACE = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})
_ATTEMPTS = 5


@dataclass(frozen=True)
class Lease:
    """Who holds the lease, and the ETag a conditional write or delete must name."""

    holder: str  # the execution's ARN
    etag: str


def read_lease(s3: S3Client, bucket: str, key: str) -> Lease | None:
    """The lease as it is now, None when nobody holds it."""
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return None
        raise
    try:
        holder = str(json.loads(response["Body"].read())["execution"])
    except (ValueError, KeyError, TypeError):
        holder = ""  # not written by this workflow: taken over like a lease whose holder has ended
    return Lease(holder=holder, etag=str(response["ETag"]))


def take_lease(s3: S3Client, sfn: SFNClient, bucket: str, key: str, execution: Execution) -> str | None:
    """Take the lease for `execution`; return the ARN of the running execution that holds it (this run must not
    go on), or None once this execution holds it (also when an earlier attempt of this step took it).

    Raises TransientAwsError when it changed hands on every attempt: Step Functions matches an error by its name,
    and CheckData's Retry lists TransientAwsError, so the step tries again a little later.
    """
    body = json.dumps({"execution": execution.id, "started_at": format_timestamp(execution.start_time)}).encode()
    for _ in range(_ATTEMPTS):
        if _put(s3, bucket, key, body, IfNoneMatch="*"):
            return None
        current = read_lease(s3, bucket, key)
        if current is None:
            continue  # released between the write and the read: try again
        if current.holder == execution.id:
            return None
        if current.holder and is_running(sfn, current.holder):
            return current.holder
        if _put(s3, bucket, key, body, IfMatch=current.etag):
            return None
    raise TransientAwsError(f"the run lease s3://{bucket}/{key} changed hands on each of {_ATTEMPTS} attempts")


def release_lease(s3: S3Client, bucket: str, key: str, execution_arn: str) -> bool:
    """Release the lease if `execution_arn` holds it; True when it was released by this call."""
    current = read_lease(s3, bucket, key)
    if current is None or current.holder != execution_arn:
        return False
    try:
        s3.delete_object(Bucket=bucket, Key=key, IfMatch=current.etag)
    except ClientError as error:
        if error.response["Error"]["Code"] in _LOST_RACE | {"NoSuchKey", "404"}:
            return False  # taken over (or released) meanwhile: it is not this execution's any more
        raise
    return True


def is_running(sfn: SFNClient, execution_arn: str) -> bool:
    """Whether the execution is still RUNNING; an execution Step Functions does not know is not."""
    try:
        return sfn.describe_execution(executionArn=execution_arn)["status"] == "RUNNING"
    except ClientError as error:
        if error.response["Error"]["Code"] in ("ExecutionDoesNotExist", "InvalidArn"):
            return False
        raise


def _put(s3: S3Client, bucket: str, key: str, body: bytes, **condition: str) -> bool:
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json", **condition)  # type: ignore[arg-type]
    except ClientError as error:
        if error.response["Error"]["Code"] in _LOST_RACE:
            return False
        raise
    return True
