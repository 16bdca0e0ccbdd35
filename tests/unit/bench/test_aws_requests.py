"""The bench's request counter: every request the local AWS answers, by service and operation."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from bench.aws_requests import CountingLocalAws, classify, s3_operation
from bench.counts import Counts, fetch_counts

REGION = "us-east-1"


@pytest.fixture(scope="module")
def local_aws() -> Iterator[CountingLocalAws]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    aws = CountingLocalAws()
    with aws:
        yield aws


def client(aws: CountingLocalAws, service: str) -> Any:
    return boto3.client(
        service, endpoint_url=aws.endpoint_url, region_name=REGION, aws_access_key_id="a", aws_secret_access_key="b"
    )


def test_counts_every_s3_request_by_operation_and_each_list_page(local_aws: CountingLocalAws, aws_env: None) -> None:
    # GIVEN a bucket with three objects
    s3 = client(local_aws, "s3")
    s3.create_bucket(Bucket="counted")
    for name in ("a", "b", "c"):
        s3.put_object(Bucket="counted", Key=f"data/{name}.csv", Body=b"1\n")
    before = fetch_counts(local_aws.counts_url)

    # WHEN they are listed one per page, and one is read and checked
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket="counted", Prefix="data/", PaginationConfig={"PageSize": 1}
    )
    assert sum(len(page.get("Contents", [])) for page in pages) == 3
    s3.get_object(Bucket="counted", Key="data/a.csv")
    s3.head_object(Bucket="counted", Key="data/b.csv")
    made = fetch_counts(local_aws.counts_url).minus(before)

    # THEN each page is one request (the last one says no more), and nothing else was counted
    assert made.requests == {"s3:ListObjectsV2": 3, "s3:GetObject": 1, "s3:HeadObject": 1}
    assert made.service("s3") == 5
    assert made.server_seconds["s3"] > 0


def test_counts_json_protocol_services_by_their_target(local_aws: CountingLocalAws, aws_env: None) -> None:
    ssm = client(local_aws, "ssm")
    before = local_aws.counter.counts()

    ssm.put_parameter(Name="/bench/p", Value="v", Type="String")
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name="/bench/missing")

    made = local_aws.counter.counts().minus(before)
    assert made.requests == {"ssm:PutParameter": 1, "ssm:GetParameter": 1}
    assert made.service("s3") == 0


def test_reading_the_counts_is_not_counted(local_aws: CountingLocalAws) -> None:
    first = fetch_counts(local_aws.counts_url)
    second = fetch_counts(local_aws.counts_url)

    assert second == first


def test_minus_keeps_only_what_changed() -> None:
    earlier = Counts({"s3:ListObjectsV2": 2, "ssm:GetParameter": 1}, {"s3": 0.5, "ssm": 0.1})
    later = Counts({"s3:ListObjectsV2": 5, "ssm:GetParameter": 1, "s3:PutObject": 1}, {"s3": 0.75, "ssm": 0.1})

    made = later.minus(earlier)

    assert made.requests == {"s3:ListObjectsV2": 3, "s3:PutObject": 1}
    assert made.server_seconds == {"s3": 0.25}
    assert Counts.from_json(made.to_json()) == made


@pytest.mark.parametrize(
    ("method", "path", "query", "copy", "operation"),
    [
        ("GET", "/bucket", {"list-type": ["2"], "prefix": ["data/"]}, False, "ListObjectsV2"),
        ("GET", "/bucket", {}, False, "ListObjects"),
        ("GET", "/bucket/data/2026-11-20.csv", {}, False, "GetObject"),
        ("PUT", "/bucket/manifests/run.manifest", {}, False, "PutObject"),
        ("PUT", "/bucket/copy.csv", {}, True, "CopyObject"),
        ("PUT", "/bucket/big.csv", {"partNumber": ["1"], "uploadId": ["u"]}, False, "UploadPart"),
        ("HEAD", "/bucket/a", {}, False, "HeadObject"),
        ("DELETE", "/bucket/a", {}, False, "DeleteObject"),
        ("POST", "/bucket", {"delete": [""]}, False, "DeleteObjects"),
        ("PUT", "/bucket", {}, False, "CreateBucket"),
        ("GET", "/bucket", {"versioning": [""]}, False, "GET bucket?versioning"),
    ],
)
def test_s3_operation_of_path_style_requests(
    method: str, path: str, query: dict[str, list[str]], copy: bool, operation: str
) -> None:
    assert s3_operation(method, path, query, copy=copy) == operation


def test_classify_reads_the_service_from_the_credential_scope() -> None:
    signed = "AWS4-HMAC-SHA256 Credential=AKID/20261122/us-east-1/{service}/aws4_request, SignedHeaders=host"

    assert classify(
        {"HTTP_AUTHORIZATION": signed.format(service="s3"), "REQUEST_METHOD": "GET", "PATH_INFO": "/b/k"}
    ) == ("s3", "GetObject")
    assert classify(
        {"HTTP_AUTHORIZATION": signed.format(service="states"), "HTTP_X_AMZ_TARGET": "AWSStepFunctions.ListExecutions"}
    ) == ("states", "ListExecutions")
    assert classify({"REQUEST_METHOD": "GET", "PATH_INFO": "/health"}) == ("unsigned", "GET /health")
