"""StartPreprocessing: the processing job's request, its adoption on retry, and its settings from the environment."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from contract.names import EXECUTION_TAG
from lambdas.common.errors import ConfigurationError, ResourceConflictError
from lambdas.common.events import Execution
from lambdas.start_preprocessing.core import (
    CODE_DIR,
    RAW_DATA_DIR,
    SCRIPT_ENVIRONMENT,
    PreprocessingSettings,
    container_command,
    processing_job_request,
    start_preprocessing,
)
from tests.unit.lambdas.states import run_section

NOW = datetime(2026, 11, 22, 6, 0, 5, tzinfo=UTC)
CODE_URI = "s3://cdk-hnb659fds-assets-123456789012-us-east-1/0123abcd.tar.gz"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
SETTINGS = PreprocessingSettings(
    pipeline="churn",
    bucket="churn-data",
    output_prefix="preprocessed/churn",
    code_uri=CODE_URI,
    entry_point="preprocess.py",
    image=IMAGE,
    instance_type="ml.m5.large",
    volume_size_gb=30,
    max_runtime_seconds=3600,
    role_arn="arn:aws:iam::123456789012:role/churn-sagemaker",
    poll_interval_seconds=60,
)
RUN = run_section(run_id="churn-20261122060000-abcdef12", manifest_uri="s3://churn-data/manifests/churn/x.manifest")
OUTPUT = f"s3://churn-data/preprocessed/churn/{RUN.run_id}"
SPEC = {
    "output_prefix": "/preprocessed/churn/",
    "code_uri": CODE_URI,
    "entry_point": "preprocess.py",
    "image": IMAGE,
    "instance_type": "ml.m5.large",
    "volume_size_gb": 30,
    "max_runtime_seconds": 3600,
}
ENVIRONMENT = {
    "PIPELINE_NAME": "churn",
    "DATA_BUCKET": "churn-data",
    "SAGEMAKER_ROLE_ARN": "arn:aws:iam::123456789012:role/churn-sagemaker",
    "POLL_INTERVAL_SECONDS": "60",
    "PREPROCESSING": json.dumps(SPEC),
}


@pytest.fixture
def sagemaker(aws: None) -> Any:
    return boto3.client("sagemaker")


def test_the_request_is_valid_for_botocore(execution: Execution) -> None:
    # GIVEN a SageMaker client whose calls are checked against the service model
    client = boto3.client("sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    request = processing_job_request(RUN.run_id, RUN.manifest_uri, execution, SETTINGS)

    # WHEN the request is sent / THEN botocore's parameter validation accepts it
    with Stubber(client) as stubber:
        stubber.add_response("create_processing_job", {"ProcessingJobArn": "arn"}, request)
        client.create_processing_job(**request)


def test_the_request_reads_the_manifest_and_the_source_and_writes_under_the_run(execution: Execution) -> None:
    # WHEN the run's request is built
    request = processing_job_request(RUN.run_id, RUN.manifest_uri, execution, SETTINGS)

    # THEN the manifest's raw files and the packed source are the inputs, where the script's environment says
    inputs = {i["InputName"]: i["S3Input"] for i in request["ProcessingInputs"]}
    assert (inputs["raw"]["S3Uri"], inputs["raw"]["S3DataType"]) == (RUN.manifest_uri, "ManifestFile")
    assert (inputs["code"]["S3Uri"], inputs["code"]["S3DataType"]) == (CODE_URI, "S3Prefix")
    assert (inputs["raw"]["LocalPath"], inputs["code"]["LocalPath"]) == (RAW_DATA_DIR, CODE_DIR)
    assert request["Environment"] == SCRIPT_ENVIRONMENT
    # AND train/ and model/ go under the run's own output prefix
    outputs = {o["OutputName"]: o["S3Output"] for o in request["ProcessingOutputConfig"]["Outputs"]}
    assert outputs["train"]["S3Uri"] == f"{OUTPUT}/train"
    assert outputs["model"]["S3Uri"] == f"{OUTPUT}/model"
    assert outputs["train"]["LocalPath"] == SCRIPT_ENVIRONMENT["TRAINING_DATA_DIR"]
    # AND the job runs the configured image, role, instance and stopping condition, tagged with its execution
    assert request["AppSpecification"]["ImageUri"] == IMAGE
    assert request["RoleArn"] == SETTINGS.role_arn
    assert request["ProcessingResources"]["ClusterConfig"] == {
        "InstanceCount": 1,
        "InstanceType": "ml.m5.large",
        "VolumeSizeInGB": 30,
    }
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    assert {"Key": EXECUTION_TAG, "Value": execution.id} in request["Tags"]


def test_the_command_runs_the_entry_point_quoted_and_packs_the_artifact() -> None:
    # WHEN the command runs an entry point whose name needs quoting
    command = container_command("my prep.py")

    # THEN the shell sees one argument, and the fitted files are packed as model.tar.gz after it ran
    steps = command.split(" && ")
    assert "python3 'my prep.py'" in steps
    assert steps.index("python3 'my prep.py'") < next(i for i, s in enumerate(steps) if "model.tar.gz" in s)
    assert steps[0] == "set -e"


def test_starts_the_job_and_returns_where_its_outputs_will_be(sagemaker: Any, execution: Execution) -> None:
    # WHEN the run's preprocessing starts
    state = start_preprocessing(RUN, execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    # THEN the job exists under the run's id, and the state says where the training data and artifact will be
    job = sagemaker.describe_processing_job(ProcessingJobName=RUN.run_id)
    assert job["AppSpecification"]["ImageUri"] == IMAGE
    assert state.job_name == RUN.run_id
    assert state.training_data_uri == f"{OUTPUT}/train/"
    assert state.model_artifact == f"{OUTPUT}/model/model.tar.gz"
    assert (state.status, state.failure_reason, state.waited_seconds, state.wait_exceeded) == (
        "InProgress",
        None,
        0,
        False,
    )
    assert state.started_at == "2026-11-22T06:00:05.000Z"
    # without history the first wait is the safety net's: 10 intervals
    assert state.poll_seconds == 600


def test_retried_attempt_adopts_the_job_instead_of_starting_a_second(sagemaker: Any, execution: Execution) -> None:
    # GIVEN an attempt that created the job before it failed
    start_preprocessing(RUN, execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    # WHEN the step is retried
    again = start_preprocessing(RUN, execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    # THEN it adopts that job
    assert again.job_name == RUN.run_id
    assert len(sagemaker.list_processing_jobs()["ProcessingJobSummaries"]) == 1


def test_a_job_of_the_same_name_from_another_execution_is_a_conflict(sagemaker: Any, execution: Execution) -> None:
    # GIVEN a job of the run's name that another execution created
    other = Execution(id=execution.id + "-other", name="other", start_time=execution.start_time)
    start_preprocessing(RUN, other, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    # WHEN / THEN this execution refuses to adopt it
    with pytest.raises(ResourceConflictError, match=f"processing job {RUN.run_id}"):
        start_preprocessing(RUN, execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)


def test_settings_come_from_the_environment() -> None:
    # WHEN the stack's PREPROCESSING variable is read
    settings = PreprocessingSettings.from_env(ENVIRONMENT)

    # THEN every field is taken, the output prefix without its slashes, the numbers as numbers
    assert settings == SETTINGS


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({k: v for k, v in ENVIRONMENT.items() if k != "PREPROCESSING"}, "PREPROCESSING is not set"),
        ({**ENVIRONMENT, "PREPROCESSING": "{not json"}, "PREPROCESSING is not valid JSON"),
        ({**ENVIRONMENT, "PREPROCESSING": '["a list"]'}, "PREPROCESSING must be a JSON object"),
        *[
            ({**ENVIRONMENT, "PREPROCESSING": json.dumps({k: v for k, v in SPEC.items() if k != key})}, repr(key))
            for key in SPEC
        ],
        ({**ENVIRONMENT, "PREPROCESSING": json.dumps({**SPEC, "image": ""})}, "PREPROCESSING lacks 'image'"),
    ],
    ids=["unset", "not-json", "not-an-object", *[f"missing-{key}" for key in SPEC], "empty-image"],
)
def test_unset_or_malformed_preprocessing_is_a_configuration_error(environment: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as raised:
        PreprocessingSettings.from_env(environment)
    assert "PREPROCESSING" in str(raised.value)
