"""Lambda entry point of StartPreprocessing."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.common.clients import clients
from lambdas.common.errors import transient_aws_errors
from lambdas.common.events import StepEvent
from lambdas.common.models import RunState
from lambdas.start_preprocessing.core import PreprocessingSettings, start_preprocessing

logger = Logger(service="start_preprocessing")
tracer = Tracer()


@logger.inject_lambda_context(correlation_id_path="execution.id")
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = StepEvent.parse(event)
    with transient_aws_errors():
        preprocessing = start_preprocessing(
            RunState.read(step.state),
            step.execution,
            sagemaker=clients().sagemaker,
            settings=PreprocessingSettings.from_env(os.environ),
            now=datetime.now(UTC),
        )
    logger.info("processing job started", extra={"preprocessing": preprocessing.to_state()})
    return {**step.state, "preprocessing": preprocessing.to_state()}
