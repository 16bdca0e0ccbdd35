"""StartBatchTransform: the newest day's data files found in either layout and listed in the job's manifest, the
job's request, its adoption on retry, and its settings from the environment."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from contract.names import EXECUTION_TAG
from lambdas.common.data_files import MixedCompressionError
from lambdas.common.errors import ConfigurationError, InvalidStepEventError, ResourceConflictError
from lambdas.common.events import Execution
from lambdas.common.models import DeploymentState, RunState
from lambdas.common.transform import TransformRequestError
from lambdas.start_batch_transform.core import BatchTransformSettings, start_batch_transform
from tests.unit.lambdas.states import deployment_section, run_section

NOW = datetime(2026, 11, 22, 7, 0, 5, tzinfo=UTC)
BUCKET = "churn-data"
SETTINGS = BatchTransformSettings(
    pipeline="churn",
    bucket=BUCKET,
    data_prefix="daily/churn",
    manifest_prefix="manifests/churn",
    predictions_prefix="predictions",
    instance_type="ml.m5.large",
    instance_count=1,
    content_type="text/csv",
    accept="application/jsonlines",
    input_filter="$[1:]",
    max_payload_mb=6,
    poll_interval_seconds=60,
)
RUN_ID = "churn-20261122060000-abcdef12"
STATE = {
    "run": run_section(run_id=RUN_ID, newest_data_date="2026-11-21").to_state(),
    "deployment": deployment_section(model_name="churn-model-20261122", endpoint_name="churn").to_state(),
}
SPEC = {
    "predictions_prefix": "predictions",
    "instance_type": "ml.m5.large",
    "instance_count": 1,
    "content_type": "text/csv",
    "accept": "application/jsonlines",
    "input_filter": "$[1:]",
    "max_payload_mb": 6,
}
ENVIRONMENT = {
    "PIPELINE_NAME": "churn",
    "DATA_BUCKET": BUCKET,
    "DATA_PREFIX": "/daily/churn/",
    "MANIFEST_PREFIX": "manifests/churn/",
    "POLL_INTERVAL_SECONDS": "60",
    "BATCH_TRANSFORM": json.dumps(SPEC),
}
FLAT_KEY = "daily/churn/2026-11-21.csv"
HIVE_KEY = "daily/churn/dt=2026-11-21/part-0.csv"
MANIFEST_URI = f"s3://{BUCKET}/manifests/churn/{RUN_ID}.transform.manifest"
OUTPUT_URI = f"s3://{BUCKET}/predictions/daily/churn/"


@pytest.fixture
def s3(aws: None) -> Any:
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def sagemaker(aws: None) -> Any:
    return boto3.client("sagemaker")


def _put(s3: Any, *keys: str) -> None:
    for key in keys:
        body = b"0,basic,12\n1,premium,3\n"
        s3.put_object(Bucket=BUCKET, Key=key, Body=gzip.compress(body) if key.endswith(".gz") else body)


def _manifest(s3: Any) -> list[Any]:
    body = s3.get_object(Bucket=BUCKET, Key=MANIFEST_URI.removeprefix(f"s3://{BUCKET}/"))["Body"].read()
    return list(json.loads(body))


def _start(state: dict[str, Any], execution: Execution, s3: Any, sagemaker: Any) -> Any:
    """Start the job on the state's sections, read as the handler reads them."""
    return start_batch_transform(
        RunState.read(state),
        DeploymentState.read_optional(state),
        execution,
        s3=s3,
        sagemaker=sagemaker,
        settings=SETTINGS,
        now=NOW,
    )


def test_the_request_is_valid_for_botocore(s3: Any, execution: Execution) -> None:
    # GIVEN a SageMaker client whose calls are checked against the service model, and the day's file
    _put(s3, FLAT_KEY)
    client = boto3.client("sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")

    # WHEN the step starts the job through it / THEN botocore's parameter validation accepts the request
    with Stubber(client) as stubber:
        stubber.add_client_error("describe_transform_job", "ValidationException", "Could not find requested job")
        stubber.add_response("create_transform_job", {"TransformJobArn": "arn"})
        _start(STATE, execution, s3, client)
        stubber.assert_no_pending_responses()


def test_a_day_file_is_transformed_into_its_folder_under_the_predictions_prefix(
    s3: Any, sagemaker: Any, execution: Execution
) -> None:
    # GIVEN the newest day as one file
    _put(s3, FLAT_KEY)

    # WHEN the step runs
    state = _start(STATE, execution, s3, sagemaker)

    # THEN the job named after the run reads that file, listed in a manifest beside the run's, with the deployed
    # model, writing beside it under predictions/
    job = sagemaker.describe_transform_job(TransformJobName=RUN_ID)
    assert job["ModelName"] == "churn-model-20261122"
    source = job["TransformInput"]["DataSource"]["S3DataSource"]
    assert (source["S3DataType"], source["S3Uri"]) == ("ManifestFile", MANIFEST_URI)
    assert job["TransformInput"]["CompressionType"] == "None"
    assert _manifest(s3) == [{"prefix": f"s3://{BUCKET}/daily/churn/"}, "2026-11-21.csv"]
    assert job["TransformOutput"]["S3OutputPath"] == OUTPUT_URI
    assert (job["TransformResources"]["InstanceType"], job["TransformResources"]["InstanceCount"]) == (
        "ml.m5.large",
        1,
    )
    tags = sagemaker.list_tags(ResourceArn=job["TransformJobArn"])["Tags"]
    assert {"Key": EXECUTION_TAG, "Value": execution.id} in tags
    # AND the state says so, with the first wait of a job that has no history
    assert (state.job_name, state.day, state.status, state.failure_reason) == (
        RUN_ID,
        "2026-11-21",
        "InProgress",
        None,
    )
    assert (state.input_uri, state.output_uri) == (MANIFEST_URI, OUTPUT_URI)
    assert (state.started_at, state.waited_seconds, state.wait_exceeded, state.poll_seconds) == (
        "2026-11-22T07:00:05.000Z",
        0,
        False,
        600,
    )


def test_a_dt_folders_data_files_are_transformed_never_its_siblings(
    s3: Any, sagemaker: Any, execution: Execution
) -> None:
    # GIVEN the newest day as a dt= folder of files, as Spark writes it, with a README beside them
    _put(s3, HIVE_KEY, "daily/churn/dt=2026-11-21/part-1.csv", "daily/churn/dt=2026-11-21/sub/part-2.csv")
    _put(s3, "daily/churn/dt=2026-11-21/_SUCCESS", "daily/churn/dt=2026-11-21/README.txt")

    # WHEN the step runs
    state = _start(STATE, execution, s3, sagemaker)

    # THEN the manifest lists exactly the data files CheckData trains on; their predictions land at their keys below
    # the data prefix, under predictions/ (the dt= folder mirrored)
    assert _manifest(s3)[1:] == [
        "dt=2026-11-21/part-0.csv",
        "dt=2026-11-21/part-1.csv",
        "dt=2026-11-21/sub/part-2.csv",
    ]
    assert (state.input_uri, state.output_uri) == (MANIFEST_URI, OUTPUT_URI)


def test_a_gzip_day_is_decompressed_by_the_transform_job(s3: Any, sagemaker: Any, execution: Execution) -> None:
    _put(s3, "daily/churn/dt=2026-11-21/part-0.csv.gz", "daily/churn/dt=2026-11-21/part-1.csv.gz")

    _start(STATE, execution, s3, sagemaker)

    job = sagemaker.describe_transform_job(TransformJobName=RUN_ID)
    assert job["TransformInput"]["CompressionType"] == "Gzip"
    assert _manifest(s3)[1:] == ["dt=2026-11-21/part-0.csv.gz", "dt=2026-11-21/part-1.csv.gz"]


def test_a_day_mixing_gzip_and_plain_files_starts_nothing(s3: Any, sagemaker: Any, execution: Execution) -> None:
    _put(s3, "daily/churn/dt=2026-11-21/part-0.csv.gz", HIVE_KEY)

    with pytest.raises(MixedCompressionError, match="day 2026-11-21 mixes gzip-compressed and plain files"):
        _start(STATE, execution, s3, sagemaker)
    assert sagemaker.list_transform_jobs()["TransformJobSummaries"] == []


def test_a_retried_attempt_adopts_the_job_and_reads_its_input_and_output_back(
    s3: Any, sagemaker: Any, execution: Execution
) -> None:
    # GIVEN an attempt that started the job before it failed, and data that changed since
    _put(s3, FLAT_KEY)
    first = _start(STATE, execution, s3, sagemaker)
    s3.delete_object(Bucket=BUCKET, Key=FLAT_KEY)
    _put(s3, HIVE_KEY)

    # WHEN the step is retried
    again = _start(STATE, execution, s3, sagemaker)

    # THEN it adopts the job, reporting what the job reads and writes rather than what it would look for now
    assert (again.job_name, again.input_uri, again.output_uri) == (RUN_ID, first.input_uri, first.output_uri)
    assert [j["TransformJobName"] for j in sagemaker.list_transform_jobs()["TransformJobSummaries"]] == [RUN_ID]


def test_a_job_of_the_same_name_from_another_execution_is_a_conflict(
    s3: Any, sagemaker: Any, execution: Execution
) -> None:
    # GIVEN a job of the run's name that another execution started
    _put(s3, FLAT_KEY)
    other = Execution(id=execution.id + "-other", name="other", start_time=execution.start_time)
    _start(STATE, other, s3, sagemaker)

    # WHEN / THEN this execution refuses to adopt it
    with pytest.raises(ResourceConflictError, match=f"transform job {RUN_ID}"):
        _start(STATE, execution, s3, sagemaker)


@pytest.mark.parametrize(
    "state",
    [
        {"run": {**STATE["run"], "newest_data_date": None}, "deployment": STATE["deployment"]},
        {"run": STATE["run"]},
        {"run": STATE["run"], "deployment": {**STATE["deployment"], "model_name": ""}},
    ],
    ids=["null-newest-day", "no-deployment", "no-model"],
)
def test_a_run_without_a_newest_day_or_a_deployed_model_is_an_invalid_event(
    state: dict[str, Any], s3: Any, sagemaker: Any, execution: Execution
) -> None:
    _put(s3, FLAT_KEY)

    with pytest.raises(InvalidStepEventError, match=r"run\.newest_data_date.*deployment\.model_name"):
        _start(state, execution, s3, sagemaker)
    assert sagemaker.list_transform_jobs()["TransformJobSummaries"] == []


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ((), "no data for 2026-11-21"),
        (("daily/churn/2026-11-20.csv", "daily/churn/dt=2026-11-21/README.md"), "no data for 2026-11-21"),
        ((FLAT_KEY, HIVE_KEY), "both layouts"),
    ],
    ids=["nothing", "other-day-and-no-csv-in-the-folder", "both-layouts"],
)
def test_a_day_without_data_or_in_both_layouts_starts_nothing(
    keys: tuple[str, ...], message: str, s3: Any, sagemaker: Any, execution: Execution
) -> None:
    _put(s3, *keys)

    with pytest.raises(TransformRequestError, match=message):
        _start(STATE, execution, s3, sagemaker)
    assert sagemaker.list_transform_jobs()["TransformJobSummaries"] == []


def test_settings_come_from_the_environment() -> None:
    # WHEN the stack's BATCH_TRANSFORM variable is read
    settings = BatchTransformSettings.from_env(ENVIRONMENT)

    # THEN every field is taken, the data prefix without its slashes, the numbers as numbers
    assert settings == SETTINGS


def test_an_empty_accept_or_input_filter_is_none() -> None:
    environment = {**ENVIRONMENT, "BATCH_TRANSFORM": json.dumps({**SPEC, "accept": "", "input_filter": None})}

    settings = BatchTransformSettings.from_env(environment)

    assert (settings.accept, settings.input_filter) == (None, None)


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({k: v for k, v in ENVIRONMENT.items() if k != "BATCH_TRANSFORM"}, "BATCH_TRANSFORM is not set"),
        ({**ENVIRONMENT, "BATCH_TRANSFORM": "{not json"}, "BATCH_TRANSFORM must be a JSON object"),
        ({**ENVIRONMENT, "BATCH_TRANSFORM": '["a list"]'}, "BATCH_TRANSFORM must be a JSON object"),
        *[
            ({**ENVIRONMENT, "BATCH_TRANSFORM": json.dumps({k: v for k, v in SPEC.items() if k != key})}, repr(key))
            for key in ("predictions_prefix", "instance_type", "instance_count", "content_type", "max_payload_mb")
        ],
        (
            {**ENVIRONMENT, "BATCH_TRANSFORM": json.dumps({**SPEC, "instance_count": "two"})},
            "BATCH_TRANSFORM must be a JSON object",
        ),
    ],
    ids=[
        "unset",
        "not-json",
        "not-an-object",
        *[
            f"missing-{key}"
            for key in ("predictions_prefix", "instance_type", "instance_count", "content_type", "max_payload_mb")
        ],
        "count-not-a-number",
    ],
)
def test_unset_or_malformed_batch_transform_is_a_configuration_error(environment: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as raised:
        BatchTransformSettings.from_env(environment)
    assert "BATCH_TRANSFORM" in str(raised.value)
