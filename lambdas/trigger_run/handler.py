"""Lambda entry point of TriggerRun (target of the data bucket's "Object Created" rule)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.common.clients import clients
from lambdas.common.errors import transient_aws_errors
from lambdas.trigger_run.core import NewObject, TriggerRunSettings, trigger_run

logger = Logger(service="trigger_run")
tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    settings = TriggerRunSettings.from_env(os.environ)
    new_object = NewObject.from_event(event)
    with transient_aws_errors():
        outcome = trigger_run(new_object, scheduler=clients().scheduler, settings=settings, now=datetime.now(UTC))
    logger.info("new data scheduled a run", extra={"key": new_object.key, **outcome.to_log()})
    return outcome.to_log()
