"""DeployModel and GetStatus with an autoscaled endpoint, against moto's SageMaker and Application Auto Scaling: the
variant is registered once the endpoint serves the run's config, an update keeps the count it scaled to, and an
instance-type change deregisters it first (SageMaker refuses the update otherwise) and registers it again after."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto.sagemaker.models import sagemaker_backends

from lambdas.common.autoscaling import ScalingSettings, registration
from lambdas.common.events import Execution
from lambdas.common.models import DeploymentState
from lambdas.deploy_model.core import DeploySettings, deploy_model
from lambdas.get_status.core import PollSettings, endpoint_status
from tests.conftest import ACCOUNT
from tests.local_aws import REGION
from tests.unit.lambdas.states import training_section

NOW = datetime(2026, 11, 22, 8, 0, 0, tzinfo=UTC)
SCALING = ScalingSettings(
    min=2, max=6, target_invocations_per_instance=100, scale_in_cooldown_seconds=300, scale_out_cooldown_seconds=60
)
SETTINGS = DeploySettings(
    pipeline="churn",
    endpoint_name="churn",
    instance_type="ml.m5.large",
    instance_count=2,
    image="382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1",
    role_arn="arn:aws:iam::123456789012:role/churn-sagemaker",
    poll_interval_seconds=30,
    autoscaling=SCALING,
)
POLL = PollSettings(
    poll_interval_seconds=30, max_training_wait_seconds=3600, max_deployment_wait_seconds=3600, autoscaling=SCALING
)


@pytest.fixture
def sagemaker(aws: None) -> Any:
    return boto3.client("sagemaker")


@pytest.fixture
def autoscaling(aws: None) -> Any:
    return boto3.client("application-autoscaling")


def deploy(run: str, execution: Execution, sagemaker: Any, autoscaling: Any, **changes: Any) -> DeploymentState:
    """DeployModel, then GetStatus once (moto's endpoint is InService at once)."""
    training = training_section(job_name=run, model_artifact=f"s3://b/models/churn/{run}/output/model.tar.gz")
    settings = replace(SETTINGS, **changes)
    state = deploy_model(training, execution, sagemaker=sagemaker, settings=settings, now=NOW, autoscaling=autoscaling)
    return endpoint_status(state, sagemaker=sagemaker, settings=POLL, now=NOW, autoscaling=autoscaling)


def desired_count(sagemaker: Any) -> int:
    return int(sagemaker.describe_endpoint(EndpointName="churn")["ProductionVariants"][0]["DesiredInstanceCount"])


def scale_to(count: int) -> None:
    """What Application Auto Scaling does when the policy scales (moto lacks UpdateEndpointWeightsAndCapacities)."""
    stored = sagemaker_backends[ACCOUNT][REGION].endpoints["churn"].production_variants[0]
    stored["CurrentInstanceCount"] = stored["DesiredInstanceCount"] = count


def test_the_first_runs_new_endpoint_is_registered_once_it_serves(
    sagemaker: Any, autoscaling: Any, execution: Execution
) -> None:
    state = deploy("churn-1", execution, sagemaker, autoscaling)

    assert state.serving_new_model
    held = registration(autoscaling, "churn")
    assert held is not None
    assert (held.min_capacity, held.max_capacity) == (2, 6)
    assert state.instance_count == 2


def test_an_update_with_the_same_instance_type_keeps_the_scaled_count(
    sagemaker: Any, autoscaling: Any, execution: Execution
) -> None:
    deploy("churn-1", execution, sagemaker, autoscaling)
    scale_to(5)

    state = deploy("churn-2", execution, sagemaker, autoscaling)

    assert state.serving_new_model
    assert desired_count(sagemaker) == 5  # not the config's 2
    assert registration(autoscaling, "churn") is not None


def test_an_instance_type_change_deregisters_updates_and_registers_again(
    sagemaker: Any, autoscaling: Any, execution: Execution
) -> None:
    deploy("churn-1", execution, sagemaker, autoscaling)
    scale_to(5)
    training = training_section(job_name="churn-2", model_artifact="s3://b/models/churn/churn-2/output/model.tar.gz")
    xlarge = replace(SETTINGS, instance_type="ml.m5.xlarge")

    state = deploy_model(training, execution, sagemaker=sagemaker, settings=xlarge, now=NOW, autoscaling=autoscaling)

    assert registration(autoscaling, "churn") is None  # deregistered before UpdateEndpoint, which then succeeded
    assert sagemaker.describe_endpoint(EndpointName="churn")["EndpointConfigName"] == "churn-2"
    assert desired_count(sagemaker) == 2  # the new instance type starts from the config's count
    endpoint_status(state, sagemaker=sagemaker, settings=POLL, now=NOW, autoscaling=autoscaling)
    assert registration(autoscaling, "churn") is not None


def test_an_endpoint_back_on_its_old_config_after_a_failed_update_is_registered_again(
    sagemaker: Any, autoscaling: Any, execution: Execution
) -> None:
    deploy("churn-1", execution, sagemaker, autoscaling)
    training = training_section(job_name="churn-2", model_artifact="s3://b/models/churn/churn-2/output/model.tar.gz")
    xlarge = replace(SETTINGS, instance_type="ml.m5.xlarge")
    state = deploy_model(training, execution, sagemaker=sagemaker, settings=xlarge, now=NOW, autoscaling=autoscaling)

    # GetStatus finds the endpoint InService on another config than the run's (as after an update that failed)
    failed = endpoint_status(
        replace(state, endpoint_config_name="churn-3"),
        sagemaker=sagemaker,
        settings=POLL,
        now=NOW,
        autoscaling=autoscaling,
    )

    assert not failed.serving_new_model
    assert registration(autoscaling, "churn") is not None


def test_without_autoscaling_nothing_is_registered(sagemaker: Any, autoscaling: Any, execution: Execution) -> None:
    training = training_section(job_name="churn-1", model_artifact="s3://b/models/churn/churn-1/output/model.tar.gz")
    fixed = replace(SETTINGS, autoscaling=None)
    state = deploy_model(training, execution, sagemaker=sagemaker, settings=fixed, now=NOW)

    endpoint_status(state, sagemaker=sagemaker, settings=replace(POLL, autoscaling=None), now=NOW)

    assert registration(autoscaling, "churn") is None
