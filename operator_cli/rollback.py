"""Rollback on request: put back on the endpoint a registry version the pipeline served before, without downtime.

The path is the workflow's (lambdas/deploy_model): a model from the version's containers (created as a run creates
its own, lambdas.common.inference.create_run_model, under the name its run gave it), a new endpoint config, and
UpdateEndpoint, which keeps the old fleet answering until the new one is healthy (blue/green). When the endpoint's
latest update was a guarded rollout, the rollback repeats it: SageMaker keeps that update's DeploymentConfig
(DescribeEndpoint's LastDeploymentConfig, "the most recent deployment configuration for the endpoint", API
reference), which DeployModel builds from the pipeline's `rollout` with its rollback alarms. The CLI cannot read
the pipeline's configuration itself (no stack output holds it), so a `rollout` changed since the last run's
deployment applies from the next run on.

Which version: operator_cli/rollback_versions.py. What is checked first: operator_cli/rollback_endpoint.py (a run
in progress refuses the rollback). Every rollback that reaches UpdateEndpoint leaves a run record,
`<runs prefix>/rollback-<UTC time>.json`, in the shape RecordLineage writes (so `lineage` reads it as the
deployment it is) with a `rollback` section: who asked, when, why, and the endpoint before and after. The
watermark is left alone: it says which data was judged, and the next run trains and judges as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from contract.names import PIPELINE_TAG
from lambdas.common.autoscaling import ScalingClient, restore, update_endpoint
from lambdas.common.events import format_timestamp
from lambdas.common.inference import MODEL_HOSTNAME, create_run_model
from lambdas.common.names import SAGEMAKER_NAME_PATTERN, run_resource_prefix
from lambdas.record_lineage.core import RUN_RECORD_SCHEMA, run_record_key, write_run_record
from operator_cli.rollback_endpoint import (
    AlarmsClient,
    Caller,
    EndpointOutcome,
    PipelineResources,
    RollbackError,
    Serving,
    alarms_blocking,
    run_in_progress,
    serving_now,
)
from operator_cli.rollback_versions import (
    ROLLBACK_RUN_PREFIX,
    DeploymentRecords,
    RegistryVersion,
    current_version,
    named_version,
    previous_version,
    require_deployable,
)

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sagemaker import SageMakerClient
    from types_boto3_sagemaker.type_defs import ContainerDefinitionTypeDef, ProductionVariantTypeDef, TagTypeDef
    from types_boto3_stepfunctions import SFNClient

# Which rollback created a model or endpoint config (its record's run_id), beside the pipeline's tag, with which
# PruneModels deletes them once they serve no more, as it deletes a run's.
ROLLBACK_TAG = "sagemaker-retraining:rollback"
DEPLOYED, FAILED, REQUESTED = "deployed", "failed", "requested"
# What a model package's container and CreateModel's share (ImageDigest and the others are the package's own).
_CONTAINER_FIELDS = ("ContainerHostname", "Image", "ModelDataUrl", "ModelDataSource", "Environment")
# What the rollback's config keeps of the serving one besides its production variant.
_CONFIG_FIELDS = ("DataCaptureConfig", "KmsKeyId", "AsyncInferenceConfig", "ExplainerConfig")


@dataclass(frozen=True)
class RollbackPlan:
    """What the rollback deploys, in place of what, and how."""

    run_id: str  # rollback-<UTC time>: the record's name
    requested_at: datetime
    resources: PipelineResources
    serving: Serving
    serving_version: int | None  # None: no version records the serving model
    version: RegistryVersion
    chosen: str  # "named" (--version) or "previously served"
    model_name: str
    config_name: str
    deployment_config: Mapping[str, Any] | None  # None: a plain blue/green UpdateEndpoint

    def tags(self) -> list[TagTypeDef]:
        return [{"Key": PIPELINE_TAG, "Value": self.resources.pipeline}, {"Key": ROLLBACK_TAG, "Value": self.run_id}]


def plan_rollback(
    *,
    sagemaker: SageMakerClient,
    s3: S3Client,
    sfn: SFNClient,
    cloudwatch: AlarmsClient,
    resources: PipelineResources,
    selector: int | str | None,
    use_rollout: bool,
    now: datetime,
    where: str,
) -> RollbackPlan:
    """Decide what to deploy, reading only: the version `selector` names (None: the previously served one).

    Raises RollbackError when a run is in progress, the endpoint cannot be updated, the version cannot be deployed,
    or (with `use_rollout`) the rollout's alarms would undo the rollback.
    """
    running = run_in_progress(s3, sfn, resources)
    if running is not None:
        raise RollbackError(
            f"a run of pipeline {resources.pipeline} is in progress ({running}): it may deploy a model itself; "
            f"roll back once it has ended (`sagemaker-retraining runs follow {running.rsplit(':', 1)[-1]} "
            f"--pipeline {resources.pipeline}` waits for it)"
        )
    serving = serving_now(sagemaker, resources.endpoint_name, where)
    if selector is None:
        version, current = previous_version(sagemaker, DeploymentRecords(s3, resources), serving, resources.group)
        serving_version: int | None = current.number
    else:
        version = named_version(sagemaker, resources.group, selector, where)
        current_or_none = current_version(sagemaker, resources.group, serving)
        serving_version = current_or_none.number if current_or_none is not None else None
    require_deployable(version, serving)
    deployment_config = serving.last_deployment_config if use_rollout else None
    if deployment_config:
        blocked = alarms_blocking(cloudwatch, deployment_config)
        if blocked is not None:
            raise RollbackError(
                f"{blocked}: pass --no-rollout to update without the rollout's traffic shifting and alarms (still "
                "blue/green: the serving model answers until the rolled back one is healthy)"
            )
    run_id, config_name = rollback_names(resources.pipeline, now)
    return RollbackPlan(
        run_id=run_id,
        requested_at=now,
        resources=resources,
        serving=serving,
        serving_version=serving_version,
        version=version,
        chosen="previously served" if selector is None else "named",
        # Named as its run named it: the next run's gate reads the serving model's training job by that name.
        model_name=version.model_name or config_name,
        config_name=config_name,
        deployment_config=deployment_config or None,
    )


def rollback_names(pipeline: str, now: datetime) -> tuple[str, str]:
    """The record's name `rollback-<UTC time>`, and the endpoint config's: the pipeline's run prefix (PruneModels
    knows the pipeline's own by it) and the same time, within SageMaker's 63 characters."""
    run_id = f"{ROLLBACK_RUN_PREFIX}{now:%Y%m%dT%H%M%SZ}"
    config_name = f"{run_resource_prefix(pipeline)}{ROLLBACK_RUN_PREFIX}{now:%Y%m%d%H%M%S}"
    assert SAGEMAKER_NAME_PATTERN.match(config_name), config_name
    return run_id, config_name


def version_containers(version: RegistryVersion) -> list[ContainerDefinitionTypeDef]:
    """The version's containers as CreateModel takes them (EvaluateModel registered DeployModel's)."""
    return [
        cast("ContainerDefinitionTypeDef", {key: container[key] for key in _CONTAINER_FIELDS if key in container})
        for container in version.containers
    ]


@dataclass(frozen=True)
class RollbackResult:
    plan: RollbackPlan
    outcome: str  # deployed, failed, or requested (not waited for, or still changing when the wait ended)
    endpoint: EndpointOutcome | None  # None: not waited for
    record_uri: str
    record: Mapping[str, Any]
    scaling: str | None = None  # what the rollback did to the variant's autoscaling (None: nothing)


def roll_back(
    sagemaker: SageMakerClient,
    s3: S3Client,
    plan: RollbackPlan,
    *,
    caller: Caller,
    reason: str | None,
    clock: Callable[[], datetime],
    wait: Callable[[], EndpointOutcome] | None,
    autoscaling: ScalingClient | None = None,
) -> RollbackResult:
    """Create the model and config, record the rollback, update the endpoint and (unless `wait` is None) wait.

    The record is written before UpdateEndpoint, so no switch happens that nobody can account for, and again with
    how it ended. Raises RollbackError when UpdateEndpoint refuses the update.

    With `autoscaling` the update obeys SageMaker's rules for a scaled variant (lambdas/common/autoscaling.py): the
    variant keeps its scaled count, or, when the instance type changes, is deregistered first and registered again
    as it was once the endpoint serves the rollback's config (when waited for; else the next deployment does).
    """
    config_arn = _create_model_and_config(sagemaker, plan)
    key = run_record_key(plan.resources.runs_prefix, plan.run_id)

    def record(outcome: str, endpoint: EndpointOutcome | None, failure: str | None = None) -> RollbackResult:
        deployed_at = clock() if outcome == DEPLOYED else None
        body = rollback_record(
            plan, caller=caller, reason=reason, outcome=outcome, config_arn=config_arn, endpoint=endpoint,
            failure_reason=failure, now=clock(), deployed_at=deployed_at,
        )  # fmt: skip
        uri = write_run_record(s3, plan.resources.bucket, key, body)
        return RollbackResult(plan=plan, outcome=outcome, endpoint=endpoint, record_uri=uri, record=body)

    result = record(REQUESTED, None)
    try:
        update = update_endpoint(
            sagemaker,
            autoscaling,
            endpoint_name=plan.serving.endpoint_name,
            config_name=plan.config_name,
            deployment_config=plan.deployment_config,
        )
    except ClientError as error:
        message = str(error.response["Error"].get("Message") or error.response["Error"].get("Code"))
        record(FAILED, None, f"UpdateEndpoint: {message}")
        raise RollbackError(f"SageMaker refused to update endpoint {plan.serving.endpoint_name}: {message}") from None
    held = update.deregistered
    scaling = None
    if held is not None:
        scaling = "deregistered from autoscaling (another instance type); the next deployment registers it again"
    if wait is None:
        return replace(result, scaling=scaling)
    ended = wait()
    if ended.serves(plan.config_name):
        if held is not None and autoscaling is not None:
            restore(autoscaling, plan.serving.endpoint_name, held)
            scaling = "deregistered from autoscaling for the update (another instance type), then registered again"
        return replace(record(DEPLOYED, ended), scaling=scaling)
    return replace(record(FAILED if ended.settled else REQUESTED, ended, ended.failure_reason), scaling=scaling)


def rollback_record(
    plan: RollbackPlan,
    *,
    caller: Caller,
    reason: str | None,
    outcome: str,
    config_arn: str,
    endpoint: EndpointOutcome | None,
    failure_reason: str | None,
    now: datetime,
    deployed_at: datetime | None,
) -> dict[str, Any]:
    """The rollback's run record: RecordLineage's fields (lambdas/record_lineage/core.py build_run_record), filled
    from the version's metadata (`execution` is the run that trained the model, as `lineage` shows it), and the
    rollback's own section."""
    version, serving = plan.version, plan.serving
    metadata = version.metadata
    deployment = {
        "endpoint_name": serving.endpoint_name,
        "endpoint_arn": serving.endpoint_arn,
        "endpoint_config_name": plan.config_name,
        "endpoint_config_arn": config_arn,
        "model_name": plan.model_name,
        "started_at": format_timestamp(plan.requested_at),
        "deployed_at": format_timestamp(deployed_at) if deployed_at else None,
    }
    return {
        "schema": RUN_RECORD_SCHEMA,
        "pipeline": plan.resources.pipeline,
        "run_id": plan.run_id,
        "kind": "rollback",
        "execution": {"id": None, "name": metadata.get("execution"), "started_at": None},
        "recorded_at": format_timestamp(now),
        "outcome": outcome,
        "window": {"start": metadata.get("window_start"), "end": metadata.get("window_end")},
        "data": {"manifest_uri": metadata.get("manifest_uri"), "file_count": _integer(metadata.get("file_count"))},
        "training": {
            "job_name": metadata.get("training_job"),
            "model_artifact": _model_artifact(version),
            "metrics": _metrics(metadata),
        },
        "model_package": {
            "arn": version.arn,
            "group": version.group,
            "version": version.number,
            "approval_status": version.status,
        },
        "evaluation": None,
        # As RecordLineage has it: a deployment only where the endpoint serves (or is switching to) this config.
        "deployment": None if outcome == FAILED else deployment,
        "rollback": {
            "requested_by": caller.to_json(),
            "requested_at": format_timestamp(plan.requested_at),
            "reason": reason,
            "chosen": plan.chosen,
            "before": {
                "version": plan.serving_version,
                "model_name": serving.model_name,
                "endpoint_config_name": serving.config_name,
            },
            "after": {
                "version": version.number,
                "model_name": plan.model_name,
                "endpoint_config_name": plan.config_name,
            },
            "deployment_config": dict(plan.deployment_config) if plan.deployment_config else None,
            "endpoint_status": endpoint.status if endpoint else None,
            "failure_reason": failure_reason,
            "watermark": "unchanged",
        },
    }


def describe_rollout(deployment_config: Mapping[str, Any] | None) -> str:
    """`canary 50 %, then bake 60 s; alarms a, b` or `plain blue/green update`."""
    if not deployment_config:
        return "plain blue/green update"
    routing = (deployment_config.get("BlueGreenUpdatePolicy") or {}).get("TrafficRoutingConfiguration") or {}
    kind = str(routing.get("Type", "ALL_AT_ONCE")).lower().replace("_", " ")
    size = routing.get("CanarySize") or routing.get("LinearStepSize")
    if size:
        kind += f" {size.get('Value')}{' %' if size.get('Type') == 'CAPACITY_PERCENT' else ' instance(s)'}"
    alarms = [a["AlarmName"] for a in (deployment_config.get("AutoRollbackConfiguration") or {}).get("Alarms", [])]
    return f"guarded rollout: {kind}, baking {routing.get('WaitIntervalInSeconds', 0)} s" + (
        f"; rollback alarms {', '.join(alarms)}" if alarms else ""
    )


def render(result: RollbackResult) -> str:
    """What the command prints: what was deployed in place of what, how, where it is recorded, and the watermark."""
    plan = result.plan
    before = f"version {plan.serving_version}" if plan.serving_version is not None else "no registry version"
    headline = {
        DEPLOYED: f"Rolled back endpoint {plan.serving.endpoint_name} to {plan.version.describe()}: InService.",
        FAILED: f"Rollback of endpoint {plan.serving.endpoint_name} to {plan.version.describe()} failed: the endpoint "
        f"serves config {result.endpoint.config_name if result.endpoint else plan.serving.config_name}.",
        REQUESTED: f"Rolling back endpoint {plan.serving.endpoint_name} to {plan.version.describe()}: "
        + (
            f"still {result.endpoint.status} when the wait ended; SageMaker goes on."
            if result.endpoint
            else "UpdateEndpoint accepted (not waited for)."
        ),
    }[result.outcome]
    lines = [
        headline,
        f"  now      model {plan.model_name}, config {plan.config_name}",
        f"  before   {before}, model {plan.serving.model_name}, config {plan.serving.config_name}",
        f"  how      {describe_rollout(plan.deployment_config)}",
        f"  record   {result.record_uri}",
    ]
    if result.endpoint and result.endpoint.failure_reason and result.outcome != DEPLOYED:
        lines.append(f"  reason   {result.endpoint.failure_reason}")
    if result.scaling:
        lines.append(f"  scaling  the variant was {result.scaling}")
    if result.outcome != FAILED:
        lines.append(
            "The watermark is unchanged: the next run trains and is judged as usual, and its model replaces this one "
            "if it passes the quality gate."
        )
    return "\n".join(lines)


def to_json(result: RollbackResult) -> dict[str, Any]:
    return {"outcome": result.outcome, "record": result.record_uri, **result.record["rollback"]}


def _create_model_and_config(sagemaker: SageMakerClient, plan: RollbackPlan) -> str:
    """Create the version's model (its run's model, when it still exists, is kept as it is) and the rollback's
    endpoint config, a copy of the serving one with the model replaced; return the config's ARN."""
    create_run_model(
        sagemaker, plan.model_name, version_containers(plan.version), role_arn=plan.serving.role_arn, tags=plan.tags()
    )
    variant = cast("ProductionVariantTypeDef", {**plan.serving.variant, "ModelName": plan.model_name})
    extra = {key: plan.serving.config[key] for key in _CONFIG_FIELDS if plan.serving.config.get(key)}
    created = sagemaker.create_endpoint_config(
        EndpointConfigName=plan.config_name, ProductionVariants=[variant], Tags=plan.tags(), **extra
    )
    return str(created["EndpointConfigArn"])


def _model_artifact(version: RegistryVersion) -> str | None:
    """The algorithm's artifact: the only container's, or the one named `model` in a serial inference pipeline."""
    containers = version.containers
    model = containers[0] if len(containers) == 1 else next(
        (c for c in containers if c.get("ContainerHostname") == MODEL_HOSTNAME), None
    )  # fmt: skip
    return str(model["ModelDataUrl"]) if model and model.get("ModelDataUrl") else None


def _metrics(metadata: Mapping[str, str]) -> dict[str, float]:
    """The training job's metrics as the version's metadata keeps them (`metric:<name>`)."""
    metrics: dict[str, float] = {}
    for key, value in metadata.items():
        if key.startswith("metric:"):
            try:
                metrics[key.removeprefix("metric:")] = float(value)
            except ValueError:
                continue
    return metrics


def _integer(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None
