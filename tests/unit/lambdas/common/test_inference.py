"""The containers a run's model is served with: the algorithm alone, or preprocess -> model [-> postprocess]."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from lambdas.common.errors import ConfigurationError, InvalidStepEventError
from lambdas.common.inference import (
    SUBMIT_DIRECTORY,
    ServingPreprocessing,
    create_model_arguments,
    serving_containers,
)
from lambdas.common.models import PreprocessingState
from tests.unit.lambdas.states import preprocessing_section

MODEL = "s3://b/models/churn/churn-1/output/model.tar.gz"
FITTED = "s3://b/preprocessed/churn/churn-1/model/model.tar.gz"
ALGORITHM = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
FITTED_SECTION = preprocessing_section(job_name="churn-1", model_artifact=FITTED)
PREPROCESS_ONLY = ServingPreprocessing(image=SKLEARN, entry_point="preprocess.py", postprocess_entry_point=None)
MODEL_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model/churn-1"
BOTH = ServingPreprocessing(image=SKLEARN, entry_point="preprocess.py", postprocess_entry_point="postprocess.py")


def test_without_preprocessing_the_algorithm_is_served_alone() -> None:
    # WHEN the containers of a pipeline without preprocessing are built (the state's section is ignored)
    containers = serving_containers(FITTED_SECTION, MODEL, ALGORITHM, None)

    # THEN there is one, the algorithm with the trained model, and CreateModel gets it as PrimaryContainer
    assert containers == [{"Image": ALGORITHM, "ModelDataUrl": MODEL}]
    assert create_model_arguments(containers) == {"PrimaryContainer": containers[0]}


def test_preprocessing_is_served_in_front_of_the_algorithm() -> None:
    # WHEN the containers of a pipeline with preprocessing only are built
    containers = serving_containers(FITTED_SECTION, MODEL, ALGORITHM, PREPROCESS_ONLY)

    # THEN the fitted artifact answers features as CSV to the algorithm behind it
    assert [c["ContainerHostname"] for c in containers] == ["preprocess", "model"]
    preprocess, model = containers
    assert (preprocess["Image"], preprocess["ModelDataUrl"]) == (SKLEARN, FITTED)
    assert preprocess["Environment"] == {
        "SAGEMAKER_PROGRAM": "preprocess.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": SUBMIT_DIRECTORY,
        "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
    }
    assert model == {"ContainerHostname": "model", "Image": ALGORITHM, "ModelDataUrl": MODEL}


def test_postprocessing_is_served_behind_the_algorithm_with_the_same_artifact() -> None:
    # WHEN the pipeline also postprocesses
    containers = serving_containers(FITTED_SECTION, MODEL, ALGORITHM, BOTH)

    # THEN a third container runs the postprocess script of the same fitted artifact, answering as it likes
    assert [c["ContainerHostname"] for c in containers] == ["preprocess", "model", "postprocess"]
    postprocess = containers[2]
    assert (postprocess["Image"], postprocess["ModelDataUrl"]) == (SKLEARN, FITTED)
    assert postprocess["Environment"] == {
        "SAGEMAKER_PROGRAM": "postprocess.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": SUBMIT_DIRECTORY,
    }


@pytest.mark.parametrize("preprocessing", [PREPROCESS_ONLY, BOTH], ids=["two", "three"])
def test_a_pipeline_model_is_a_serial_inference_pipeline_valid_for_botocore(
    preprocessing: ServingPreprocessing,
) -> None:
    # GIVEN a SageMaker client whose calls are checked against the service model
    client = boto3.client("sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    containers = serving_containers(FITTED_SECTION, MODEL, ALGORITHM, preprocessing)

    # WHEN CreateModel's arguments are built
    arguments = create_model_arguments(containers)

    # THEN they name every container in order, run serially, and botocore accepts them
    assert arguments == {"Containers": containers, "InferenceExecutionConfig": {"Mode": "Serial"}}
    request = {"ModelName": "churn-1", "ExecutionRoleArn": "arn:aws:iam::123456789012:role/r", **arguments}
    with Stubber(client) as stubber:
        stubber.add_response("create_model", {"ModelArn": MODEL_ARN}, request)
        client.create_model(**request)


@pytest.mark.parametrize(
    "fitted", [None, preprocessing_section(model_artifact="")], ids=["no-section", "empty-artifact"]
)
def test_a_run_that_fitted_no_preprocessing_cannot_be_served_with_it(fitted: PreprocessingState | None) -> None:
    with pytest.raises(InvalidStepEventError, match=r"preprocessing\.model_artifact"):
        serving_containers(fitted, MODEL, ALGORITHM, PREPROCESS_ONLY)


def test_serving_preprocessing_is_read_from_the_environment() -> None:
    # GIVEN the stack's PREPROCESSING variable, which also holds the processing job's fields
    spec = {"image": SKLEARN, "entry_point": "preprocess.py", "postprocess_entry_point": "postprocess.py", "x": 1}

    # WHEN / THEN the serving side is taken from it
    assert ServingPreprocessing.from_env({"PREPROCESSING": json.dumps(spec)}) == BOTH
    assert ServingPreprocessing.from_env({"PREPROCESSING": json.dumps({**spec, "postprocess_entry_point": None})}) == (
        PREPROCESS_ONLY
    )


def test_without_the_variable_there_is_no_serving_preprocessing() -> None:
    assert ServingPreprocessing.from_env({}) is None


@pytest.mark.parametrize(
    "raw",
    ["{not json", '["a list"]', json.dumps({"entry_point": "preprocess.py"}), json.dumps({"image": SKLEARN})],
    ids=["not-json", "not-an-object", "no-image", "no-entry-point"],
)
def test_malformed_preprocessing_is_a_configuration_error_naming_the_variable(raw: str) -> None:
    with pytest.raises(ConfigurationError, match="PREPROCESSING must be a JSON object with image and entry_point"):
        ServingPreprocessing.from_env({"PREPROCESSING": raw})
