"""What the local runtime changes in moto: a definition parsed once, however often it runs, and the clients of its
tasks built once; the SageMaker operations and checks moto lacks."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import config as moto_config

from local_runtime import moto_extensions

ROLE = "arn:aws:iam::123456789012:role/sfn"
DEFINITION = json.dumps(
    {
        "StartAt": "Name",
        "States": {
            "Name": {"Type": "Pass", "Parameters": {"greeting.$": "States.Format('hello {}', $.who)"}, "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }
)


def run(sfn: Any, machine: str, who: str) -> dict[str, Any]:
    arn = sfn.start_execution(stateMachineArn=machine, name=who, input=json.dumps({"who": who}))["executionArn"]
    for _ in range(200):
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return dict(described)
        time.sleep(0.05)
    raise AssertionError("the execution did not end")


@mock_aws
def test_executions_of_one_definition_parse_it_once_and_keep_their_own_state(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN moto running definitions with the interpreter, as the local runtime has it
    monkeypatch.setitem(moto_config.default_user_config, "stepfunctions", {"execute_state_machine": True})
    moto_extensions.install()
    moto_extensions._parse_program.cache_clear()
    parses: list[str] = []
    parse = moto_extensions.AmazonStateLanguageParser.parse
    monkeypatch.setattr(
        moto_extensions.AmazonStateLanguageParser,
        "parse",
        staticmethod(lambda definition: parses.append(definition) or parse(definition)),
    )
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    machine = sfn.create_state_machine(name="greeter", definition=DEFINITION, roleArn=ROLE)["stateMachineArn"]

    # WHEN the machine runs three times with different input
    outputs = [json.loads(run(sfn, machine, who)["output"]) for who in ("ann", "bob", "cy")]

    # THEN each execution computed its own output, and the definition was parsed once: when the machine was
    # created (moto validates it), a parse the executions reuse; before, each execution parsed it again (4 in all)
    assert outputs == [{"greeting": f"hello {who}"} for who in ("ann", "bob", "cy")]
    assert parses == [DEFINITION]


@mock_aws
def test_an_invalid_definition_is_still_refused_as_moto_words_it(
    aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(moto_config.default_user_config, "stepfunctions", {"execute_state_machine": True})
    moto_extensions.install()
    sfn = boto3.client("stepfunctions", region_name="us-east-1")

    # (moto answers a parse error with an empty error code and the parser's message, with or without the extensions)
    with pytest.raises(ClientError, match="ASLParserException"):
        sfn.create_state_machine(name="broken", definition='{"StartAt": "Nowhere", "States": {', roleArn=ROLE)


SDK_TASKS = json.dumps(
    {
        "StartAt": "Remember",
        "States": {
            "Remember": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:ssm:putParameter",
                "Parameters": {
                    "Name.$": "States.Format('/seen/{}', $.who)",
                    "Value": "seen",
                    "Type": "String",
                    "Overwrite": True,
                },
                "ResultPath": None,
                "Next": "Recall",
            },
            "Recall": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:ssm:getParameter",
                "Parameters": {"Name.$": "States.Format('/seen/{}', $.who)"},
                "ResultSelector": {"value.$": "$.Parameter.Value"},
                "Next": "Buckets",
            },
            "Buckets": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:s3:listBuckets",
                "ResultSelector": {"count.$": "States.ArrayLength($.Buckets)"},
                "ResultPath": "$.buckets",
                "End": True,
            },
        },
    }
)


@mock_aws
def test_the_interpreter_builds_a_tasks_client_once_per_service_and_region(
    aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN moto running definitions with the interpreter, counting the clients it builds for tasks
    monkeypatch.setitem(moto_config.default_user_config, "stepfunctions", {"execute_state_machine": True})
    moto_extensions.install()
    moto_extensions._cached_interpreter_client.cache_clear()
    built: list[tuple[str, str]] = []
    new_client = moto_extensions._new_interpreter_client
    monkeypatch.setattr(
        moto_extensions,
        "_new_interpreter_client",
        lambda region, service: built.append((region, service)) or new_client(region, service),
    )
    boto3.client("s3").create_bucket(Bucket="data")
    sfn = boto3.client("stepfunctions")
    machine = sfn.create_state_machine(name="tasks", definition=SDK_TASKS, roleArn=ROLE)["stateMachineArn"]

    # WHEN it runs twice: three aws-sdk tasks each, two of them on SSM
    results = [run(sfn, machine, who) for who in ("ann", "bob")]

    # THEN each task did its work, and one client per service served all six (moto built one per task)
    assert [result["status"] for result in results] == ["SUCCEEDED", "SUCCEEDED"], results
    assert [json.loads(result["output"]) for result in results] == [{"value": "seen", "buckets": {"count": 1}}] * 2
    assert sorted(built) == [("us-east-1", "s3"), ("us-east-1", "ssm")]


PIPELINE_CONTAINERS = [
    {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/preprocess:1", "ModelDataUrl": "s3://m/pre.tar.gz"},
    {"Image": "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1", "ModelDataUrl": "s3://m/ll.tar.gz"},
]


@mock_aws
def test_create_model_keeps_a_serial_pipelines_containers_and_execution_mode(aws_env: None) -> None:
    # GIVEN moto with the local runtime's extensions
    moto_extensions.install()
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")

    # WHEN a serial inference pipeline model is created
    sagemaker.create_model(
        ModelName="pipeline",
        Containers=PIPELINE_CONTAINERS,
        InferenceExecutionConfig={"Mode": "Serial"},
        ExecutionRoleArn=ROLE,
    )

    # THEN DescribeModel shows its containers in order and its execution mode
    described = sagemaker.describe_model(ModelName="pipeline")
    assert [c["Image"] for c in described["Containers"]] == [c["Image"] for c in PIPELINE_CONTAINERS]
    assert described["InferenceExecutionConfig"] == {"Mode": "Serial"}


@mock_aws
def test_describe_model_leaves_out_the_vpc_config_and_containers_it_was_not_given(aws_env: None) -> None:
    # GIVEN moto with the local runtime's extensions
    moto_extensions.install()
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")

    # WHEN a model is created with a primary container only, as the SageMaker Python SDK creates one
    sagemaker.create_model(ModelName="plain", PrimaryContainer=PIPELINE_CONTAINERS[0], ExecutionRoleArn=ROLE)

    # THEN DescribeModel has neither VpcConfig nor Containers, as on AWS (an empty VpcConfig lacks its required
    # SecurityGroupIds and Subnets, and the SDK v3 rejects it)
    described = sagemaker.describe_model(ModelName="plain")
    assert "VpcConfig" not in described
    assert "Containers" not in described
    assert described["PrimaryContainer"]["Image"] == PIPELINE_CONTAINERS[0]["Image"]


@mock_aws
def test_describe_model_shows_the_vpc_config_it_was_given(aws_env: None) -> None:
    # GIVEN moto with the local runtime's extensions
    moto_extensions.install()
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    vpc = {"SecurityGroupIds": ["sg-0123456789abcdef0"], "Subnets": ["subnet-0123456789abcdef0"]}

    # WHEN a model is created in a VPC
    sagemaker.create_model(
        ModelName="in-vpc", PrimaryContainer=PIPELINE_CONTAINERS[0], ExecutionRoleArn=ROLE, VpcConfig=vpc
    )

    # THEN DescribeModel shows it
    assert sagemaker.describe_model(ModelName="in-vpc")["VpcConfig"] == vpc


@mock_aws
def test_describe_endpoint_and_its_config_leave_out_the_data_capture_they_were_not_given(aws_env: None) -> None:
    # GIVEN moto with the local runtime's extensions, and a model
    moto_extensions.install()
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    sagemaker.create_model(ModelName="plain", PrimaryContainer=PIPELINE_CONTAINERS[0], ExecutionRoleArn=ROLE)

    # WHEN an endpoint config without DataCaptureConfig and an endpoint of it are created
    variant = {"VariantName": "AllTraffic", "ModelName": "plain", "InitialInstanceCount": 1}
    sagemaker.create_endpoint_config(
        EndpointConfigName="plain", ProductionVariants=[{**variant, "InstanceType": "ml.m5.large"}]
    )
    sagemaker.create_endpoint(EndpointName="plain", EndpointConfigName="plain")

    # THEN neither description has a DataCaptureConfig, as on AWS (an empty one lacks its required members)
    assert "DataCaptureConfig" not in sagemaker.describe_endpoint_config(EndpointConfigName="plain")
    assert "DataCaptureConfig" not in sagemaker.describe_endpoint(EndpointName="plain")


@pytest.mark.parametrize(
    ("containers", "config", "message"),
    [
        (PIPELINE_CONTAINERS * 8, {"Mode": "Serial"}, "Member must have length less than or equal to 15"),
        (PIPELINE_CONTAINERS, {"Mode": "Parallel"}, "Member must satisfy enum value set: [Serial, Direct]"),
    ],
    ids=["sixteen-containers", "unknown-mode"],
)
@mock_aws
def test_create_model_refuses_what_sagemaker_refuses(
    aws_env: None, containers: list[dict[str, str]], config: dict[str, str], message: str
) -> None:
    # GIVEN moto with the local runtime's extensions
    moto_extensions.install()
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")

    # WHEN a model has too many containers or an unknown execution mode
    with pytest.raises(ClientError) as raised:
        sagemaker.create_model(
            ModelName="pipeline", Containers=containers, InferenceExecutionConfig=config, ExecutionRoleArn=ROLE
        )

    # THEN it is a ValidationException saying which constraint, and no model is stored
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert message in raised.value.response["Error"]["Message"]
    assert sagemaker.list_models()["Models"] == []


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("AccessDeniedException", 403, "Lambda.AWSLambdaException"),  # not among Invoke's modeled errors
        ("TooManyRequestsException", 429, "Lambda.TooManyRequestsException"),
        ("ResourceNotFoundException", 404, "Lambda.ResourceNotFoundException"),
    ],
)
def test_a_lambda_tasks_error_is_named_as_step_functions_names_it(code: str, status: int, error: str) -> None:
    # GIVEN the interpreter with the local runtime's names, and Lambda's Invoke answering an error
    moto_extensions.install()
    answer = ClientError(
        {
            "Error": {"Code": code, "Message": "User: arn:aws:sts::123456789012:assumed-role/sfn/s is not authorized"},
            "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "r-1"},
        },
        "Invoke",
    )

    # WHEN the Lambda task turns it into its state error
    named, cause = moto_extensions.StateTaskServiceLambda._error_cause_from_client_error(answer)

    # THEN the modeled errors keep their name, any other is the SDK's generic one; the cause keeps the code
    assert named == error
    assert f"Status Code: {status}; Error Code: {code}" in cause
    assert cause.startswith("User: arn:aws:sts::123456789012:assumed-role/sfn/s is not authorized (Service: AWSLambda")
