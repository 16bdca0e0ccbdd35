"""CleanUp: after a failed run, stop its processing and training jobs and remove the model and endpoint config
nobody serves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from lambdas.common import env as names
from lambdas.common.evaluation import EvaluationSettings
from lambdas.common.events import Execution
from lambdas.common.models import CleanUpState
from lambdas.common.names import JOB_ROLES, SCRIPT_JOB_ROLE, execution_tag_value, run_job_name, run_resource_name
from lambdas.common.sagemaker import describe_or_none, started_by

if TYPE_CHECKING:
    from types_boto3_sagemaker import SageMakerClient

_RUNNING = frozenset({"InProgress"})


@dataclass(frozen=True)
class CleanUpSettings:
    pipeline: str
    endpoint_name: str
    preprocess: bool = False  # the pipeline's runs start a processing job before training
    evaluate: bool = False  # the pipeline's runs score the models on the holdout in transform jobs
    evaluate_by_script: bool = False  # ... or in the evaluation script's processing job
    batch_transform: bool = False  # after deploying, the run transforms the newest day in a job named after it

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CleanUpSettings:
        evaluation = EvaluationSettings.from_env(env)
        return cls(
            pipeline=names.require_str(env, names.PIPELINE_NAME),
            endpoint_name=names.require_str(env, names.ENDPOINT_NAME),
            preprocess=names.optional_str(env, names.PREPROCESSING) is not None,
            evaluate=evaluation is not None and not evaluation.uses_script,
            evaluate_by_script=evaluation is not None and evaluation.uses_script,
            batch_transform=names.optional_str(env, names.BATCH_TRANSFORM) is not None,
        )


def clean_up(execution: Execution, *, sagemaker: SageMakerClient, settings: CleanUpSettings) -> CleanUpState:
    """Leave nothing of a failed run behind that costs money or hides what serves.

    The run's resources are found by name (the same name every step derives from the execution), so this works
    whichever step failed, also when CheckData never returned. What the endpoint uses or is switching to is
    kept: the old model must keep serving. The watermark is never touched. Safe to retry: every action checks
    first, and resources already gone are skipped.
    """
    run_id = run_resource_name(settings.pipeline, execution)
    kept: list[str] = []
    report = CleanUpState(
        run_id=run_id,
        stopped_processing_job=_stop_processing_job(sagemaker, run_id, execution, kept)
        if settings.preprocess
        else None,
        stopped_training_job=_stop_training_job(sagemaker, run_id, execution, kept),
        kept=kept,
    )
    if settings.evaluate:
        stopped = [
            job
            for role in JOB_ROLES.values()
            if (
                job := _stop_transform_job(sagemaker, run_job_name(settings.pipeline, execution, role), execution, kept)
            )
        ]
        report = replace(report, stopped_transform_jobs=stopped)
    if settings.batch_transform:
        # A run stopped (or failed) while its batch transform ran: the model serves, but the job must not go on.
        transformed = _stop_transform_job(sagemaker, run_id, execution, kept)
        if transformed:
            report = replace(report, stopped_transform_jobs=[*report.stopped_transform_jobs, transformed])
    if settings.evaluate_by_script:
        job_name = run_job_name(settings.pipeline, execution, SCRIPT_JOB_ROLE)
        stopped_script = _stop_processing_job(sagemaker, job_name, execution, kept)
        report = replace(report, stopped_evaluation_job=stopped_script)

    endpoint = describe_or_none(lambda: sagemaker.describe_endpoint(EndpointName=settings.endpoint_name))
    in_use = _configs_in_use(endpoint)
    if endpoint is not None and _failed_first_deployment(endpoint, run_id):
        # CreateEndpoint with this run's config failed: the endpoint never served and blocks the next deploy.
        sagemaker.delete_endpoint(EndpointName=settings.endpoint_name)
        report = replace(report, deleted_endpoint=settings.endpoint_name)
        in_use.discard(run_id)

    if run_id in in_use:
        kept.append(f"endpoint config and model {run_id}: endpoint {settings.endpoint_name} uses them")
        return report
    models_in_use = _models_of(sagemaker, in_use)
    if describe_or_none(lambda: sagemaker.describe_endpoint_config(EndpointConfigName=run_id)) is not None:
        sagemaker.delete_endpoint_config(EndpointConfigName=run_id)
        report = replace(report, deleted_endpoint_config=run_id)
    if run_id in models_in_use:
        kept.append(f"model {run_id}: the endpoint's current config serves it")
    elif describe_or_none(lambda: sagemaker.describe_model(ModelName=run_id)) is not None:
        sagemaker.delete_model(ModelName=run_id)
        report = replace(report, deleted_model=run_id)
    return report


def _stop_training_job(sagemaker: SageMakerClient, job_name: str, execution: Execution, kept: list[str]) -> str | None:
    """Stop the run's training job if it still runs; return its name when stopped."""
    job = describe_or_none(lambda: sagemaker.describe_training_job(TrainingJobName=job_name))
    if not _stoppable(sagemaker, job, "training job", job_name, "TrainingJob", execution, kept):
        return None
    sagemaker.stop_training_job(TrainingJobName=job_name)
    return job_name


def _stop_processing_job(
    sagemaker: SageMakerClient, job_name: str, execution: Execution, kept: list[str]
) -> str | None:
    """Stop the run's processing job if it still runs; return its name when stopped."""
    job = describe_or_none(lambda: sagemaker.describe_processing_job(ProcessingJobName=job_name))
    if not _stoppable(sagemaker, job, "processing job", job_name, "ProcessingJob", execution, kept):
        return None
    sagemaker.stop_processing_job(ProcessingJobName=job_name)
    return job_name


def _stop_transform_job(sagemaker: SageMakerClient, job_name: str, execution: Execution, kept: list[str]) -> str | None:
    """Stop one of the run's transform jobs (the evaluation's, the batch transform) if it still runs; return its
    name when stopped."""
    job = describe_or_none(lambda: sagemaker.describe_transform_job(TransformJobName=job_name))
    if not _stoppable(sagemaker, job, "transform job", job_name, "TransformJob", execution, kept):
        return None
    sagemaker.stop_transform_job(TransformJobName=job_name)
    return job_name


def _stoppable(
    sagemaker: SageMakerClient,
    job: Mapping[str, Any] | None,
    what: str,
    job_name: str,
    field_stem: str,
    execution: Execution,
    kept: list[str],
) -> bool:
    """A job of this run still running: stop it. One another execution started is kept, and the report says so."""
    if job is None or job.get(f"{field_stem}Status") not in _RUNNING:
        return False
    owner = started_by(sagemaker, job[f"{field_stem}Arn"])
    if owner != execution_tag_value(execution):
        kept.append(f"{what} {job_name}: started by {owner or 'someone else'}, not by this run")
        return False
    return True


def _configs_in_use(endpoint: Mapping[str, Any] | None) -> set[str]:
    """The endpoint's config and, during an update, the config it is switching to."""
    if endpoint is None:
        return set()
    in_use = {str(endpoint["EndpointConfigName"])} if endpoint.get("EndpointConfigName") else set()
    pending = endpoint.get("PendingDeploymentSummary") or {}
    if pending.get("EndpointConfigName"):
        in_use.add(str(pending["EndpointConfigName"]))
    return in_use


def _failed_first_deployment(endpoint: Mapping[str, Any], run_id: str) -> bool:
    return endpoint.get("EndpointStatus") == "Failed" and endpoint.get("EndpointConfigName") == run_id


def _models_of(sagemaker: SageMakerClient, config_names: set[str]) -> set[str]:
    models: set[str] = set()
    for name in config_names:
        config = describe_or_none(lambda name=name: sagemaker.describe_endpoint_config(EndpointConfigName=name))
        for variant in (config or {}).get("ProductionVariants", []):
            models.add(str(variant.get("ModelName")))
    return models
