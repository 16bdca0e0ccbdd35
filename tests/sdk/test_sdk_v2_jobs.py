"""The SageMaker Python SDK v2's job flows against the local runtime: batch transform from a fitted estimator
(`Transformer`) and a scikit-learn processing job (`SKLearnProcessor.run`)."""

from __future__ import annotations

import pytest

from tests.sdk.conftest import SDK_V2, SdkTarget
from tests.sdk.test_sdk_v2 import assert_served

pytestmark = pytest.mark.e2e


@pytest.mark.compatibility("sagemaker:python-sdk")
def test_transformer_from_a_fitted_estimator_writes_one_prediction_a_line(sdk_target: SdkTarget) -> None:
    # GIVEN the local runtime
    # WHEN the SDK fits built-in XGBoost on y = 2x + 1, then transforms a CSV of x = 1, 3, 5 split by line
    flow = sdk_target.run(SDK_V2, "transformer.py")

    # THEN the job's `.out` object holds one prediction a line, in the input's order
    result = assert_served(flow)
    predictions = [float(line) for line in str(result["output"]).splitlines()]
    assert predictions == [pytest.approx(value, abs=1.0) for value in (3.0, 7.0, 11.0)]
    # AND the transform job completed on the model the SDK created from the estimator
    sagemaker = sdk_target.served.client("sagemaker")
    job = sagemaker.describe_transform_job(TransformJobName=str(result["job"]))
    assert job["TransformJobStatus"] == "Completed"
    assert job["ModelName"] == result["model"]


@pytest.mark.compatibility("sagemaker:python-sdk")
def test_sklearn_processor_runs_its_script_and_uploads_the_outputs(sdk_target: SdkTarget) -> None:
    # GIVEN the local runtime
    # WHEN SKLearnProcessor.run uploads preprocess.py and runs it on a 100-row CSV, 20 rows kept for test
    flow = sdk_target.run(SDK_V2, "sklearn_processor.py")

    # THEN the job completed and both outputs reached S3: the default destination the SDK chose and the given one
    result = assert_served(flow)
    assert result["status"] == "Completed"
    assert str(result["train_uri"]).startswith(f"s3://sdk-tests/{result['job']}/output/train")
    assert len(str(result["train"]).splitlines()) == 80
    assert len(str(result["test"]).splitlines()) == 20
