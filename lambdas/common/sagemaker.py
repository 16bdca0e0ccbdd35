"""SageMaker answers the steps share: which errors mean "no such resource", and which execution started a job."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from contract.names import EXECUTION_TAG
from lambdas.common.errors import ResourceConflictError
from lambdas.common.events import Execution
from lambdas.common.names import execution_tag_value

if TYPE_CHECKING:
    from types_boto3_sagemaker import SageMakerClient

# SageMaker answers "not found" for models, endpoint configs and endpoints with a ValidationException
# ("Could not find ...").
NOT_FOUND_CODES = frozenset({"ValidationException", "ResourceNotFound"})


def is_not_found(error: ClientError) -> bool:
    """Tell whether SageMaker refused a call because the resource does not exist."""
    return error.response.get("Error", {}).get("Code") in NOT_FOUND_CODES


def describe_or_none(call: Callable[..., Any]) -> dict[str, Any] | None:
    """Return the description, or None when the resource does not exist; raise any other ClientError."""
    try:
        result: dict[str, Any] = call()
    except ClientError as error:
        if is_not_found(error):
            return None
        raise
    return result


def started_by(sagemaker: SageMakerClient, resource_arn: str) -> str | None:
    """The execution (its tag value) that created a run's job, None when it carries no such tag."""
    tags = sagemaker.list_tags(ResourceArn=resource_arn).get("Tags", [])
    return next((t["Value"] for t in tags if t["Key"] == EXECUTION_TAG), None)


def check_started_by(sagemaker: SageMakerClient, what: str, resource_arn: str, execution: Execution) -> None:
    """Raise ResourceConflictError unless `execution` created the resource (`what` names it in the message)."""
    owner = started_by(sagemaker, resource_arn)
    if owner != execution_tag_value(execution):
        raise ResourceConflictError(
            f"{what} already exists and was started by {owner or 'someone else'}, not by this execution"
        )
