"""Lambda entry point of PruneModels."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from contract.metrics import METRICS_NAMESPACE
from lambdas.common.clients import clients
from lambdas.common.errors import transient_aws_errors
from lambdas.common.events import StepEvent
from lambdas.common.models import DeploymentState, WatermarkState
from lambdas.prune_models.core import PruneSettings, prune_models

logger = Logger(service="prune_models")
tracer = Tracer()
metrics = Metrics(namespace=METRICS_NAMESPACE, service="prune_models")


@logger.inject_lambda_context(correlation_id_path="execution.id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = StepEvent.parse(event)
    settings = PruneSettings.from_env(os.environ)
    with transient_aws_errors():
        report = prune_models(
            DeploymentState.read_optional(step.state),
            WatermarkState.read_optional(step.state),
            sagemaker=clients().sagemaker,
            ssm=clients().ssm,
            settings=settings,
        )
    removed = len(report.deleted_models) + len(report.deleted_endpoint_configs)
    metrics.add_metric(name="OldModelResourcesRemoved", unit=MetricUnit.Count, value=removed)
    logger.info("old models and endpoint configs pruned", extra={"pruned": report.to_state()})
    return {**step.state, "pruned": report.to_state()}
