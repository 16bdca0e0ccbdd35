"""The S3 locations a job's request may give: SageMaker's S3Uri pattern `(https|s3)://([^/]+)/?(.*)`."""

from __future__ import annotations

import pytest

from local_runtime.sagemaker.jobs import split_s3_uri


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://bucket/train/rows.csv", ("bucket", "train/rows.csv")),
        ("s3://bucket", ("bucket", "")),
        # CDK's S3Location.fromBucket: the bucket's path-style URL
        ("https://s3.us-east-1.amazonaws.com/bucket/train/", ("bucket", "train/")),
        ("https://s3.amazonaws.com/bucket/models", ("bucket", "models")),
        ("https://bucket.s3.eu-west-1.amazonaws.com/train/rows.csv", ("bucket", "train/rows.csv")),
    ],
)
def test_s3_uris_and_s3_urls_name_a_bucket_and_key(uri: str, expected: tuple[str, str]) -> None:
    assert split_s3_uri(uri) == expected


@pytest.mark.parametrize("uri", ["https://example.com/bucket/key", "file:///tmp/x", "bucket/key"])
def test_anything_else_is_refused(uri: str) -> None:
    with pytest.raises(ValueError, match="not an S3 URI"):
        split_s3_uri(uri)
