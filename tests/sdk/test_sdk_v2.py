"""The SageMaker Python SDK v2's standard flow against the local runtime: `Estimator.fit` -> `deploy` ->
`predictor.predict`, for Linear Learner, built-in XGBoost and a scikit-learn Script Mode estimator."""

from __future__ import annotations

import pytest

from tests.sdk.conftest import SDK_V2, Flow, SdkTarget

pytestmark = pytest.mark.e2e

EXPECTED = 7.0  # the clients train on y = 2x + 1 and ask for x = 3


def assert_served(flow: Flow) -> dict[str, object]:
    assert flow.returncode == 0, flow.output
    assert flow.result is not None, flow.output
    return flow.result


def test_linear_learner_fits_deploys_and_predicts(sdk_target: SdkTarget) -> None:
    # GIVEN the local runtime served as `make serve` serves it
    # WHEN the SDK fits Linear Learner (image from image_uris.retrieve), deploys it and predicts x = 3 as CSV
    flow = sdk_target.run(SDK_V2, "linear_learner.py")

    # THEN the job completed, the endpoint answered Linear Learner's JSON with the regression's score
    result = assert_served(flow)
    answer = result["answer"]
    assert isinstance(answer, dict)
    assert answer["predictions"][0]["score"] == pytest.approx(EXPECTED, abs=0.5)
    sagemaker = sdk_target.served.client("sagemaker")
    assert sagemaker.describe_training_job(TrainingJobName=result["job"])["TrainingJobStatus"] == "Completed"
    # AND the flow's clean-up deleted its endpoint
    assert sagemaker.list_endpoints(NameContains=str(result["endpoint"]))["Endpoints"] == []


def test_builtin_xgboost_fits_deploys_and_predicts(sdk_target: SdkTarget) -> None:
    # GIVEN the local runtime
    # WHEN the SDK fits the sagemaker-xgboost 1.7-1 image in algorithm mode (no script), deploys it and predicts
    flow = sdk_target.run(SDK_V2, "xgboost_builtin.py")

    # THEN the endpoint answered as the built-in does for text/csv: one number a line
    result = assert_served(flow)
    assert float(str(result["answer"]).strip()) == pytest.approx(EXPECTED, abs=1.0)


@pytest.mark.compatibility("sagemaker:python-sdk")
def test_sklearn_script_mode_fits_deploys_and_predicts(sdk_target: SdkTarget) -> None:
    # GIVEN the local runtime
    # WHEN the SDK fits SKLearn(entry_point="train.py", source_dir=...), deploys it and predicts x = 3
    flow = sdk_target.run(SDK_V2, "sklearn_script.py")

    # THEN the script's model_fn, found through the S3 sourcedir.tar.gz the SDK names in SAGEMAKER_SUBMIT_DIRECTORY,
    # served the fitted regression
    result = assert_served(flow)
    assert result["answer"] == [pytest.approx(EXPECTED, abs=0.01)]
