"""Lambda entry point of CheckData."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from contract.metrics import METRICS_NAMESPACE
from lambdas.check_data.core import CheckDataSettings, RunInput, check_data, raw_run_input
from lambdas.check_data.preflight import require_slack_secret
from lambdas.common.clients import clients
from lambdas.common.errors import transient_aws_errors
from lambdas.common.events import StepEvent

logger = Logger(service="check_data")
tracer = Tracer()
metrics = Metrics(namespace=METRICS_NAMESPACE, service="check_data")


@logger.inject_lambda_context(correlation_id_path="execution.id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = StepEvent.parse(event)
    settings = CheckDataSettings.from_env(os.environ)
    run_input = RunInput.from_state(raw_run_input(step.state))
    with transient_aws_errors():
        require_slack_secret(clients().secretsmanager, settings.slack_token_secret_name)
        result = check_data(
            run_input,
            step.execution,
            s3=clients().s3,
            ssm=clients().ssm,
            sfn=clients().stepfunctions,
            settings=settings,
        )
    if result.watermark_missing:
        logger.warning("watermark parameter not found: treating the pipeline as never trained")
    if result.skipped_count:
        logger.warning("skipped data keys", extra={"skipped": result.skipped_keys, "count": result.skipped_count})
    if result.unrecognised_count:
        logger.warning(
            "keys in no data layout under the prefix, never read",
            extra={"keys": result.unrecognised_keys, "count": result.unrecognised_count},
        )
    metrics.add_metric(
        name="DataFilesInWindow", unit=MetricUnit.Count, value=result.file_count + result.holdout_file_count
    )
    logger.info("checked data", extra={"run": result.to_state()})
    return {"input": run_input.to_state(), "run": result.to_state()}
