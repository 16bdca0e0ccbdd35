"""Lambda entry point of AwaitStatusChange (invoked with lambda:invoke.waitForTaskToken)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.await_status_change.core import WakeSettings, await_status_change
from lambdas.common.clients import clients
from lambdas.common.errors import transient_aws_errors
from lambdas.common.events import StepEvent

logger = Logger(service="await_status_change")
tracer = Tracer()


@logger.inject_lambda_context(correlation_id_path="execution.id")
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = StepEvent.parse(event)
    target = str(step.params.get("target", ""))
    with transient_aws_errors():
        waiting = await_status_change(
            target,
            step.state,
            step.execution,
            str(step.params.get("task_token", "")),
            s3=clients().s3,
            sagemaker=clients().sagemaker,
            stepfunctions=clients().stepfunctions,
            settings=WakeSettings.from_env(os.environ),
            now=datetime.now(UTC),
        )
    # The token never reaches the logs: whoever holds it can resume the run.
    logger.info("waiting for the state-change event" if waiting else "already ended: woken", extra={"target": target})
    return {"waiting": waiting}
