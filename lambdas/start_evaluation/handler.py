"""Lambda entry point of StartEvaluation."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.common.clients import clients
from lambdas.common.errors import transient_aws_errors
from lambdas.common.events import StepEvent
from lambdas.common.models import PreprocessingState, RunState, TrainingJobState
from lambdas.start_evaluation.core import StartEvaluationSettings, start_evaluation

logger = Logger(service="start_evaluation")
tracer = Tracer()


@logger.inject_lambda_context(correlation_id_path="execution.id")
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = StepEvent.parse(event)
    with transient_aws_errors():
        evaluation = start_evaluation(
            RunState.read(step.state),
            TrainingJobState.read(step.state),
            step.execution,
            sagemaker=clients().sagemaker,
            settings=StartEvaluationSettings.from_env(os.environ),
            now=datetime.now(UTC),
            preprocessing=PreprocessingState.read_optional(step.state),
        )
    logger.info("evaluation jobs started", extra={"holdout_evaluation": evaluation.to_state()})
    return {**step.state, "holdout_evaluation": evaluation.to_state()}
