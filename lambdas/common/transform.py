"""Batch transform: the CreateTransformJob request, and where a day's predictions go (never among the data)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from contract.names import PREDICTIONS_PREFIX
from lambdas.common.names import SAGEMAKER_NAME_PATTERN

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sagemaker.type_defs import TagTypeDef

DEFAULT_PREDICTIONS_PREFIX = PREDICTIONS_PREFIX
# The pipeline's data files are label first (training reads them so): the model is sent the other columns.
DROP_LABEL_FILTER = "$[1:]"
DEFAULT_INSTANCE_TYPE = "ml.m5.large"
# CreateTransformJob's MaxPayloadInMB: at most 100; records are batched into requests of this size.
DEFAULT_MAX_PAYLOAD_MB = 6
MAX_PAYLOAD_MB_LIMIT = 100
CSV = "text/csv"
# One answer line per record: what Linear Learner and the other built-in algorithms write for batch transform.
JSONLINES = "application/jsonlines"


class TransformRequestError(ValueError):
    """A transform job cannot be asked for as given; the message names the argument."""


def transform_job_request(
    job_name: str,
    model_name: str,
    input_uri: str,
    output_uri: str,
    *,
    instance_type: str = DEFAULT_INSTANCE_TYPE,
    instance_count: int = 1,
    content_type: str = CSV,
    accept: str | None = JSONLINES,
    max_payload_mb: int = DEFAULT_MAX_PAYLOAD_MB,
    input_filter: str | None = None,
    kms_key_id: str | None = None,
    tags: Sequence[TagTypeDef] = (),
    data_type: str = "S3Prefix",
    compression: str = "None",
) -> dict[str, Any]:
    """CreateTransformJob's parameters: every S3 object under `input_uri`, one CSV record a line, batched.

    Each line is a record (SplitType Line) sent in MultiRecord batches of at most `max_payload_mb`, and the answers
    are assembled a line each (AssembleWith Line) into `<output_uri>/<input key relative to the prefix>.out`: one
    prediction line per input line, as the CSV models of this project answer. `input_filter` (DataProcessing's
    InputFilter) picks the columns the model sees: `$[1:]` drops the label of a label-first data file. `compression`
    "Gzip": the objects are gzip and SageMaker decompresses them (TransformInput.CompressionType, in any input mode).
    Raises TransformRequestError for an invalid job or model name, a URI that is not s3://bucket/..., counts out of
    SageMaker's ranges, or a compression other than None and Gzip.
    """
    for label, name in (("job_name", job_name), ("model_name", model_name)):
        if not SAGEMAKER_NAME_PATTERN.match(name):
            raise TransformRequestError(
                f"{label} {name!r} is not a SageMaker name: 1-63 letters, digits and hyphens, starting with a letter "
                "or digit"
            )
    split_s3_uri(input_uri)
    split_s3_uri(output_uri)
    if instance_count < 1:
        raise TransformRequestError(f"instance_count must be at least 1, got {instance_count}")
    if not 1 <= max_payload_mb <= MAX_PAYLOAD_MB_LIMIT:
        raise TransformRequestError(f"max_payload_mb must be 1..{MAX_PAYLOAD_MB_LIMIT}, got {max_payload_mb}")
    if compression not in ("None", "Gzip"):
        raise TransformRequestError(f"compression must be None or Gzip, got {compression!r}")
    output: dict[str, Any] = {"S3OutputPath": output_uri, "AssembleWith": "Line"}
    if accept:
        output["Accept"] = accept
    if kms_key_id:
        output["KmsKeyId"] = kms_key_id
    request: dict[str, Any] = {
        "TransformJobName": job_name,
        "ModelName": model_name,
        "BatchStrategy": "MultiRecord",
        "MaxPayloadInMB": max_payload_mb,
        "TransformInput": {
            # S3Prefix: every object under input_uri; ManifestFile: the objects a manifest there lists.
            "DataSource": {"S3DataSource": {"S3DataType": data_type, "S3Uri": input_uri}},
            "ContentType": content_type,
            "SplitType": "Line",
            "CompressionType": compression,
        },
        "TransformOutput": output,
        "TransformResources": {"InstanceType": instance_type, "InstanceCount": instance_count},
    }
    if input_filter:
        request["DataProcessing"] = {"InputFilter": input_filter}
    if tags:
        request["Tags"] = [{"Key": tag["Key"], "Value": tag["Value"]} for tag in tags]
    return request


def predictions_uri(bucket: str, predictions_prefix: str, input_key: str, *, data_prefix: str | None = None) -> str:
    """The S3OutputPath for `input_key` (an object, or a prefix ending in `/`): its folder, under the predictions.

    `data/2024-05-01.csv` gives `s3://bucket/predictions/data/`, where the job writes `2024-05-01.csv.out`;
    `data/dt=2024-05-01/` gives `s3://bucket/predictions/data/dt=2024-05-01/`. Predictions never go under the
    pipeline's `data_prefix`: the new-data trigger would start a run for them and the training window would read
    them as data. Raises TransformRequestError when the two prefixes overlap or one is empty.
    """
    prefix = predictions_prefix.strip("/")
    if not prefix:
        raise TransformRequestError("the predictions prefix is empty: predictions would land among the data")
    if data_prefix is not None:
        data = data_prefix.strip("/")
        if _within(prefix, data) or _within(data, prefix):
            raise TransformRequestError(
                f"the predictions prefix {prefix}/ and the data prefix {data}/ overlap: the new-data trigger and the "
                "training window would pick the predictions up"
            )
    folder = input_key if input_key.endswith("/") else input_key[: input_key.rfind("/") + 1]
    return f"s3://{bucket}/{prefix}/{folder.lstrip('/')}"


def output_key(output_uri: str, input_prefix: str, input_key: str) -> str:
    """Where SageMaker writes an input object's predictions: `<S3OutputPath>/<key below the prefix's folder>.out`."""
    _, output_prefix = split_s3_uri(output_uri)
    base = input_prefix[: input_prefix.rfind("/") + 1]
    relative = input_key[len(base) :] if input_key.startswith(base) else input_key.rsplit("/", 1)[-1]
    return f"{output_prefix.rstrip('/')}/{relative}.out".lstrip("/")


def find_day_input(s3: S3Client, bucket: str, data_prefix: str, day: date) -> str:
    """The S3 key of a day's data in either layout CheckData reads: `<prefix>/YYYY-MM-DD.csv` (a file) or
    `<prefix>/dt=YYYY-MM-DD/` (a folder of .csv files, returned with its `/`).

    Raises TransformRequestError when the day has neither, or both (which one to transform would be a guess).
    """
    base = f"{data_prefix.strip('/')}/"
    flat = f"{base}{day.isoformat()}.csv"
    hive = f"{base}dt={day.isoformat()}/"
    # The exact key: `2026-11-21.csv.tmp` beside nothing else is not the day's file.
    has_flat = any(item["Key"] == flat for item in s3.list_objects_v2(Bucket=bucket, Prefix=flat).get("Contents", []))
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=hive).get("Contents", [])
    has_hive = any(item["Key"].endswith(".csv") for item in listed)
    if has_flat and has_hive:
        raise TransformRequestError(
            f"day {day} has data in both layouts (s3://{bucket}/{flat} and s3://{bucket}/{hive}): "
            "which one to transform would be a guess"
        )
    if has_flat:
        return flat
    if has_hive:
        return hive
    raise TransformRequestError(
        f"no data for {day}: neither s3://{bucket}/{flat} nor .csv files under s3://{bucket}/{hive}"
    )


def split_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key) of `s3://bucket/key`; raise TransformRequestError otherwise."""
    if not uri.startswith("s3://") or not uri[5:].split("/", 1)[0]:
        raise TransformRequestError(f"{uri!r} is not an S3 URI (s3://bucket/key)")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def _within(inner: str, outer: str) -> bool:
    return inner == outer or inner.startswith(f"{outer}/")
