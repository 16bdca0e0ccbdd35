"""The SageMaker Python SDK v2's model registry flow against the local runtime: register a fitted estimator into a
model package group, approve the version, deploy the approved `ModelPackage` and predict."""

from __future__ import annotations

import pytest

from tests.sdk.conftest import SDK_V2, SdkTarget
from tests.sdk.test_sdk_v2 import assert_served

pytestmark = pytest.mark.e2e


@pytest.mark.compatibility("sagemaker:python-sdk")
def test_registered_model_package_is_approved_deployed_and_predicts(sdk_target: SdkTarget) -> None:
    # GIVEN the local runtime
    # WHEN the SDK registers a fitted XGBoost estimator pending approval, approves it and deploys the package
    flow = sdk_target.run(SDK_V2, "model_registry.py")

    # THEN the group held version 1, pending before the approval and approved after it
    result = assert_served(flow)
    assert result["versions"] == [1]
    assert result["pending"] == "PendingManualApproval"
    assert result["approved"] == "Approved"
    # AND the endpoint served the package's artifact with its image
    assert float(str(result["answer"]).strip()) == pytest.approx(7.0, abs=1.0)
    sagemaker = sdk_target.served.client("sagemaker")
    package = sagemaker.describe_model_package(ModelPackageName=str(result["package"]))
    assert package["ModelPackageGroupName"] == "sdk-registry"
    assert package["InferenceSpecification"]["SupportedContentTypes"] == ["text/csv"]
