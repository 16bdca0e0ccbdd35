"""The local SageMaker with Application Auto Scaling, through the local AWS server: an update that changes the
instance type of a registered variant is refused as SageMaker documents, a model change is not, retained variant
properties keep the scaled count, and registering moves the count into the range."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local_runtime.sagemaker.emulator import LocalSageMaker
from tests.unit.local_runtime.sagemaker.test_hosting import (  # noqa: F401  (fixtures)
    NEW_MODEL,
    NO_RETRIES,
    OLD_MODEL,
    Aws,
    aws,
    emulator,
)


@pytest.fixture
def autoscaling(emulator: LocalSageMaker, aws_env: None) -> Any:  # noqa: F811
    return boto3.client("application-autoscaling", endpoint_url=emulator.endpoint_url, config=NO_RETRIES)


def config_of(aws: Aws, config: str, instance_type: str, count: int = 1) -> str:  # noqa: F811
    """A copy of `config` with another name, instance type and count."""
    variant = aws.sagemaker.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"][0]
    name = f"{config}-{instance_type.replace('.', '-')}-{count}"
    aws.sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {**variant, "InstanceType": instance_type, "InitialInstanceCount": count, "VariantName": "AllTraffic"}
        ],
    )
    return name


def register(autoscaling: Any, endpoint: str, low: int = 1, high: int = 4) -> None:
    autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=f"endpoint/{endpoint}/variant/AllTraffic",
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        MinCapacity=low,
        MaxCapacity=high,
    )


def counts(aws: Aws, endpoint: str) -> tuple[int, int]:  # noqa: F811
    variant = aws.sagemaker.describe_endpoint(EndpointName=endpoint)["ProductionVariants"][0]
    return variant["DesiredInstanceCount"], variant["CurrentInstanceCount"]


@pytest.mark.compatibility("sagemaker:endpoints")
def test_an_instance_type_change_of_a_registered_variant_is_refused(aws: Aws, autoscaling: Any) -> None:  # noqa: F811
    endpoint, config = aws.serve(OLD_MODEL)
    register(autoscaling, endpoint)
    bigger = config_of(aws, config, "ml.m5.xlarge")

    with pytest.raises(ClientError) as refused:
        aws.sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=bigger)

    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "AllTraffic" in refused.value.response["Error"]["Message"]
    described = aws.sagemaker.describe_endpoint(EndpointName=endpoint)
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", config)


def test_once_deregistered_the_instance_type_change_goes_through(aws: Aws, autoscaling: Any) -> None:  # noqa: F811
    endpoint, config = aws.serve(OLD_MODEL)
    register(autoscaling, endpoint)
    bigger = config_of(aws, config, "ml.m5.xlarge")
    autoscaling.deregister_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=f"endpoint/{endpoint}/variant/AllTraffic",
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
    )

    aws.sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=bigger)

    assert aws.settle(endpoint)["EndpointConfigName"] == bigger


@pytest.mark.compatibility("application-autoscaling:RegisterScalableTarget")
def test_a_new_model_on_the_same_instance_type_is_allowed_and_can_keep_the_scaled_count(
    aws: Aws,  # noqa: F811
    autoscaling: Any,
) -> None:
    endpoint, _ = aws.serve(OLD_MODEL)
    register(autoscaling, endpoint, low=3, high=5)  # moves the count from 1 into the range
    assert counts(aws, endpoint) == (3, 3)
    new_config = aws.register(aws.upload_model(NEW_MODEL))  # one instance, the same type

    aws.sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=new_config, RetainAllVariantProperties=True)

    settled = aws.settle(endpoint)
    assert (settled["EndpointStatus"], settled["EndpointConfigName"]) == ("InService", new_config)
    assert counts(aws, endpoint) == (3, 3)


def test_without_retained_properties_the_new_configs_count_applies(aws: Aws, autoscaling: Any) -> None:  # noqa: F811
    endpoint, _ = aws.serve(OLD_MODEL)
    register(autoscaling, endpoint, low=3, high=5)
    new_config = aws.register(aws.upload_model(NEW_MODEL))

    aws.sagemaker.update_endpoint(
        EndpointName=endpoint,
        EndpointConfigName=new_config,
        RetainAllVariantProperties=True,
        ExcludeRetainedVariantProperties=[{"VariantPropertyType": "DesiredInstanceCount"}],
    )

    aws.settle(endpoint)
    assert counts(aws, endpoint) == (1, 1)
