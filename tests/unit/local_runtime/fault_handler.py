"""A handler with a visible side effect: it stores the event's value in S3, one object per invocation."""

from __future__ import annotations

import os
from typing import Any

import boto3


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # A client per call: each test module's local AWS listens on its own port.
    s3 = boto3.client("s3")
    s3.put_object(Bucket=os.environ["OUTPUT_BUCKET"], Key=f"{context.aws_request_id}.txt", Body=str(event["value"]))
    return {"stored": event["value"]}
