"""SageMaker, Step Functions, Secrets Manager, Lambda, CloudWatch, Logs, EventBridge and Scheduler calls signed by a
role session are authorized as IAM authorizes them, and denied in each protocol's words."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local_runtime.iam.roles import PolicyDocument, TemplateRole
from local_runtime.lambda_invoke import LocalFunction
from local_runtime.server import LocalAws
from tests.unit.local_runtime.iam import caller_handler

REGION, ACCOUNT = "us-east-1", "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/StepsRole"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/StepsRole/steps"
SAGEMAKER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMakerRole"
SM = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
STATES = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine"
PIPELINE_TAG = "sagemaker-retraining:pipeline"


def _allow(
    action: str | list[str], resource: str | list[str], condition: dict[str, Any] | None = None
) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Action": action, "Resource": resource}
    return {**statement, "Condition": condition} if condition else statement


POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        _allow(["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob"], f"{SM}:training-job/demo-*"),
        _allow("sagemaker:AddTags", f"{SM}:training-job/demo-tagged-*"),
        _allow("iam:PassRole", SAGEMAKER_ROLE, {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}),
        _allow(
            "sagemaker:DeleteModel", f"{SM}:model/demo-*", {"StringEquals": {f"aws:ResourceTag/{PIPELINE_TAG}": "demo"}}
        ),
        _allow("states:CreateStateMachine", f"{STATES}:*"),
        _allow("states:SendTaskSuccess", f"{STATES}:granted"),
        _allow("lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:granted"),
        _allow("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:granted-??????"),
        _allow("cloudwatch:PutMetricData", "*", {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker*"}}),
    ],
}
TRAINING_JOB = {
    "AlgorithmSpecification": {"TrainingImage": "image:1", "TrainingInputMode": "File"},
    "OutputDataConfig": {"S3OutputPath": "s3://bucket/models/"},
    "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
    "StoppingCondition": {"MaxRuntimeInSeconds": 60},
}
NOT_SUSPENDED = Config(retries={"max_attempts": 1})


@pytest.fixture(scope="module")
def local_aws() -> Iterator[LocalAws]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with LocalAws(enforce_iam=True) as aws:
        policy = PolicyDocument(name="StepsPolicy", kind="inline", source="StepsRole", document=POLICY)
        aws.iam.add_roles([TemplateRole("StepsRole", "StepsRole", ROLE_ARN, {}, (policy,))])
        sagemaker = _client(aws, "sagemaker")
        for name, pipeline in (("demo-tagged-model", "demo"), ("demo-other-model", "other")):
            sagemaker.create_model(
                ModelName=name,
                ExecutionRoleArn=SAGEMAKER_ROLE,
                PrimaryContainer={"Image": "image:1"},
                Tags=[{"Key": PIPELINE_TAG, "Value": pipeline}],
            )
        secrets = _client(aws, "secretsmanager")
        for name in ("granted", "other"):
            secrets.create_secret(Name=name, SecretString=f"{name}-value")
        yield aws


def _client(aws: LocalAws, service: str, *, as_role: bool = False) -> Any:
    credentials: dict[str, str] = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    if as_role:
        issued = aws.principals.issue(ROLE_ARN, "steps")
        credentials = {
            "aws_access_key_id": issued.access_key_id,
            "aws_secret_access_key": issued.secret_access_key,
            "aws_session_token": issued.session_token,
        }
    return boto3.client(service, endpoint_url=aws.endpoint_url, region_name=REGION, config=NOT_SUSPENDED, **credentials)


def _denied(call: Any, **kwargs: Any) -> ClientError:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value


def _message(action: str, resource: str) -> str:
    return (
        f"User: {SESSION} is not authorized to perform: {action} on resource: {resource} "
        f"because no identity-based policy allows the {action} action"
    )


def test_a_sagemaker_create_outside_the_grant_is_denied_naming_its_action(local_aws: LocalAws, aws_env: None) -> None:
    sagemaker = _client(local_aws, "sagemaker", as_role=True)

    error = _denied(sagemaker.create_training_job, TrainingJobName="other-job", RoleArn=SAGEMAKER_ROLE, **TRAINING_JOB)

    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error.response["Error"]["Code"] == "AccessDeniedException"
    assert error.response["Error"]["Message"] == _message("sagemaker:CreateTrainingJob", f"{SM}:training-job/other-job")


def test_a_create_that_tags_also_needs_add_tags_on_what_it_creates(local_aws: LocalAws, aws_env: None) -> None:
    sagemaker = _client(local_aws, "sagemaker", as_role=True)
    tags = [{"Key": PIPELINE_TAG, "Value": "demo"}]

    # WHEN the role creates with tags a job its AddTags grant does not cover, then one it does
    error = _denied(
        sagemaker.create_training_job, TrainingJobName="demo-job", RoleArn=SAGEMAKER_ROLE, Tags=tags, **TRAINING_JOB
    )
    sagemaker.create_training_job(TrainingJobName="demo-tagged-job", RoleArn=SAGEMAKER_ROLE, Tags=tags, **TRAINING_JOB)

    # THEN the first is denied for sagemaker:AddTags and never created; the second exists
    assert error.response["Error"]["Message"] == _message("sagemaker:AddTags", f"{SM}:training-job/demo-job")
    admin = _client(local_aws, "sagemaker")
    with pytest.raises(ClientError):
        admin.describe_training_job(TrainingJobName="demo-job")
    assert admin.describe_training_job(TrainingJobName="demo-tagged-job")["TrainingJobName"] == "demo-tagged-job"


def test_passing_a_role_needs_pass_role_on_that_role_to_that_service(local_aws: LocalAws, aws_env: None) -> None:
    other_role = f"arn:aws:iam::{ACCOUNT}:role/OtherRole"
    sagemaker = _client(local_aws, "sagemaker", as_role=True)
    states = _client(local_aws, "stepfunctions", as_role=True)

    wrong_role = _denied(
        sagemaker.create_training_job, TrainingJobName="demo-passed", RoleArn=other_role, **TRAINING_JOB
    )
    # The grant's iam:PassedToService is SageMaker's: the same role handed to Step Functions is not passable.
    wrong_service = _denied(
        states.create_state_machine, name="passed", definition='{"StartAt": "A", "States": {}}', roleArn=SAGEMAKER_ROLE
    )

    assert wrong_role.response["Error"]["Message"] == _message("iam:PassRole", other_role)
    assert wrong_service.response["Error"]["Code"] == "AccessDeniedException"
    assert wrong_service.response["Error"]["Message"] == _message("iam:PassRole", SAGEMAKER_ROLE)


def test_a_delete_conditioned_on_a_resource_tag_sees_the_resources_tags(local_aws: LocalAws, aws_env: None) -> None:
    sagemaker = _client(local_aws, "sagemaker", as_role=True)

    # WHEN the role deletes the model tagged with its pipeline, then one tagged with another
    sagemaker.delete_model(ModelName="demo-tagged-model")
    error = _denied(sagemaker.delete_model, ModelName="demo-other-model")

    # THEN the first is gone, the second is denied and still there
    assert error.response["Error"]["Message"] == _message("sagemaker:DeleteModel", f"{SM}:model/demo-other-model")
    names = [model["ModelName"] for model in _client(local_aws, "sagemaker").list_models()["Models"]]
    assert "demo-other-model" in names
    assert "demo-tagged-model" not in names


def test_a_task_token_is_answered_only_with_a_grant_on_its_state_machine(local_aws: LocalAws, aws_env: None) -> None:
    # GIVEN an execution of a state machine the role has no grant on, waiting for a task token a function keeps
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:keep-token"
    local_aws.register_function(LocalFunction("keep-token", function, f"{caller_handler.__name__}.keep_token"))
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": function, "Payload": {"token.$": "$$.Task.Token"}},
        "End": True,
    }
    admin = _client(local_aws, "stepfunctions")
    machine = admin.create_state_machine(
        name="waiting",
        definition=json.dumps({"StartAt": "Wait", "States": {"Wait": task}}),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/StatesRole",
    )["stateMachineArn"]
    admin.start_execution(stateMachineArn=machine, name="run-1")
    token = _kept_token()

    # WHEN the role answers the token
    error = _denied(_client(local_aws, "stepfunctions", as_role=True).send_task_success, taskToken=token, output="{}")

    # THEN IAM names the state machine, not the `*` the Service Authorization Reference lists; the run still waits
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error.response["Error"]["Message"] == _message("states:SendTaskSuccess", machine)
    execution = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:waiting:run-1"
    assert admin.describe_execution(executionArn=execution)["status"] == "RUNNING"
    admin.send_task_success(taskToken=token, output="{}")


def _kept_token() -> str:
    deadline = time.monotonic() + 20
    while not caller_handler.TOKENS:
        assert time.monotonic() < deadline, "the execution never handed its task token to the function"
        time.sleep(0.05)
    return caller_handler.TOKENS.pop()


def test_a_secret_is_authorized_by_its_full_arn_and_a_denial_names_it_as_given(
    local_aws: LocalAws, aws_env: None
) -> None:
    secrets = _client(local_aws, "secretsmanager", as_role=True)

    value = secrets.get_secret_value(SecretId="granted")["SecretString"]
    error = _denied(secrets.get_secret_value, SecretId="other")

    assert value == "granted-value"
    assert error.response["Error"]["Code"] == "AccessDeniedException"
    assert error.response["Error"]["Message"] == _message("secretsmanager:GetSecretValue", "other")


def test_invoking_a_function_without_a_grant_is_denied_as_lambda_denies(local_aws: LocalAws, aws_env: None) -> None:
    error = _denied(_client(local_aws, "lambda", as_role=True).invoke, FunctionName="other", Qualifier="live")

    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error.response["Error"]["Code"] == "AccessDeniedException"
    assert error.response["Error"]["Message"] == _message(
        "lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:other:live"
    )


def test_a_metric_outside_the_granted_namespace_is_denied_as_cloudwatch_denies(
    local_aws: LocalAws, aws_env: None
) -> None:
    cloudwatch = _client(local_aws, "cloudwatch", as_role=True)
    datum = [{"MetricName": "loss", "Value": 1.0}]

    cloudwatch.put_metric_data(Namespace="/aws/sagemaker/TrainingJobs", MetricData=datum)
    error = _denied(cloudwatch.put_metric_data, Namespace="Custom", MetricData=datum)

    # An action that supports no resource is named without one.
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error.response["Error"]["Code"] == "AccessDenied"
    assert error.response["Error"]["Message"] == (
        f"User: {SESSION} is not authorized to perform: cloudwatch:PutMetricData "
        "because no identity-based policy allows the cloudwatch:PutMetricData action"
    )


@pytest.mark.parametrize(
    ("service", "call", "arguments", "status", "code", "resource"),
    [
        ("scheduler", "get_schedule", {"Name": "run", "GroupName": "g"}, 403, "AccessDeniedException",
         "schedule/g/run"),
        ("events", "put_events", {"Entries": [{"Source": "s", "DetailType": "d", "Detail": "{}"}]}, 400,
         "AccessDeniedException", "event-bus/default"),
        ("logs", "create_log_group", {"logGroupName": "/aws/x"}, 400, "AccessDeniedException", "log-group:/aws/x"),
        ("stepfunctions", "start_execution", {"stateMachineArn": f"{STATES}:granted", "name": "r"}, 400,
         "AccessDeniedException", "stateMachine:granted"),
    ],
)  # fmt: skip
def test_each_protocol_answers_a_denial_with_its_own_status_and_code(
    local_aws: LocalAws,
    aws_env: None,
    service: str,
    call: str,
    arguments: dict[str, Any],
    status: int,
    code: str,
    resource: str,
) -> None:
    error = _denied(getattr(_client(local_aws, service, as_role=True), call), **arguments)

    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert error.response["Error"]["Code"] == code
    assert resource in error.response["Error"]["Message"]


def test_get_caller_identity_needs_no_permission(local_aws: LocalAws, aws_env: None) -> None:
    identity = _client(local_aws, "sts", as_role=True).get_caller_identity()

    assert identity["Account"] == ACCOUNT
