"""Lambda entry point of GetStatus: `target` says whether to describe the processing, training or transform job or
the endpoint."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from contract.metrics import ENDPOINT_INSTANCES, METRICS_NAMESPACE, PIPELINE_DIMENSION
from lambdas.common import env as names
from lambdas.common.clients import clients
from lambdas.common.errors import InvalidStepEventError, transient_aws_errors
from lambdas.common.events import StepEvent
from lambdas.common.models import (
    BatchTransformState,
    DeploymentState,
    HoldoutEvaluationState,
    PreprocessingState,
    RunState,
    TrainingJobState,
)
from lambdas.get_status.core import (
    PollSettings,
    batch_transform_status,
    endpoint_status,
    evaluation_status,
    preprocessing_status,
    training_status,
)

SERVICE = "get_status"
logger = Logger(service=SERVICE)
tracer = Tracer()


@logger.inject_lambda_context(correlation_id_path="execution.id")
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = StepEvent.parse(event)
    settings = PollSettings.from_env(os.environ)
    target = step.params.get("target")
    now = datetime.now(UTC)
    with transient_aws_errors():
        if target == "preprocessing":
            preprocessing = preprocessing_status(
                PreprocessingState.read(step.state), sagemaker=clients().sagemaker, settings=settings, now=now
            )
            logger.info("processing job status", extra={"preprocessing": preprocessing.to_state()})
            return {**step.state, "preprocessing": preprocessing.to_state()}
        if target == "transform":
            transform = batch_transform_status(
                BatchTransformState.read(step.state), sagemaker=clients().sagemaker, settings=settings, now=now
            )
            logger.info("transform job status", extra={"batch_transform": transform.to_state()})
            return {**step.state, "batch_transform": transform.to_state()}
        if target == "evaluation":
            evaluation = evaluation_status(
                HoldoutEvaluationState.read(step.state), sagemaker=clients().sagemaker, settings=settings, now=now
            )
            logger.info("evaluation jobs status", extra={"holdout_evaluation": evaluation.to_state()})
            return {**step.state, "holdout_evaluation": evaluation.to_state()}
        if target == "training":
            training = training_status(
                TrainingJobState.read(step.state),
                sagemaker=clients().sagemaker,
                settings=settings,
                now=now,
                expected_seconds=_expected(step.state, "training"),
            )
            logger.info("training job status", extra={"training": training.to_state()})
            return {**step.state, "training": training.to_state()}
        if target == "endpoint":
            deployment = endpoint_status(
                DeploymentState.read(step.state),
                sagemaker=clients().sagemaker,
                settings=settings,
                now=now,
                expected_seconds=_expected(step.state, "deployment"),
                autoscaling=clients().application_autoscaling if settings.autoscaling else None,
            )
            if settings.autoscaling and deployment.serving_new_model and deployment.instance_count is not None:
                _record_instances(deployment.instance_count)
            logger.info("endpoint status", extra={"deployment": deployment.to_state()})
            return {**step.state, "deployment": deployment.to_state()}
    raise InvalidStepEventError(
        "event field 'target' must be 'preprocessing', 'training', 'endpoint', 'transform' or 'evaluation', "
        f"got {target!r}"
    )


def _record_instances(count: int) -> None:
    """The scaled endpoint's instances for the dashboard; its own EMF document, as only this loop has the figure."""
    metric = EphemeralMetrics(namespace=METRICS_NAMESPACE, service=SERVICE)
    metric.add_dimension(name=PIPELINE_DIMENSION, value=names.require_str(os.environ, names.PIPELINE_NAME))
    metric.add_metric(name=ENDPOINT_INSTANCES, unit=MetricUnit.Count, value=count)
    metric.flush_metrics()


def _expected(state: dict[str, Any], loop: str) -> int | None:
    """The previous run's duration of the loop's job, which sets the next wait (None: no history)."""
    run = RunState.read_optional(state)
    if run is None:
        return None
    return run.expected_training_seconds if loop == "training" else run.expected_deployment_seconds
