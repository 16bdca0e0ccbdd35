"""CheckData's handler: settings from the environment, state in, state out."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from lambdas.check_data.core import ManifestTooLargeError
from lambdas.check_data.handler import lambda_handler
from lambdas.check_data.preflight import SlackSecretMissingError
from lambdas.common.errors import ConfigurationError, InvalidRunInputError

ENVIRONMENT = {
    "PIPELINE_NAME": "churn",
    "DATA_BUCKET": "churn-data",
    "DATA_PREFIX": "data/churn",
    "MANIFEST_PREFIX": "manifests/churn",
    "WAKE_PREFIX": "waits/churn",
    "WATERMARK_PARAMETER": "/sagemaker-retraining/churn/watermark",
    "WINDOW_DAYS": "7",
    "TRAINING_VOLUME_SIZE_GB": "30",
    "MAX_FILES_PER_RUN": "100000",
}
EXECUTION = {
    "id": "arn:aws:states:us-east-1:123456789012:execution:sagemaker-retraining-churn:run-1",
    "name": "run-1",
    "start_time": "2026-11-22T06:00:00.000Z",
}


@pytest.fixture
def environment(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    boto3.client("s3").create_bucket(Bucket="churn-data")
    boto3.client("s3").put_object(Bucket="churn-data", Key="data/churn/2026-11-21.csv", Body=b"1,2\n")
    boto3.client("stepfunctions").create_state_machine(
        name="sagemaker-retraining-churn",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )


def test_returns_the_validated_input_and_the_run(environment: None, lambda_context: Any) -> None:
    state = lambda_handler({"state": {"trigger": "schedule"}, "execution": EXECUTION}, lambda_context)

    assert state["input"] == {
        "force": False,
        "window_days": None,
        "end_date": None,
        "trigger": "schedule",
        "deploy": None,
        "scheduled_time": None,
    }
    assert state["run"]["has_new_data"] is True
    assert state["run"]["run_id"].startswith("churn-20261122060000-")
    json.dumps(state)  # the state machine needs plain JSON


def test_bad_input_fails_before_touching_s3(environment: None, lambda_context: Any) -> None:
    with pytest.raises(InvalidRunInputError, match="window_days"):
        lambda_handler({"state": {"window_days": "seven"}, "execution": EXECUTION}, lambda_context)


def test_missing_environment_names_the_variable(
    environment: None, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WATERMARK_PARAMETER")

    with pytest.raises(ConfigurationError, match="WATERMARK_PARAMETER"):
        lambda_handler({"state": {}, "execution": EXECUTION}, lambda_context)


def test_the_manifest_limits_come_from_the_environment(
    environment: None, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    boto3.client("s3").put_object(Bucket="churn-data", Key="data/churn/2026-11-20.csv", Body=b"1,2\n")
    monkeypatch.setenv("MAX_FILES_PER_RUN", "1")

    with pytest.raises(ManifestTooLargeError, match=r"holds 2 files .* \(training\.max_files_per_run\)"):
        lambda_handler({"state": {}, "execution": EXECUTION}, lambda_context)


def test_the_slack_secret_named_in_the_environment_must_exist(
    environment: None, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_TOKEN_SECRET_NAME", "slack/ml-bot")

    with pytest.raises(SlackSecretMissingError, match="'slack/ml-bot'"):
        lambda_handler({"state": {}, "execution": EXECUTION}, lambda_context)

    boto3.client("secretsmanager").create_secret(Name="slack/ml-bot", SecretString="xoxb-1")
    assert lambda_handler({"state": {}, "execution": EXECUTION}, lambda_context)["run"]["has_new_data"] is True


@pytest.mark.parametrize(("deleted", "warned"), [(True, True), (False, False)])
def test_warns_only_when_the_watermark_parameter_is_gone(
    environment: None, lambda_context: Any, caplog: pytest.LogCaptureFixture, deleted: bool, warned: bool
) -> None:
    ssm = boto3.client("ssm")
    if not deleted:
        ssm.put_parameter(Name=ENVIRONMENT["WATERMARK_PARAMETER"], Value='{"newest_data_date": null}', Type="String")

    state = lambda_handler({"state": {}, "execution": EXECUTION}, lambda_context)

    assert state["run"]["watermark_missing"] is deleted
    assert ("watermark parameter not found" in caplog.text) is warned


@pytest.mark.parametrize(
    ("preprocessing", "preprocess"),
    [(None, False), ('{"image": "img", "entry_point": "preprocess.py"}', True)],
    ids=["without-preprocessing", "with-preprocessing"],
)
def test_the_run_fits_its_preprocessing_first_iff_the_pipeline_has_one(
    environment: None,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
    preprocessing: str | None,
    preprocess: bool,
) -> None:
    # GIVEN a pipeline with or without the PREPROCESSING variable
    if preprocessing is not None:
        monkeypatch.setenv("PREPROCESSING", preprocessing)

    # WHEN the run is checked
    state = lambda_handler({"state": {"trigger": "schedule"}, "execution": EXECUTION}, lambda_context)

    # THEN the state tells the state machine's Choice which step comes next
    assert state["run"]["preprocess"] is preprocess


@pytest.mark.parametrize(
    ("batch_transform", "transforms"),
    [(None, False), ('{"predictions_prefix": "predictions", "instance_type": "ml.m5.large"}', True)],
    ids=["without-batch-transform", "with-batch-transform"],
)
def test_the_run_transforms_after_deploying_iff_the_pipeline_has_a_batch_transform(
    environment: None,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
    batch_transform: str | None,
    transforms: bool,
) -> None:
    # GIVEN a pipeline with or without the BATCH_TRANSFORM variable (and without preprocessing)
    if batch_transform is not None:
        monkeypatch.setenv("BATCH_TRANSFORM", batch_transform)

    # WHEN the run is checked
    state = lambda_handler({"state": {"trigger": "schedule"}, "execution": EXECUTION}, lambda_context)

    # THEN the state tells TransformAfterDeploy whether StartBatchTransform comes after NotifyDeployed
    assert state["run"]["batch_transform"] is transforms
    assert state["run"]["preprocess"] is False
