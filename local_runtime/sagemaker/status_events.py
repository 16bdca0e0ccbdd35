"""SageMaker's job and endpoint EventBridge events, as SageMaker sends them; moto's SageMaker sends none.

- "SageMaker Training Job State Change" when a training job ends (Completed, Failed, Stopped): the detail
  carries DescribeTrainingJob's main fields, times as epoch milliseconds in text, as AWS's documented example.
- "SageMaker Processing Job State Change" when a processing job ends: DescribeProcessingJob's fields, times as
  epoch milliseconds (numbers).
- "SageMaker Transform Job State Change" when a transform job ends (Completed, Failed, Stopped): the detail
  carries DescribeTransformJob's main fields, times as epoch milliseconds in text, like the training job's.
- "SageMaker Endpoint State Change" on every endpoint status change: EndpointStatus spelled `IN_SERVICE`,
  `UPDATING`... as in AWS's documented example (DescribeEndpoint says InService), times as epoch milliseconds.

The wait/poll loops' StatusChangeListener receives them through the pipeline's rules (local_runtime.event_bus).
`suppressed` drops them instead: how a test shows the loop still ends through its safety-net checks.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from contract.events import (
    ENDPOINT_STATE_CHANGE,
    PROCESSING_JOB_STATE_CHANGE,
    TRAINING_JOB_STATE_CHANGE,
    TRANSFORM_JOB_STATE_CHANGE,
)
from local_runtime import event_bus

SOURCE = "aws.sagemaker"

PutEvents = Callable[..., Sequence[Mapping[str, Any]]]


def event_status(status: str) -> str:
    """`InService` as SageMaker's endpoint events write it: `IN_SERVICE`."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", status).upper()


def epoch_millis(moment: Any) -> float | None:
    if not isinstance(moment, datetime):
        return None
    when = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return round(when.timestamp() * 1000, 3)


def training_job_detail(job: Any) -> dict[str, Any]:
    """The event's detail from moto's training job object."""
    detail: dict[str, Any] = {
        "TrainingJobName": job.training_job_name,
        "TrainingJobArn": job.arn,
        "TrainingJobStatus": job.training_job_status,
        "SecondaryStatus": getattr(job, "secondary_status", None),
        "FailureReason": getattr(job, "failure_reason", None),
        "RoleArn": getattr(job, "role_arn", None),
        "Tags": {},
    }
    for key, attribute in (
        ("CreationTime", "creation_time"),
        ("TrainingStartTime", "training_start_time"),
        ("TrainingEndTime", "training_end_time"),
        ("LastModifiedTime", "last_modified_time"),
    ):
        millis = epoch_millis(getattr(job, attribute, None))
        if millis is not None:
            detail[key] = str(int(millis))
    return {key: value for key, value in detail.items() if value is not None}


def transform_job_detail(job: Any) -> dict[str, Any]:
    """The event's detail from moto's transform job object."""
    detail: dict[str, Any] = {
        "TransformJobName": job.transform_job_name,
        "TransformJobArn": job.arn,
        "TransformJobStatus": job.transform_job_status,
        "FailureReason": getattr(job, "failure_reason", None) or None,
        "ModelName": job.model_name,
        "TransformInput": getattr(job, "transform_input", None),
        "TransformOutput": getattr(job, "transform_output", None),
        "TransformResources": getattr(job, "transform_resources", None),
        "Tags": {},
    }
    for key, attribute in (
        ("CreationTime", "creation_time"),
        ("TransformStartTime", "transform_start_time"),
        ("TransformEndTime", "transform_end_time"),
    ):
        millis = epoch_millis(getattr(job, attribute, None))
        if millis is not None:
            detail[key] = str(int(millis))
    return {key: value for key, value in detail.items() if value is not None}


def processing_job_detail(job: Any) -> dict[str, Any]:
    """The event's detail from moto's processing job object: DescribeProcessingJob's fields, times as epoch millis.

    Environment is left out: an event reaches every rule's target, and the job's environment is the caller's.
    """
    detail: dict[str, Any] = {
        "ProcessingJobName": job.processing_job_name,
        "ProcessingJobArn": job.arn,
        "ProcessingJobStatus": job.processing_job_status,
        "FailureReason": getattr(job, "failure_reason", None),
        "ExitMessage": getattr(job, "exit_message", None),
        "ProcessingInputs": getattr(job, "processing_inputs", None),
        "ProcessingOutputConfig": getattr(job, "processing_output_config", None),
        "ProcessingResources": getattr(job, "processing_resources", None),
        "StoppingCondition": getattr(job, "stopping_condition", None),
        "AppSpecification": getattr(job, "app_specification", None),
        "RoleArn": getattr(job, "role_arn", None),
        "Tags": {},
    }
    for key, attribute in (
        ("CreationTime", "creation_time"),
        ("ProcessingStartTime", "processing_start_time"),
        ("ProcessingEndTime", "processing_end_time"),
        ("LastModifiedTime", "last_modified_time"),
    ):
        millis = epoch_millis(getattr(job, attribute, None))
        if millis is not None:
            detail[key] = int(millis)
    return {key: value for key, value in detail.items() if value is not None}


def endpoint_detail(record: Any) -> dict[str, Any]:
    """The event's detail from moto's endpoint object."""
    detail: dict[str, Any] = {
        "EndpointName": record.endpoint_name,
        "EndpointArn": record.arn,
        "EndpointConfigName": record.endpoint_config_name,
        "EndpointStatus": event_status(str(record.endpoint_status)),
        "FailureReason": getattr(record, "failure_reason", None),
        "CreationTime": epoch_millis(getattr(record, "creation_time", None)),
        "LastModifiedTime": epoch_millis(getattr(record, "last_modified_time", None)),
        "Tags": {},
    }
    return {key: value for key, value in detail.items() if value is not None}


class StatusChangeEvents:
    """Sends the state-change events of training jobs and endpoints; counts what it sent and dropped."""

    def __init__(self, put_events: PutEvents = event_bus.put_events) -> None:
        self._put_events = put_events
        self._lock = threading.Lock()
        self.suppressed = False
        self.sent: list[dict[str, Any]] = []
        self.dropped: list[dict[str, Any]] = []

    def training_job_ended(self, region: str, job: Any) -> None:
        self._emit(region, TRAINING_JOB_STATE_CHANGE, training_job_detail(job), job.arn)

    def processing_job_ended(self, region: str, job: Any) -> None:
        self._emit(region, PROCESSING_JOB_STATE_CHANGE, processing_job_detail(job), job.arn)

    def transform_job_ended(self, region: str, job: Any) -> None:
        self._emit(region, TRANSFORM_JOB_STATE_CHANGE, transform_job_detail(job), job.arn)

    def endpoint_changed(self, region: str, record: Any) -> None:
        self._emit(region, ENDPOINT_STATE_CHANGE, endpoint_detail(record), record.arn)

    def _emit(self, region: str, detail_type: str, detail: dict[str, Any], arn: str) -> None:
        entry = {"Source": SOURCE, "DetailType": detail_type, "Detail": json.dumps(detail), "Resources": [arn]}
        with self._lock:
            (self.dropped if self.suppressed else self.sent).append(entry)
            if self.suppressed:
                return
        self._put_events([entry], region=region)
