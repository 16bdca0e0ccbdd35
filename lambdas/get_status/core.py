"""GetStatus: describe the run's training job or endpoint, and tell the poll loop whether to keep waiting."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from contract.names import VARIANT_NAME
from contract.polling import next_poll_seconds
from lambdas.common import env as names
from lambdas.common.autoscaling import ScalingClient, ScalingSettings, register_variant
from lambdas.common.cost import Prices, processing_usage, training_usage, transform_usage
from lambdas.common.evaluation import EvaluationSettings
from lambdas.common.events import parse_timestamp
from lambdas.common.models import (
    BatchTransformState,
    DeploymentState,
    HoldoutEvaluationState,
    PreprocessingState,
    TrainingJobState,
)

if TYPE_CHECKING:
    from types_boto3_sagemaker import SageMakerClient


@dataclass(frozen=True)
class PollSettings:
    poll_interval_seconds: int
    max_training_wait_seconds: int
    max_deployment_wait_seconds: int
    max_preprocessing_wait_seconds: int | None = None  # None: the pipeline has no preprocessing
    max_batch_transform_wait_seconds: int | None = None  # None: the pipeline runs no batch transform
    max_evaluation_wait_seconds: int | None = None  # None: no held-out evaluation
    prices: Prices = field(default_factory=Prices)  # the pipeline's price table, which prices each job's usage
    autoscaling: ScalingSettings | None = None  # None: the endpoint is not scaled

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PollSettings:
        preprocessing = names.optional_str(env, names.MAX_PREPROCESSING_WAIT_SECONDS)
        transform = names.optional_str(env, names.MAX_BATCH_TRANSFORM_WAIT_SECONDS)
        evaluation = EvaluationSettings.from_env(env)
        return cls(
            poll_interval_seconds=names.require_int(env, names.POLL_INTERVAL_SECONDS),
            max_training_wait_seconds=names.require_int(env, names.MAX_TRAINING_WAIT_SECONDS),
            max_deployment_wait_seconds=names.require_int(env, names.MAX_DEPLOYMENT_WAIT_SECONDS),
            max_preprocessing_wait_seconds=None
            if preprocessing is None
            else names.require_int(env, names.MAX_PREPROCESSING_WAIT_SECONDS),
            max_batch_transform_wait_seconds=None
            if transform is None
            else names.require_int(env, names.MAX_BATCH_TRANSFORM_WAIT_SECONDS),
            max_evaluation_wait_seconds=evaluation.max_wait_seconds if evaluation else None,
            prices=Prices.from_env(env),
            autoscaling=ScalingSettings.from_env(env),
        )


def preprocessing_status(
    current: PreprocessingState, *, sagemaker: SageMakerClient, settings: PollSettings, now: datetime
) -> PreprocessingState:
    """Describe the processing job: its status and, when it did not complete, why.

    SageMaker stops a job at its MaxRuntimeInSeconds itself; the wait limit is the workflow's safety margin
    beyond that, for a job stuck in Stopping.
    """
    job = sagemaker.describe_processing_job(ProcessingJobName=current.job_name)
    status = job["ProcessingJobStatus"]
    failure_reason = job.get("FailureReason") or job.get("ExitMessage")
    if status == "Stopped" and not failure_reason:
        failure_reason = (
            f"processing job {current.job_name} was stopped; a job that reaches its maximum runtime ends this way"
        )
    elif status == "Failed" and not failure_reason:
        failure_reason = f"processing job {current.job_name} failed without a reason from SageMaker"
    elif status in ("Failed", "Stopped"):
        failure_reason = f"processing job {current.job_name} {status.lower()}: {failure_reason}"
    return replace(
        current,
        status=status,
        failure_reason=failure_reason if status in ("Failed", "Stopped") else None,
        usage=processing_usage(job, settings.prices).to_json(),
        **_wait_progress(current.started_at, now, settings, settings.max_preprocessing_wait_seconds),
    )


def batch_transform_status(
    current: BatchTransformState, *, sagemaker: SageMakerClient, settings: PollSettings, now: datetime
) -> BatchTransformState:
    """Describe the transform job: its status and, when it did not complete, why."""
    job = sagemaker.describe_transform_job(TransformJobName=current.job_name)
    status = job["TransformJobStatus"]
    failure_reason = None
    if status in ("Failed", "Stopped"):
        reason = job.get("FailureReason") or "SageMaker gave no reason"
        failure_reason = f"transform job {current.job_name} over {current.input_uri} {status.lower()}: {reason}"
    return replace(
        current,
        status=status,
        failure_reason=failure_reason,
        usage=transform_usage(job, settings.prices).to_json(),
        **_wait_progress(current.started_at, now, settings, settings.max_batch_transform_wait_seconds),
    )


def training_status(
    current: TrainingJobState,
    *,
    sagemaker: SageMakerClient,
    settings: PollSettings,
    now: datetime,
    expected_seconds: int | None = None,
) -> TrainingJobState:
    """Describe the training job: status, failure reason, model artifact and final metrics.

    `expected_seconds` (the previous run's training time) sets the next wait: see contract/polling.py.
    """
    job_name = current.job_name
    job = sagemaker.describe_training_job(TrainingJobName=job_name)
    status = job["TrainingJobStatus"]
    failure_reason = job.get("FailureReason")
    if status == "Stopped" and not failure_reason and job.get("SecondaryStatus") == "MaxWaitTimeExceeded":
        # A spot job that does not complete within MaxWaitTimeInSeconds ends Stopped, secondary status
        # MaxWaitTimeExceeded (Developer Guide, Managed Spot Training Lifecycle).
        failure_reason = (
            f"training job {job_name} was stopped (secondary status MaxWaitTimeExceeded): it did not complete within "
            "its MaxWaitTimeInSeconds (training.spot.max_wait_seconds), the time spent waiting for spot capacity "
            "plus the time it ran"
        )
    elif status == "Stopped" and not failure_reason:
        # A job that reaches MaxRuntimeInSeconds ends Stopped with no FailureReason.
        failure_reason = (
            f"training job {job_name} was stopped (secondary status {job.get('SecondaryStatus')}); "
            "a job that reaches its maximum runtime ends this way"
        )
    elif status == "Failed" and not failure_reason:
        failure_reason = f"training job {job_name} failed without a reason from SageMaker"
    return replace(
        current,
        status=status,
        secondary_status=job.get("SecondaryStatus"),
        failure_reason=failure_reason,
        model_artifact=job.get("ModelArtifacts", {}).get("S3ModelArtifacts"),
        metrics={m["MetricName"]: float(m["Value"]) for m in job.get("FinalMetricDataList", [])},
        usage=training_usage(job, settings.prices).to_json(),
        **_wait_progress(current.started_at, now, settings, settings.max_training_wait_seconds, expected_seconds),
    )


def endpoint_status(
    current: DeploymentState,
    *,
    sagemaker: SageMakerClient,
    settings: PollSettings,
    now: datetime,
    expected_seconds: int | None = None,
    autoscaling: ScalingClient | None = None,
) -> DeploymentState:
    """Describe the endpoint and tell whether it serves this run's endpoint config.

    `expected_seconds` (the previous run's deployment time) sets the next wait: see contract/polling.py.

    With autoscaling configured (`settings.autoscaling` and its client), an endpoint InService has its variant
    registered with Application Auto Scaling: the first run's new endpoint, the variant an instance-type change
    deregistered (also when that update failed and the endpoint went back to its old config), or a changed range.
    Registering updates what is registered, so a repeated check changes nothing.

    A failed UpdateEndpoint leaves the endpoint InService on the previous config with FailureReason set:
    `serving_new_model` is false then, and the failure reason says so.
    """
    endpoint = sagemaker.describe_endpoint(EndpointName=current.endpoint_name)
    status = endpoint["EndpointStatus"]
    serving_config = endpoint.get("EndpointConfigName")
    serving_new_model = status == "InService" and serving_config == current.endpoint_config_name
    failure_reason = endpoint.get("FailureReason")
    if status == "InService" and not serving_new_model:
        failure_reason = (
            f"endpoint {current.endpoint_name} is InService on config {serving_config}, "
            f"not on this run's {current.endpoint_config_name}: the update did not take effect"
            + (f" ({failure_reason})" if failure_reason else "")
        )
    elif status in ("Failed", "OutOfService", "UpdateRollbackFailed"):
        failure_reason = f"endpoint {current.endpoint_name} is {status}" + (
            f": {failure_reason}" if failure_reason else ""
        )
    if status == "InService" and settings.autoscaling is not None and autoscaling is not None:
        register_variant(autoscaling, current.endpoint_name, settings.autoscaling)
    return replace(
        current,
        status=status,
        failure_reason=failure_reason,
        serving_new_model=serving_new_model,
        instance_count=_instance_count(endpoint),
        **_wait_progress(current.started_at, now, settings, settings.max_deployment_wait_seconds, expected_seconds),
    )


def _instance_count(endpoint: Mapping[str, Any]) -> int | None:
    """The serving variant's CurrentInstanceCount (None: not reported, as for a serverless variant)."""
    for variant in endpoint.get("ProductionVariants") or []:
        if variant.get("VariantName") == VARIANT_NAME and variant.get("CurrentInstanceCount") is not None:
            return int(variant["CurrentInstanceCount"])
    return None


def evaluation_status(
    current: HoldoutEvaluationState, *, sagemaker: SageMakerClient, settings: PollSettings, now: datetime
) -> HoldoutEvaluationState:
    """Describe the evaluation's transform jobs: InProgress while one runs (the loop then awaits the first still
    running), Completed when all did, Failed when one failed or was stopped, naming it and SageMaker's reason.
    An evaluation script's processing job likewise, its failure told by the script's own message (ExitMessage)."""
    if current.by_script:
        return _script_status(current, sagemaker=sagemaker, settings=settings, now=now)
    statuses, usage = {}, []
    for job_name in current.jobs():
        job = sagemaker.describe_transform_job(TransformJobName=job_name)
        statuses[job_name] = (str(job["TransformJobStatus"]), job.get("FailureReason"))
        usage.append(transform_usage(job, settings.prices).to_json())
    failed = [(name, status, reason) for name, (status, reason) in statuses.items() if status in ("Failed", "Stopped")]
    running = [name for name, (status, _) in statuses.items() if status in ("InProgress", "Stopping")]
    status, failure_reason, awaited = "Completed", None, current.job_name
    if failed:
        name, job_status, reason = failed[0]
        model = current.candidate_model if name == current.candidate_job else current.production_model
        status = "Failed"
        failure_reason = (
            f"evaluation transform job {name} (model {model}) over the holdout {current.holdout_uri} "
            f"{job_status.lower()}: {reason or 'SageMaker gave no reason'}"
        )
    elif running:
        status, awaited = "InProgress", running[0]
    return replace(
        current,
        status=status,
        failure_reason=failure_reason,
        job_name=awaited,
        usage=usage,
        **_wait_progress(current.started_at, now, settings, settings.max_evaluation_wait_seconds),
    )


def _script_status(
    current: HoldoutEvaluationState, *, sagemaker: SageMakerClient, settings: PollSettings, now: datetime
) -> HoldoutEvaluationState:
    job = sagemaker.describe_processing_job(ProcessingJobName=current.candidate_job)
    status, failure_reason = str(job["ProcessingJobStatus"]), None
    if status in ("Failed", "Stopped"):
        # The script's stderr's end is in ExitMessage (lambdas/start_evaluation/script.py); SageMaker's reason is
        # the fallback (the job could not start, or ran past its maximum).
        said = job.get("ExitMessage") or job.get("FailureReason") or "SageMaker gave no reason"
        failure_reason = (
            f"evaluation script {current.script or '?'} (processing job {current.candidate_job}) over the holdout "
            f"{current.holdout_uri} {status.lower()}: {said.strip()}"
        )
        status = "Failed"
    elif status == "Stopping":
        status = "InProgress"
    return replace(
        current,
        status=status,
        failure_reason=failure_reason,
        job_name=current.candidate_job,
        usage=[processing_usage(job, settings.prices).to_json()],
        **_wait_progress(current.started_at, now, settings, settings.max_evaluation_wait_seconds),
    )


def _wait_progress(
    started_at: str,
    now: datetime,
    settings: PollSettings,
    max_wait_seconds: int | None,
    expected_seconds: int | None = None,
) -> dict[str, Any]:
    """A loop's waited_seconds, whether that is past its maximum (None: no maximum), and its next poll_seconds."""
    waited = _seconds_since(started_at, now)
    return {
        "waited_seconds": waited,
        "wait_exceeded": max_wait_seconds is not None and waited > max_wait_seconds,
        "poll_seconds": next_poll_seconds(
            waited,
            interval_seconds=settings.poll_interval_seconds,
            expected_seconds=expected_seconds,
            max_wait_seconds=max_wait_seconds,
        ),
    }


def _seconds_since(timestamp: str, now: datetime) -> int:
    return max(0, int((now - parse_timestamp(timestamp)).total_seconds()))
