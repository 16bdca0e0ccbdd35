"""Lambda entry point of CleanUp."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from contract.metrics import METRICS_NAMESPACE
from lambdas.clean_up.core import CleanUpSettings, clean_up
from lambdas.common.clients import clients
from lambdas.common.errors import transient_aws_errors
from lambdas.common.events import StepEvent

logger = Logger(service="clean_up")
tracer = Tracer()
metrics = Metrics(namespace=METRICS_NAMESPACE, service="clean_up")


@logger.inject_lambda_context(correlation_id_path="execution.id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = StepEvent.parse(event)
    settings = CleanUpSettings.from_env(os.environ)
    with transient_aws_errors():
        report = clean_up(step.execution, sagemaker=clients().sagemaker, settings=settings)
    removed = [report.deleted_model, report.deleted_endpoint_config, report.deleted_endpoint]
    metrics.add_metric(name="FailedRunResourcesRemoved", unit=MetricUnit.Count, value=sum(1 for r in removed if r))
    logger.info("failed run cleaned up", extra={"clean_up": report.to_state()})
    return {**step.state, "clean_up": report.to_state()}
