"""DeployModel: register the trained model and roll it out to the endpoint with zero downtime."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from contract.names import VARIANT_NAME
from contract.polling import next_poll_seconds
from lambdas.common import env as names
from lambdas.common.autoscaling import ScalingClient, ScalingSettings, update_endpoint
from lambdas.common.errors import ConfigurationError, EndpointNotUpdatableError, InvalidStepEventError
from lambdas.common.events import Execution, format_timestamp
from lambdas.common.inference import (
    ServingPreprocessing,
    create_run_model,
    model_environment,
    serving_containers,
)
from lambdas.common.models import DeploymentState, PreprocessingState, TrainingJobState
from lambdas.common.names import run_tags
from lambdas.common.sagemaker import create_if_absent

if TYPE_CHECKING:
    from types_boto3_sagemaker import SageMakerClient
    from types_boto3_sagemaker.literals import ProductionVariantInstanceTypeType, TrafficRoutingConfigTypeType
    from types_boto3_sagemaker.type_defs import (
        BlueGreenUpdatePolicyTypeDef,
        CapacitySizeTypeDef,
        DeploymentConfigTypeDef,
        ProductionVariantServerlessConfigTypeDef,
        ProductionVariantTypeDef,
        TagTypeDef,
        TrafficRoutingConfigTypeDef,
    )

# UpdateEndpoint is refused while the endpoint is changing; these states accept it.
_UPDATABLE = frozenset({"InService"})
_CHANGING = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack"})
# The config's strategy names and SageMaker's TrafficRoutingConfig types.
_TRAFFIC_ROUTING: dict[str, TrafficRoutingConfigTypeType] = {
    "all_at_once": "ALL_AT_ONCE",
    "canary": "CANARY",
    "linear": "LINEAR",
}
_SIZED = frozenset({"canary", "linear"})  # the strategies that shift traffic in steps of step_percent
_MAX_ROLLBACK_ALARMS = 10  # AutoRollbackConfig takes 1 to 10 alarms


@dataclass(frozen=True)
class RolloutSettings:
    """A blue/green update with traffic shifting, baking periods, and rollback when an alarm fires."""

    strategy: str  # all_at_once, canary or linear
    wait_seconds: int
    step_percent: int | None  # canary size or linear step; None for all_at_once
    termination_wait_seconds: int
    max_execution_seconds: int | None
    alarm_names: tuple[str, ...]

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RolloutSettings | None:
        """The rollout the stack configured, None when there is none; raise ConfigurationError if malformed."""
        strategy = names.optional_str(env, names.ROLLOUT_STRATEGY)
        if strategy is None:
            return None
        if strategy not in _TRAFFIC_ROUTING:
            raise ConfigurationError(
                f"environment variable {names.ROLLOUT_STRATEGY} must be one of {', '.join(_TRAFFIC_ROUTING)}, "
                f"got {strategy!r}"
            )
        alarms = tuple(a.strip() for a in names.require_str(env, names.ROLLOUT_ALARM_NAMES).split(",") if a.strip())
        if not 1 <= len(alarms) <= _MAX_ROLLBACK_ALARMS:
            raise ConfigurationError(
                f"environment variable {names.ROLLOUT_ALARM_NAMES} must name 1 to {_MAX_ROLLBACK_ALARMS} alarms, "
                f"got {len(alarms)}"
            )
        timeout = names.optional_str(env, names.ROLLOUT_MAX_EXECUTION_SECONDS)
        return cls(
            strategy=strategy,
            wait_seconds=names.require_int(env, names.ROLLOUT_WAIT_SECONDS, minimum=0),
            step_percent=names.require_int(env, names.ROLLOUT_STEP_PERCENT) if strategy in _SIZED else None,
            termination_wait_seconds=names.require_int(env, names.ROLLOUT_TERMINATION_WAIT_SECONDS, minimum=0),
            max_execution_seconds=None
            if timeout is None
            else names.require_int(env, names.ROLLOUT_MAX_EXECUTION_SECONDS),
            alarm_names=alarms,
        )

    def deployment_config(self) -> DeploymentConfigTypeDef:
        """UpdateEndpoint's DeploymentConfig: BlueGreenUpdatePolicy and AutoRollbackConfiguration."""
        routing: TrafficRoutingConfigTypeDef = {
            "Type": _TRAFFIC_ROUTING[self.strategy],
            "WaitIntervalInSeconds": self.wait_seconds,
        }
        if self.step_percent is not None:
            size: CapacitySizeTypeDef = {"Type": "CAPACITY_PERCENT", "Value": self.step_percent}
            if self.strategy == "canary":
                routing["CanarySize"] = size
            elif self.strategy == "linear":
                routing["LinearStepSize"] = size
        policy: BlueGreenUpdatePolicyTypeDef = {
            "TrafficRoutingConfiguration": routing,
            "TerminationWaitInSeconds": self.termination_wait_seconds,
        }
        if self.max_execution_seconds is not None:
            policy["MaximumExecutionTimeoutInSeconds"] = self.max_execution_seconds
        return {
            "BlueGreenUpdatePolicy": policy,
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": name} for name in self.alarm_names]},
        }


_SERVERLESS_KEYS = frozenset({"MemorySizeInMB", "MaxConcurrency", "ProvisionedConcurrency"})


def _serverless_config(env: Mapping[str, str]) -> dict[str, int] | None:
    """The variant's ServerlessConfig the stack configured, None for instances; raise ConfigurationError if
    malformed."""
    raw = names.optional_str(env, names.ENDPOINT_SERVERLESS_CONFIG)
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = None
    if (
        not isinstance(value, dict)
        or not {"MemorySizeInMB", "MaxConcurrency"} <= set(value) <= _SERVERLESS_KEYS
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value.values())
    ):
        raise ConfigurationError(
            f"environment variable {names.ENDPOINT_SERVERLESS_CONFIG} must be a JSON object of MemorySizeInMB, "
            "MaxConcurrency and optionally ProvisionedConcurrency, each an integer"
        )
    return value


@dataclass(frozen=True)
class DeploySettings:
    pipeline: str
    endpoint_name: str
    instance_type: str | None  # None for a serverless endpoint
    instance_count: int | None
    image: str
    role_arn: str
    poll_interval_seconds: int
    rollout: RolloutSettings | None = None
    preprocessing: ServingPreprocessing | None = None  # None: a single-container model
    environment: Mapping[str, str] = field(default_factory=dict)  # the algorithm's container's
    serverless: Mapping[str, int] | None = None  # the variant's ServerlessConfig; None: instances
    autoscaling: ScalingSettings | None = None  # None: the endpoint keeps the configured instance count

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DeploySettings:
        serverless = _serverless_config(env)
        return cls(
            pipeline=names.require_str(env, names.PIPELINE_NAME),
            endpoint_name=names.require_str(env, names.ENDPOINT_NAME),
            instance_type=None if serverless else names.require_str(env, names.ENDPOINT_INSTANCE_TYPE),
            instance_count=None if serverless else names.require_int(env, names.ENDPOINT_INSTANCE_COUNT),
            serverless=serverless,
            image=names.require_str(env, names.INFERENCE_IMAGE),
            role_arn=names.require_str(env, names.SAGEMAKER_ROLE_ARN),
            poll_interval_seconds=names.require_int(env, names.POLL_INTERVAL_SECONDS),
            rollout=RolloutSettings.from_env(env),
            preprocessing=ServingPreprocessing.from_env(env),
            environment=model_environment(env),
            autoscaling=ScalingSettings.from_env(env),
        )


def deploy_model(
    training: TrainingJobState,
    execution: Execution,
    *,
    sagemaker: SageMakerClient,
    settings: DeploySettings,
    now: datetime,
    expected_seconds: int | None = None,
    preprocessing: PreprocessingState | None = None,
    autoscaling: ScalingClient | None = None,
) -> DeploymentState:
    """Create the model and endpoint config, then create the endpoint or update it in place.

    With preprocessing the model is a serial inference pipeline: the run's fitted preprocessing (from the
    `preprocessing` section), the algorithm, and the postprocessing when configured.

    UpdateEndpoint keeps the old model serving until the new one is healthy, so the endpoint never stops
    answering. With a rollout configured the update shifts traffic in steps, bakes after each, and SageMaker
    rolls it back when one of the rollout's alarms fires (CreateEndpoint takes no DeploymentConfig). Safe to
    retry: every name derives from the run, and an endpoint already on this run's config is left alone. A serverless
    endpoint's variant has a ServerlessConfig instead of instances and updates the same way. Raises
    EndpointNotUpdatableError when the endpoint is Failed or busy with another change, or runs on instances and the
    settings ask for serverless.

    With `autoscaling` (Application Auto Scaling's client, given when the endpoint is scaled) an update obeys
    SageMaker's rules for a scaled variant (lambdas/common/autoscaling.py): it keeps the instance count the variant
    scaled to, and deregisters the variant first when the instance type changes; GetStatus registers it (again)
    once the endpoint is InService.
    """
    artifact = training.model_artifact
    if not artifact:
        raise InvalidStepEventError(f"training job {training.job_name} reported no model artifact: nothing to deploy")
    name = training.job_name
    tags = run_tags(settings.pipeline, execution)
    containers = serving_containers(
        preprocessing, artifact, settings.image, settings.preprocessing, settings.environment
    )
    create_run_model(sagemaker, name, containers, role_arn=settings.role_arn, tags=tags)
    before = _describe_endpoint(sagemaker, settings.endpoint_name)
    if settings.serverless is not None and before is not None:
        _refuse_instances_to_serverless(before, settings.endpoint_name)
    variant = _production_variant(name, settings)
    create_if_absent(
        lambda: sagemaker.describe_endpoint_config(EndpointConfigName=name),
        lambda: sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant], Tags=tags),
    )
    previous = str(before["EndpointConfigName"]) if before and before.get("EndpointConfigName") != name else None
    action = _roll_out(sagemaker, autoscaling, settings.endpoint_name, name, tags, settings.rollout)
    return DeploymentState(
        previous_endpoint_config=previous,
        endpoint_name=settings.endpoint_name,
        endpoint_config_name=name,
        model_name=name,
        action=action,
        status="Creating" if action == "create" else "Updating",
        failure_reason=None,
        serving_new_model=False,
        started_at=format_timestamp(now),
        waited_seconds=0,
        wait_exceeded=False,
        # The first wait: the previous deployment's duration (`expected_seconds`) says how long it may be.
        poll_seconds=next_poll_seconds(
            0, interval_seconds=settings.poll_interval_seconds, expected_seconds=expected_seconds
        ),
    )


def _production_variant(model_name: str, settings: DeploySettings) -> ProductionVariantTypeDef:
    """The endpoint config's one variant: a ServerlessConfig, or the instances (CreateEndpointConfig takes one or the
    other)."""
    variant: ProductionVariantTypeDef = {
        "VariantName": VARIANT_NAME,
        "ModelName": model_name,
        "InitialVariantWeight": 1.0,
    }
    if settings.serverless is not None:
        variant["ServerlessConfig"] = cast("ProductionVariantServerlessConfigTypeDef", dict(settings.serverless))
    else:
        variant["InitialInstanceCount"] = settings.instance_count or 1
        # The stack's config names a SageMaker instance type; SageMaker itself refuses any other.
        variant["InstanceType"] = cast("ProductionVariantInstanceTypeType", settings.instance_type)
    return variant


def _refuse_instances_to_serverless(endpoint: Mapping[str, Any], endpoint_name: str) -> None:
    """SageMaker refuses to turn an instance endpoint serverless (Developer Guide, Serverless Inference, "Feature
    exclusions": "If you try to update your real-time endpoint to serverless, you receive a ValidationError"); say
    so with the way out rather than fail on UpdateEndpoint's message. Raises EndpointNotUpdatableError."""
    variants = endpoint.get("ProductionVariants") or []
    if variants and not any(variant.get("CurrentServerlessConfig") for variant in variants):
        raise EndpointNotUpdatableError(
            f"endpoint {endpoint_name} runs on instances and this pipeline's endpoint is now serverless: SageMaker "
            "cannot update an instance endpoint to serverless; delete the endpoint and the next run creates it "
            "serverless, or remove endpoint.serverless"
        )


def _roll_out(
    sagemaker: SageMakerClient,
    autoscaling: ScalingClient | None,
    endpoint_name: str,
    config_name: str,
    tags: list[TagTypeDef],
    rollout: RolloutSettings | None,
) -> str:
    endpoint = _describe_endpoint(sagemaker, endpoint_name)
    if endpoint is None:
        sagemaker.create_endpoint(EndpointName=endpoint_name, EndpointConfigName=config_name, Tags=tags)
        return "create"
    status = endpoint["EndpointStatus"]
    pending = endpoint.get("PendingDeploymentSummary", {}).get("EndpointConfigName")
    if config_name in (endpoint.get("EndpointConfigName"), pending):
        # A retried attempt already asked for this config (during an update SageMaker shows it as pending):
        # keep polling, never ask twice.
        return "update" if status != "Creating" else "create"
    if status in _CHANGING:
        raise EndpointNotUpdatableError(
            f"endpoint {endpoint_name} is {status} with another change (config "
            f"{endpoint.get('EndpointConfigName')}); this run does not interrupt it"
        )
    if status not in _UPDATABLE:
        raise EndpointNotUpdatableError(
            f"endpoint {endpoint_name} is {status} and SageMaker accepts no update in that state"
            + (f" ({endpoint['FailureReason']})" if endpoint.get("FailureReason") else "")
            + "; delete it and the next run creates it again"
        )
    update_endpoint(
        sagemaker,
        autoscaling,
        endpoint_name=endpoint_name,
        config_name=config_name,
        deployment_config=None if rollout is None else rollout.deployment_config(),
    )
    return "update"


def _describe_endpoint(sagemaker: SageMakerClient, endpoint_name: str) -> dict[str, Any] | None:
    try:
        return dict(sagemaker.describe_endpoint(EndpointName=endpoint_name))
    except ClientError as error:
        if error.response["Error"]["Code"] == "ValidationException" and "not find" in str(error).lower():
            return None
        raise
