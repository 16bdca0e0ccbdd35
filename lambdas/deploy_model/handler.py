"""Lambda entry point of DeployModel."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from contract.metrics import METRICS_NAMESPACE
from lambdas.common.clients import clients
from lambdas.common.errors import transient_aws_errors
from lambdas.common.events import StepEvent
from lambdas.common.models import PreprocessingState, RunState, TrainingJobState
from lambdas.deploy_model.core import DeploySettings, deploy_model

logger = Logger(service="deploy_model")
tracer = Tracer()
metrics = Metrics(namespace=METRICS_NAMESPACE, service="deploy_model")


@logger.inject_lambda_context(correlation_id_path="execution.id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = StepEvent.parse(event)
    settings = DeploySettings.from_env(os.environ)
    run = RunState.read_optional(step.state)
    with transient_aws_errors():
        deployment = deploy_model(
            TrainingJobState.read(step.state),
            step.execution,
            sagemaker=clients().sagemaker,
            settings=settings,
            now=datetime.now(UTC),
            expected_seconds=run.expected_deployment_seconds if run else None,
            preprocessing=PreprocessingState.read_optional(step.state),
            autoscaling=clients().application_autoscaling if settings.autoscaling else None,
        )
    metrics.add_metric(name="DeploymentsStarted", unit=MetricUnit.Count, value=1)
    logger.info("deployment started", extra={"deployment": deployment.to_state()})
    return {**step.state, "deployment": deployment.to_state()}
