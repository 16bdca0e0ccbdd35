"""SmokeTest: once the endpoint serves the run's model, send it a few of the run's own records.

InService says SageMaker's health check (GET /ping) passed, not that the model answers: a model whose code fails
on every request is InService too. The smoke test asks the question the users will: `records` records of the run's
data (its held-out files first, whose records the model has not trained on, else its training files) in one
request. An error answer (InvokeEndpoint's ModelError and the like), or an answer that is not one prediction per
record, fails the deployment: the endpoint is updated back to the config it served before (the one the watermark
names: UpdateParameters has not moved it yet), and the run fails with SmokeTestFailedError naming the error.
The watermark does not move. With no earlier config (the first deployment) nothing is left to roll back to.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from lambdas.common import env as names
from lambdas.common.autoscaling import ScalingClient, update_endpoint
from lambdas.common.errors import ConfigurationError, RetrainingError
from lambdas.common.models import DeploymentState, RunState
from lambdas.common.sagemaker import describe_or_none
from lambdas.common.transform import split_s3_uri

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sagemaker import SageMakerClient
    from types_boto3_sagemaker_runtime import SageMakerRuntimeClient
    from types_boto3_ssm import SSMClient

# Enough of a data file for a hundred records; a smoke test never reads a whole file.
READ_BYTES = 1024 * 1024
_SLICE = re.compile(r"^\$\[(-?\d*):(-?\d*)\]$")
_INDEXES = re.compile(r"^\$\[(\d+(?:,\d+)*)\]$")
# InvokeEndpoint's errors that are SageMaker's, not the model's answer (the API reference's error list).
_TRANSIENT = frozenset({"ThrottlingException", "ServiceUnavailable", "InternalFailure", "InternalDependencyException"})
_JSONLINES = ("application/jsonlines", "application/x-jsonlines", "application/json-lines", "application/jsonl")


class SmokeTestFailedError(RetrainingError):
    """The endpoint serving the new model answered the run's records with an error or an unreadable answer."""


class SmokeTestInputError(RetrainingError):
    """The run's data gave no record to send (an empty first file, or a filter that leaves no column)."""


@dataclass(frozen=True)
class SmokeTestSettings:
    records: int
    input_filter: str | None
    content_type: str
    accept: str | None
    header: bool
    watermark_parameter: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SmokeTestSettings | None:
        """None when the smoke test is off; ConfigurationError when SMOKE_TEST is malformed."""
        raw = names.optional_str(env, names.SMOKE_TEST)
        if raw is None:
            return None
        try:
            spec = json.loads(raw)
            return cls(
                records=int(spec["records"]),
                input_filter=spec.get("input_filter"),
                content_type=str(spec["content_type"]),
                accept=spec.get("accept"),
                header=bool(spec.get("header", False)),
                watermark_parameter=names.require_str(env, names.WATERMARK_PARAMETER),
            )
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise ConfigurationError(
                f"environment variable {names.SMOKE_TEST} is not a smoke test: {error!r}"
            ) from None


@dataclass(frozen=True)
class SmokeTestResult:
    """What was sent and answered; `skipped` when the pipeline's smoke test is off."""

    skipped: bool
    records: int = 0
    source: str | None = None
    answers: int = 0

    def to_state(self) -> dict[str, Any]:
        return {"skipped": self.skipped, "records": self.records, "source": self.source, "answers": self.answers}


def smoke_test(
    run: RunState,
    deployment: DeploymentState,
    *,
    s3: S3Client,
    runtime: SageMakerRuntimeClient,
    sagemaker: SageMakerClient,
    ssm: SSMClient,
    settings: SmokeTestSettings | None,
    model_package_arn: str | None = None,
    autoscaling: ScalingClient | None = None,
) -> SmokeTestResult:
    """Send the records; on a bad answer roll the endpoint back and raise SmokeTestFailedError.

    `autoscaling` (given when the endpoint scales): the roll-back obeys SageMaker's rules for a scaled variant."""
    if settings is None:
        return SmokeTestResult(skipped=True)
    source, lines = sample_records(s3, run, settings)
    body = "".join(line + "\n" for line in lines).encode()
    extra = {"Accept": settings.accept} if settings.accept else {}
    endpoint = deployment.endpoint_name
    try:
        answer = runtime.invoke_endpoint(EndpointName=endpoint, ContentType=settings.content_type, Body=body, **extra)
        answered = answer["Body"].read()
        count = count_answers(answered, str(answer.get("ContentType") or settings.accept or ""))
        problem = None if count == len(lines) else _unreadable(answered, count, len(lines), answer.get("ContentType"))
    except ClientError as error:
        if error.response["Error"]["Code"] in _TRANSIENT:
            raise  # SageMaker's side, not the model's: the step's retries ask again
        problem = f"{error.response['Error']['Code']}: {error.response['Error'].get('Message', '')}"[:1000]
    if problem is None:
        return SmokeTestResult(skipped=False, records=len(lines), source=source, answers=len(lines))
    rolled_back = roll_back(sagemaker, ssm, deployment, settings.watermark_parameter, autoscaling=autoscaling)
    problem_text = (
        f"endpoint {endpoint} on config {deployment.endpoint_config_name} answered {len(lines)} record(s) of "
        f"{source} with {problem}"
    )
    if model_package_arn:
        # Registered Approved before it was deployed: no rollback (and no reviewer) should pick it again.
        sagemaker.update_model_package(
            ModelPackageArn=model_package_arn,
            ModelApprovalStatus="Rejected",
            ApprovalDescription=f"failed the smoke test after deployment: {problem_text}"[:1024],
        )
        rolled_back += f"; version {model_package_arn.rsplit('/', 1)[-1]} is now Rejected"
    raise SmokeTestFailedError(f"{problem_text}; {rolled_back}")


def sample_records(s3: S3Client, run: RunState, settings: SmokeTestSettings) -> tuple[str, list[str]]:
    """The first records of the run's first held-out (else training) file, filtered as the endpoint takes them."""
    manifest = run.holdout_manifest_uri or run.manifest()
    bucket, key = split_s3_uri(manifest)
    entries = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    data_bucket, prefix = split_s3_uri(str(entries[0]["prefix"]))
    first = f"{prefix}{entries[1]}"
    source = f"s3://{data_bucket}/{first}"
    raw = _first_bytes(s3, data_bucket, first)
    text = _text(raw)
    rows = [line for line in text.splitlines() if line.strip()]
    if len(raw) >= READ_BYTES:
        rows = rows[:-1]  # the read may have cut the last line
    rows = rows[1 : settings.records + 1] if settings.header else rows[: settings.records]
    lines = [filter_columns(row, settings.input_filter) for row in rows]
    if not lines or not all(lines):
        raise SmokeTestInputError(f"{source} gave no record to send (input_filter {settings.input_filter!r})")
    return source, lines


def filter_columns(row: str, input_filter: str | None) -> str:
    """The CSV row's columns that `input_filter` (DataProcessing.InputFilter's JSONPath subset) picks."""
    if not input_filter or input_filter == "$":
        return row
    fields = next(csv.reader([row]))
    if match := _SLICE.match(input_filter):
        start, stop = (int(part) if part else None for part in match.groups())
        picked = fields[start:stop]
    elif match := _INDEXES.match(input_filter):
        picked = [fields[int(index)] for index in match[1].split(",") if int(index) < len(fields)]
    else:
        raise ConfigurationError(f"smoke_test.input_filter {input_filter!r} is not a slice or a list of indexes")
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(picked)
    return out.getvalue()


def count_answers(body: bytes, content_type: str) -> int | None:
    """How many predictions the answer holds: JSON ({"predictions": [...]} or a list), JSON Lines, or CSV lines;
    None when it does not parse as its content type."""
    try:
        text = body.decode("utf-8")
        kind = content_type.split(";", 1)[0].strip().lower()
        if kind == "application/json":
            document = json.loads(text)
            if isinstance(document, Mapping) and isinstance(document.get("predictions"), list):
                return len(document["predictions"])
            return len(document) if isinstance(document, list) else None
        if kind in _JSONLINES:
            return len([json.loads(line) for line in text.splitlines() if line.strip()])
        if kind == "text/csv":
            return len([row for row in csv.reader(io.StringIO(text)) if row])
    except (UnicodeDecodeError, json.JSONDecodeError, csv.Error):
        return None
    return None


def roll_back(
    sagemaker: SageMakerClient,
    ssm: SSMClient,
    deployment: DeploymentState,
    parameter: str,
    *,
    autoscaling: ScalingClient | None = None,
) -> str:
    """Update the endpoint back to the config it served before this run's deployment (DeployModel recorded it; an
    operator's rollback may have put another there than the last run deployed), else the one the watermark names;
    say what was done.

    A scaled variant keeps its instance count; when the earlier config has another instance type the variant is
    deregistered first (SageMaker refuses the update otherwise) and stays so until the next deployment registers
    it: this step does not wait for the roll-back to end."""
    previous = deployment.previous_endpoint_config or _previous_config(ssm, parameter)
    if previous is None or previous == deployment.endpoint_config_name:
        return "no earlier endpoint config to roll back to (the first deployment): the endpoint keeps the new model"
    # Only "not found" means gone: a throttled look is raised, and retried, rather than leave the bad model serving.
    if describe_or_none(lambda: sagemaker.describe_endpoint_config(EndpointConfigName=previous)) is None:
        return f"the earlier endpoint config {previous} no longer exists: the endpoint keeps the new model"
    update = update_endpoint(sagemaker, autoscaling, endpoint_name=deployment.endpoint_name, config_name=previous)
    said = f"the endpoint is rolled back to {previous}, which serves the earlier model again once the update ends"
    if update.deregistered is not None:
        said += (
            "; its instance type differs, so the variant was deregistered from autoscaling first, until the next "
            "deployment registers it again"
        )
    return said


def _previous_config(ssm: SSMClient, parameter: str) -> str | None:
    try:
        value = json.loads(ssm.get_parameter(Name=parameter)["Parameter"]["Value"])
    except ClientError as error:
        if error.response["Error"]["Code"] == "ParameterNotFound":
            return None
        raise
    config = value.get("endpoint_config_name") if isinstance(value, Mapping) else None
    return str(config) if config else None


def _first_bytes(s3: S3Client, bucket: str, key: str) -> bytes:
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{READ_BYTES - 1}")["Body"].read()
    except ClientError as error:
        # S3 answers a ranged read of an empty object 416 InvalidRange (RFC 9110: no range of it is satisfiable).
        if error.response["Error"]["Code"] == "InvalidRange":
            return b""
        raise
    return body


def _text(raw: bytes) -> str:
    if raw[:2] == b"\x1f\x8b":
        # A ranged read of a gzip file is a truncated stream: decompress what is there.
        try:
            return zlib.decompressobj(wbits=31).decompress(raw).decode("utf-8", "replace")
        except zlib.error:
            return gzip.decompress(raw).decode("utf-8", "replace")
    return raw.decode("utf-8", "replace")


def _unreadable(body: bytes, count: int | None, expected: int, content_type: Any) -> str:
    shown = body[:200].decode("utf-8", "replace")
    if count is None:
        return f"an answer that does not parse as {content_type or 'its content type'}: {shown!r}"
    return f"{count} prediction(s) for {expected} record(s): {shown!r}"
