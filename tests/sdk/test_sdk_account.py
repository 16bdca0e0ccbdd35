"""What the SageMaker Python SDK asks of the account, answered locally, and what the local runtime cannot offer
said in one line: JumpStart's models, which live in AWS's own buckets, and the SDK's Docker-based local mode."""

from __future__ import annotations

import pytest

from tests.sdk.conftest import CLIENTS, ROLE_NAME, SDK_V2, SDK_V3, SdkTarget
from tests.sdk.test_sdk_v2 import assert_served

pytestmark = pytest.mark.e2e

ACCOUNT = "123456789012"


@pytest.mark.compatibility("sagemaker:python-sdk")
def test_the_callers_identity_a_named_default_bucket_and_a_role_session_are_answered_locally(
    sdk_target: SdkTarget,
) -> None:
    # GIVEN the local runtime
    # WHEN the SDK's process asks STS who it is, uses a named default bucket and assumes the execution role
    flow = sdk_target.run(SDK_V2, "account.py")

    # THEN the account is the local one, default_bucket() created its bucket, and the role's session is the role's
    result = assert_served(flow)
    assert result["account"] == ACCOUNT
    assert result["bucket"] == "sdk-account-bucket"
    assert str(result["role_identity"]).startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE_NAME}/")


@pytest.mark.compatibility("sagemaker:python-sdk")
def test_the_sdks_own_sts_calls_are_answered_through_the_exports_serve_prints(sdk_target: SdkTarget) -> None:
    # GIVEN the local runtime and the two variables serve prints for the SDK (HTTPS_PROXY, AWS_CA_BUNDLE)
    # WHEN a bare Session() takes its default bucket and get_execution_role() runs as the default user and as a
    # session of the execution role: calls the SDK sends to https://sts.<region>.amazonaws.com itself
    flow = sdk_target.run(SDK_V2, "execution_role.py")

    # THEN the bucket is the SDK's own name for the local account, the user is refused in the SDK's own words (as
    # on AWS), and the role's session gives the role
    result = assert_served(flow)
    assert result["bucket"] == f"sagemaker-us-east-1-{ACCOUNT}"
    assert result["user_role"] == (
        f"ValueError: The current AWS identity is not a role: arn:aws:sts::{ACCOUNT}:user/moto, "
        "therefore it cannot be used as a SageMaker execution role"
    )
    assert result["execution_role"] == sdk_target.role_arn


def test_the_v3_sdks_own_sts_calls_are_answered_too(sdk_target: SdkTarget) -> None:
    # GIVEN the local runtime and serve's exports
    # WHEN v3's session helper takes its default bucket and its execution role, as v2's does
    flow = sdk_target.run(SDK_V3, "v3_execution_role.py")

    # THEN the same answers
    result = assert_served(flow)
    assert result["bucket"] == f"sagemaker-us-east-1-{ACCOUNT}"
    assert str(result["user_role"]).startswith("ValueError: The current AWS identity is not a role: ")


def test_a_bare_session_and_a_roleless_estimator_take_the_sdks_defaults_file(sdk_target: SdkTarget) -> None:
    # GIVEN the SDK's defaults file naming a default bucket and the execution roles
    config = str(CLIENTS / "sagemaker-defaults.yaml")

    # WHEN a flow starts as the SDK's examples do: sagemaker.Session(), an Estimator without a role
    flow = sdk_target.run(SDK_V2, "session_defaults.py", SAGEMAKER_USER_CONFIG_OVERRIDE=config)

    # THEN default_bucket() created the configured bucket without asking STS, and the estimator took the role
    result = assert_served(flow)
    assert result["bucket"] == "sdk-defaults-bucket"
    assert result["role"] == sdk_target.role_arn


@pytest.mark.compatibility("sagemaker:python-sdk")
def test_jumpstart_says_in_one_line_that_it_is_not_available_locally(sdk_target: SdkTarget) -> None:
    # GIVEN the local runtime
    # WHEN the SDK looks up a JumpStart model, reading its specs from AWS's JumpStart bucket
    flow = sdk_target.run(SDK_V2, "jumpstart_model.py")

    # THEN it fails with the local runtime's one line, naming the bucket, not with an unrelated NoSuchBucket
    result = assert_served(flow)
    error = str(result["error"])
    assert "(NotImplemented)" in error
    assert "SageMaker JumpStart is not available in the local runtime" in error
    assert "jumpstart-cache-prod-us-east-1" in error
    assert "\n" not in error


def test_local_mode_says_in_one_line_that_it_needs_docker(sdk_target: SdkTarget) -> None:
    # GIVEN the local runtime, which runs no containers, on a machine without Docker
    # WHEN an estimator asks for the SDK's own local mode
    flow = sdk_target.run(SDK_V2, "local_mode.py")

    # THEN the SDK refuses before any call, naming Docker Compose: give it an instance type to run here instead
    result = assert_served(flow)
    assert str(result["error"]).startswith("ImportError: Docker Compose is not installed.")
