"""Which AWS failures the state machine retries."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from lambdas.common.errors import TransientAwsError, transient_aws_errors


def client_error(code: str, status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Operation"
    )


@pytest.mark.parametrize(
    "error",
    [
        client_error("ThrottlingException"),
        client_error("ResourceLimitExceeded"),
        client_error("SlowDown", 503),
        client_error("Anything", 500),
        EndpointConnectionError(endpoint_url="https://sagemaker.us-east-1.amazonaws.com"),
    ],
)
def test_transient_failures_become_the_error_the_state_machine_retries(error: Exception) -> None:
    with pytest.raises(TransientAwsError), transient_aws_errors():
        raise error


@pytest.mark.parametrize("code", ["ValidationException", "AccessDeniedException", "ParameterNotFound"])
def test_permanent_failures_pass_through_unchanged(code: str) -> None:
    with pytest.raises(ClientError) as raised, transient_aws_errors():
        raise client_error(code)

    assert raised.value.response["Error"]["Code"] == code
