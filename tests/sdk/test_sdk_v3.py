"""The SageMaker Python SDK v3 against the local runtime: `ModelTrainer.train` -> `ModelBuilder.build` ->
`deploy` -> `invoke`, with built-in XGBoost (a ModelTrainer given source code runs the SDK's own shell driver as
the container's entrypoint, inside the framework image: see clients/v3_xgboost.py)."""

from __future__ import annotations

import pytest

from tests.sdk.conftest import SDK_V3, SdkTarget

pytestmark = pytest.mark.e2e


@pytest.mark.compatibility("sagemaker:python-sdk")
def test_model_trainer_and_model_builder_train_deploy_and_invoke_xgboost(sdk_target: SdkTarget) -> None:
    # GIVEN the local runtime
    # WHEN the v3 SDK trains the sagemaker-xgboost image with ModelTrainer, builds and deploys it with ModelBuilder
    flow = sdk_target.run(SDK_V3, "v3_xgboost.py")

    # THEN the SDK validated the execution role with iam:SimulatePrincipalPolicy and found it usable
    assert "Skipping IAM role validation" not in flow.output
    # AND the endpoint answered the CSV request with the regression's value
    assert flow.returncode == 0, flow.output
    assert flow.result is not None, flow.output
    assert float(str(flow.result["answer"]).strip()) == pytest.approx(7.0, abs=1.0)
    sagemaker = sdk_target.served.client("sagemaker")
    assert sagemaker.describe_training_job(TrainingJobName=flow.result["job"])["TrainingJobStatus"] == "Completed"
