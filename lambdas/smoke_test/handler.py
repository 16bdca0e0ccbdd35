"""Lambda entry point of SmokeTest."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from contract.metrics import METRICS_NAMESPACE
from lambdas.common.autoscaling import ScalingSettings
from lambdas.common.clients import clients
from lambdas.common.errors import transient_aws_errors
from lambdas.common.events import StepEvent
from lambdas.common.models import DeploymentState, EvaluationState, RunState
from lambdas.smoke_test.core import SmokeTestFailedError, SmokeTestSettings, smoke_test

logger = Logger(service="smoke_test")
tracer = Tracer()
metrics = Metrics(namespace=METRICS_NAMESPACE, service="smoke_test")


@logger.inject_lambda_context(correlation_id_path="execution.id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = StepEvent.parse(event)
    settings = SmokeTestSettings.from_env(os.environ)
    evaluation = EvaluationState.read_optional(step.state)
    try:
        with transient_aws_errors():
            result = smoke_test(
                RunState.read(step.state),
                DeploymentState.read(step.state),
                s3=clients().s3,
                runtime=clients().sagemaker_runtime,
                sagemaker=clients().sagemaker,
                ssm=clients().ssm,
                settings=settings,
                model_package_arn=evaluation.model_package_arn if evaluation else None,
                autoscaling=clients().application_autoscaling if ScalingSettings.from_env(os.environ) else None,
            )
    except SmokeTestFailedError:
        metrics.add_metric(name="SmokeTestFailed", unit=MetricUnit.Count, value=1)
        raise
    logger.info("smoke test", extra={"smoke_test": result.to_state()})
    return {**step.state, "smoke_test": result.to_state()}
