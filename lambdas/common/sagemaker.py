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


def create_if_absent(describe: Callable[[], Any], create: Callable[[], Any]) -> None:
    """Create a per-run resource unless an earlier attempt of this same run already did."""
    try:
        describe()
        return
    except ClientError as error:
        if error.response["Error"]["Code"] != "ValidationException":
            raise
    try:
        create()
    except ClientError as error:
        message = error.response["Error"].get("Message", "")
        if error.response["Error"]["Code"] == "ValidationException" and "already exist" in message:
            return
        raise


def production_model(sagemaker: SageMakerClient, endpoint_name: str) -> str | None:
    """The model the endpoint serves now, or None when there is no endpoint yet."""
    endpoint = describe_or_none(lambda: sagemaker.describe_endpoint(EndpointName=endpoint_name))
    config_name = endpoint.get("EndpointConfigName") if endpoint else None
    if not config_name:
        return None
    config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    variants = config.get("ProductionVariants") or []
    return str(variants[0]["ModelName"]) if variants else None
