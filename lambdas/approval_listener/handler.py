"""Lambda entry point of ApprovalListener (target of the registry's EventBridge rule)."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.approval_listener.core import on_state_change
from lambdas.common.clients import clients
from lambdas.common.errors import transient_aws_errors
from lambdas.request_approval.core import ApprovalSettings

logger = Logger(service="approval_listener")
tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    with transient_aws_errors():
        outcome = on_state_change(
            event,
            s3=clients().s3,
            sagemaker=clients().sagemaker,
            stepfunctions=clients().stepfunctions,
            settings=ApprovalSettings.from_env(os.environ),
        )
    logger.info(outcome, extra={"model_package_arn": (event.get("detail") or {}).get("ModelPackageArn")})
    return {"outcome": outcome}
