"""The batch transform request, the day's data it reads and where its predictions go."""

from __future__ import annotations

from datetime import date
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from lambdas.common.transform import (
    TransformRequestError,
    find_day_input,
    output_key,
    predictions_uri,
    transform_job_request,
)


def test_the_request_reads_lines_in_batches_and_assembles_lines() -> None:
    # WHEN a request is built with a KMS key and tags
    request = transform_job_request(
        "churn-20240501",
        "churn-model-1",
        "s3://data/daily/2024-05-01.csv",
        "s3://data/predictions/daily/",
        instance_type="ml.c5.xlarge",
        instance_count=2,
        kms_key_id="alias/predictions",
        tags=[{"Key": "pipeline", "Value": "churn"}],
    )

    # THEN CSV lines go in as records and come out a line each, encrypted, on the given instances
    assert request["TransformInput"] == {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://data/daily/2024-05-01.csv"}},
        "ContentType": "text/csv",
        "SplitType": "Line",
        "CompressionType": "None",
    }
    assert request["TransformOutput"] == {
        "S3OutputPath": "s3://data/predictions/daily/",
        "AssembleWith": "Line",
        "Accept": "application/jsonlines",
        "KmsKeyId": "alias/predictions",
    }
    assert request["BatchStrategy"] == "MultiRecord"
    assert request["TransformResources"] == {"InstanceType": "ml.c5.xlarge", "InstanceCount": 2}
    assert request["Tags"] == [{"Key": "pipeline", "Value": "churn"}]


def test_gzip_objects_are_decompressed_by_the_job() -> None:
    request = transform_job_request("job", "model", "s3://b/x.manifest", "s3://b/out/", compression="Gzip")

    assert request["TransformInput"]["CompressionType"] == "Gzip"


def test_the_request_is_valid_for_botocore() -> None:
    # GIVEN a SageMaker client whose calls are checked against the service model
    client = boto3.client("sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    request = transform_job_request("job", "model", "s3://b/in/", "s3://b/out/", accept=None, input_filter="$[1:]")

    # WHEN the request is sent / THEN botocore's parameter validation accepts it
    with Stubber(client) as stubber:
        stubber.add_response("create_transform_job", {"TransformJobArn": "arn"}, request)
        client.create_transform_job(**request)
    assert "Accept" not in request["TransformOutput"]
    assert request["DataProcessing"] == {"InputFilter": "$[1:]"}
    assert "Tags" not in request


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"job_name": "bad_name"}, "job_name"),
        ({"model_name": "-model"}, "model_name"),
        ({"input_uri": "data/in.csv"}, "data/in.csv"),
        ({"output_uri": "s3:///out"}, "s3:///out"),
        ({"instance_count": 0}, "instance_count"),
        ({"max_payload_mb": 101}, "max_payload_mb"),
        ({"compression": "gzip"}, "compression must be None or Gzip"),
    ],
)
def test_invalid_arguments_are_refused_naming_them(arguments: dict[str, object], named: str) -> None:
    given: dict[str, object] = {
        "job_name": "job",
        "model_name": "model",
        "input_uri": "s3://b/in/",
        "output_uri": "s3://b/out/",
    }
    given.update(arguments)
    with pytest.raises(TransformRequestError, match=named):
        transform_job_request(**given)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("input_key", "expected"),
    [
        ("daily/2024-05-01.csv", "s3://bucket/predictions/daily/"),
        ("daily/dt=2024-05-01/", "s3://bucket/predictions/daily/dt=2024-05-01/"),
        ("top.csv", "s3://bucket/predictions/"),
    ],
)
def test_predictions_mirror_the_inputs_folder_under_the_predictions_prefix(input_key: str, expected: str) -> None:
    assert predictions_uri("bucket", "predictions/", input_key, data_prefix="daily") == expected


@pytest.mark.parametrize(("predictions", "data"), [("daily", "daily"), ("daily/predictions", "daily"), ("a", "a/b")])
def test_predictions_never_go_inside_the_data_prefix(predictions: str, data: str) -> None:
    # The new-data trigger and the training window read everything under the data prefix.
    with pytest.raises(TransformRequestError, match="overlap"):
        predictions_uri("bucket", predictions, f"{data}/2024-05-01.csv", data_prefix=data)


def test_a_prefix_sharing_only_a_name_start_is_not_inside() -> None:
    assert (
        predictions_uri("b", "daily-predictions", "daily/x.csv", data_prefix="daily")
        == "s3://b/daily-predictions/daily/"
    )


@pytest.mark.parametrize(
    ("input_prefix", "input_key", "expected"),
    [
        ("in/2024-05-01.csv", "in/2024-05-01.csv", "out/2024-05-01.csv.out"),
        ("in/", "in/sub/a.csv", "out/sub/a.csv.out"),
        ("in/da", "in/day/a.csv", "out/day/a.csv.out"),
    ],
)
def test_each_object_is_written_below_the_output_path_by_its_key_below_the_prefixs_folder(
    input_prefix: str, input_key: str, expected: str
) -> None:
    assert output_key("s3://b/out/", input_prefix, input_key) == expected


DAY = date(2024, 5, 1)


@pytest.fixture
def s3(aws: None) -> Any:
    client = boto3.client("s3")
    client.create_bucket(Bucket="data")
    return client


def _put(s3: Any, *keys: str) -> None:
    for key in keys:
        s3.put_object(Bucket="data", Key=key, Body=b"1,a\n")


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (("daily/2024-05-01.csv", "daily/2024-04-30.csv"), "daily/2024-05-01.csv"),
        (("daily/dt=2024-05-01/part-0.csv", "daily/dt=2024-05-01/_SUCCESS"), "daily/dt=2024-05-01/"),
        # a folder of another day, or the flat file of another day, is not this day's
        (("daily/dt=2024-05-01/a.csv", "daily/2024-04-30.csv"), "daily/dt=2024-05-01/"),
    ],
    ids=["day-file", "dt-folder", "dt-folder-beside-another-days-file"],
)
def test_the_days_data_is_found_as_a_file_or_as_a_dt_folder(s3: Any, keys: tuple[str, ...], expected: str) -> None:
    # GIVEN the day's data in one of the layouts CheckData reads
    _put(s3, *keys)

    # WHEN it is looked for, under a prefix given with slashes / THEN the file's key or the folder's (with its /)
    assert find_day_input(s3, "data", "/daily/", DAY) == expected


def test_a_day_in_both_layouts_is_refused_naming_both(s3: Any) -> None:
    _put(s3, "daily/2024-05-01.csv", "daily/dt=2024-05-01/part-0.csv")

    with pytest.raises(TransformRequestError, match="both layouts") as raised:
        find_day_input(s3, "data", "daily", DAY)
    assert "s3://data/daily/2024-05-01.csv" in str(raised.value)
    assert "s3://data/daily/dt=2024-05-01/" in str(raised.value)


@pytest.mark.parametrize(
    "keys",
    [(), ("daily/2024-04-30.csv", "other/2024-05-01.csv"), ("daily/dt=2024-05-01/_SUCCESS",)],
    ids=["empty", "other-day-or-prefix", "dt-folder-without-csv"],
)
def test_a_day_without_data_is_refused_saying_where_it_looked(s3: Any, keys: tuple[str, ...]) -> None:
    _put(s3, *keys)

    with pytest.raises(TransformRequestError, match="no data for 2024-05-01") as raised:
        find_day_input(s3, "data", "daily", DAY)
    assert "s3://data/daily/2024-05-01.csv" in str(raised.value)
    assert "s3://data/daily/dt=2024-05-01/" in str(raised.value)


def test_a_sibling_of_the_day_file_alone_is_not_the_days_data(aws: None) -> None:
    # GIVEN only a temporary copy next to where the day's file would be
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="siblings")
    s3.put_object(Bucket="siblings", Key="data/2026-11-21.csv.tmp", Body=b"1,2\n")

    # WHEN the day is looked for, THEN there is no data for it
    with pytest.raises(TransformRequestError, match="no data for 2026-11-21"):
        find_day_input(s3, "siblings", "data", date(2026, 11, 21))
