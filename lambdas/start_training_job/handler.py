"""Lambda entry point of StartTrainingJob."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from contract.metrics import METRICS_NAMESPACE
from lambdas.common.clients import clients
from lambdas.common.errors import transient_aws_errors
from lambdas.common.events import StepEvent
from lambdas.common.models import PreprocessingState, RunState
from lambdas.start_training_job.core import TrainingSettings, start_training_job
from lambdas.start_training_job.validation import (
    DataSummary,
    check_same_columns,
    validate_preprocessed_data,
    validate_training_data,
)

logger = Logger(service="start_training_job")
tracer = Tracer()
metrics = Metrics(namespace=METRICS_NAMESPACE, service="start_training_job")

# Left of the function's time when the data check gives up: enough to report it and return.
VALIDATION_RESERVE_SECONDS = 15


@logger.inject_lambda_context(correlation_id_path="execution.id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = StepEvent.parse(event)
    settings = TrainingSettings.from_env(os.environ)
    preprocessing = PreprocessingState.read_optional(step.state)
    preprocessed = preprocessing.training_data_uri if preprocessing is not None else None
    with transient_aws_errors():
        training = start_training_job(
            RunState.read(step.state),
            step.execution,
            sagemaker=clients().sagemaker,
            settings=settings,
            now=datetime.now(UTC),
            validate=_validator(context, preprocessed=preprocessed is not None) if settings.validate_data else None,
            preprocessed_data_uri=preprocessed,
        )
    metrics.add_metric(name="TrainingJobsStarted", unit=MetricUnit.Count, value=1)
    logger.info("training job started", extra={"training": training.to_state()})
    return {**step.state, "training": training.to_state()}


def _validator(context: LambdaContext, *, preprocessed: bool) -> Callable[[str], None]:
    deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - VALIDATION_RESERVE_SECONDS
    check = validate_preprocessed_data if preprocessed else validate_training_data
    checked: list[DataSummary] = []  # the training data's, then the holdout's (the validation channel)

    def validate(data_uri: str) -> None:
        started = time.monotonic()
        summary = check(clients().s3, data_uri, deadline=deadline)
        if checked:
            check_same_columns(checked[0], summary, data_uri)
        checked.append(summary)
        seconds = round(time.monotonic() - started, 2)
        metrics.add_metric(name="TrainingRowsValidated", unit=MetricUnit.Count, value=summary.rows)
        logger.info("training data checked", extra={"data": data_uri, "seconds": seconds, **asdict(summary)})

    return validate
