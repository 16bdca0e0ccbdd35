"""StartPreprocessing: fit the pipeline's preprocessing on the window's raw data in a SageMaker Processing job.

The job runs the user's entry point (from the source directory the stack packs as a tar.gz asset) on the
run's manifest. The script writes the transformed training data and the fitted artifact; the job then packs the
artifact with the source directory as `model.tar.gz`, which the pipeline model serves, so the code that
transforms the training data is the very code that transforms live requests.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from contract.polling import next_poll_seconds
from lambdas.common import env as names
from lambdas.common.errors import ConfigurationError
from lambdas.common.events import Execution, format_timestamp
from lambdas.common.models import PreprocessingState, RunState
from lambdas.common.names import run_tags
from lambdas.common.processing import s3_input
from lambdas.common.sagemaker import check_started_by, describe_or_none

if TYPE_CHECKING:
    from types_boto3_sagemaker import SageMakerClient

# Where SageMaker Processing mounts inputs and collects outputs inside the container.
PROCESSING_ROOT = "/opt/ml/processing"
RAW_DATA_DIR = f"{PROCESSING_ROOT}/input/raw"
CODE_DIR = f"{PROCESSING_ROOT}/input/code"
TRAINING_DATA_DIR = f"{PROCESSING_ROOT}/output/train"
ARTIFACT_DIR = f"{PROCESSING_ROOT}/output/model"
# The script's fitted files; the job packs them with the source directory (as code/) into model.tar.gz.
MODEL_DIR = f"{PROCESSING_ROOT}/model"
MODEL_ARCHIVE = "model.tar.gz"
# The environment variables the entry point reads: where the raw data is, where its outputs go.
SCRIPT_ENVIRONMENT = {"RAW_DATA_DIR": RAW_DATA_DIR, "TRAINING_DATA_DIR": TRAINING_DATA_DIR, "MODEL_DIR": MODEL_DIR}


@dataclass(frozen=True)
class PreprocessingSettings:
    pipeline: str
    bucket: str
    output_prefix: str
    code_uri: str  # s3://<assets bucket>/<hash>.tar.gz: the source directory, packed at synth time
    entry_point: str
    image: str
    instance_type: str
    volume_size_gb: int
    max_runtime_seconds: int
    role_arn: str
    poll_interval_seconds: int

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PreprocessingSettings:
        """The processing job the stack configured; raise ConfigurationError if there is none or it is malformed."""
        raw = names.optional_str(env, names.PREPROCESSING)
        if raw is None:
            raise ConfigurationError(
                f"environment variable {names.PREPROCESSING} is not set: this pipeline has no preprocessing"
            )
        spec = _json_object(raw)
        return cls(
            pipeline=names.require_str(env, names.PIPELINE_NAME),
            bucket=names.require_str(env, names.DATA_BUCKET),
            output_prefix=_field(spec, "output_prefix").strip("/"),
            code_uri=_field(spec, "code_uri"),
            entry_point=_field(spec, "entry_point"),
            image=_field(spec, "image"),
            instance_type=_field(spec, "instance_type"),
            volume_size_gb=int(_field(spec, "volume_size_gb")),
            max_runtime_seconds=int(_field(spec, "max_runtime_seconds")),
            role_arn=names.require_str(env, names.SAGEMAKER_ROLE_ARN),
            poll_interval_seconds=names.require_int(env, names.POLL_INTERVAL_SECONDS),
        )


def run_output_uri(bucket: str, output_prefix: str, run_id: str) -> str:
    """Where one run's transformed data (train/) and fitted artifact (model/) go."""
    return f"s3://{bucket}/{output_prefix}/{run_id}"


def start_preprocessing(
    run: RunState,
    execution: Execution,
    *,
    sagemaker: SageMakerClient,
    settings: PreprocessingSettings,
    now: datetime,
) -> PreprocessingState:
    """Create the run's processing job, or adopt it when a retried attempt already created it.

    Raises ResourceConflictError if a job of that name exists but was started by another execution.
    """
    job_name = run.run_id
    request = processing_job_request(job_name, run.manifest(), execution, settings)
    existing = _describe(sagemaker, job_name)
    if existing is None:
        try:
            sagemaker.create_processing_job(**request)
        except ClientError as error:
            # The race in which a retried attempt's create lands after the first attempt's: adopt that job.
            if error.response["Error"]["Code"] not in ("ResourceInUse", "ValidationException"):
                raise
            existing = _describe(sagemaker, job_name)
            if existing is None:
                raise
    if existing is not None:
        check_started_by(sagemaker, f"processing job {job_name}", existing["ProcessingJobArn"], execution)
    output = run_output_uri(settings.bucket, settings.output_prefix, job_name)
    return PreprocessingState(
        job_name=job_name,
        status="InProgress",
        failure_reason=None,
        training_data_uri=f"{output}/train/",
        model_artifact=f"{output}/model/{MODEL_ARCHIVE}",
        started_at=format_timestamp(now),
        waited_seconds=0,
        wait_exceeded=False,
        poll_seconds=next_poll_seconds(0, interval_seconds=settings.poll_interval_seconds),
    )


def container_command(entry_point: str) -> str:
    """The shell command the job runs: unpack the source, run the entry point, pack its fitted files with the
    source as model.tar.gz (code/ holds the serving scripts, as SageMaker's inference toolkit expects)."""
    quoted = shlex.quote(entry_point)
    return " && ".join(
        [
            "set -e",
            f"cd {CODE_DIR}",
            # SageMaker downloads the archive under its object key's name: the asset's hash and ".gz".
            'for archive in *.gz; do tar -xzf "$archive"; rm "$archive"; done',
            f"mkdir -p {MODEL_DIR}",
            f"python3 {quoted}",
            f"mkdir -p {MODEL_DIR}/code {ARTIFACT_DIR}",
            f"cp -R . {MODEL_DIR}/code/",
            f"tar -czf {ARTIFACT_DIR}/{MODEL_ARCHIVE} -C {MODEL_DIR} .",
        ]
    )


def processing_job_request(
    job_name: str, manifest_uri: str, execution: Execution, settings: PreprocessingSettings
) -> dict[str, Any]:
    """Build CreateProcessingJob's request: the manifest's raw files and the source in, train/ and model/ out."""
    output = run_output_uri(settings.bucket, settings.output_prefix, job_name)

    def s3_output(name: str, local_path: str) -> dict[str, Any]:
        return {
            "OutputName": name,
            "S3Output": {"S3Uri": f"{output}/{name}", "LocalPath": local_path, "S3UploadMode": "EndOfJob"},
        }

    return {
        "ProcessingJobName": job_name,
        "RoleArn": settings.role_arn,
        "AppSpecification": {
            "ImageUri": settings.image,
            "ContainerEntrypoint": ["/bin/sh", "-c"],
            "ContainerArguments": [container_command(settings.entry_point)],
        },
        "Environment": dict(SCRIPT_ENVIRONMENT),
        "ProcessingInputs": [
            s3_input("raw", manifest_uri, "ManifestFile", RAW_DATA_DIR),
            s3_input("code", settings.code_uri, "S3Prefix", CODE_DIR),
        ],
        "ProcessingOutputConfig": {
            "Outputs": [s3_output("train", TRAINING_DATA_DIR), s3_output("model", ARTIFACT_DIR)]
        },
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": settings.instance_type,
                "VolumeSizeInGB": settings.volume_size_gb,
            }
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": settings.max_runtime_seconds},
        "Tags": run_tags(settings.pipeline, execution),
    }


def _json_object(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ConfigurationError(f"environment variable {names.PREPROCESSING} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise ConfigurationError(f"environment variable {names.PREPROCESSING} must be a JSON object")
    return value


def _field(spec: Mapping[str, Any], key: str) -> str:
    value = spec.get(key)
    if value is None or value == "":
        raise ConfigurationError(f"environment variable {names.PREPROCESSING} lacks {key!r}")
    return str(value)


def _describe(sagemaker: SageMakerClient, job_name: str) -> dict[str, Any] | None:
    return describe_or_none(lambda: sagemaker.describe_processing_job(ProcessingJobName=job_name))
