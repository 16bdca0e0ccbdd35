"""SageMaker's "no such resource" answers."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from lambdas.common.sagemaker import describe_or_none


def refusing(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "Could not find model"}}, "DescribeModel")


def fail(error: ClientError) -> dict[str, str]:
    raise error


def test_a_missing_resource_is_none_and_a_description_is_returned() -> None:
    assert describe_or_none(lambda: fail(refusing("ValidationException"))) is None
    assert describe_or_none(lambda: {"ModelName": "churn-1"}) == {"ModelName": "churn-1"}


@pytest.mark.parametrize("code", ["AccessDeniedException", "ThrottlingException"])
def test_any_other_refusal_is_raised(code: str) -> None:
    with pytest.raises(ClientError, match=code):
        describe_or_none(lambda: fail(refusing(code)))
