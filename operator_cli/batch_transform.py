"""Batch transform from the command line: a day's data (or any S3 prefix) through the pipeline's model, into S3.

Calls that take the clients as arguments (`find_day_input`, `serving_model`, `start_job`, `wait_for_job`,
`output_objects`) and the job's request from lambdas.common.transform, which the workflow shares. The `transform`
command (operator_cli/commands/transform.py) is a thin layer over them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from contract.outputs import DATA_PREFIX
from lambdas.common import transform
from lambdas.common.names import run_resource_prefix
from lambdas.common.transform import split_s3_uri
from operator_cli.not_found import is_not_found

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sagemaker import SageMakerClient


# The stack output that names the pipeline's data prefix, once the stacks publish it; until then --data-prefix.
DATA_PREFIX_OUTPUT = DATA_PREFIX  # older stacks lack it: --data-prefix then
TERMINAL_STATUSES = ("Completed", "Failed", "Stopped")
DEFAULT_POLL_SECONDS = 2.0
DEFAULT_WAIT_SECONDS = 3600.0


class TransformInputError(Exception):
    """The command cannot start a job as asked (no such day, a bad URI); the message says what is missing."""


class TransformError(Exception):
    """The job cannot run or did not succeed: no endpoint to take the model from, or the job failed."""


@dataclass(frozen=True)
class TransformJob:
    name: str
    model: str
    input_uri: str
    output_uri: str
    status: str = "InProgress"
    failure_reason: str | None = None
    outputs: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "job": self.name,
            "model": self.model,
            "input": self.input_uri,
            "output": self.output_uri,
            "status": self.status,
        }
        if self.failure_reason:
            answer["failure_reason"] = self.failure_reason
        if self.outputs:
            answer["outputs"] = list(self.outputs)
        return answer


def find_day_input(s3: S3Client, bucket: str, data_prefix: str, day: date) -> str:
    """The day's data in either layout (lambdas.common.transform.find_day_input); raise TransformInputError."""
    try:
        return transform.find_day_input(s3, bucket, data_prefix, day)
    except transform.TransformRequestError as error:
        raise TransformInputError(f"{error}; pass --input") from None


def serving_model(sagemaker: SageMakerClient, endpoint: str, where: str) -> str:
    """The model the endpoint serves now (its config's first production variant's); raise TransformError when the
    endpoint does not exist in `where`."""
    try:
        described = sagemaker.describe_endpoint(EndpointName=endpoint)
    except ClientError as error:
        message = str(error.response["Error"].get("Message") or "")
        if "not find" in message or "not found" in message:
            raise TransformError(
                f"endpoint {endpoint} does not exist in {where}: no run has deployed a model yet (or pass --model)"
            ) from None
        raise
    config = sagemaker.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    return str(config["ProductionVariants"][0]["ModelName"])


def require_model(sagemaker: SageMakerClient, model: str, where: str) -> None:
    """Raise TransformError when `where` has no model of that name (CreateTransformJob would refuse it)."""
    try:
        sagemaker.describe_model(ModelName=model)
    except ClientError as error:
        if is_not_found(error):
            raise TransformError(f"model {model} not found in {where}") from None
        raise


def require_input(s3: S3Client, input_uri: str, where: str) -> None:
    """Raise TransformError when no object has the input's key as prefix: the job would fail finding no input."""
    bucket, key = split_s3_uri(input_uri)
    try:
        found = len(s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1).get("Contents", []))
    except ClientError as error:
        if not is_not_found(error):  # NoSuchBucket
            raise
        found = 0
    if not found:
        raise TransformError(f"no object at or under {input_uri} in {where}")


def transform_job_name(pipeline: str, now: datetime) -> str:
    """`<pipeline>-transform-YYYYMMDDHHMMSS`, cut to SageMaker's 63 characters."""
    stamp = now.strftime("%Y%m%d%H%M%S")
    stem = run_resource_prefix(pipeline)[: 63 - len("transform-") - len(stamp)]
    return f"{stem}transform-{stamp}"


def wait_for_job(
    sagemaker: SageMakerClient,
    name: str,
    *,
    poll_seconds: float = DEFAULT_POLL_SECONDS,
    timeout_seconds: float = DEFAULT_WAIT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Mapping[str, Any]:
    """DescribeTransformJob once the job is Completed, Failed or Stopped; raise TransformError on timeout."""
    deadline = clock() + timeout_seconds
    while True:
        described = sagemaker.describe_transform_job(TransformJobName=name)
        if described["TransformJobStatus"] in TERMINAL_STATUSES:
            return described
        if clock() > deadline:
            raise TransformError(f"transform job {name} is still {described['TransformJobStatus']} after waiting")
        sleep(poll_seconds)


def output_objects(s3: S3Client, output_uri: str) -> tuple[str, ...]:
    """The `.out` objects under the job's output path, as s3:// URIs."""
    bucket, prefix = split_s3_uri(output_uri)
    found: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found += [f"s3://{bucket}/{item['Key']}" for item in page.get("Contents", []) if item["Key"].endswith(".out")]
    return tuple(sorted(found))


def parse_day(text: str) -> date:
    """`YYYY-MM-DD`; raise TransformInputError otherwise."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise TransformInputError(f"--day {text!r}: expected YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise TransformInputError(f"--day {text!r}: {error}") from None


def render(job: TransformJob) -> str:
    """What the command prints: the job, where it reads and writes, and how it ended."""
    lines = [
        f"transform job {job.name}: {job.status}",
        f"  model   {job.model}",
        f"  input   {job.input_uri}",
        f"  output  {job.output_uri}",
    ]
    if job.failure_reason:
        lines.append(f"  reason  {job.failure_reason}")
    lines += [f"  wrote   {uri}" for uri in job.outputs]
    return "\n".join(lines)
