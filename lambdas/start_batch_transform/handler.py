"""Lambda entry point of StartBatchTransform."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.common.clients import clients
from lambdas.common.errors import transient_aws_errors
from lambdas.common.events import StepEvent
from lambdas.common.models import DeploymentState, RunState
from lambdas.start_batch_transform.core import BatchTransformSettings, start_batch_transform

logger = Logger(service="start_batch_transform")
tracer = Tracer()


@logger.inject_lambda_context(correlation_id_path="execution.id")
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = StepEvent.parse(event)
    with transient_aws_errors():
        transform = start_batch_transform(
            RunState.read(step.state),
            DeploymentState.read_optional(step.state),
            step.execution,
            s3=clients().s3,
            sagemaker=clients().sagemaker,
            settings=BatchTransformSettings.from_env(os.environ),
            now=datetime.now(UTC),
        )
    logger.info("transform job started", extra={"batch_transform": transform.to_state()})
    return {**step.state, "batch_transform": transform.to_state()}
