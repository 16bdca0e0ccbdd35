"""The shared UpdateEndpoint of a possibly autoscaled variant, against moto's SageMaker and Application Auto Scaling
(with the local runtime's rule that SageMaker refuses an instance-type change of a registered variant)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.sagemaker.models import sagemaker_backends

from lambdas.common import env
from lambdas.common.autoscaling import (
    SCALABLE_DIMENSION,
    ScalingSettings,
    register_variant,
    registration,
    resource_id,
    restore,
    update_endpoint,
)
from lambdas.common.errors import ConfigurationError
from tests.conftest import ACCOUNT
from tests.local_aws import REGION

SCALING = ScalingSettings(
    min=1, max=4, target_invocations_per_instance=200, scale_in_cooldown_seconds=300, scale_out_cooldown_seconds=60
)


@pytest.fixture
def sagemaker(aws: None) -> Any:
    client = boto3.client("sagemaker")
    client.create_model(ModelName="m", PrimaryContainer={"Image": "i"}, ExecutionRoleArn="arn:aws:iam::1:role/r")
    for name, kind, count in (("large", "ml.m5.large", 2), ("large-too", "ml.m5.large", 1), ("xl", "ml.m5.xlarge", 1)):
        client.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {"VariantName": "AllTraffic", "ModelName": "m", "InstanceType": kind, "InitialInstanceCount": count}
            ],
        )
    client.create_endpoint(EndpointName="churn", EndpointConfigName="large")
    return client


@pytest.fixture
def autoscaling(aws: None) -> Any:
    return boto3.client("application-autoscaling")


def variant(sagemaker: Any) -> dict[str, Any]:
    described: dict[str, Any] = sagemaker.describe_endpoint(EndpointName="churn")["ProductionVariants"][0]
    return described


def scaled_to(count: int) -> None:
    """What Application Auto Scaling does when it scales the variant (UpdateEndpointWeightsAndCapacities, which moto
    lacks): the stored counts change."""
    stored = sagemaker_backends[ACCOUNT][REGION].endpoints["churn"].production_variants[0]
    stored["CurrentInstanceCount"] = stored["DesiredInstanceCount"] = count


def test_registering_creates_the_target_and_its_target_tracking_policy(sagemaker: Any, autoscaling: Any) -> None:
    register_variant(autoscaling, "churn", SCALING)

    target = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert [(t["ResourceId"], t["ScalableDimension"], t["MinCapacity"], t["MaxCapacity"]) for t in target] == [
        ("endpoint/churn/variant/AllTraffic", SCALABLE_DIMENSION, 1, 4)
    ]
    [policy] = autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert tracking["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
    }
    assert (tracking["TargetValue"], tracking["ScaleInCooldown"], tracking["ScaleOutCooldown"]) == (200.0, 300, 60)


def test_registering_again_changes_the_range_and_keeps_one_policy(sagemaker: Any, autoscaling: Any) -> None:
    register_variant(autoscaling, "churn", SCALING)

    register_variant(autoscaling, "churn", ScalingSettings(**{**SCALING.__dict__, "max": 8}))

    assert registration(autoscaling, "churn") is not None
    assert registration(autoscaling, "churn").max_capacity == 8  # type: ignore[union-attr]
    assert len(autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]) == 1


def test_an_unregistered_variant_is_updated_plainly_to_the_new_configs_count(sagemaker: Any, autoscaling: Any) -> None:
    update = update_endpoint(sagemaker, autoscaling, endpoint_name="churn", config_name="large-too")

    assert (update.retained_instance_count, update.deregistered) == (False, None)
    assert variant(sagemaker)["DesiredInstanceCount"] == 1


def test_a_scaled_variant_keeps_the_count_it_scaled_to_when_the_instance_type_stays(
    sagemaker: Any, autoscaling: Any
) -> None:
    register_variant(autoscaling, "churn", SCALING)
    scaled_to(3)

    update = update_endpoint(sagemaker, autoscaling, endpoint_name="churn", config_name="large-too")

    assert (update.retained_instance_count, update.deregistered) == (True, None)
    assert sagemaker.describe_endpoint(EndpointName="churn")["EndpointConfigName"] == "large-too"
    assert variant(sagemaker)["DesiredInstanceCount"] == 3  # not the config's 1
    assert registration(autoscaling, "churn") is not None


def test_sagemaker_refuses_an_instance_type_change_of_a_registered_variant(sagemaker: Any, autoscaling: Any) -> None:
    register_variant(autoscaling, "churn", SCALING)

    with pytest.raises(ClientError, match="registered as scalable targets"):
        sagemaker.update_endpoint(EndpointName="churn", EndpointConfigName="xl")


def test_an_instance_type_change_deregisters_the_variant_first_then_updates(sagemaker: Any, autoscaling: Any) -> None:
    register_variant(autoscaling, "churn", SCALING)

    update = update_endpoint(sagemaker, autoscaling, endpoint_name="churn", config_name="xl")

    assert update.deregistered is not None
    assert update.deregistered.min_capacity == 1
    assert [p["PolicyName"] for p in update.deregistered.policies] == ["churn-invocations-per-instance"]
    assert sagemaker.describe_endpoint(EndpointName="churn")["EndpointConfigName"] == "xl"
    assert registration(autoscaling, "churn") is None
    assert autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []


def test_a_deregistered_variant_is_restored_as_it_was(sagemaker: Any, autoscaling: Any) -> None:
    register_variant(autoscaling, "churn", SCALING)
    held = update_endpoint(sagemaker, autoscaling, endpoint_name="churn", config_name="xl").deregistered
    assert held is not None

    restore(autoscaling, "churn", held)

    again = registration(autoscaling, "churn")
    assert again is not None
    assert (again.min_capacity, again.max_capacity) == (1, 4)
    assert [p["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] for p in again.policies] == [200.0]


def test_without_a_client_the_update_is_plain(sagemaker: Any) -> None:
    update = update_endpoint(sagemaker, None, endpoint_name="churn", config_name="large-too")

    assert (update.retained_instance_count, update.deregistered) == (False, None)


def test_registering_moves_the_variants_count_into_the_range(sagemaker: Any, autoscaling: Any) -> None:
    # RegisterScalableTarget "changes the resource's current capacity to a value that is inside of this range"
    register_variant(autoscaling, "churn", ScalingSettings(**{**SCALING.__dict__, "min": 3}))

    assert (variant(sagemaker)["DesiredInstanceCount"], variant(sagemaker)["CurrentInstanceCount"]) == (3, 3)


def test_the_resource_id_names_the_endpoint_and_its_variant() -> None:
    assert resource_id("churn") == "endpoint/churn/variant/AllTraffic"


def test_settings_are_read_from_the_environment_and_absent_when_unset() -> None:
    assert ScalingSettings.from_env({env.ENDPOINT_AUTOSCALING: SCALING.to_env()}) == SCALING
    assert ScalingSettings.from_env({}) is None


@pytest.mark.parametrize("raw", ["not json", "[1]", '{"min": 1}', '{"min": "x", "max": 2}'])
def test_malformed_settings_name_the_variable(raw: str) -> None:
    with pytest.raises(ConfigurationError, match=env.ENDPOINT_AUTOSCALING):
        ScalingSettings.from_env({env.ENDPOINT_AUTOSCALING: raw})
