"""SageMaker answers the steps share: which errors mean "no such resource"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

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
