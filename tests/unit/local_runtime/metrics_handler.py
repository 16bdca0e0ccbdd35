"""A handler that counts itself with Powertools' Metrics, as NotifySlack does, and prints a plain line too."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

metrics = Metrics(namespace="LocalRuntimeTests", service="metrics_handler")


@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    metrics.add_dimension(name="pipeline", value=event["pipeline"])
    metrics.add_metric(name="Handled", unit=MetricUnit.Count, value=1)
    print("handled")
    return {"handled": True}
