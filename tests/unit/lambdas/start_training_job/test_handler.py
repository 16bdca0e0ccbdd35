"""StartTrainingJob's handler: the data check switched by the environment, the job created only on good data."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest

from lambdas.common.errors import ConfigurationError
from lambdas.start_training_job.handler import lambda_handler
from lambdas.start_training_job.validation import DataObjectMissingError, InvalidTrainingDataError
from tests.unit.lambdas.states import preprocessing_section, run_section

BUCKET = "churn-data"
MANIFEST_KEY = "manifests/churn/run-1.manifest"
ENVIRONMENT = {
    "PIPELINE_NAME": "churn",
    "DATA_BUCKET": BUCKET,
    "MODEL_PREFIX": "models/churn",
    "TRAINING_IMAGE": "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1",
    "SAGEMAKER_ROLE_ARN": "arn:aws:iam::123456789012:role/churn-sagemaker",
    "TRAINING_INSTANCE_TYPE": "ml.m5.large",
    "TRAINING_INSTANCE_COUNT": "1",
    "TRAINING_VOLUME_SIZE_GB": "30",
    "TRAINING_MAX_RUNTIME_SECONDS": "3600",
    "HYPERPARAMETERS": '{"predictor_type": "regressor"}',
    "POLL_INTERVAL_SECONDS": "60",
    "VALIDATE_DATA": "true",
}
EVENT = {
    "state": {
        "run": run_section(
            run_id="churn-20261122060000-abcdef12", manifest_uri=f"s3://{BUCKET}/{MANIFEST_KEY}"
        ).to_state(),
    },
    "execution": {
        "id": "arn:aws:states:us-east-1:123456789012:execution:sagemaker-retraining-churn:run-1",
        "name": "run-1",
        "start_time": "2026-11-22T06:00:00.000Z",
    },
}


@pytest.fixture
def environment(aws: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    manifest = [{"prefix": f"s3://{BUCKET}/data/churn/"}, "2026-11-21.csv"]
    s3.put_object(Bucket=BUCKET, Key=MANIFEST_KEY, Body=json.dumps(manifest).encode())
    return s3


def put_data(s3: Any, body: bytes) -> None:
    s3.put_object(Bucket=BUCKET, Key="data/churn/2026-11-21.csv", Body=body)


def training_jobs() -> list[Any]:
    jobs: list[Any] = boto3.client("sagemaker").list_training_jobs()["TrainingJobSummaries"]
    return jobs


def test_good_data_is_checked_and_the_job_started(environment: Any, lambda_context: Any) -> None:
    put_data(environment, b"1,2,3\n4,5,6\n")

    state = lambda_handler(EVENT, lambda_context)

    assert state["training"]["job_name"] == "churn-20261122060000-abcdef12"
    assert len(training_jobs()) == 1


@pytest.mark.parametrize(
    ("body", "error"),
    [(b"1,2,3\n4,x,6\n", InvalidTrainingDataError), (None, DataObjectMissingError)],
    ids=["malformed-row", "deleted-file"],
)
def test_bad_or_missing_data_fails_before_any_training_job(
    environment: Any, lambda_context: Any, body: bytes | None, error: type[Exception]
) -> None:
    if body is not None:
        put_data(environment, body)

    with pytest.raises(error, match=re.escape(f"s3://{BUCKET}/data/churn/2026-11-21.csv")):
        lambda_handler(EVENT, lambda_context)

    assert training_jobs() == []


def test_with_validation_off_the_data_is_left_to_the_training_job(
    environment: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_data(environment, b"1,2,3\n4,x,6\n")
    monkeypatch.setenv("VALIDATE_DATA", "false")

    lambda_handler(EVENT, lambda_context)

    assert len(training_jobs()) == 1


def test_an_unreadable_switch_names_the_variable(
    environment: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VALIDATE_DATA", "yes")

    with pytest.raises(ConfigurationError, match="VALIDATE_DATA must be true or false"):
        lambda_handler(EVENT, lambda_context)


PREPROCESSED_PREFIX = "preprocessed/churn/churn-20261122060000-abcdef12/train/"
PREPROCESSED_EVENT = {
    **EVENT,
    "state": {
        **EVENT["state"],
        "preprocessing": preprocessing_section(
            job_name="churn-20261122060000-abcdef12", training_data_uri=f"s3://{BUCKET}/{PREPROCESSED_PREFIX}"
        ).to_state(),
    },
}


def test_with_preprocessing_the_transformed_data_is_checked_and_trained_on(
    environment: Any, lambda_context: Any
) -> None:
    # GIVEN raw data that is not numeric (the preprocessing's job) and its transformed, numeric output
    put_data(environment, b"yes,basic,12.5\n")
    environment.put_object(Bucket=BUCKET, Key=f"{PREPROCESSED_PREFIX}part-0.csv", Body=b"1,0,1,0.5\n")

    # WHEN the step runs after the preprocessing
    lambda_handler(PREPROCESSED_EVENT, lambda_context)

    # THEN the job trains on the transformed data
    job = boto3.client("sagemaker").describe_training_job(TrainingJobName="churn-20261122060000-abcdef12")
    assert job["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == f"s3://{BUCKET}/{PREPROCESSED_PREFIX}"


def test_with_preprocessing_bad_transformed_data_fails_naming_it(environment: Any, lambda_context: Any) -> None:
    environment.put_object(Bucket=BUCKET, Key=f"{PREPROCESSED_PREFIX}part-0.csv", Body=b"1,0,1,0.5\n1,0,x,0.5\n")

    with pytest.raises(InvalidTrainingDataError, match=re.escape(f"the preprocessed data s3://{BUCKET}/")):
        lambda_handler(PREPROCESSED_EVENT, lambda_context)

    assert training_jobs() == []


HOLDOUT_KEY = "manifests/churn/run-1.holdout.manifest"
HOLDOUT_EVENT = {
    **EVENT,
    "state": {
        "run": {
            **EVENT["state"]["run"],
            "holdout_manifest_uri": f"s3://{BUCKET}/{HOLDOUT_KEY}",
            "holdout_file_count": 1,
        }
    },
}


def put_holdout(s3: Any, body: bytes) -> None:
    manifest = [{"prefix": f"s3://{BUCKET}/data/churn/"}, "2026-11-22.csv"]
    s3.put_object(Bucket=BUCKET, Key=HOLDOUT_KEY, Body=json.dumps(manifest).encode())
    s3.put_object(Bucket=BUCKET, Key="data/churn/2026-11-22.csv", Body=body)


@pytest.mark.parametrize(
    ("holdout", "message"),
    [
        (b"1,2,3\n4,x,6\n", "s3://churn-data/data/churn/2026-11-22.csv"),
        (b"1,2\n3,4\n", "the holdout's files (s3://churn-data/manifests/churn/run-1.holdout.manifest) have 2 columns"),
    ],
    ids=["malformed-row", "other-columns"],
)
def test_a_bad_holdout_file_fails_before_any_training_job_like_a_training_file(
    environment: Any, lambda_context: Any, holdout: bytes, message: str
) -> None:
    # GIVEN good training data and a held-out day that is malformed or has other columns
    put_data(environment, b"1,2,3\n4,5,6\n")
    put_holdout(environment, holdout)

    # WHEN the step runs, THEN it fails naming the holdout's file, before any job exists
    with pytest.raises(InvalidTrainingDataError, match=re.escape(message)):
        lambda_handler(HOLDOUT_EVENT, lambda_context)
    assert training_jobs() == []


def test_a_good_holdout_is_checked_and_becomes_the_validation_channel(environment: Any, lambda_context: Any) -> None:
    put_data(environment, b"1,2,3\n4,5,6\n")
    put_holdout(environment, b"7,8,9\n")

    lambda_handler(HOLDOUT_EVENT, lambda_context)

    job = boto3.client("sagemaker").describe_training_job(TrainingJobName="churn-20261122060000-abcdef12")
    assert [channel["ChannelName"] for channel in job["InputDataConfig"]] == ["train", "validation"]
