"""moto's S3, SSM and SageMaker as SmokeTest finds them after a deployment."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from tests.unit.lambdas.smoke_test.scenario import BUCKET, ENDPOINT, NEW, PREVIOUS


@pytest.fixture
def s3(aws: None) -> Any:
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def ssm(aws: None) -> Any:
    return boto3.client("ssm")


@pytest.fixture
def sagemaker(aws: None) -> Any:
    """The endpoint, created on the previous run's config and updated to this run's, both configs kept."""
    client = boto3.client("sagemaker")
    for name in (PREVIOUS, NEW):
        client.create_model(
            ModelName=name,
            ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker",
            PrimaryContainer={"Image": "img", "ModelDataUrl": f"s3://{BUCKET}/models/{name}/model.tar.gz"},
        )
        client.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": name,
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 1,
                }
            ],
        )
    client.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=PREVIOUS)
    client.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName=NEW)
    return client
