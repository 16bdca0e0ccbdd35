"""Lambda entry point of RunEnded: the target of the pipeline's Execution Status Change rule."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from contract.metrics import METRICS_NAMESPACE
from lambdas.common.clients import clients
from lambdas.common.errors import transient_aws_errors
from lambdas.run_ended.core import EndedRun, RunEndedSettings, lambda_payload, run_ended

logger = Logger(service="run_ended")
tracer = Tracer()
metrics = Metrics(namespace=METRICS_NAMESPACE, service="run_ended")


def _invoke(function: str, payload: Mapping[str, Any]) -> Mapping[str, Any]:
    response = clients().lambda_.invoke(
        FunctionName=function, InvocationType="RequestResponse", Payload=json.dumps(payload).encode()
    )
    return lambda_payload(response, function)


@logger.inject_lambda_context(correlation_id_path="detail.executionArn")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    run = EndedRun.from_event(event)
    with transient_aws_errors():
        report = run_ended(
            run,
            s3=clients().s3,
            sfn=clients().stepfunctions,
            invoke=_invoke,
            settings=RunEndedSettings.from_env(os.environ),
            ssm=clients().ssm,
            sagemaker=clients().sagemaker,
        )
    if report.reaped:
        metrics.add_metric(name="RunsReaped", unit=MetricUnit.Count, value=1)
    logger.info("run ended", extra={"run_ended": report.to_dict()})
    return report.to_dict()
