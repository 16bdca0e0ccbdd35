"""StartTrainingJob against moto's SageMaker."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from contract.names import EXECUTION_TAG
from lambdas.common.errors import ResourceConflictError
from lambdas.common.events import Execution
from lambdas.start_training_job.core import TrainingSettings, start_training_job
from lambdas.start_training_job.validation import InvalidTrainingDataError
from tests.unit.lambdas.states import run_section

NOW = datetime(2026, 11, 22, 6, 0, 5, tzinfo=UTC)
SETTINGS = TrainingSettings(
    pipeline="churn",
    bucket="churn-data",
    model_prefix="models/churn",
    image="382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1",
    role_arn="arn:aws:iam::123456789012:role/churn-sagemaker",
    instance_type="ml.m5.large",
    instance_count=1,
    volume_size_gb=30,
    max_runtime_seconds=7200,
    hyperparameters={"predictor_type": "regressor", "epochs": "5"},
    poll_interval_seconds=60,
)
RUN = run_section(run_id="churn-20261122060000-abcdef12", manifest_uri="s3://churn-data/manifests/churn/x.manifest")


@pytest.fixture
def sagemaker(aws: None) -> Any:
    return boto3.client("sagemaker")


def test_starts_a_job_reading_the_manifest_and_writing_under_the_model_prefix(
    sagemaker: Any, execution: Execution
) -> None:
    state = start_training_job(RUN, execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    job = sagemaker.describe_training_job(TrainingJobName=RUN.run_id)
    source = job["InputDataConfig"][0]["DataSource"]["S3DataSource"]
    assert (source["S3DataType"], source["S3Uri"]) == ("ManifestFile", RUN.manifest_uri)
    assert job["InputDataConfig"][0]["ContentType"] == "text/csv"
    assert job["OutputDataConfig"]["S3OutputPath"] == "s3://churn-data/models/churn/"
    assert job["HyperParameters"] == SETTINGS.hyperparameters
    assert job["AlgorithmSpecification"]["TrainingImage"] == SETTINGS.image
    assert job["StoppingCondition"]["MaxRuntimeInSeconds"] == 7200
    assert state.job_name == RUN.run_id
    # without history the first wait is the safety net's: 10 intervals (SageMaker's event usually comes first)
    assert (state.status, state.poll_seconds, state.started_at) == (
        "InProgress",
        600,
        "2026-11-22T06:00:05.000Z",
    )


def test_retried_attempt_adopts_the_job_instead_of_starting_a_second(sagemaker: Any, execution: Execution) -> None:
    start_training_job(RUN, execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    again = start_training_job(RUN, execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    assert again.job_name == RUN.run_id
    assert len(sagemaker.list_training_jobs()["TrainingJobSummaries"]) == 1


class CountedDescribes:
    """The SageMaker client, counting DescribeTrainingJob; with `hide_first`, the first describe answers "not
    found", as when the first attempt's create lands between this attempt's look and its own create."""

    def __init__(self, sagemaker: Any, *, hide_first: bool = False) -> None:
        self._sagemaker = sagemaker
        self._hide_first = hide_first
        self.describes = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sagemaker, name)

    def describe_training_job(self, **arguments: Any) -> Any:
        self.describes += 1
        if self._hide_first and self.describes == 1:
            raise ClientError({"Error": {"Code": "ResourceNotFound", "Message": "not found"}}, "DescribeTrainingJob")
        return self._sagemaker.describe_training_job(**arguments)


def test_a_retried_attempt_describes_the_job_it_adopts_once(sagemaker: Any, execution: Execution) -> None:
    start_training_job(RUN, execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)
    counted = CountedDescribes(sagemaker)

    start_training_job(RUN, execution, sagemaker=counted, settings=SETTINGS, now=NOW)

    assert counted.describes == 1


@pytest.mark.parametrize("owner", ["this execution", "another execution"])
def test_a_job_created_between_the_look_and_the_create_is_adopted_if_this_execution_started_it(
    sagemaker: Any, execution: Execution, owner: str
) -> None:
    # GIVEN a job of the run's name that the look did not see (the first attempt's create landed late)
    first = (
        execution if owner == "this execution" else Execution(execution.id + "-other", "other", execution.start_time)
    )
    start_training_job(RUN, first, sagemaker=sagemaker, settings=SETTINGS, now=NOW)
    late = CountedDescribes(sagemaker, hide_first=True)

    # WHEN this attempt's create is refused as a duplicate
    if owner == "another execution":
        with pytest.raises(ResourceConflictError, match=RUN.run_id):
            start_training_job(RUN, execution, sagemaker=late, settings=SETTINGS, now=NOW)
    else:
        state = start_training_job(RUN, execution, sagemaker=late, settings=SETTINGS, now=NOW)
        assert state.job_name == RUN.run_id

    # THEN the job was described again to see who started it, and there is still one job
    assert late.describes == 2
    assert len(sagemaker.list_training_jobs()["TrainingJobSummaries"]) == 1


def test_a_job_of_the_same_name_from_another_execution_is_a_conflict(sagemaker: Any, execution: Execution) -> None:
    other = Execution(id=execution.id + "-other", name="other", start_time=execution.start_time)
    start_training_job(RUN, other, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    with pytest.raises(ResourceConflictError, match=RUN.run_id):
        start_training_job(RUN, execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)


def test_the_job_is_tagged_with_its_execution(sagemaker: Any, execution: Execution) -> None:
    start_training_job(RUN, execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    arn = sagemaker.describe_training_job(TrainingJobName=RUN.run_id)["TrainingJobArn"]
    tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=arn)["Tags"]}
    assert tags[EXECUTION_TAG] == execution.id


class RecordingValidator:
    """Stands in for the data check: records the manifests it was asked about, raises if told to."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.checked: list[str] = []

    def __call__(self, manifest_uri: str) -> None:
        self.checked.append(manifest_uri)
        if self.error is not None:
            raise self.error


def test_the_data_is_checked_before_the_job_is_created(sagemaker: Any, execution: Execution) -> None:
    validate = RecordingValidator()

    start_training_job(RUN, execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW, validate=validate)

    assert validate.checked == [RUN.manifest_uri]
    assert len(sagemaker.list_training_jobs()["TrainingJobSummaries"]) == 1


def test_bad_data_stops_the_run_before_any_job_exists(sagemaker: Any, execution: Execution) -> None:
    validate = RecordingValidator(InvalidTrainingDataError("s3://churn-data/data/churn/a.csv line 2: ..."))

    with pytest.raises(InvalidTrainingDataError, match=r"a\.csv line 2"):
        start_training_job(RUN, execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW, validate=validate)

    assert sagemaker.list_training_jobs()["TrainingJobSummaries"] == []


def test_a_retried_attempt_adopts_the_job_without_checking_the_data_again(sagemaker: Any, execution: Execution) -> None:
    # GIVEN the first attempt checked the data and created the job
    start_training_job(RUN, execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW, validate=RecordingValidator())

    # WHEN a retried attempt runs after the data changed (the check would fail now)
    validate = RecordingValidator(InvalidTrainingDataError("changed since"))
    again = start_training_job(RUN, execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW, validate=validate)

    # THEN it adopts the job and does not check again
    assert again.job_name == RUN.run_id
    assert validate.checked == []


def test_with_preprocessing_the_job_trains_on_the_transformed_data_checked_first(
    sagemaker: Any, execution: Execution
) -> None:
    # GIVEN the prefix where the run's preprocessing wrote the transformed training data
    preprocessed = "s3://churn-data/preprocessed/churn/churn-20261122060000-abcdef12/train/"
    validate = RecordingValidator()

    # WHEN the training job starts
    start_training_job(
        RUN,
        execution,
        sagemaker=sagemaker,
        settings=SETTINGS,
        now=NOW,
        validate=validate,
        preprocessed_data_uri=preprocessed,
    )

    # THEN that data, not the raw manifest, was checked and is the train channel, read as a prefix
    assert validate.checked == [preprocessed]
    job = sagemaker.describe_training_job(TrainingJobName=RUN.run_id)
    source = job["InputDataConfig"][0]["DataSource"]["S3DataSource"]
    assert (source["S3DataType"], source["S3Uri"]) == ("S3Prefix", preprocessed)


HOLDOUT_URI = "s3://churn-data/manifests/churn/x.holdout.manifest"


def channels(sagemaker: Any) -> dict[str, tuple[str, str, str]]:
    job = sagemaker.describe_training_job(TrainingJobName=RUN.run_id)
    return {
        channel["ChannelName"]: (
            channel["DataSource"]["S3DataSource"]["S3DataType"],
            channel["DataSource"]["S3DataSource"]["S3Uri"],
            channel["ContentType"],
        )
        for channel in job["InputDataConfig"]
    }


def test_the_holdout_is_the_validation_channel_checked_like_the_training_data(
    sagemaker: Any, execution: Execution
) -> None:
    # GIVEN a run whose CheckData held the newest day out
    run = replace(RUN, holdout_manifest_uri=HOLDOUT_URI, holdout_file_count=1)
    validate = RecordingValidator()

    # WHEN the training job starts
    start_training_job(run, execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW, validate=validate)

    # THEN both manifests were checked, and the job reads the holdout as its validation channel
    assert validate.checked == [RUN.manifest_uri, HOLDOUT_URI]
    assert channels(sagemaker) == {
        "train": ("ManifestFile", RUN.manifest_uri, "text/csv"),
        "validation": ("ManifestFile", HOLDOUT_URI, "text/csv"),
    }


def test_with_preprocessing_the_holdout_is_not_a_channel(sagemaker: Any, execution: Execution) -> None:
    # GIVEN a run with a holdout and preprocessing, whose output is the job's only input
    run = replace(RUN, holdout_manifest_uri=HOLDOUT_URI, holdout_file_count=1)
    preprocessed = "s3://churn-data/preprocessed/churn/run/train/"

    start_training_job(
        run, execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW, preprocessed_data_uri=preprocessed
    )

    assert list(channels(sagemaker)) == ["train"]


def input_modes(sagemaker: Any) -> dict[str, tuple[str | None, str | None]]:
    """Each channel's InputMode and CompressionType as the job was created (None: not given)."""
    job = sagemaker.describe_training_job(TrainingJobName=RUN.run_id)
    return {c["ChannelName"]: (c.get("InputMode"), c.get("CompressionType")) for c in job["InputDataConfig"]}


@pytest.mark.parametrize(
    ("compression", "expected"), [("Gzip", ("Pipe", "Gzip")), ("None", (None, None))], ids=["gzip", "plain"]
)
def test_a_gzip_windows_channels_are_streamed_and_decompressed(
    sagemaker: Any, execution: Execution, compression: str, expected: tuple[str | None, str | None]
) -> None:
    # GIVEN a window of .csv.gz files (or plain ones), with a holdout
    run = replace(RUN, holdout_manifest_uri=HOLDOUT_URI, holdout_file_count=1, compression=compression)

    start_training_job(run, execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    # THEN both channels take the one mode in which SageMaker decompresses, Pipe (File mode refuses Gzip)
    assert input_modes(sagemaker) == {"train": expected, "validation": expected}


def test_the_preprocessed_data_of_a_gzip_window_is_plain(sagemaker: Any, execution: Execution) -> None:
    run = replace(RUN, compression="Gzip")

    start_training_job(
        run, execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW, preprocessed_data_uri="s3://b/pre/train/"
    )

    assert input_modes(sagemaker) == {"train": (None, None)}


def test_a_gzip_channel_is_valid_for_botocore(execution: Execution) -> None:
    client = boto3.client("sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    run = replace(RUN, compression="Gzip")

    with Stubber(client) as stubber:
        stubber.add_client_error("describe_training_job", "ValidationException", "Requested resource not found")
        stubber.add_response("create_training_job", {"TrainingJobArn": "arn"})
        start_training_job(run, execution, sagemaker=client, settings=SETTINGS, now=NOW)
        stubber.assert_no_pending_responses()
