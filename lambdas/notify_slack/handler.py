"""Lambda entry point of NotifySlack."""

from __future__ import annotations

import logging
import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from contract.metrics import METRICS_NAMESPACE, PIPELINE_DIMENSION, SLACK_NOTIFICATION_FAILED
from lambdas.common.clients import clients
from lambdas.common.events import StepEvent
from lambdas.notify_slack.core import NotifyResult, Outcome, SlackSettings, notify

logger = Logger(service="notify_slack")
tracer = Tracer()
metrics = Metrics(namespace=METRICS_NAMESPACE, service="notify_slack")

# botocore logs every response body at DEBUG, and GetSecretValue's body is the Slack token: keep its parser
# quiet even when the function's log level (or the root logger's) is set to DEBUG.
logging.getLogger("botocore.parsers").setLevel(logging.INFO)

# One metric per outcome, so the stack's alarm on SlackNotificationFailed catches a revoked token or a bad channel.
METRIC_NAMES = {
    Outcome.SENT: "SlackNotificationSent",
    Outcome.SKIPPED: "SlackNotificationSkipped",
    Outcome.FAILED: SLACK_NOTIFICATION_FAILED,
}


@logger.inject_lambda_context(correlation_id_path="execution.id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = StepEvent.parse(event)
    settings = SlackSettings.from_env(os.environ)
    if settings.pipeline:
        # The pipeline's own alarm watches this dimension: another pipeline's failures must not trip it.
        metrics.add_dimension(name=PIPELINE_DIMENSION, value=settings.pipeline)
    result = notify(step, secretsmanager=clients().secretsmanager, settings=settings)
    _record(result)
    return result.to_payload()


def _record(result: NotifyResult) -> None:
    metrics.add_metric(name=METRIC_NAMES[result.outcome], unit=MetricUnit.Count, value=1)
    extra: dict[str, Any] = {"notification_event": result.event.value, "detail": result.detail}
    if result.failure is not None:
        extra["failure"] = result.failure.to_payload()
    if result.outcome is Outcome.FAILED:
        logger.warning("Slack notification not delivered", extra=extra, exc_info=result.error)
    else:
        logger.info(f"Slack notification {result.outcome.value}", extra=extra)
