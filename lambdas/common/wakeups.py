"""A wait/poll loop woken by SageMaker's state-change events: where its task token is kept, and how it is returned.

AwaitStatusChange keeps the token of the waiting execution in S3 under the awaited training job's or endpoint's
name; StatusChangeListener receives SageMaker's event and returns the token with SendTaskSuccess, so the loop
checks the status at once instead of at its next timeout. Whichever of the two sees the job or endpoint in a
state that ends the loop first wakes the run, so an event sent before the token was stored is not lost. A
wake-up only brings GetStatus forward: GetStatus decides, so a stale or duplicated event costs one check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from contract.events import ENDPOINT_SETTLED, TRAINING_ENDED
from lambdas.common import task_tokens

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_stepfunctions import SFNClient

# What a loop awaits, named as the state section that holds it.
TRAINING, DEPLOYMENT, PREPROCESSING, TRANSFORM = "training", "deployment", "preprocessing", "batch_transform"


@dataclass(frozen=True)
class WakeRecord:
    task_token: str
    execution_id: str
    awaited: str  # TRAINING, DEPLOYMENT, PREPROCESSING or TRANSFORM
    name: str  # the job's or the endpoint's name
    stored_at: str


def api_status(status: str) -> str:
    """The API's spelling of a status: SageMaker's endpoint events write `IN_SERVICE` where DescribeEndpoint
    answers `InService` (its documented example); training job events already use the API's spelling."""
    return "".join(part.capitalize() for part in status.split("_")) if "_" in status or status.isupper() else status


def has_ended(awaited: str, status: str) -> bool:
    """Tell whether the training job's or endpoint's status ends the loop that awaits it."""
    return status in (ENDPOINT_SETTLED if awaited == DEPLOYMENT else TRAINING_ENDED)


def record_key(prefix: str, awaited: str, name: str) -> str:
    return f"{prefix}/{awaited}/{name}.json"


def store(s3: S3Client, bucket: str, prefix: str, record: WakeRecord) -> None:
    """Keep the record, replacing the previous check's (one run per pipeline waits at a time)."""
    task_tokens.store(s3, bucket, record_key(prefix, record.awaited, record.name), record)


def load(s3: S3Client, bucket: str, prefix: str, awaited: str, name: str) -> WakeRecord | None:
    fields = task_tokens.load(s3, bucket, record_key(prefix, awaited, name))
    return None if fields is None else WakeRecord(**fields)


def wake(stepfunctions: SFNClient, s3: S3Client, bucket: str, prefix: str, record: WakeRecord, status: str) -> bool:
    """Return the token so the waiting loop checks now, and forget it; False if the loop no longer waits on it
    (timed out into the safety-net check, stopped, or already woken)."""
    key = record_key(prefix, record.awaited, record.name)
    return task_tokens.send_and_forget(stepfunctions, s3, bucket, key, record.task_token, {"status": status})
