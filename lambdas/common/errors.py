"""Errors raised by the steps. The class name is the error name Step Functions' Retry and Catch match."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import ClientError, ConnectionError, ReadTimeoutError


class RetrainingError(Exception):
    """Base class of every error a step raises on purpose."""


class ConfigurationError(RetrainingError):
    """The function's environment is missing or malformed: a deployment problem, not worth retrying."""


class InvalidRunInputError(RetrainingError):
    """The execution's input (from the console, the schedule or the CLI) is invalid."""


class InvalidStepEventError(RetrainingError):
    """A step was invoked with an event that does not match its contract."""


class TransientAwsError(RetrainingError):
    """An AWS call failed for a reason that a later attempt may not meet (throttling, 5xx, timeouts)."""


class ResourceConflictError(RetrainingError):
    """A SageMaker resource with this run's name exists but belongs to another run."""


class EndpointNotUpdatableError(RetrainingError):
    """The endpoint is in a state in which SageMaker accepts no UpdateEndpoint."""


class DeploymentNotConfirmedError(RetrainingError):
    """UpdateParameters was asked to record a deployment the endpoint does not serve."""


# Codes AWS documents as retryable; botocore's standard mode already retried them a few times.
_TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "SlowDown",
        "ServiceUnavailable",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "RequestTimeout",
        "RequestTimeoutException",
        "ResourceLimitExceeded",
    }
)


def is_transient(error: ClientError) -> bool:
    """Tell whether an AWS error is worth retrying later."""
    code = error.response.get("Error", {}).get("Code", "")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return code in _TRANSIENT_CODES or status >= 500


@contextmanager
def transient_aws_errors() -> Iterator[None]:
    """Re-raise retryable AWS failures as TransientAwsError so the state machine's Retry can match them."""
    try:
        yield
    except ClientError as error:
        if is_transient(error):
            raise TransientAwsError(str(error)) from error
        raise
    except (ConnectionError, ReadTimeoutError) as error:
        raise TransientAwsError(str(error)) from error


class MetricMissingError(RetrainingError):
    """The quality gate's metric is not among the training job's metrics."""
