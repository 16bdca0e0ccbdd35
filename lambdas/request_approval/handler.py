"""Lambda entry point of RequestApproval (invoked with lambda:invoke.waitForTaskToken)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.common.clients import clients
from lambdas.common.errors import transient_aws_errors
from lambdas.common.events import StepEvent
from lambdas.common.models import EvaluationState
from lambdas.request_approval.core import ApprovalSettings, request_approval

logger = Logger(service="request_approval")
tracer = Tracer()


@logger.inject_lambda_context(correlation_id_path="execution.id")
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = StepEvent.parse(event)
    evaluation = EvaluationState.read(step.state)
    with transient_aws_errors():
        waiting = request_approval(
            evaluation,
            step.execution,
            str(step.params.get("task_token", "")),
            s3=clients().s3,
            sagemaker=clients().sagemaker,
            stepfunctions=clients().stepfunctions,
            settings=ApprovalSettings.from_env(os.environ),
            now=datetime.now(UTC),
        )
    # The token never reaches the logs: whoever holds it can resume the run.
    logger.info(
        "waiting for approval" if waiting else "already decided: resumed",
        extra={"model_package_arn": evaluation.model_package_arn},
    )
    return {"waiting": waiting}
