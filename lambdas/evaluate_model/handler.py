"""Lambda entry point of EvaluateModel."""

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
from lambdas.common.models import HoldoutEvaluationState, PreprocessingState, RunState, TrainingJobState
from lambdas.evaluate_model.core import REJECTED, EvaluateSettings, evaluate_model
from lambdas.evaluate_model.holdout import score_holdout
from lambdas.evaluate_model.script_report import read_script_scores

logger = Logger(service="evaluate_model")
tracer = Tracer()
metrics = Metrics(namespace=METRICS_NAMESPACE, service="evaluate_model")


@logger.inject_lambda_context(correlation_id_path="execution.id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = StepEvent.parse(event)
    settings = EvaluateSettings.from_env(os.environ)
    holdout = HoldoutEvaluationState.read_optional(step.state)
    with transient_aws_errors():
        scores = None
        if holdout is not None and settings.evaluation is not None:
            read = read_script_scores if holdout.by_script else score_holdout
            scores = read(clients().s3, holdout, settings.evaluation, now=datetime.now(UTC))
        evaluation = evaluate_model(
            RunState.read(step.state),
            TrainingJobState.read(step.state),
            step.execution,
            sagemaker=clients().sagemaker,
            settings=settings,
            preprocessing=PreprocessingState.read_optional(step.state),
            scores=scores,
            holdout=holdout,
        )
    metrics.add_metric(
        name="ModelRejected" if evaluation.approval_status == REJECTED else "ModelAccepted",
        unit=MetricUnit.Count,
        value=1,
    )
    logger.info("model evaluated and registered", extra={"evaluation": evaluation.to_state()})
    return {**step.state, "evaluation": evaluation.to_state()}
