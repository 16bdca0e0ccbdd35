"""AwaitStatusChange: park a wait/poll loop until SageMaker's state-change event or the safety-net timeout.

The state machine invokes this step with a task token and a timeout (the loop's `poll_seconds`). The token
is kept in S3 where StatusChangeListener finds it when SageMaker announces that the training job or endpoint
reached a state that ends the loop; on the timeout the loop checks anyway (the safety net for a late or lost
event). Either way GetStatus runs next and decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lambdas.common import env as names
from lambdas.common import wakeups
from lambdas.common.errors import InvalidStepEventError
from lambdas.common.events import Execution, format_timestamp
from lambdas.common.models import (
    BatchTransformState,
    DeploymentState,
    HoldoutEvaluationState,
    PreprocessingState,
    TrainingJobState,
)

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sagemaker import SageMakerClient
    from types_boto3_stepfunctions import SFNClient

# GetStatus's `target` names the endpoint loop "endpoint"; the records name what is awaited.
AWAITED = {
    "training": wakeups.TRAINING,
    "endpoint": wakeups.DEPLOYMENT,
    "preprocessing": wakeups.PREPROCESSING,
    "transform": wakeups.TRANSFORM,
    # The held-out evaluation's loop awaits one of its transform jobs at a time (its section's job_name), or the
    # evaluation script's processing job (awaited_name reads which).
    "evaluation": wakeups.TRANSFORM,
}
# How each awaited job or endpoint is described: the call, the parameter naming it, the status field.
_DESCRIBE = {
    wakeups.TRAINING: ("describe_training_job", "TrainingJobName", "TrainingJobStatus"),
    wakeups.DEPLOYMENT: ("describe_endpoint", "EndpointName", "EndpointStatus"),
    wakeups.PREPROCESSING: ("describe_processing_job", "ProcessingJobName", "ProcessingJobStatus"),
    wakeups.TRANSFORM: ("describe_transform_job", "TransformJobName", "TransformJobStatus"),
}
# The state section naming each target's job (the endpoint's is DeploymentState).
_JOB_SECTIONS: dict[
    str, type[TrainingJobState] | type[PreprocessingState] | type[BatchTransformState] | type[HoldoutEvaluationState]
] = {
    "training": TrainingJobState,
    "preprocessing": PreprocessingState,
    "transform": BatchTransformState,
    "evaluation": HoldoutEvaluationState,
}


@dataclass(frozen=True)
class WakeSettings:
    bucket: str
    prefix: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WakeSettings:
        return cls(bucket=names.require_str(env, names.DATA_BUCKET), prefix=names.require_str(env, names.WAKE_PREFIX))


def awaited_name(target: str, state: Mapping[str, Any]) -> tuple[str, str]:
    """What the loop waits for: (TRAINING, PREPROCESSING or TRANSFORM, job name) or (DEPLOYMENT, endpoint name).

    Raises InvalidStepEventError for an unknown target or a state the loop's first step did not set.
    """
    if target not in AWAITED:
        raise InvalidStepEventError(f"event field 'target' must be one of {sorted(AWAITED)}, got {target!r}")
    awaited = AWAITED[target]
    if awaited == wakeups.DEPLOYMENT:
        deployment = DeploymentState.read_optional(state)
        field, name = f"{DeploymentState.SECTION}.endpoint_name", deployment.endpoint_name if deployment else None
    else:
        job = _JOB_SECTIONS[target].read_optional(state)
        field, name = f"{_JOB_SECTIONS[target].SECTION}.job_name", job.job_name if job else None
        if isinstance(job, HoldoutEvaluationState) and job.by_script:
            awaited = wakeups.PREPROCESSING  # the evaluation script's processing job: a processing job's events
    if not name:
        raise InvalidStepEventError(f"state field '{field}' is missing: the step that sets it has not run")
    return awaited, name


def await_status_change(
    target: str,
    state: Mapping[str, Any],
    execution: Execution,
    task_token: str,
    *,
    s3: S3Client,
    sagemaker: SageMakerClient,
    stepfunctions: SFNClient,
    settings: WakeSettings,
    now: datetime,
) -> bool:
    """Keep the token where StatusChangeListener finds it; return True while the loop waits.

    The job or endpoint is described after the token is stored: if it already ended (its event came between
    the last check and now, and found no token), the loop is woken here at once.
    """
    if not task_token:
        raise InvalidStepEventError("event field 'task_token' is missing: invoke with waitForTaskToken")
    awaited, name = awaited_name(target, state)
    record = wakeups.WakeRecord(
        task_token=task_token,
        execution_id=execution.id,
        awaited=awaited,
        name=name,
        stored_at=format_timestamp(now),
    )
    wakeups.store(s3, settings.bucket, settings.prefix, record)
    method, parameter, field = _DESCRIBE[awaited]
    status = str(getattr(sagemaker, method)(**{parameter: name})[field])
    if not wakeups.has_ended(awaited, status):
        return True
    wakeups.wake(stepfunctions, s3, settings.bucket, settings.prefix, record, status)
    return False
