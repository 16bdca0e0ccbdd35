"""Any ASL and any Python handler run in the local runtime, not only this project's."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from local_runtime.deploy import DeployedPipeline, run_execution
from local_runtime.lambda_invoke import LocalFunction
from local_runtime.server import LocalAws
from local_runtime.template import LocalStack

REGION, ACCOUNT = "eu-west-1", "123456789012"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:store-value"


@pytest.fixture(scope="module")
def local_aws() -> Iterator[LocalAws]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with LocalAws() as aws:
        aws.register_function(
            LocalFunction(
                "store-value",
                FUNCTION_ARN,
                "tests.unit.local_runtime.aws_style_handler.handler",
                {"OUTPUT_BUCKET": "values"},
            )
        )
        yield aws


@pytest.fixture
def bucket(local_aws: LocalAws, aws_env: None) -> Iterator[str]:
    """The bucket the handler writes to, removed again after the test."""
    s3 = boto3.client("s3", endpoint_url=local_aws.endpoint_url, region_name=REGION)
    s3.create_bucket(Bucket="values", CreateBucketConfiguration={"LocationConstraint": REGION})
    yield "values"
    for item in s3.list_objects_v2(Bucket="values").get("Contents", []):
        s3.delete_object(Bucket="values", Key=item["Key"])
    s3.delete_bucket(Bucket="values")


def machine(local_aws: LocalAws, name: str, definition: dict[str, Any]) -> DeployedPipeline:
    sfn = boto3.client("stepfunctions", endpoint_url=local_aws.endpoint_url, region_name=REGION)
    arn = sfn.create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn"
    )["stateMachineArn"]
    return DeployedPipeline(stack=LocalStack(name=name, region=REGION, account=ACCOUNT), state_machine_arn=arn)


@pytest.mark.parametrize(
    "task",
    [
        {"Resource": FUNCTION_ARN},
        {
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "store-value", "Payload.$": "$"},
            "OutputPath": "$.Payload",
        },
    ],
    ids=["plain-function-arn", "optimized-integration-by-name"],
)
def test_a_handler_written_for_aws_runs_unchanged(local_aws: LocalAws, bucket: str, task: dict[str, Any]) -> None:
    # GIVEN a bucket the handler writes to, in the local AWS
    name = "generic-" + task["Resource"].rsplit(":", 1)[-1].replace("-", "")
    definition = {"StartAt": "Store", "States": {"Store": {"Type": "Task", **task, "End": True}}}

    # WHEN a state machine of its own runs it
    record = run_execution(local_aws, machine(local_aws, name, definition), name="first", execution_input={"value": 21})

    # THEN the handler ran with its environment, Lambda's variables and a client made at import time
    assert record.status == "SUCCEEDED", record.cause
    assert record.output == {"stored": 42, "function": "store-value", "region": REGION}
    s3 = boto3.client("s3", endpoint_url=local_aws.endpoint_url, region_name=REGION)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 1


def test_an_exception_reaches_catch_under_its_class_name(local_aws: LocalAws, aws_env: None) -> None:
    definition = {
        "StartAt": "Store",
        "States": {
            "Store": {
                "Type": "Task",
                "Resource": FUNCTION_ARN,
                "Catch": [{"ErrorEquals": ["BucketMissingError"], "ResultPath": "$.error", "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    record = run_execution(
        local_aws, machine(local_aws, "generic-catch", definition), name="c", execution_input={"value": 1}
    )

    assert record.status == "SUCCEEDED"
    assert record.output["error"]["Error"] == "BucketMissingError"
    cause = json.loads(record.output["error"]["Cause"])
    assert cause["errorType"] == "BucketMissingError"
    assert cause["errorMessage"] == "bucket values does not exist"
    assert cause["stackTrace"]


def test_boto3_invoke_reports_function_errors_like_lambda(local_aws: LocalAws, aws_env: None) -> None:
    lambda_client = boto3.client("lambda", endpoint_url=local_aws.endpoint_url, region_name=REGION)

    response = lambda_client.invoke(FunctionName=FUNCTION_ARN, Payload=json.dumps({"value": 3}))

    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read())["errorType"] == "BucketMissingError"
