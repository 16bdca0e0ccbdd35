"""The smoke test's roll-back of an autoscaled endpoint obeys SageMaker's rules as DeployModel's update does."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import boto3
import pytest

from lambdas.common.autoscaling import ScalingSettings, register_variant, registration
from lambdas.smoke_test.core import roll_back
from tests.unit.lambdas.smoke_test.scenario import ENDPOINT, NEW, PARAMETER, PREVIOUS, deployment, serving

SCALING = ScalingSettings(
    min=1, max=4, target_invocations_per_instance=100, scale_in_cooldown_seconds=300, scale_out_cooldown_seconds=60
)
EARLIER_XLARGE = "churn-20261119-xlarge"


@pytest.fixture
def autoscaling(sagemaker: Any) -> Any:
    """Application Auto Scaling with the endpoint's variant registered, scaled to 3 instances."""
    client = boto3.client("application-autoscaling")
    register_variant(client, ENDPOINT, replace(SCALING, min=3))
    return client


def count(sagemaker: Any) -> int:
    return int(sagemaker.describe_endpoint(EndpointName=ENDPOINT)["ProductionVariants"][0]["DesiredInstanceCount"])


def test_a_roll_back_to_the_same_instance_type_keeps_the_scaled_count_and_registration(
    sagemaker: Any, ssm: Any, autoscaling: Any
) -> None:
    said = roll_back(
        sagemaker, ssm, replace(deployment(), previous_endpoint_config=PREVIOUS), PARAMETER, autoscaling=autoscaling
    )

    assert serving(sagemaker) == PREVIOUS
    assert count(sagemaker) == 3  # not the earlier config's 1
    assert registration(autoscaling, ENDPOINT) is not None
    assert "deregistered" not in said


def test_a_roll_back_to_another_instance_type_deregisters_first_and_says_so(
    sagemaker: Any, ssm: Any, autoscaling: Any
) -> None:
    sagemaker.create_endpoint_config(
        EndpointConfigName=EARLIER_XLARGE,
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": NEW, "InstanceType": "ml.m5.xlarge", "InitialInstanceCount": 1}
        ],
    )

    said = roll_back(
        sagemaker,
        ssm,
        replace(deployment(), previous_endpoint_config=EARLIER_XLARGE),
        PARAMETER,
        autoscaling=autoscaling,
    )

    assert serving(sagemaker) == EARLIER_XLARGE
    assert registration(autoscaling, ENDPOINT) is None
    assert said.endswith("deregistered from autoscaling first, until the next deployment registers it again")
