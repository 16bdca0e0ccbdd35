"""CheckData's AWS: moto's S3 bucket, the watermark parameter and the pipeline's state machine."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.unit.lambdas.check_data.test_core import BUCKET, PARAMETER


@pytest.fixture
def s3(aws: None) -> Any:
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def ssm(aws: None) -> Iterator[Any]:
    client = boto3.client("ssm")
    client.put_parameter(Name=PARAMETER, Value=json.dumps({"newest_data_date": None}), Type="String")
    return client


@pytest.fixture
def sfn(aws: None) -> Any:
    """The pipeline's state machine, with no other execution running."""
    client = boto3.client("stepfunctions")
    client.create_state_machine(
        name="sagemaker-retraining-churn",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )
    return client
