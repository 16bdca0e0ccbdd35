"""Lambda entry point of UpdateParameters."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.common.clients import clients
from lambdas.common.errors import transient_aws_errors
from lambdas.common.events import StepEvent
from lambdas.common.observability import METRICS_NAMESPACE
from lambdas.update_parameters.core import WatermarkSettings, update_parameters

logger = Logger(service="update_parameters")
tracer = Tracer()
metrics = Metrics(namespace=METRICS_NAMESPACE, service="update_parameters")


@logger.inject_lambda_context(correlation_id_path="execution.id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = StepEvent.parse(event)
    settings = WatermarkSettings.from_env(os.environ)
    with transient_aws_errors():
        watermark = update_parameters(
            step.state,
            step.execution,
            sagemaker=clients().sagemaker,
            ssm=clients().ssm,
            settings=settings,
            now=datetime.now(UTC),
        )
    metrics.add_metric(name="WatermarkAdvanced", unit=MetricUnit.Count, value=1)
    logger.info("watermark advanced", extra={"watermark": watermark.to_state()})
    return {**step.state, "watermark": watermark.to_state()}
