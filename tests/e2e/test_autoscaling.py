"""An autoscaled endpoint through the local runtime: the first run's new endpoint is registered with Application Auto
Scaling, a later run keeps the count it scaled to, and a run that changes the instance type deregisters the variant
before UpdateEndpoint (the local SageMaker refuses the update otherwise, as SageMaker does) and registers it again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from local_runtime.deploy import DeployedPipeline, run_execution
from local_runtime.runtime import QUIET_FUNCTIONS, LocalRuntime, synthesize
from tests.e2e.test_local_runtime import day, rows

pytestmark = pytest.mark.e2e

PIPELINE = "scaled"
STACK = f"SageMakerRetraining-{PIPELINE}"
RESOURCE_ID = f"endpoint/{PIPELINE}/variant/AllTraffic"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
CONFIG: dict[str, Any] = {
    "name": PIPELINE,
    "data_prefix": f"data/{PIPELINE}",
    "window_days": 5,
    "hyperparameters": {"predictor_type": "regressor"},
    "evaluation": {"score_models": False},
    "endpoint": {"autoscaling": {"min": 1, "max": 3, "target_invocations_per_instance": 100}},
    "polling": {"interval_seconds": 1, "max_deployment_wait_seconds": 300},
}


def template(instance_type: str) -> dict[str, Any]:
    config = {**CONFIG, "endpoint": {**CONFIG["endpoint"], "instance_type": instance_type}}
    return synthesize({"pipelines": [config]})[STACK]


@pytest.fixture(scope="module")
def local() -> Iterator[LocalRuntime]:
    with LocalRuntime() as runtime:
        yield runtime


def deploy(local: LocalRuntime, instance_type: str) -> DeployedPipeline:
    return local.deploy_template(template(instance_type), stack_name=STACK, function_environment=QUIET_FUNCTIONS)


def run(local: LocalRuntime, pipeline: DeployedPipeline, name: str, offset: int) -> dict[str, Any]:
    bucket = pipeline.stack.outputs["DataBucketName"]
    local.client("s3").put_object(Bucket=bucket, Key=f"data/{PIPELINE}/{day(offset)}.csv", Body=rows(offset))
    record = run_execution(local.aws, pipeline, name=name, timeout_seconds=180)
    assert record.status == "SUCCEEDED", record.cause
    output: dict[str, Any] = record.output
    return output


def registered(local: LocalRuntime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    autoscaling = local.client("application-autoscaling")
    targets = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[RESOURCE_ID])
    policies = autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=RESOURCE_ID)
    return targets["ScalableTargets"], policies["ScalingPolicies"]


def variant(local: LocalRuntime) -> dict[str, Any]:
    described: dict[str, Any] = local.client("sagemaker").describe_endpoint(EndpointName=PIPELINE)
    return described["ProductionVariants"][0]


def instance_type(local: LocalRuntime) -> str:
    sagemaker = local.client("sagemaker")
    config = sagemaker.describe_endpoint(EndpointName=PIPELINE)["EndpointConfigName"]
    return str(sagemaker.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"][0]["InstanceType"])


def test_an_autoscaled_endpoint_is_registered_keeps_its_count_and_survives_an_instance_type_change(
    local: LocalRuntime,
) -> None:
    # GIVEN an autoscaled pipeline on ml.m5.large with data for its first run
    pipeline = deploy(local, "ml.m5.large")
    local.client("s3").put_object(
        Bucket=pipeline.stack.outputs["DataBucketName"], Key=f"data/{PIPELINE}/{day(4)}.csv", Body=rows(4)
    )

    # WHEN the first run deploys the endpoint
    run(local, pipeline, "first", offset=3)

    # THEN its variant is registered between 1 and 3 instances, with target tracking on invocations per instance
    targets, policies = registered(local)
    assert [(t["ScalableDimension"], t["MinCapacity"], t["MaxCapacity"]) for t in targets] == [(DIMENSION, 1, 3)]
    [policy] = policies
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == "SageMakerVariantInvocationsPerInstance"
    assert tracking["TargetValue"] == 100.0

    # GIVEN the endpoint scaled out to 2 instances (what a busy hour's target tracking does)
    local.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=RESOURCE_ID, ScalableDimension=DIMENSION, MinCapacity=2
    )
    assert variant(local)["DesiredInstanceCount"] == 2

    # WHEN a second run deploys on the same instance type
    second = run(local, pipeline, "second", offset=2)

    # THEN the new model serves on the 2 instances, not the config's 1, and the range is the config's again
    assert second["deployment"]["serving_new_model"] is True
    assert (variant(local)["DesiredInstanceCount"], variant(local)["CurrentInstanceCount"]) == (2, 2)
    assert second["deployment"]["instance_count"] == 2
    assert [(t["MinCapacity"], t["MaxCapacity"]) for t in registered(local)[0]] == [(1, 3)]

    # WHEN the pipeline moves to ml.m5.xlarge and a third run deploys
    pipeline = deploy(local, "ml.m5.xlarge")
    third = run(local, pipeline, "third", offset=1)

    # THEN the update went through (the variant was deregistered first), the endpoint serves on the new type from the
    # config's count, and the variant is registered again with its policy
    assert third["deployment"]["serving_new_model"] is True
    assert instance_type(local) == "ml.m5.xlarge"
    assert variant(local)["DesiredInstanceCount"] == 1
    targets, policies = registered(local)
    assert [(t["MinCapacity"], t["MaxCapacity"]) for t in targets] == [(1, 3)]
    assert len(policies) == 1
