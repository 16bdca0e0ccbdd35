"""sagemaker-core, the v3 SDK's resource layer, against the local runtime: a training job, a model, an endpoint
config and an endpoint created as resources, the endpoint invoked, everything deleted."""

from __future__ import annotations

import pytest

from tests.sdk.conftest import SDK_V3, SdkTarget

pytestmark = pytest.mark.e2e


@pytest.mark.compatibility("sagemaker:python-sdk")
def test_resources_train_deploy_and_invoke_xgboost(sdk_target: SdkTarget) -> None:
    # GIVEN the local runtime
    # WHEN sagemaker-core creates and waits for a training job, then a model, a config and an endpoint from it
    flow = sdk_target.run(SDK_V3, "core_resources.py")

    # THEN the job completed and the endpoint answered the CSV request with the regression's value
    assert flow.returncode == 0, flow.output
    assert flow.result is not None, flow.output
    assert flow.result["status"] == "Completed"
    assert float(str(flow.result["answer"]).strip()) == pytest.approx(7.0, abs=1.0)
    # AND the flow's deletes removed the endpoint and its model
    sagemaker = sdk_target.served.client("sagemaker")
    assert sagemaker.list_endpoints(NameContains=str(flow.result["endpoint"]))["Endpoints"] == []
    assert sagemaker.list_models(NameContains=str(flow.result["endpoint"]))["Models"] == []
