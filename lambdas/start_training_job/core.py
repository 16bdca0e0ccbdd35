"""StartTrainingJob: start this run's SageMaker training job on the manifest, exactly once."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from contract.names import CHECKPOINT_LOCAL_PATH, checkpoint_prefix
from contract.polling import next_poll_seconds
from lambdas.common import env as names
from lambdas.common.data_files import GZIP, NO_COMPRESSION
from lambdas.common.errors import ConfigurationError
from lambdas.common.events import Execution, format_timestamp
from lambdas.common.models import RunState, TrainingJobState
from lambdas.common.names import run_tags
from lambdas.common.sagemaker import check_started_by, describe_or_none

if TYPE_CHECKING:
    from types_boto3_sagemaker import SageMakerClient
    from types_boto3_sagemaker.literals import S3DataTypeType, TrainingInstanceTypeType
    from types_boto3_sagemaker.type_defs import (
        AlgorithmSpecificationTypeDef,
        ChannelTypeDef,
        CreateTrainingJobRequestTypeDef,
        MetricDefinitionTypeDef,
    )

# The hyperparameter the SageMaker Python SDK adds for a framework's script with the job's name, JSON-encoded like
# the others (sagemaker/estimator.py, Framework._script_mode_hyperparam_update).
JOB_NAME_HYPERPARAMETER = "sagemaker_job_name"


@dataclass(frozen=True)
class TrainingSettings:
    pipeline: str
    bucket: str
    model_prefix: str
    image: str
    role_arn: str
    instance_type: str
    instance_count: int
    volume_size_gb: int
    max_runtime_seconds: int
    hyperparameters: dict[str, str]
    poll_interval_seconds: int
    validate_data: bool = True
    script_mode: bool = False  # a framework's script: the job's name is one of its hyperparameters
    metric_definitions: tuple[MetricDefinitionTypeDef, ...] = field(default=())
    spot_max_wait_seconds: int | None = None  # Managed Spot training's MaxWaitTimeInSeconds; None: on-demand

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TrainingSettings:
        return cls(
            pipeline=names.require_str(env, names.PIPELINE_NAME),
            bucket=names.require_str(env, names.DATA_BUCKET),
            model_prefix=names.require_str(env, names.MODEL_PREFIX).strip("/"),
            image=names.require_str(env, names.TRAINING_IMAGE),
            role_arn=names.require_str(env, names.SAGEMAKER_ROLE_ARN),
            instance_type=names.require_str(env, names.TRAINING_INSTANCE_TYPE),
            instance_count=names.require_int(env, names.TRAINING_INSTANCE_COUNT),
            volume_size_gb=names.require_int(env, names.TRAINING_VOLUME_SIZE_GB),
            max_runtime_seconds=names.require_int(env, names.TRAINING_MAX_RUNTIME_SECONDS),
            hyperparameters=names.require_json_object(env, names.HYPERPARAMETERS),
            poll_interval_seconds=names.require_int(env, names.POLL_INTERVAL_SECONDS),
            validate_data=names.require_bool(env, names.VALIDATE_DATA),
            script_mode=names.optional_str(env, names.SCRIPT_MODE) == "true",
            metric_definitions=_metric_definitions(env),
            spot_max_wait_seconds=(
                names.require_int(env, names.TRAINING_SPOT_MAX_WAIT_SECONDS)
                if names.optional_str(env, names.TRAINING_SPOT_MAX_WAIT_SECONDS) is not None
                else None
            ),
        )


def _metric_definitions(env: Mapping[str, str]) -> tuple[MetricDefinitionTypeDef, ...]:
    """METRIC_DEFINITIONS, a JSON list of {"Name", "Regex"}; none when unset. Raises ConfigurationError if malformed."""
    raw = names.optional_str(env, names.METRIC_DEFINITIONS)
    if raw is None:
        return ()
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ConfigurationError(
            f"environment variable {names.METRIC_DEFINITIONS} is not valid JSON: {error}"
        ) from None
    if not isinstance(value, list) or not all(
        isinstance(item, dict) and set(item) == {"Name", "Regex"} and all(isinstance(v, str) for v in item.values())
        for item in value
    ):
        raise ConfigurationError(
            f'environment variable {names.METRIC_DEFINITIONS} must be a JSON list of {{"Name", "Regex"}} strings'
        )
    return tuple({"Name": item["Name"], "Regex": item["Regex"]} for item in value)


def start_training_job(
    run: RunState,
    execution: Execution,
    *,
    sagemaker: SageMakerClient,
    settings: TrainingSettings,
    now: datetime,
    validate: Callable[[str], object] | None = None,
    preprocessed_data_uri: str | None = None,
) -> TrainingJobState:
    """Create the training job named after the run, or adopt it when a retried attempt already created it.

    The job trains on the run's manifest, or on `preprocessed_data_uri` (the prefix where the run's
    preprocessing wrote the transformed data) when the pipeline has preprocessing. `validate` is called with
    that data's URI before the job is created, and only then: a retried attempt that adopts the job does not
    check the data again. Whatever it raises stops the run before any training starts. Raises
    ResourceConflictError if a job of that name exists but was started by another execution.
    """
    job_name = run.run_id
    data_uri = preprocessed_data_uri or run.manifest()
    # The holdout is the validation channel, as it is; preprocessing writes the only input the job reads.
    holdout_uri = None if preprocessed_data_uri else run.holdout_manifest_uri
    request = training_job_request(
        job_name,
        data_uri,
        execution,
        settings,
        data_type="S3Prefix" if preprocessed_data_uri else "ManifestFile",
        validation_uri=holdout_uri,
        # The preprocessing writes plain CSV whatever it read.
        compression=NO_COMPRESSION if preprocessed_data_uri else run.compression,
    )
    # Look first, so a retried attempt adopts the job its first attempt started; the create still treats
    # "already exists" as adoption for the race in which the first attempt's create lands late.
    existing = _describe(sagemaker, job_name)
    if existing is None:
        if validate is not None:
            validate(data_uri)
            if holdout_uri is not None:
                validate(holdout_uri)
        try:
            sagemaker.create_training_job(**request)
        except ClientError as error:
            if not _already_exists(error):
                raise
            existing = _describe(sagemaker, job_name)
            if existing is None:
                raise
    if existing is not None:
        check_started_by(sagemaker, f"training job {job_name}", existing["TrainingJobArn"], execution)
    return TrainingJobState(
        job_name=job_name,
        status="InProgress",
        secondary_status="Starting",
        failure_reason=None,
        model_artifact=None,
        metrics={},
        started_at=format_timestamp(now),
        waited_seconds=0,
        wait_exceeded=False,
        # The first wait: the previous run's training time (CheckData passes it on) says how long it may be.
        poll_seconds=next_poll_seconds(
            0,
            interval_seconds=settings.poll_interval_seconds,
            expected_seconds=run.expected_training_seconds,
        ),
    )


def training_job_request(
    job_name: str,
    data_uri: str,
    execution: Execution,
    settings: TrainingSettings,
    *,
    data_type: S3DataTypeType = "ManifestFile",
    validation_uri: str | None = None,
    compression: str = NO_COMPRESSION,
) -> CreateTrainingJobRequestTypeDef:
    """Build CreateTrainingJob's request: a `train` channel read from the run's manifest (or a prefix), and a
    `validation` channel from the holdout's manifest when there is one (built-ins then report validation:*).

    `compression` is the data's ("Gzip": every file is .csv.gz): such channels are streamed in Pipe mode, the one
    mode in which SageMaker decompresses them (see _channel).
    """
    specification: AlgorithmSpecificationTypeDef = {"TrainingImage": settings.image, "TrainingInputMode": "File"}
    if settings.metric_definitions:
        specification["MetricDefinitions"] = list(settings.metric_definitions)
    hyperparameters = dict(settings.hyperparameters)
    if settings.script_mode:
        hyperparameters[JOB_NAME_HYPERPARAMETER] = json.dumps(job_name)
    request: CreateTrainingJobRequestTypeDef = {
        "TrainingJobName": job_name,
        "AlgorithmSpecification": specification,
        "RoleArn": settings.role_arn,
        "HyperParameters": hyperparameters,
        "InputDataConfig": [
            _channel("train", data_uri, data_type, compression),
            *([_channel("validation", validation_uri, "ManifestFile", compression)] if validation_uri else []),
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{settings.bucket}/{settings.model_prefix}/"},
        "ResourceConfig": {
            # The stack's config names a SageMaker instance type; SageMaker itself refuses any other.
            "InstanceType": cast("TrainingInstanceTypeType", settings.instance_type),
            "InstanceCount": settings.instance_count,
            "VolumeSizeInGB": settings.volume_size_gb,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": settings.max_runtime_seconds},
        "Tags": run_tags(settings.pipeline, execution),
    }
    if settings.spot_max_wait_seconds is not None:
        _use_spot(request, settings)
    return request


def _use_spot(request: CreateTrainingJobRequestTypeDef, settings: TrainingSettings) -> None:
    """Managed Spot training: spot capacity, the max wait (capacity plus run time, at least MaxRuntimeInSeconds:
    the config checks), and checkpoints synced with the job's own S3 folder, restored when an interrupted job
    restarts. Built-in XGBoost resumes from them; a script finds the local path in checkpointconfig.json."""
    assert settings.spot_max_wait_seconds is not None
    job_name = request["TrainingJobName"]
    request["EnableManagedSpotTraining"] = True
    request["StoppingCondition"]["MaxWaitTimeInSeconds"] = settings.spot_max_wait_seconds
    request["CheckpointConfig"] = {
        "S3Uri": f"s3://{settings.bucket}/{checkpoint_prefix(settings.model_prefix, job_name)}/",
        "LocalPath": CHECKPOINT_LOCAL_PATH,
    }


def _channel(name: str, uri: str, data_type: S3DataTypeType, compression: str) -> ChannelTypeDef:
    channel: ChannelTypeDef = {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {"S3DataType": data_type, "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}
        },
        "ContentType": "text/csv",
    }
    if compression == GZIP:
        # Channel.CompressionType "is used only in Pipe input mode. In File mode, leave this field unset or set it to
        # None" (SageMaker API reference, Channel); CreateTrainingJob refuses File with Gzip: "Invalid compression
        # type for channel training: File mode only supports NONE, got Gzip instead" (aws/sagemaker-python-sdk
        # issue 716). So a gzip channel is a Pipe channel, which SageMaker decompresses as it streams the objects,
        # one after another, into the named pipe /opt/ml/input/data/<channel>_<epoch>. Linear Learner reads CSV
        # from a pipe (AWS ML blog, 2018-10, "Now use Pipe mode with CSV datasets ... built-in algorithms"); an
        # algorithm that reads only files does not (built-in XGBoost's images since aws/sagemaker-xgboost-container
        # #478: "Pipe mode for CSV is no longer supported"; framework scripts).
        channel["InputMode"] = "Pipe"
        channel["CompressionType"] = "Gzip"
    return channel


def _already_exists(error: ClientError) -> bool:
    code = error.response["Error"]["Code"]
    message = error.response["Error"].get("Message", "")
    return code == "ResourceInUse" or (code == "ValidationException" and "already exist" in message)


def _describe(sagemaker: SageMakerClient, job_name: str) -> dict[str, Any] | None:
    return describe_or_none(lambda: sagemaker.describe_training_job(TrainingJobName=job_name))
