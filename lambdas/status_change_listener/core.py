"""StatusChangeListener: SageMaker says a processing, training or transform job or an endpoint reached a state
that ends a wait/poll loop; wake the run that waits for it, so it checks now rather than at its safety-net timeout."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from contract.events import (
    ENDPOINT_STATE_CHANGE,
    PROCESSING_JOB_STATE_CHANGE,
    TRAINING_JOB_STATE_CHANGE,
    TRANSFORM_JOB_STATE_CHANGE,
)
from lambdas.await_status_change.core import WakeSettings
from lambdas.common import wakeups

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_stepfunctions import SFNClient

# detail-type -> (what the loop awaits, the detail's name field, its status field), as SageMaker sends them.
_EVENTS = {
    TRAINING_JOB_STATE_CHANGE: (wakeups.TRAINING, "TrainingJobName", "TrainingJobStatus"),
    ENDPOINT_STATE_CHANGE: (wakeups.DEPLOYMENT, "EndpointName", "EndpointStatus"),
    PROCESSING_JOB_STATE_CHANGE: (wakeups.PREPROCESSING, "ProcessingJobName", "ProcessingJobStatus"),
    TRANSFORM_JOB_STATE_CHANGE: (wakeups.TRANSFORM, "TransformJobName", "TransformJobStatus"),
}


def on_status_change(
    event: Mapping[str, Any], *, s3: S3Client, stepfunctions: SFNClient, settings: WakeSettings
) -> str:
    """Handle one EventBridge event; return what happened, for the log.

    The event is trusted only to bring the check forward: GetStatus describes the job or endpoint itself, so a
    late, duplicated or out-of-order event costs one check at most. No waiting run (it already went on after a
    safety-net check, or none waits) is normal.
    """
    kind = _EVENTS.get(str(event.get("detail-type")))
    if kind is None:
        return f"ignored: not a job or endpoint state change ({event.get('detail-type')})"
    awaited, name_field, status_field = kind
    detail = event.get("detail") or {}
    name, status = detail.get(name_field), wakeups.api_status(str(detail.get(status_field, "")))
    if not name:
        return f"ignored: the event names no {name_field}"
    if not wakeups.has_ended(awaited, status):
        return f"ignored: {name} is {status or 'of unknown status'}, which does not end the loop"
    record = wakeups.load(s3, settings.bucket, settings.prefix, awaited, str(name))
    if record is None:
        return f"ignored: no run waits for {name}"
    if wakeups.wake(stepfunctions, s3, settings.bucket, settings.prefix, record, status):
        return f"woke {record.execution_id}: {name} {status}"
    return f"too late: {record.execution_id} no longer waits for {name} ({status}); its safety-net check ran"
