"""Lambda entry point of UpdateParameters."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from contract.metrics import (
    DEPLOYED_MODEL_METRIC,
    METRICS_NAMESPACE,
    MODEL_METRIC_DIMENSION,
    PIPELINE_DIMENSION,
    RUN_BILLABLE_SECONDS,
    RUN_DATA_FILES,
    RUN_DEPLOYMENT_SECONDS,
    RUN_TRAINING_SECONDS,
)
from lambdas.common import env as names
from lambdas.common.clients import clients
from lambdas.common.cost import run_cost
from lambdas.common.errors import transient_aws_errors
from lambdas.common.events import StepEvent
from lambdas.common.models import ApprovalState, DeploymentState, EvaluationState, RunState, TrainingJobState
from lambdas.update_parameters.core import RunFigures, WatermarkSettings, update_parameters

SERVICE = "update_parameters"
logger = Logger(service=SERVICE)
tracer = Tracer()
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)


@logger.inject_lambda_context(correlation_id_path="execution.id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = StepEvent.parse(event)
    settings = WatermarkSettings.from_env(os.environ)
    pipeline = names.require_str(os.environ, names.PIPELINE_NAME)
    metrics.add_dimension(name=PIPELINE_DIMENSION, value=pipeline)
    with transient_aws_errors():
        update = update_parameters(
            RunState.read(step.state),
            TrainingJobState.read(step.state),
            step.execution,
            deployment=DeploymentState.read_optional(step.state),
            evaluation=EvaluationState.read_optional(step.state),
            approval=ApprovalState.read_optional(step.state),
            sagemaker=clients().sagemaker,
            ssm=clients().ssm,
            settings=settings,
            now=datetime.now(UTC),
            cost=run_cost(step.state),
        )
    if update.watermark.moved:
        metrics.add_metric(name="WatermarkAdvanced", unit=MetricUnit.Count, value=1)
    _record(update.figures, pipeline)
    said = "watermark advanced" if update.watermark.moved else "watermark kept its day (a backfill)"
    logger.info(said, extra={"watermark": update.watermark.to_state()})
    return {**step.state, "watermark": update.watermark.to_state()}


def _record(figures: RunFigures, pipeline: str) -> None:
    """One datapoint per run for the dashboard; a figure the run does not have is left out, not sent as 0."""
    for name, unit, value in (
        (RUN_DATA_FILES, MetricUnit.Count, figures.file_count),
        (RUN_TRAINING_SECONDS, MetricUnit.Seconds, figures.training_seconds),
        (RUN_DEPLOYMENT_SECONDS, MetricUnit.Seconds, figures.deployment_seconds),
        (RUN_BILLABLE_SECONDS, MetricUnit.Seconds, figures.billable_seconds),
    ):
        if value is not None:
            metrics.add_metric(name=name, unit=unit, value=value)
    if figures.model_metric is not None and figures.model_metric_value is not None:
        # Its own EMF document: the metric's name is a dimension the other figures do not have. Not single_metric,
        # which prints even with POWERTOOLS_METRICS_DISABLED set.
        model_metric = EphemeralMetrics(namespace=METRICS_NAMESPACE, service=SERVICE)
        model_metric.add_dimension(name=PIPELINE_DIMENSION, value=pipeline)
        model_metric.add_dimension(name=MODEL_METRIC_DIMENSION, value=figures.model_metric)
        model_metric.add_metric(name=DEPLOYED_MODEL_METRIC, unit=MetricUnit.NoUnit, value=figures.model_metric_value)
        model_metric.flush_metrics()
