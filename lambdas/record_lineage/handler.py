"""Lambda entry point of RecordLineage."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from contract.metrics import METRICS_NAMESPACE
from lambdas.common.clients import clients
from lambdas.common.cost import run_cost
from lambdas.common.errors import transient_aws_errors
from lambdas.common.events import StepEvent
from lambdas.common.models import DeploymentState, EvaluationState, RunState, TrainingJobState, WatermarkState
from lambdas.record_lineage.core import (
    LineageSettings,
    build_run_record,
    record_lineage_entities,
    run_record_key,
    write_run_record,
)

logger = Logger(service="record_lineage")
tracer = Tracer()
metrics = Metrics(namespace=METRICS_NAMESPACE, service="record_lineage")


@logger.inject_lambda_context(correlation_id_path="execution.id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = StepEvent.parse(event)
    settings = LineageSettings.from_env(os.environ)
    record = build_run_record(
        RunState.read(step.state),
        TrainingJobState.read(step.state),
        step.execution,
        deployment=DeploymentState.read_optional(step.state),
        evaluation=EvaluationState.read_optional(step.state),
        watermark=WatermarkState.read_optional(step.state),
        settings=settings,
        now=datetime.now(UTC),
        cost=run_cost(step.state),
    )
    with transient_aws_errors():
        # The portable record first: the CLI answers from it even where SageMaker Lineage is unavailable.
        uri = write_run_record(
            clients().s3, settings.bucket, run_record_key(settings.runs_prefix, record["run_id"]), record
        )
        logger.info("run record written", extra={"run_record": uri})
        lineage = record_lineage_entities(record, run_record=uri, sagemaker=clients().sagemaker)
    metrics.add_metric(name="LineageRecorded", unit=MetricUnit.Count, value=1)
    logger.info("lineage recorded", extra={"lineage": lineage.to_state()})
    return {**step.state, "lineage": lineage.to_state()}
