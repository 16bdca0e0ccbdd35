"""UpdateParameters: move the watermark forward once the endpoint serves the new model, or once it was rejected.

A rejected model (by the quality gate or by a person) was judged on this data: the watermark moves so the same
window is not trained and rejected again every day, and the endpoint keeps serving what it served.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from lambdas.common import env as names
from lambdas.common.cost import RunCost
from lambdas.common.errors import DeploymentNotConfirmedError, InvalidStepEventError
from lambdas.common.events import Execution, format_timestamp
from lambdas.common.models import (
    ApprovalState,
    DeploymentState,
    EvaluationState,
    RunState,
    TrainingJobState,
    WatermarkState,
)
from lambdas.common.polling import positive_seconds

if TYPE_CHECKING:
    from types_boto3_sagemaker import SageMakerClient
    from types_boto3_ssm import SSMClient


@dataclass(frozen=True)
class WatermarkSettings:
    parameter: str
    endpoint_name: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WatermarkSettings:
        return cls(
            parameter=names.require_str(env, names.WATERMARK_PARAMETER),
            endpoint_name=names.require_str(env, names.ENDPOINT_NAME),
        )


DEPLOYED, REJECTED, REGISTERED = "deployed", "rejected", "registered"
# The fields naming what the endpoint serves: a rejected run carries them over from the previous value.
_SERVING_FIELDS = ("model_name", "endpoint_name", "endpoint_config_name")


@dataclass(frozen=True)
class RunFigures:
    """What the run measured, for the pipeline's dashboard: this run's own values, None where it has none.

    Unlike the watermark's durations, nothing falls back to an earlier run's value: a chart of runs must not
    repeat one run's figure as the next run's.
    """

    file_count: int | None
    training_seconds: int | None
    deployment_seconds: int | None  # None when the model was rejected: nothing was deployed
    model_metric: str | None  # the quality gate's metric, None without a gate or without a deployment
    model_metric_value: float | None
    # SageMaker instance-seconds billed for the run's jobs so far (lambdas/common/cost.py); None: none ended yet
    billable_seconds: int | None = None


@dataclass(frozen=True)
class WatermarkUpdate:
    """The state's new `watermark`, and the run's figures for the handler's metrics (not part of the state)."""

    watermark: WatermarkState
    figures: RunFigures


def update_parameters(
    run: RunState,
    training: TrainingJobState,
    execution: Execution,
    *,
    deployment: DeploymentState | None,
    evaluation: EvaluationState | None,
    approval: ApprovalState | None,
    sagemaker: SageMakerClient,
    ssm: SSMClient,
    settings: WatermarkSettings,
    now: datetime,
    cost: RunCost | None = None,
) -> WatermarkUpdate:
    """Record the run's data in the watermark parameter after confirming the endpoint serves its model.

    The value points at the manifest and the training job; the file list itself stays in S3 because a
    standard parameter holds at most 4 KB. Raises DeploymentNotConfirmedError when the endpoint is not
    InService on this run's config, so a failed rollout never moves the watermark. A rejected model moves it
    without a deployment. Raises InvalidStepEventError when a deployed run's state has no `deployment`.
    """
    if run.newest_data_date is None:
        raise InvalidStepEventError("state field 'run.newest_data_date' is null: the run found no data")
    outcome = REJECTED if rejected(evaluation, approval) else DEPLOYED if run.deploy else REGISTERED
    previous_value = _recorded_value(ssm, settings.parameter)
    previous = previous_value.get("newest_data_date")
    if previous and str(previous) > run.newest_data_date:
        # A backfill: the watermark never moves back to an earlier day (the next run would retrain days already
        # judged). A deployed backfill updates what serves; otherwise nothing is written.
        return _backfill_update(
            run,
            training,
            execution,
            deployment=deployment,
            evaluation=evaluation,
            outcome=outcome,
            previous_value=previous_value,
            sagemaker=sagemaker,
            ssm=ssm,
            settings=settings,
            now=now,
            cost=cost,
        )
    if outcome == REGISTERED:
        raise InvalidStepEventError(
            "state field 'run.deploy' is false on a run that is no backfill: only a backfill's model is registered "
            "without deploying"
        )
    if outcome == DEPLOYED:
        serving = _confirmed_serving(deployment, sagemaker, settings)
        deployment_seconds = _waited(_deployed(deployment), previous_value.get("deployment_seconds"))
    else:
        serving = {key: previous_value[key] for key in _SERVING_FIELDS if key in previous_value}
        deployment_seconds = previous_value.get("deployment_seconds")  # nothing deployed: keep the last one
    value = {
        **_data_of(run, training, evaluation, outcome=outcome),
        **serving,
        # The next run's poll loops expect its job to take about as long (contract/polling.py).
        "training_seconds": _waited(training, previous_value.get("training_seconds")),
        "deployment_seconds": deployment_seconds,
        "execution_id": execution.id,
        "updated_at": format_timestamp(now),
    }
    response = ssm.put_parameter(
        Name=settings.parameter, Value=json.dumps(value, separators=(",", ":")), Type="String", Overwrite=True
    )
    watermark = WatermarkState(
        parameter=settings.parameter,
        newest_data_date=run.newest_data_date,
        previous_date=str(previous) if previous else None,
        version=int(response["Version"]),
        outcome=outcome,
    )
    figures = run_figures(run, training, outcome=outcome, deployment=deployment, evaluation=evaluation, cost=cost)
    return WatermarkUpdate(watermark=watermark, figures=figures)


def _data_of(
    run: RunState, training: TrainingJobState, evaluation: EvaluationState | None, *, outcome: str
) -> dict[str, Any]:
    """What the watermark records of the run's data and model."""
    return {
        "newest_data_date": run.newest_data_date,
        "window_start": run.window_start,
        "window_end": run.window_end,
        "file_count": run.file_count,
        "manifest_uri": run.manifest_uri,
        # The newest files of the window judged the model instead of training it (evaluation.holdout).
        "holdout_file_count": run.holdout_file_count,
        "holdout_manifest_uri": run.holdout_manifest_uri,
        "training_job_name": training.job_name,
        "model_artifact": training.model_artifact,
        "metrics": training.metrics,
        "outcome": outcome,
        "model_package_arn": evaluation.model_package_arn if evaluation is not None else None,
    }


def _deployed(deployment: DeploymentState | None) -> DeploymentState:
    if deployment is None:
        raise InvalidStepEventError("state field 'deployment' is missing: the step that sets it has not run")
    return deployment


def _confirmed_serving(
    deployment: DeploymentState | None, sagemaker: SageMakerClient, settings: WatermarkSettings
) -> dict[str, str]:
    """What serves now, once the endpoint is confirmed InService on this run's config; DeploymentNotConfirmedError
    otherwise, so a failed rollout never moves the watermark."""
    config_name = _deployed(deployment).endpoint_config_name
    endpoint = sagemaker.describe_endpoint(EndpointName=settings.endpoint_name)
    if endpoint["EndpointStatus"] != "InService" or endpoint.get("EndpointConfigName") != config_name:
        raise DeploymentNotConfirmedError(
            f"endpoint {settings.endpoint_name} is {endpoint['EndpointStatus']} on config "
            f"{endpoint.get('EndpointConfigName')}, not InService on {config_name}: the watermark stays"
        )
    return {
        "model_name": _deployed(deployment).model_name,
        "endpoint_name": settings.endpoint_name,
        "endpoint_config_name": config_name,
    }


def _backfill_update(
    run: RunState,
    training: TrainingJobState,
    execution: Execution,
    *,
    deployment: DeploymentState | None,
    evaluation: EvaluationState | None,
    outcome: str,
    previous_value: dict[str, Any],
    sagemaker: SageMakerClient,
    ssm: SSMClient,
    settings: WatermarkSettings,
    now: datetime,
    cost: RunCost | None = None,
) -> WatermarkUpdate:
    """A backfill's end: the watermark keeps its day. Deployed, it records what serves now and which backfill
    put it there; registered or rejected, nothing is written."""
    version = int(ssm.get_parameter(Name=settings.parameter)["Parameter"]["Version"])
    if outcome == DEPLOYED:
        value = {
            **previous_value,
            **_confirmed_serving(deployment, sagemaker, settings),
            "served_backfill": {
                "execution_id": execution.id,
                "window_start": run.window_start,
                "window_end": run.window_end,
                "newest_data_date": run.newest_data_date,
                "training_job_name": training.job_name,
                "model_package_arn": evaluation.model_package_arn if evaluation is not None else None,
            },
            "updated_at": format_timestamp(now),
        }
        response = ssm.put_parameter(
            Name=settings.parameter, Value=json.dumps(value, separators=(",", ":")), Type="String", Overwrite=True
        )
        version = int(response["Version"])
    kept = str(previous_value["newest_data_date"])
    watermark = WatermarkState(
        parameter=settings.parameter,
        newest_data_date=kept,
        previous_date=kept,
        version=version,
        outcome=outcome,
        moved=False,
    )
    figures = run_figures(run, training, outcome=outcome, deployment=deployment, evaluation=evaluation, cost=cost)
    return WatermarkUpdate(watermark=watermark, figures=figures)


def run_figures(
    run: RunState,
    training: TrainingJobState,
    *,
    outcome: str,
    deployment: DeploymentState | None,
    evaluation: EvaluationState | None,
    cost: RunCost | None = None,
) -> RunFigures:
    """The run's data files, its training and deployment waits, its deployed model's gate metric and the
    instance-seconds its jobs were billed."""
    deployed = outcome == DEPLOYED
    metric, value = None, None
    if (
        deployed
        and evaluation
        and evaluation.metric
        and evaluation.value is not None
        and math.isfinite(evaluation.value)
    ):
        metric, value = evaluation.metric, float(evaluation.value)
    return RunFigures(
        file_count=run.file_count,
        training_seconds=positive_seconds(training.waited_seconds),
        deployment_seconds=positive_seconds(deployment.waited_seconds) if deployed and deployment else None,
        model_metric=metric,
        model_metric_value=value,
        billable_seconds=cost.billable_seconds if cost is not None else None,
    )


def rejected(evaluation: EvaluationState | None, approval: ApprovalState | None) -> bool:
    """Whether the run's model was rejected, by the quality gate or by the person asked to approve it."""
    return (evaluation is not None and evaluation.approval_status == "Rejected") or (
        approval is not None and approval.status == "Rejected"
    )


def _waited(section: TrainingJobState | DeploymentState, fallback: Any) -> Any:
    """The seconds the loop waited until it saw the job end: its duration, plus at most one poll's lag."""
    waited = positive_seconds(section.waited_seconds)
    return waited if waited is not None else fallback


def _recorded_value(ssm: SSMClient, parameter: str) -> dict[str, Any]:
    try:
        raw = ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ParameterNotFound":
            return {}
        raise
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
