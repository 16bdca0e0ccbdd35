"""StartBatchTransform: after a deployment, run the newest day of the window through the model that now serves.

The transform job uses the very model the endpoint was just given (a serial inference pipeline when the pipeline
has preprocessing), so the day's raw records are answered as live requests would be. Its input is a manifest of
exactly the day's data files CheckData trains on (`.csv` or `.csv.gz`), written next to the run's manifests: never
the `_SUCCESS`, `README.txt` or other siblings a `dt=` folder may hold. Predictions go under the predictions prefix,
mirroring the data's layout, never among the data (the new-data trigger and the training window would read them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from contract.polling import next_poll_seconds
from lambdas.common import env as names
from lambdas.common.data_files import DataFile, compression_of, list_day_files, write_manifest
from lambdas.common.errors import ConfigurationError, InvalidStepEventError
from lambdas.common.events import Execution, format_timestamp
from lambdas.common.models import BatchTransformState, DeploymentState, RunState
from lambdas.common.names import run_tags
from lambdas.common.sagemaker import check_started_by, describe_or_none
from lambdas.common.transform import TransformRequestError, predictions_uri, transform_job_request

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sagemaker import SageMakerClient


@dataclass(frozen=True)
class BatchTransformSettings:
    pipeline: str
    bucket: str
    data_prefix: str
    manifest_prefix: str
    predictions_prefix: str
    instance_type: str
    instance_count: int
    content_type: str
    accept: str | None
    input_filter: str | None
    max_payload_mb: int
    poll_interval_seconds: int

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> BatchTransformSettings:
        """The transform the stack configured; raise ConfigurationError if there is none or it is malformed."""
        raw = names.optional_str(env, names.BATCH_TRANSFORM)
        if raw is None:
            raise ConfigurationError(
                f"environment variable {names.BATCH_TRANSFORM} is not set: this pipeline runs no batch transform"
            )
        try:
            spec = json.loads(raw)
            return cls(
                pipeline=names.require_str(env, names.PIPELINE_NAME),
                bucket=names.require_str(env, names.DATA_BUCKET),
                data_prefix=names.require_str(env, names.DATA_PREFIX).strip("/"),
                manifest_prefix=names.require_str(env, names.MANIFEST_PREFIX).strip("/"),
                predictions_prefix=str(spec["predictions_prefix"]),
                instance_type=str(spec["instance_type"]),
                instance_count=int(spec["instance_count"]),
                content_type=str(spec["content_type"]),
                accept=spec.get("accept") or None,
                input_filter=spec.get("input_filter") or None,
                max_payload_mb=int(spec["max_payload_mb"]),
                poll_interval_seconds=names.require_int(env, names.POLL_INTERVAL_SECONDS),
            )
        except (ValueError, TypeError, KeyError) as error:
            raise ConfigurationError(
                f"environment variable {names.BATCH_TRANSFORM} must be a JSON object of the transform's settings: "
                f"{error!r}"
            ) from None


def start_batch_transform(
    run: RunState,
    deployment: DeploymentState | None,
    execution: Execution,
    *,
    s3: S3Client,
    sagemaker: SageMakerClient,
    settings: BatchTransformSettings,
    now: datetime,
) -> BatchTransformState:
    """Start the transform job named after the run over its newest day, or adopt it on a retried attempt.

    Raises InvalidStepEventError when the state lacks the run's newest day or the deployed model,
    TransformRequestError when the day has no data file (or has them in both layouts), MixedCompressionError when
    its files mix .csv.gz and .csv, ManifestConflictError when the day's manifest exists with other files, and
    ResourceConflictError when a job of this name was started by another execution.
    """
    day = run.newest_data_date
    model = deployment.model_name if deployment is not None else None
    if not day or not model:
        raise InvalidStepEventError(
            "state fields 'run.newest_data_date' and 'deployment.model_name' are needed: the run deployed nothing"
        )
    job_name = run.run_id
    existing = describe_or_none(lambda: sagemaker.describe_transform_job(TransformJobName=job_name))
    if existing is not None:
        check_started_by(sagemaker, f"transform job {job_name}", existing["TransformJobArn"], execution)
        input_uri = str(existing["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"])
        output_uri = str(existing["TransformOutput"]["S3OutputPath"])
    else:
        files = day_files(s3, settings, date.fromisoformat(day))
        compression = compression_of(files, bucket=settings.bucket, what=f"day {day}")
        # The run's own name: a retried attempt writes the same list (or finds another's and stops).
        manifest_key = f"{settings.manifest_prefix}/{run.run_id}.transform.manifest"
        input_uri = write_manifest(s3, settings.bucket, manifest_key, settings.data_prefix, files)
        # Each file's predictions at its key below the data prefix, under the predictions prefix.
        output_uri = predictions_uri(
            settings.bucket, settings.predictions_prefix, f"{settings.data_prefix}/", data_prefix=settings.data_prefix
        )
        sagemaker.create_transform_job(
            **transform_job_request(
                job_name,
                model,
                input_uri,
                output_uri,
                instance_type=settings.instance_type,
                instance_count=settings.instance_count,
                content_type=settings.content_type,
                accept=settings.accept,
                max_payload_mb=settings.max_payload_mb,
                input_filter=settings.input_filter,
                tags=run_tags(settings.pipeline, execution),
                data_type="ManifestFile",
                compression=compression,
            )
        )
    return BatchTransformState(
        job_name=job_name,
        status="InProgress",
        failure_reason=None,
        day=day,
        input_uri=input_uri,
        output_uri=output_uri,
        started_at=format_timestamp(now),
        waited_seconds=0,
        wait_exceeded=False,
        poll_seconds=next_poll_seconds(0, interval_seconds=settings.poll_interval_seconds),
    )


def day_files(s3: S3Client, settings: BatchTransformSettings, day: date) -> list[DataFile]:
    """The day's data files, as CheckData lists them; TransformRequestError when there is none, or when they sit in
    both layouts (`<day>.csv` and `dt=<day>/`: one is likely a copy of the other, and which to trust a guess)."""
    files = list_day_files(s3, settings.bucket, settings.data_prefix, day).files
    base = f"s3://{settings.bucket}/{settings.data_prefix}"
    hive = [f for f in files if f.key.startswith(f"{settings.data_prefix}/dt=")]
    flat = [f for f in files if f not in hive]
    if flat and hive:
        raise TransformRequestError(
            f"day {day} has data in both layouts (s3://{settings.bucket}/{flat[0].key} and {base}/dt={day}/): "
            "which one to transform would be a guess"
        )
    if not files:
        raise TransformRequestError(
            f"no data for {day}: neither {base}/{day}.csv (or .csv.gz) nor .csv or .csv.gz files under {base}/dt={day}/"
        )
    return files
