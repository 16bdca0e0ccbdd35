"""Lambda entry point of StatusChangeListener (target of the pipeline's SageMaker state-change rule)."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.await_status_change.core import WakeSettings
from lambdas.common.clients import clients
from lambdas.common.errors import transient_aws_errors
from lambdas.status_change_listener.core import on_status_change

logger = Logger(service="status_change_listener")
tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    with transient_aws_errors():
        outcome = on_status_change(
            event, s3=clients().s3, stepfunctions=clients().stepfunctions, settings=WakeSettings.from_env(os.environ)
        )
    logger.info(outcome, extra={"detail_type": event.get("detail-type")})
    return {"outcome": outcome}
