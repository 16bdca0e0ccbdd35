"""StartEvaluation: score the new model and the one in production on the run's holdout, in transform jobs (the
built-in evaluators) or in one processing job running the user's evaluation script (lambdas/start_evaluation/script.py).

Both models see the same held-out records (the holdout manifest, label column dropped by DataProcessing's
InputFilter) on the same instance type, so EvaluateModel compares two numbers computed on the same data. The new
model is created here as DeployModel would create it (same name, same containers): a deployment adopts it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from contract.evaluation import CANDIDATE, PRODUCTION
from contract.polling import next_poll_seconds
from lambdas.common import env as names
from lambdas.common.errors import ConfigurationError, InvalidStepEventError
from lambdas.common.evaluation import EvaluationSettings
from lambdas.common.events import Execution, format_timestamp
from lambdas.common.inference import ServingPreprocessing, create_run_model, model_environment, serving_containers
from lambdas.common.models import (
    PROCESSING_EVALUATION,
    TRANSFORM_EVALUATION,
    HoldoutEvaluationState,
    PreprocessingState,
    RunState,
    TrainingJobState,
)
from lambdas.common.names import JOB_ROLES, SCRIPT_JOB_ROLE, run_job_name, run_tags
from lambdas.common.sagemaker import check_started_by, describe_or_none, production_model
from lambdas.common.transform import DROP_LABEL_FILTER, transform_job_request
from lambdas.start_evaluation import script as evaluation_script

if TYPE_CHECKING:
    from types_boto3_sagemaker import SageMakerClient
    from types_boto3_sagemaker.type_defs import TagTypeDef


@dataclass(frozen=True)
class StartEvaluationSettings:
    pipeline: str
    bucket: str
    endpoint_name: str
    image: str
    role_arn: str
    poll_interval_seconds: int
    evaluation: EvaluationSettings
    environment: Mapping[str, str] = field(default_factory=dict)  # the algorithm's container's
    preprocessing: ServingPreprocessing | None = None  # None: the model is served alone

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> StartEvaluationSettings:
        evaluation = EvaluationSettings.from_env(env)
        if evaluation is None:
            raise ConfigurationError(f"environment variable {names.EVALUATION} is not set: nothing to evaluate")
        return cls(
            pipeline=names.require_str(env, names.PIPELINE_NAME),
            bucket=names.require_str(env, names.DATA_BUCKET),
            endpoint_name=names.require_str(env, names.ENDPOINT_NAME),
            image=names.require_str(env, names.INFERENCE_IMAGE),
            role_arn=names.require_str(env, names.SAGEMAKER_ROLE_ARN),
            poll_interval_seconds=names.require_int(env, names.POLL_INTERVAL_SECONDS),
            evaluation=evaluation,
            environment=model_environment(env),
            preprocessing=ServingPreprocessing.from_env(env),
        )


def start_evaluation(
    run: RunState,
    training: TrainingJobState,
    execution: Execution,
    *,
    sagemaker: SageMakerClient,
    settings: StartEvaluationSettings,
    now: datetime,
    preprocessing: PreprocessingState | None = None,
) -> HoldoutEvaluationState:
    """Create the new model and start a transform job of it, and of the production model when there is one, over
    the holdout (or the evaluation script's processing job, which scores both); adopt the jobs a retried attempt
    already started.

    Raises InvalidStepEventError when the run has no holdout or the training job no artifact, and
    ResourceConflictError when a job of these names was started by another execution.
    """
    holdout = run.holdout_manifest_uri
    if not holdout:
        raise InvalidStepEventError("state field 'run.holdout_manifest_uri' is missing: the run held nothing out")
    if not training.model_artifact:
        raise InvalidStepEventError(f"training job {training.job_name} reported no model artifact: nothing to score")
    tags = run_tags(settings.pipeline, execution)
    candidate = training.job_name
    containers = serving_containers(
        preprocessing, training.model_artifact, settings.image, settings.preprocessing, settings.environment
    )
    create_run_model(sagemaker, candidate, containers, role_arn=settings.role_arn, tags=tags)
    base = f"s3://{settings.bucket}/{settings.evaluation.output_prefix}/{run.run_id}"
    if settings.evaluation.script is not None:
        started = _start_script(
            sagemaker,
            execution,
            evaluation_script.model_artifacts(candidate, list(containers)),
            holdout,
            f"{base}/{evaluation_script.OUTPUT_NAME}",
            settings,
            tags,
        )
        return _in_progress(started, now, settings)
    candidate_job = run_job_name(settings.pipeline, execution, JOB_ROLES[CANDIDATE])
    compression = run.compression  # the holdout's files are the window's: all .csv.gz or all plain
    _start_transform(
        sagemaker, execution, candidate_job, candidate, holdout, f"{base}/{CANDIDATE}/", settings, tags, compression
    )
    # A retried attempt reads the production job it adopts: the endpoint may serve another model by now.
    production_job = run_job_name(settings.pipeline, execution, JOB_ROLES[PRODUCTION])
    adopted = describe_or_none(lambda: sagemaker.describe_transform_job(TransformJobName=production_job))
    if adopted is not None:
        check_started_by(sagemaker, f"transform job {production_job}", adopted["TransformJobArn"], execution)
        production: str | None = str(adopted["ModelName"])
    else:
        serving = production_model(sagemaker, settings.endpoint_name)
        production = serving if serving and serving != candidate else None
        if production is not None:
            _create_transform(
                sagemaker, production_job, production, holdout, f"{base}/{PRODUCTION}/", settings, tags, compression
            )
    started = _Started(
        holdout_uri=holdout,
        candidate_model=candidate,
        candidate_job=candidate_job,
        candidate_output_uri=f"{base}/{CANDIDATE}/",
        production_model=production,
        production_job=production_job if production else None,
        production_output_uri=f"{base}/{PRODUCTION}/" if production else None,
    )
    return _in_progress(started, now, settings)


@dataclass(frozen=True)
class _Started:
    """The evaluation's jobs as started (or adopted); the rest of HoldoutEvaluationState is the wait's."""

    holdout_uri: str
    candidate_model: str
    candidate_job: str
    candidate_output_uri: str
    production_model: str | None
    production_job: str | None
    production_output_uri: str | None
    kind: str = TRANSFORM_EVALUATION
    script: str | None = None


def _in_progress(started: _Started, now: datetime, settings: StartEvaluationSettings) -> HoldoutEvaluationState:
    return HoldoutEvaluationState(
        holdout_uri=started.holdout_uri,
        candidate_model=started.candidate_model,
        candidate_job=started.candidate_job,
        candidate_output_uri=started.candidate_output_uri,
        production_model=started.production_model,
        production_job=started.production_job,
        production_output_uri=started.production_output_uri,
        job_name=started.candidate_job,
        status="InProgress",
        failure_reason=None,
        started_at=format_timestamp(now),
        waited_seconds=0,
        wait_exceeded=False,
        poll_seconds=next_poll_seconds(0, interval_seconds=settings.poll_interval_seconds),
        kind=started.kind,
        script=started.script,
    )


def _start_script(
    sagemaker: SageMakerClient,
    execution: Execution,
    candidate: evaluation_script.ModelArtifacts,
    holdout_uri: str,
    output_uri: str,
    settings: StartEvaluationSettings,
    tags: Sequence[TagTypeDef],
) -> _Started:
    """Start the processing job that runs the evaluation script on both models, or adopt the one a retried attempt
    started: the production model it scores is read back from it (the endpoint may serve another by now)."""
    script = settings.evaluation.script
    assert script is not None
    job_name = run_job_name(settings.pipeline, execution, SCRIPT_JOB_ROLE)
    existing = describe_or_none(lambda: sagemaker.describe_processing_job(ProcessingJobName=job_name))
    if existing is not None:
        check_started_by(sagemaker, f"processing job {job_name}", existing["ProcessingJobArn"], execution)
        production = (existing.get("Environment") or {}).get("PRODUCTION_MODEL_NAME")
    else:
        serving = production_model(sagemaker, settings.endpoint_name)
        production = serving if serving and serving != candidate.model else None
        artifacts = None
        if production is not None:
            described = sagemaker.describe_model(ModelName=production)
            artifacts = evaluation_script.model_artifacts(production, evaluation_script.described_containers(described))
        sagemaker.create_processing_job(
            **evaluation_script.processing_job_request(
                job_name,
                holdout_manifest=holdout_uri,
                output_uri=output_uri,
                candidate=candidate,
                production=artifacts,
                script=script,
                task=settings.evaluation.task,
                instance_type=settings.evaluation.instance_type,
                # SageMaker stops the script before the run stops waiting, so the run reports the job's own reason.
                max_runtime_seconds=settings.evaluation.max_wait_seconds * 9 // 10,
                role_arn=settings.role_arn,
                tags=tags,
            )
        )
    return _Started(
        holdout_uri=holdout_uri,
        candidate_model=candidate.model,
        candidate_job=job_name,
        candidate_output_uri=output_uri,
        production_model=production,
        production_job=None,
        production_output_uri=None,
        kind=PROCESSING_EVALUATION,
        script=script.entry_point,
    )


def _start_transform(
    sagemaker: SageMakerClient,
    execution: Execution,
    job_name: str,
    model: str,
    holdout_uri: str,
    output_uri: str,
    settings: StartEvaluationSettings,
    tags: Sequence[TagTypeDef],
    compression: str,
) -> None:
    existing = describe_or_none(lambda: sagemaker.describe_transform_job(TransformJobName=job_name))
    if existing is not None:
        check_started_by(sagemaker, f"transform job {job_name}", existing["TransformJobArn"], execution)
        return
    _create_transform(sagemaker, job_name, model, holdout_uri, output_uri, settings, tags, compression)


def _create_transform(
    sagemaker: SageMakerClient,
    job_name: str,
    model: str,
    holdout_uri: str,
    output_uri: str,
    settings: StartEvaluationSettings,
    tags: Sequence[TagTypeDef],
    compression: str,
) -> None:
    sagemaker.create_transform_job(
        **transform_job_request(
            job_name,
            model,
            holdout_uri,
            output_uri,
            instance_type=settings.evaluation.instance_type,
            accept=settings.evaluation.accept,
            # The holdout's files are label first, as training reads them: the models see the other columns.
            input_filter=DROP_LABEL_FILTER,
            data_type="ManifestFile",
            compression=compression,
            tags=tags,
        )
    )
