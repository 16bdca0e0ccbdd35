"""The callers that are not Lambda functions sign as the role AWS would use: the state machine's, SageMaker's
execution role, and the roles of EventBridge and Scheduler targets; S3 enforcement then judges SageMaker's reads."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import StateCredentials

from local_runtime import moto_extensions
from local_runtime.iam.principals import RoleSession
from local_runtime.iam.roles import PolicyDocument, TemplateRole
from local_runtime.lambda_invoke import LocalFunction
from local_runtime.sagemaker.emulator import LocalSageMaker
from local_runtime.server import LocalAws

REGION, ACCOUNT = "us-east-1", "123456789012"
BUCKET = "callers-bucket"
STATES_ROLE = f"arn:aws:iam::{ACCOUNT}:role/StateMachineRole"
SAGEMAKER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMakerRole"
TARGET_ROLE = f"arn:aws:iam::{ACCOUNT}:role/EventsRole"
LINEAR_LEARNER = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
HANDLER = "tests.unit.local_runtime.iam.caller_handler.whoami"
TERMINAL = ("Completed", "Failed", "Stopped")


def _role(arn: str, statements: list[dict[str, Any]]) -> TemplateRole:
    name = arn.rsplit("/", 1)[-1]
    document = {"Version": "2012-10-17", "Statement": statements}
    return TemplateRole(name, name, arn, {}, (PolicyDocument(f"{name}Policy", "inline", name, document),))


ROLES = [
    # The state machine may write under allowed/ only, and invoke the function `whoami`.
    _role(
        STATES_ROLE,
        [
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/allowed/*"},
            {
                "Effect": "Allow",
                "Action": "lambda:InvokeFunction",
                "Resource": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:whoami",
            },
        ],
    ),
    # SageMaker's role may list the bucket, read data/ only (not the model/ prefix nor the other data) and write the
    # jobs' output under models/.
    _role(
        SAGEMAKER_ROLE,
        [
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}"},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/data/*"},
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/models/*"},
        ],
    ),
]


class Door:
    """The access key of every request that reached the server, with its path (the server's enforcement hook)."""

    def __init__(self, aws: LocalAws) -> None:
        self.seen: list[tuple[str, str]] = []
        self._check = aws.iam.check

    def check(self, environ: dict[str, Any]) -> Any:
        key = re.search(r"Credential=([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
        self.seen.append((key[1] if key else "", environ.get("HTTP_X_AMZ_TARGET") or environ.get("PATH_INFO", "")))
        return self._check(environ)


@pytest.fixture(scope="module")
def local_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAws]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    with LocalAws(sagemaker=LocalSageMaker(tmp_path_factory.mktemp("sagemaker")), enforce_iam=True) as aws:
        aws.iam.add_roles(ROLES)
        s3 = _client(aws, "s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="data/train.csv", Body=b"1,2\n3,4\n")
        s3.put_object(Bucket=BUCKET, Key="other/train.csv", Body=b"1,2\n3,4\n")
        s3.put_object(Bucket=BUCKET, Key="model/model.tar.gz", Body=b"not read")
        aws.register_function(
            LocalFunction("whoami", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:whoami", HANDLER, role_arn=None)
        )
        yield aws


@pytest.fixture
def door(local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> Door:
    recorder = Door(local_aws)
    monkeypatch.setattr(local_aws.iam, "check", recorder.check)
    return recorder


def _client(aws: LocalAws, service: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=aws.endpoint_url,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def _run(aws: LocalAws, states: dict[str, Any], *, role: str = STATES_ROLE) -> dict[str, Any]:
    sfn = _client(aws, "stepfunctions")
    definition = json.dumps({"StartAt": "Task", "States": states})
    machine = sfn.create_state_machine(name=f"m-{uuid.uuid4().hex[:8]}", definition=definition, roleArn=role)
    arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name=uuid.uuid4().hex)["executionArn"]
    return _until(lambda: sfn.describe_execution(executionArn=arn), lambda d: d["status"] != "RUNNING")


def _until(read: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        value = read()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"still not done: {value}"
        time.sleep(0.1)


def _put_object_task(key: str) -> dict[str, Any]:
    return {
        "Task": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
            "Parameters": {"Bucket": BUCKET, "Key": key, "Body": "written by the state machine"},
            "End": True,
        }
    }


def _sessions(aws: LocalAws, door: Door, target: str) -> list[RoleSession | None]:
    return [aws.principals.find(key) for key, seen in door.seen if target in seen]


def test_the_interpreters_client_signs_with_a_session_of_the_state_machines_role(local_aws: LocalAws) -> None:
    # WHEN moto's interpreter asks for a client for a task of an execution whose role is STATES_ROLE
    client = moto_extensions._interpreter_client(REGION, "s3", StateCredentials(role_arn=STATES_ROLE))

    # THEN its key is the server's session of that role, named as Step Functions names it (32 letters)
    session = local_aws.principals.find(client._request_signer._credentials.access_key)
    assert session is not None
    assert session.role_arn == STATES_ROLE
    assert re.fullmatch(r"[A-Za-z]{32}", session.session_name)


def test_an_aws_sdk_task_writes_as_the_state_machines_role(local_aws: LocalAws, aws_env: None) -> None:
    # WHEN the state machine writes where its role allows
    described = _run(local_aws, _put_object_task("allowed/out.txt"))

    # THEN the write succeeds
    assert described["status"] == "SUCCEEDED"
    assert _client(local_aws, "s3").get_object(Bucket=BUCKET, Key="allowed/out.txt")["Body"].read()


def test_an_aws_sdk_task_outside_the_roles_grant_fails_naming_the_state_machines_session(
    local_aws: LocalAws, aws_env: None
) -> None:
    # WHEN the state machine writes where its role does not allow
    described = _run(local_aws, _put_object_task("elsewhere/out.txt"))

    # THEN the execution fails with S3's AccessDenied, naming a session of the state machine's role
    assert described["status"] == "FAILED"
    assert "AccessDenied" in described["error"]
    assert re.search(
        r"assumed-role/StateMachineRole/[A-Za-z]{32} is not authorized to perform: s3:PutObject", described["cause"]
    )


def test_a_lambda_task_invokes_as_the_state_machines_role(local_aws: LocalAws, door: Door, aws_env: None) -> None:
    # WHEN the state machine invokes a function
    task = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True}
    described = _run(local_aws, {"Task": {**task, "Parameters": {"FunctionName": "whoami"}}})

    # THEN the Invoke reached the server signed by the state machine's role
    assert described["status"] == "SUCCEEDED"
    assert [session.role_arn if session else None for session in _sessions(local_aws, door, "/functions/whoami")] == [
        STATES_ROLE
    ]


def test_a_rule_target_with_a_role_starts_the_execution_as_that_role(
    local_aws: LocalAws, door: Door, aws_env: None
) -> None:
    # GIVEN a rule whose state machine target names a role
    sfn, events = _client(local_aws, "stepfunctions"), _client(local_aws, "events")
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
    machine = sfn.create_state_machine(name="ruled", definition=definition, roleArn=STATES_ROLE)["stateMachineArn"]
    events.put_rule(Name="new-data", EventPattern=json.dumps({"source": ["callers.test"]}))
    events.put_targets(Rule="new-data", Targets=[{"Id": "run", "Arn": machine, "RoleArn": TARGET_ROLE}])

    # WHEN a matching event is put
    events.put_events(Entries=[{"Source": "callers.test", "DetailType": "x", "Detail": "{}"}])
    assert local_aws.events.wait_until_idle()

    # THEN StartExecution reached the server signed by a session of the target's role
    sessions = _sessions(local_aws, door, "AWSStepFunctions.StartExecution")
    assert [session.role_arn if session else None for session in sessions] == [TARGET_ROLE]


def test_a_schedule_starts_the_execution_as_its_targets_role(local_aws: LocalAws, door: Door, aws_env: None) -> None:
    # GIVEN a due one-time schedule whose state machine target names a role
    sfn, scheduler = _client(local_aws, "stepfunctions"), _client(local_aws, "scheduler")
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
    machine = sfn.create_state_machine(name="scheduled", definition=definition, roleArn=STATES_ROLE)["stateMachineArn"]

    # WHEN the local AWS's scheduler fires it
    scheduler.create_schedule(
        Name="once",
        ScheduleExpression="at(2020-01-01T00:00:00)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": machine, "RoleArn": TARGET_ROLE, "Input": "{}"},
        ActionAfterCompletion="DELETE",
    )
    _until(
        lambda: {"firings": local_aws.scheduler.firings}, lambda f: any(x.target_arn == machine for x in f["firings"])
    )

    # THEN the execution started, signed by a session of the target's role
    (firing,) = [firing for firing in local_aws.scheduler.firings if firing.target_arn == machine]
    assert firing.execution_arn is not None
    sessions = _sessions(local_aws, door, "AWSStepFunctions.StartExecution")
    assert [session.role_arn if session else None for session in sessions] == [TARGET_ROLE]


def _training_job(sagemaker: Any, data: str) -> dict[str, Any]:
    name = f"job-{uuid.uuid4().hex[:8]}"
    source = {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{data}/", "S3DataDistributionType": "FullyReplicated"}
    sagemaker.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": LINEAR_LEARNER, "TrainingInputMode": "File"},
        RoleArn=SAGEMAKER_ROLE,
        HyperParameters={"predictor_type": "regressor"},
        InputDataConfig=[{"ChannelName": "train", "DataSource": {"S3DataSource": source}, "ContentType": "text/csv"}],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/models/"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    return _until(
        lambda: sagemaker.describe_training_job(TrainingJobName=name),
        lambda job: job["TrainingJobStatus"] in TERMINAL or job["SecondaryStatus"] == "Training",
    )


def test_a_training_job_whose_role_cannot_read_its_data_fails_as_sagemaker_words_it(
    local_aws: LocalAws, aws_env: None
) -> None:
    # WHEN a job reads data its execution role may not read
    job = _training_job(_client(local_aws, "sagemaker"), "other")

    # THEN it fails while downloading, with SageMaker's reason and S3's denial of SageMaker's session of the role
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"] == (
        f"ClientError: Data download failed:Unable to download object s3://{BUCKET}/other/train.csv (AccessDenied: "
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/SageMakerRole/SageMaker is not authorized to perform: "
        f's3:GetObject on resource: "arn:aws:s3:::{BUCKET}/other/train.csv" because no identity-based policy '
        "allows the s3:GetObject action)"
    )


def test_a_training_job_whose_role_may_read_its_data_gets_past_the_download(local_aws: LocalAws, aws_env: None) -> None:
    # WHEN a job reads data its execution role may read
    job = _training_job(_client(local_aws, "sagemaker"), "data")

    # THEN the download is not what stops it (it trains, or fails for the data itself, not for a denial)
    assert "AccessDenied" not in job.get("FailureReason", "")
    assert job["SecondaryStatus"] != "Downloading"


def test_an_endpoint_whose_models_role_cannot_read_the_artifact_fails_as_sagemaker_words_it(
    local_aws: LocalAws, aws_env: None
) -> None:
    # GIVEN a model whose execution role may not read its artifact
    sagemaker = _client(local_aws, "sagemaker")
    name = f"m-{uuid.uuid4().hex[:8]}"
    container = {"Image": LINEAR_LEARNER, "ModelDataUrl": f"s3://{BUCKET}/model/model.tar.gz"}
    sagemaker.create_model(ModelName=name, PrimaryContainer=container, ExecutionRoleArn=SAGEMAKER_ROLE)
    variant = {"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
    sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant])

    # WHEN an endpoint is created with it
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    endpoint = _until(
        lambda: sagemaker.describe_endpoint(EndpointName=name), lambda e: e["EndpointStatus"] != "Creating"
    )

    # THEN it fails with SageMaker's download failure: S3 denied SageMaker's session of the role (a HEAD's 403 has
    # no body to name it, on AWS as here)
    assert endpoint["EndpointStatus"] == "Failed"
    assert endpoint["FailureReason"].startswith(f"Failed to download model data(bucket: {BUCKET}, key: model/")
    assert endpoint["FailureReason"].endswith(
        "(An error occurred (403) when calling the HeadObject operation: Forbidden)"
    )


def test_without_enforcement_sagemaker_still_signs_as_the_role_and_nothing_is_denied(
    local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch, aws_env: None
) -> None:
    # GIVEN the local AWS with enforcement off
    monkeypatch.setattr(local_aws, "enforce_iam", False)

    # WHEN a job reads data its execution role may not read
    job = _training_job(_client(local_aws, "sagemaker"), "other")

    # THEN nothing is denied
    assert "AccessDenied" not in job.get("FailureReason", "")
    assert job["SecondaryStatus"] != "Downloading"
