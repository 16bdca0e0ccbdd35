"""SageMaker JumpStart's content buckets, which only AWS has: a request for them is refused in one line saying so.

The SageMaker Python SDK reads JumpStart's model specs and artifacts from AWS-owned buckets,
`jumpstart-cache-prod-<region>` and, for gated models, `jumpstart-private-cache-prod-<region>` (the SDK's
`sagemaker/jumpstart/constants.py`; v3 reads `s3://jumpstart-cache-prod-<region>/fmhMetadata/...` too). With
AWS_ENDPOINT_URL those reads reach the local runtime, where moto would answer NoSuchBucket: true, but it reads as if
the caller had named a wrong bucket. The refusal is S3's 501 NotImplemented (a code botocore does not retry), with a
message naming what is missing and what runs locally instead. A HEAD request carries no body: its caller sees 501.
"""

from __future__ import annotations

import html
import re
from typing import Any

_CONTENT_BUCKET = re.compile(r"^jumpstart-(?:private-)?cache-prod-[a-z0-9-]+$")
_S3_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/s3/")
STATUS = 501
CODE = "NotImplemented"


def requested_bucket(environ: dict[str, Any]) -> str | None:
    """The bucket of an S3 request: virtual-hosted (`<bucket>.localhost`) or path-style (`/<bucket>/<key>`)."""
    if not _S3_SCOPE.search(environ.get("HTTP_AUTHORIZATION", "")):
        return None
    host = str(environ.get("HTTP_HOST", "")).rsplit(":", 1)[0]
    if host.endswith(".localhost"):
        return host.removesuffix(".localhost")
    path = str(environ.get("PATH_INFO", "/"))
    return path.lstrip("/").split("/", 1)[0] or None


def refusal_message(bucket: str) -> str:
    return (
        f"SageMaker JumpStart is not available in the local runtime: its models live in AWS's bucket {bucket}, "
        "which has no local copy; train and deploy your own model instead (built-in Linear Learner or XGBoost, or "
        "Script Mode)"
    )


def refusal(environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes] | None:
    """The status line, headers and body refusing a request for a JumpStart bucket; None for any other request."""
    bucket = requested_bucket(environ)
    if bucket is None or not _CONTENT_BUCKET.match(bucket):
        return None
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{CODE}</Code><Message>{html.escape(refusal_message(bucket), quote=False)}</Message>"
        f"<BucketName>{bucket}</BucketName><RequestId>0000000000000000</RequestId><HostId>local</HostId></Error>"
    ).encode()
    empty = environ.get("REQUEST_METHOD") == "HEAD"
    return f"{STATUS} Not Implemented", [("Content-Type", "application/xml")], b"" if empty else body
