"""The operator's rollback of an autoscaled endpoint, against moto: UpdateEndpoint obeys SageMaker's rules for a
scaled variant (lambdas/common/autoscaling.py), as DeployModel's does."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import boto3
import pytest
from moto.sagemaker.models import sagemaker_backends

from lambdas.common.autoscaling import ScalingSettings, register_variant, registration
from operator_cli.rollback import DEPLOYED, render, roll_back
from operator_cli.rollback_endpoint import wait_for_endpoint
from tests.conftest import ACCOUNT
from tests.unit.operator_cli.rollback_pipeline import CALLER, NOW, REGION, Deployed

SCALING = ScalingSettings(
    min=1, max=4, target_invocations_per_instance=100, scale_in_cooldown_seconds=300, scale_out_cooldown_seconds=60
)


@pytest.fixture
def pipeline(aws: None) -> Deployed:
    return Deployed(lambda service: boto3.client(service, region_name=REGION))  # type: ignore[call-overload]


@pytest.fixture
def autoscaling(aws: None) -> Any:
    return boto3.client("application-autoscaling", region_name=REGION)


def scaled_to(pipeline: Deployed, count: int) -> None:
    """What target tracking does (moto lacks UpdateEndpointWeightsAndCapacities): the variant's counts change."""
    stored = sagemaker_backends[ACCOUNT][REGION].endpoints[pipeline.endpoint].production_variants[0]
    stored["CurrentInstanceCount"] = stored["DesiredInstanceCount"] = count


def desired(pipeline: Deployed) -> int:
    described = pipeline.sagemaker.describe_endpoint(EndpointName=pipeline.endpoint)
    return int(described["ProductionVariants"][0]["DesiredInstanceCount"])


def rolled_back(pipeline: Deployed, autoscaling: Any, plan: Any) -> Any:
    return roll_back(
        pipeline.sagemaker,
        pipeline.s3,
        plan,
        caller=CALLER,
        reason="v2 answers 500",
        clock=lambda: NOW,
        wait=lambda: wait_for_endpoint(pipeline.sagemaker, pipeline.endpoint, poll_seconds=0),
        autoscaling=autoscaling,
    )


def test_a_rollback_keeps_the_count_the_variant_scaled_to(pipeline: Deployed, autoscaling: Any) -> None:
    pipeline.train()
    pipeline.train()
    register_variant(autoscaling, pipeline.endpoint, SCALING)
    scaled_to(pipeline, 3)

    result = rolled_back(pipeline, autoscaling, pipeline.plan())

    assert result.outcome == DEPLOYED
    assert desired(pipeline) == 3
    assert registration(autoscaling, pipeline.endpoint) is not None
    assert result.scaling is None


def test_a_rollback_to_another_instance_type_deregisters_and_registers_the_variant_again(
    pipeline: Deployed, autoscaling: Any
) -> None:
    pipeline.train()
    pipeline.train()
    register_variant(autoscaling, pipeline.endpoint, SCALING)
    plan = pipeline.plan()
    # the serving config's copy, on another instance type (as an operator's edited config might be)
    variant = {**plan.serving.variant, "InstanceType": "ml.c5.xlarge"}
    plan = replace(plan, serving=replace(plan.serving, config={**plan.serving.config, "ProductionVariants": [variant]}))

    result = rolled_back(pipeline, autoscaling, plan)

    assert result.outcome == DEPLOYED
    held = registration(autoscaling, pipeline.endpoint)
    assert held is not None
    assert (held.min_capacity, held.max_capacity, len(held.policies)) == (1, 4, 1)
    assert "scaling  the variant was deregistered from autoscaling for the update" in render(result)
