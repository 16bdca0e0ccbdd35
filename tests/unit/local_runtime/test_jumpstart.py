"""JumpStart's content buckets: a request for them is refused in one line; every other request passes."""

from __future__ import annotations

from typing import Any

import pytest

from local_runtime.jumpstart import refusal

S3_SIGNATURE = "AWS4-HMAC-SHA256 Credential=local/20261205/us-east-1/s3/aws4_request, SignedHeaders=host"
SAGEMAKER_SIGNATURE = "AWS4-HMAC-SHA256 Credential=local/20261205/us-east-1/sagemaker/aws4_request"


def request(path: str, *, host: str = "127.0.0.1:5000", method: str = "GET", signature: str = S3_SIGNATURE) -> Any:
    return {"REQUEST_METHOD": method, "PATH_INFO": path, "HTTP_HOST": host, "HTTP_AUTHORIZATION": signature}


@pytest.mark.parametrize(
    "environ",
    [
        request("/jumpstart-cache-prod-us-east-1/models_manifest.json"),
        request("/models_manifest.json", host="jumpstart-cache-prod-eu-west-1.localhost:5000"),
        request("/jumpstart-private-cache-prod-us-west-2/gated/spec.json"),
    ],
)
def test_a_read_of_a_jumpstart_bucket_is_refused_naming_it(environ: Any) -> None:
    # WHEN the SDK reads a JumpStart bucket, path-style or virtual-hosted
    refused = refusal(environ)

    # THEN S3's 501 NotImplemented answers, its message one line naming the bucket
    assert refused is not None
    status, _, body = refused
    assert status.startswith("501 ")
    assert b"<Code>NotImplemented</Code>" in body
    assert (
        b"SageMaker JumpStart is not available in the local runtime: its models live in AWS's bucket jumpstart-" in body
    )
    assert b"\n<Error>" in body
    assert body.count(b"\n") == 1  # the XML declaration's line break only


def test_a_head_request_is_refused_without_a_body() -> None:
    refused = refusal(request("/jumpstart-cache-prod-us-east-1/models_manifest.json", method="HEAD"))

    assert refused is not None
    assert refused[2] == b""


@pytest.mark.parametrize(
    "environ",
    [
        request("/sagemaker-us-east-1-123456789012/model.tar.gz"),
        request("/my-jumpstart-cache-prod-us-east-1/key"),
        request("/jumpstart-cache-prod-us-east-1", signature=SAGEMAKER_SIGNATURE),
        request("/"),
    ],
)
def test_other_requests_pass(environ: Any) -> None:
    assert refusal(environ) is None
