"""Application Auto Scaling of the endpoint's variant, and UpdateEndpoint as SageMaker requires it of a scaled variant.

The rules, from the SageMaker Developer Guide, "Update endpoints that use auto scaling":
- "If the update would change the instance type for any model that is a target for auto scaling, the update fails
  ... Before you update the endpoint, delete any scaling policies configured for it and deregister the variant as a
  scalable target by calling the DeregisterScalableTarget Application Auto Scaling API action. After you update the
  endpoint, you can register the updated variant as a scalable target and attach a scaling policy."
- "If you change the model for a variant that is configured for auto scaling, Amazon SageMaker AI auto scaling allows
  the update."
- UpdateEndpoint with RetainAllVariantProperties true "specifies that a production variant with the same name will be
  updated with the most recent DesiredInstanceCount from the response from the call to DescribeEndpoint, regardless
  of the value of the InitialInstanceCount field in the new EndpointConfig" (same page, step 6): without it an update
  resets a scaled-out variant to the config's count (UpdateEndpoint API reference: "The default is false").

DeployModel, the smoke test's roll-back and the operator's rollback all update the endpoint through `update_endpoint`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from contract.names import VARIANT_NAME
from lambdas.common import env as names
from lambdas.common.errors import ConfigurationError

if TYPE_CHECKING:
    from types_boto3_sagemaker import SageMakerClient

SERVICE_NAMESPACE = "sagemaker"
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
METRIC_TYPE = "SageMakerVariantInvocationsPerInstance"
# Application Auto Scaling answers ObjectNotFoundException for a target or policy it does not hold.
_NOT_FOUND = frozenset({"ObjectNotFoundException"})


class ScalingClient(Protocol):
    """The Application Auto Scaling calls used here (boto3's `application-autoscaling` client; no stubs installed)."""

    def register_scalable_target(self, **kwargs: Any) -> Mapping[str, Any]: ...
    def deregister_scalable_target(self, **kwargs: Any) -> Mapping[str, Any]: ...
    def describe_scalable_targets(self, **kwargs: Any) -> Mapping[str, Any]: ...
    def put_scaling_policy(self, **kwargs: Any) -> Mapping[str, Any]: ...
    def delete_scaling_policy(self, **kwargs: Any) -> Mapping[str, Any]: ...
    def describe_scaling_policies(self, **kwargs: Any) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class ScalingSettings:
    """The pipeline's `endpoint.autoscaling`, as the stack passes it in ENDPOINT_AUTOSCALING (JSON)."""

    min: int
    max: int
    target_invocations_per_instance: int
    scale_in_cooldown_seconds: int
    scale_out_cooldown_seconds: int

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ScalingSettings | None:
        """The configured scaling, None when the endpoint is not scaled; raise ConfigurationError if malformed."""
        raw = names.optional_str(env, names.ENDPOINT_AUTOSCALING)
        if raw is None:
            return None
        try:
            return cls(**{key: int(value) for key, value in json.loads(raw).items()})
        except (ValueError, TypeError, AttributeError) as error:
            raise ConfigurationError(
                f"environment variable {names.ENDPOINT_AUTOSCALING} must be a JSON object of the autoscaling "
                f"settings, got {raw!r}: {error}"
            ) from error

    def to_env(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class Registration:
    """What Application Auto Scaling held for the variant: its range and its policies (as DescribeScalingPolicies
    gives them), to register again after an update that needed the variant deregistered."""

    min_capacity: int
    max_capacity: int
    policies: tuple[Mapping[str, Any], ...]


def resource_id(endpoint_name: str, variant: str = VARIANT_NAME) -> str:
    """Application Auto Scaling's ResourceId of a SageMaker variant (RegisterScalableTarget's API reference)."""
    return f"endpoint/{endpoint_name}/variant/{variant}"


def policy_name(endpoint_name: str) -> str:
    return f"{endpoint_name}-invocations-per-instance"


def register_variant(autoscaling: ScalingClient, endpoint_name: str, settings: ScalingSettings) -> None:
    """Register the variant as a scalable target between min and max, with target tracking on its invocations per
    instance. Both calls create or update, so a retried or repeated registration changes nothing."""
    target = _register_target(autoscaling, endpoint_name, settings.min, settings.max)
    autoscaling.put_scaling_policy(
        PolicyName=policy_name(endpoint_name),
        ServiceNamespace=SERVICE_NAMESPACE,
        ResourceId=target,
        ScalableDimension=SCALABLE_DIMENSION,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": float(settings.target_invocations_per_instance),
            "PredefinedMetricSpecification": {"PredefinedMetricType": METRIC_TYPE},
            "ScaleInCooldown": settings.scale_in_cooldown_seconds,
            "ScaleOutCooldown": settings.scale_out_cooldown_seconds,
        },
    )


def registration(autoscaling: ScalingClient, endpoint_name: str) -> Registration | None:
    """The variant's scalable target and policies; None when it is not registered."""
    target = resource_id(endpoint_name)
    found = autoscaling.describe_scalable_targets(
        ServiceNamespace=SERVICE_NAMESPACE, ResourceIds=[target], ScalableDimension=SCALABLE_DIMENSION
    ).get("ScalableTargets", [])
    if not found:
        return None
    policies = autoscaling.describe_scaling_policies(
        ServiceNamespace=SERVICE_NAMESPACE, ResourceId=target, ScalableDimension=SCALABLE_DIMENSION
    ).get("ScalingPolicies", [])
    return Registration(
        min_capacity=int(found[0]["MinCapacity"]),
        max_capacity=int(found[0]["MaxCapacity"]),
        policies=tuple(p for p in policies if p.get("ResourceId") == target),
    )


def deregister_variant(autoscaling: ScalingClient, endpoint_name: str, held: Registration) -> None:
    """Delete the variant's scaling policies, then deregister it (the order the Developer Guide gives); what is
    already gone is skipped, so a retry completes."""
    target = resource_id(endpoint_name)
    for policy in held.policies:
        _unless_gone(
            functools.partial(
                autoscaling.delete_scaling_policy,
                PolicyName=policy["PolicyName"],
                ServiceNamespace=SERVICE_NAMESPACE,
                ResourceId=target,
                ScalableDimension=SCALABLE_DIMENSION,
            )
        )
    _unless_gone(
        lambda: autoscaling.deregister_scalable_target(
            ServiceNamespace=SERVICE_NAMESPACE, ResourceId=target, ScalableDimension=SCALABLE_DIMENSION
        )
    )


def restore(autoscaling: ScalingClient, endpoint_name: str, held: Registration) -> None:
    """Register the variant again as it was before `deregister_variant`."""
    target = _register_target(autoscaling, endpoint_name, held.min_capacity, held.max_capacity)
    for policy in held.policies:
        configuration = {
            key: policy[key]
            for key in ("TargetTrackingScalingPolicyConfiguration", "StepScalingPolicyConfiguration")
            if policy.get(key)
        }
        autoscaling.put_scaling_policy(
            PolicyName=policy["PolicyName"],
            ServiceNamespace=SERVICE_NAMESPACE,
            ResourceId=target,
            ScalableDimension=SCALABLE_DIMENSION,
            PolicyType=policy["PolicyType"],
            **_without_alarms(configuration),
        )


@dataclass(frozen=True)
class EndpointUpdate:
    """What `update_endpoint` did: `deregistered` holds the registration it removed (None: none removed)."""

    retained_instance_count: bool
    deregistered: Registration | None


def update_endpoint(
    sagemaker: SageMakerClient,
    autoscaling: ScalingClient | None,
    *,
    endpoint_name: str,
    config_name: str,
    deployment_config: Mapping[str, Any] | None = None,
) -> EndpointUpdate:
    """UpdateEndpoint to `config_name`, as SageMaker requires of an autoscaled variant (see the module's docstring).

    A variant registered with Application Auto Scaling keeps the instance count it scaled to
    (RetainAllVariantProperties) when the instance type stays; when the type changes it is deregistered first and
    starts from the new config's count. `autoscaling` None: the caller does not manage scaling, a plain update.
    """
    held = registration(autoscaling, endpoint_name) if autoscaling is not None else None
    extra: dict[str, Any] = {}
    if deployment_config:
        extra["DeploymentConfig"] = deployment_config
    deregistered = None
    if held is not None and autoscaling is not None:
        if _instance_type_changes(sagemaker, endpoint_name, config_name):
            deregister_variant(autoscaling, endpoint_name, held)
            deregistered = held
        else:
            extra["RetainAllVariantProperties"] = True
    sagemaker.update_endpoint(EndpointName=endpoint_name, EndpointConfigName=config_name, **extra)
    return EndpointUpdate(retained_instance_count="RetainAllVariantProperties" in extra, deregistered=deregistered)


def instance_type_of(sagemaker: SageMakerClient, config_name: str) -> str | None:
    """The instance type of the config's variant (None: serverless, or no such variant)."""
    variants = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)["ProductionVariants"]
    for variant in variants:
        if variant["VariantName"] == VARIANT_NAME:
            return variant.get("InstanceType")
    return None


def _instance_type_changes(sagemaker: SageMakerClient, endpoint_name: str, config_name: str) -> bool:
    serving = sagemaker.describe_endpoint(EndpointName=endpoint_name)["EndpointConfigName"]
    return instance_type_of(sagemaker, serving) != instance_type_of(sagemaker, config_name)


def _without_alarms(configuration: Mapping[str, Any]) -> dict[str, Any]:
    """DescribeScalingPolicies' configuration as PutScalingPolicy takes it."""
    return {
        key: {k: v for k, v in value.items() if k != "Alarms"} if isinstance(value, Mapping) else value
        for key, value in configuration.items()
    }


def _unless_gone(call: Callable[[], object]) -> None:
    try:
        call()
    except ClientError as error:
        if error.response["Error"]["Code"] in _NOT_FOUND:
            return
        raise


def _register_target(autoscaling: ScalingClient, endpoint_name: str, low: int, high: int) -> str:
    """Register (or update) the variant as a scalable target between `low` and `high`; its resource id."""
    target = resource_id(endpoint_name)
    autoscaling.register_scalable_target(
        ServiceNamespace=SERVICE_NAMESPACE,
        ResourceId=target,
        ScalableDimension=SCALABLE_DIMENSION,
        MinCapacity=low,
        MaxCapacity=high,
    )
    return target
