"""Faults injected by the local runtime reach callers the way AWS reports them."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from contract.names import PIPELINE_TAG
from local_runtime.deploy import DeployedPipeline, compress_retries, run_execution
from local_runtime.fault_records import Fault
from local_runtime.faults import Faults
from local_runtime.lambda_invoke import LocalFunction
from local_runtime.sagemaker.emulator import LocalSageMaker
from local_runtime.server import LocalAws
from local_runtime.template import LocalStack

REGION, ACCOUNT = "us-east-1", "123456789012"
FUNCTION = "store-value"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}"
BUCKET = "fault-tests"
LINEAR_LEARNER = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
NO_RETRIES = Config(retries={"total_max_attempts": 1})


@pytest.fixture(scope="module")
def local_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAws]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    faults = Faults()
    aws = LocalAws(sagemaker=LocalSageMaker(tmp_path_factory.mktemp("sagemaker"), faults=faults), faults=faults)
    with aws:
        aws.register_function(
            LocalFunction(
                FUNCTION, FUNCTION_ARN, "tests.unit.local_runtime.fault_handler.handler", {"OUTPUT_BUCKET": BUCKET}
            )
        )
        client(aws, "s3").create_bucket(Bucket=BUCKET)
        yield aws


@pytest.fixture
def faults(local_aws: LocalAws, aws_env: None) -> Iterator[Faults]:
    yield local_aws.faults
    local_aws.faults.clear()


def client(aws: LocalAws, service: str, config: Config | None = None) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=aws.endpoint_url,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=config,
    )


def stored(aws: LocalAws) -> int:
    """How many objects the handler stored: one per invocation that ran it."""
    return int(client(aws, "s3").list_objects_v2(Bucket=BUCKET)["KeyCount"])


def clear_bucket(aws: LocalAws) -> None:
    s3 = client(aws, "s3")
    for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        s3.delete_object(Bucket=BUCKET, Key=item["Key"])


def machine(aws: LocalAws, definition: dict[str, Any]) -> DeployedPipeline:
    name = f"faults-{uuid.uuid4().hex[:8]}"
    arn = client(aws, "stepfunctions").create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn"
    )["stateMachineArn"]
    return DeployedPipeline(stack=LocalStack(name=name, region=REGION, account=ACCOUNT), state_machine_arn=arn)


def store_task(**fields: Any) -> dict[str, Any]:
    """The task the workflow's steps use: lambda:invoke, a Catch that keeps the error in $.error."""
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": FUNCTION, "Payload.$": "$"},
        "OutputPath": "$.Payload",
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
        "End": True,
        **fields,
    }


def run(aws: LocalAws, task: dict[str, Any]) -> Any:
    definition = {"StartAt": "Store", "States": {"Store": task, "Caught": {"Type": "Pass", "End": True}}}
    record = run_execution(aws, machine(aws, definition), name="run", execution_input={"value": 7}, timeout_seconds=30)
    assert record.status == "SUCCEEDED", record.cause
    return record.output


# --- the Fault objects ---


def test_a_fault_fires_the_given_number_of_times_and_counts_them() -> None:
    fault = Fault("test", times=2)

    firings = [fault.take() for _ in range(4)]

    assert firings == [True, True, False, False]
    assert fault.fired == 2
    assert fault.exhausted


def test_a_fault_without_a_count_fires_until_cleared() -> None:
    faults = Faults()
    fault = faults.throttle_lambda("step", times=None)

    fired = [faults.lambda_fault("a-step-function", "arn") is not None for _ in range(5)]
    faults.clear()

    assert all(fired)
    assert fault.fired == 5
    assert faults.lambda_fault("a-step-function", "arn") is None
    assert faults.armed == []


@pytest.mark.parametrize(
    ("function", "matches"),
    [(FUNCTION, True), (FUNCTION_ARN, True), ("value-store", False), ("STORE-VAL", True), ("other", False)],
)
def test_a_lambda_fault_names_the_function_by_name_arn_or_part_of_its_name(function: str, matches: bool) -> None:
    faults = Faults()
    faults.crash_lambda(function)

    assert (faults.lambda_fault(FUNCTION, FUNCTION_ARN) is not None) is matches


@pytest.mark.parametrize(
    ("service", "action", "message"),
    [
        ("sagemaker", "CreateTrainingJobs", "sagemaker has no action CreateTrainingJobs"),
        ("s3", "PutObject", "s3 speaks rest-xml"),
        ("no-such-service", "Anything", "unknown AWS service 'no-such-service'"),
    ],
)
def test_aws_error_refuses_what_it_cannot_answer(service: str, action: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Faults().aws_error(service, action, "ThrottlingException")


@pytest.mark.parametrize(
    ("fault", "arguments", "message"),
    [
        ("delete_everything", {}, "unknown fault 'delete_everything'"),
        ("throttle_lambda", {"functions": "x"}, "throttle_lambda: "),
        ("crash_lambda", {"function": "x", "times": "twice"}, "times must be a whole number or None"),
    ],
)
def test_script_refuses_unknown_faults_and_arguments(fault: str, arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Faults().script(fault, **arguments)


# --- Lambda ---


def test_a_throttled_invocation_fails_its_state_as_lambda_too_many_requests(
    local_aws: LocalAws, faults: Faults
) -> None:
    # GIVEN the function is throttled once
    clear_bucket(local_aws)
    fault = faults.throttle_lambda(FUNCTION, times=1)

    # WHEN a lambda:invoke task calls it
    output = run(local_aws, store_task())

    # THEN the state fails with Step Functions' name for Lambda's 429, and the handler never ran
    assert output["error"]["Error"] == "Lambda.TooManyRequestsException"
    assert output["error"]["Cause"].startswith("Rate Exceeded. (Service: AWSLambda; Status Code: 429;")
    assert fault.fired == 1
    assert stored(local_aws) == 0


def test_boto3_sees_a_throttled_invoke_as_too_many_requests(local_aws: LocalAws, faults: Faults) -> None:
    faults.throttle_lambda(FUNCTION_ARN, times=1)

    with pytest.raises(ClientError) as raised:
        client(local_aws, "lambda", NO_RETRIES).invoke(FunctionName=FUNCTION, Payload=b'{"value": 1}')

    assert raised.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429


def test_a_throttled_state_is_retried_on_the_local_time_scale(local_aws: LocalAws, faults: Faults) -> None:
    # GIVEN a task that retries throttling after 5 s, deployed on the local time scale, throttled once
    clear_bucket(local_aws)
    retry = {"ErrorEquals": ["Lambda.TooManyRequestsException"], "IntervalSeconds": 5, "MaxAttempts": 3}
    definition = {"StartAt": "Store", "States": {"Store": {**store_task(Retry=[retry]), "Catch": []}}}
    local = json.loads(compress_retries(json.dumps(definition), max_delay_seconds=2))
    fault = faults.throttle_lambda(FUNCTION, times=1)

    # WHEN it runs
    started = time.monotonic()
    record = run_execution(local_aws, machine(local_aws, local), name="run", execution_input={"value": 7})

    # THEN moto's interpreter retried after a second, not five, and the second attempt ran the handler
    assert record.status == "SUCCEEDED", record.cause
    assert time.monotonic() - started < 4
    assert fault.fired == 1
    assert stored(local_aws) == 1


@pytest.mark.parametrize(("after_side_effects", "objects"), [(True, 1), (False, 0)])
def test_a_crashed_invocation_fails_its_state_with_runtime_exit_error(
    local_aws: LocalAws, faults: Faults, after_side_effects: bool, objects: int
) -> None:
    # GIVEN the function's process dies during its next invocation, after its side effects or before
    clear_bucket(local_aws)
    fault = faults.crash_lambda(FUNCTION, times=1, after_side_effects=after_side_effects)

    # WHEN a task calls it
    output = run(local_aws, store_task())

    # THEN the state fails as Lambda reports a dead runtime, and the handler's side effects happened or not
    assert output["error"]["Error"] == "Runtime.ExitError"
    cause = json.loads(output["error"]["Cause"])
    assert cause["errorType"] == "Runtime.ExitError"
    assert re.fullmatch(r"RequestId: \S+ Error: Runtime exited with error: signal: killed", cause["errorMessage"])
    assert fault.fired == 1
    assert stored(local_aws) == objects


def test_a_crashed_state_retried_runs_the_handler_again(local_aws: LocalAws, faults: Faults) -> None:
    # GIVEN a task that retries a crashed runtime, and a crash after the handler's side effects
    clear_bucket(local_aws)
    retry = {"ErrorEquals": ["Runtime.ExitError"], "IntervalSeconds": 1, "MaxAttempts": 2}
    faults.crash_lambda(FUNCTION, times=1)

    # WHEN it runs
    output = run(local_aws, store_task(Retry=[retry]))

    # THEN the retry succeeded, and the side effect happened twice: why every step must be idempotent
    assert output == {"stored": 7}
    assert stored(local_aws) == 2


# --- AWS APIs ---


def test_aws_error_answers_in_the_json_protocols_wire_format(local_aws: LocalAws, faults: Faults) -> None:
    # GIVEN CreateTrainingJob answers ResourceLimitExceeded once
    fault = faults.aws_error("sagemaker", "CreateTrainingJob", "ResourceLimitExceeded", times=1, message="quota")

    # WHEN a client sends it
    response = requests.post(
        local_aws.endpoint_url,
        data=b"{}",
        headers={"X-Amz-Target": "SageMaker.CreateTrainingJob", "Content-Type": "application/x-amz-json-1.1"},
        timeout=10,
    )

    # THEN the answer is SageMaker's: HTTP 400, the code in x-amzn-ErrorType and in the body's __type
    assert response.status_code == 400
    assert response.headers["x-amzn-ErrorType"] == "ResourceLimitExceeded"
    assert response.headers["x-amzn-RequestId"]
    assert response.json() == {"__type": "ResourceLimitExceeded", "message": "quota"}
    assert fault.fired == 1


def test_boto3_sees_the_injected_error_then_the_real_answer(local_aws: LocalAws, faults: Faults) -> None:
    # GIVEN ListTrainingJobs is throttled twice
    sagemaker = client(local_aws, "sagemaker", NO_RETRIES)
    fault = faults.aws_error("sagemaker", "ListTrainingJobs", "ThrottlingException", times=2, message="Rate exceeded")

    # WHEN it is called three times
    errors = []
    for _ in range(2):
        with pytest.raises(ClientError) as raised:
            sagemaker.list_training_jobs()
        errors.append(raised.value.response["Error"])
    answer = sagemaker.list_training_jobs()

    # THEN botocore parsed the error twice, and the third call reached the service
    assert errors == [{"Code": "ThrottlingException", "Message": "Rate exceeded"}] * 2
    assert "TrainingJobSummaries" in answer
    assert fault.fired == 2


def test_the_server_counts_the_calls_of_each_action_faulted_or_not(local_aws: LocalAws, faults: Faults) -> None:
    sagemaker = client(local_aws, "sagemaker", NO_RETRIES)
    before = local_aws.api_calls["SageMaker.ListModels"]
    faults.aws_error("sagemaker", "ListModels", "ThrottlingException", times=1)

    with pytest.raises(ClientError):
        sagemaker.list_models()
    sagemaker.list_models()

    assert local_aws.api_calls["SageMaker.ListModels"] - before == 2


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("ThrottlingException", "SageMaker.ThrottlingException"),
        ("ResourceNotFound", "SageMaker.ResourceNotFoundException"),
    ],
)
def test_an_aws_error_reaches_an_sdk_task_under_step_functions_name(
    local_aws: LocalAws, faults: Faults, code: str, error: str
) -> None:
    # GIVEN StopTrainingJob answers an error, called by an aws-sdk task as the workflow calls it
    faults.aws_error("sagemaker", "StopTrainingJob", code, times=1, message="injected")
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:sagemaker:stopTrainingJob",
        "Parameters": {"TrainingJobName": "any"},
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
        "End": True,
    }

    # WHEN it runs
    output = run(local_aws, task)

    # THEN the error is named as Step Functions names it: <Service>.<code>Exception, in PascalCase
    assert output["error"]["Error"] == error
    assert output["error"]["Cause"].startswith("injected (Service: SageMaker, Status Code: 400")


# --- training ---


def create_training_job(local_aws: LocalAws, pipeline: str = "faults") -> str:
    s3, name = client(local_aws, "s3"), f"job-{uuid.uuid4().hex[:8]}"
    s3.put_object(Bucket=BUCKET, Key=f"{name}/train.csv", Body=b"1,1\n2,2\n3,3\n4,4\n")
    client(local_aws, "sagemaker").create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": LINEAR_LEARNER, "TrainingInputMode": "File"},
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/sagemaker",
        HyperParameters={"predictor_type": "regressor"},
        InputDataConfig=[
            {
                "ChannelName": "train",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{name}/"}},
                "ContentType": "text/csv",
            }
        ],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/models/"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
        Tags=[{"Key": PIPELINE_TAG, "Value": pipeline}],  # as every run tags what it creates
    )
    return name


def wait_for(local_aws: LocalAws, name: str, statuses: tuple[str, ...], timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = client(local_aws, "sagemaker").describe_training_job(TrainingJobName=name)
        if job["TrainingJobStatus"] in statuses or job["SecondaryStatus"] in statuses:
            return job
        assert time.monotonic() < deadline, f"{name} is still {job['TrainingJobStatus']}/{job['SecondaryStatus']}"
        time.sleep(0.05)


def test_an_injected_training_failure_ends_the_next_job_failed_with_its_reason(
    local_aws: LocalAws, faults: Faults
) -> None:
    # GIVEN the next training job fails
    fault = faults.fail_training_job(times=1, reason="AlgorithmError: out of memory")

    # WHEN two jobs run
    failed = wait_for(local_aws, create_training_job(local_aws), ("Completed", "Failed", "Stopped"))
    completed = wait_for(local_aws, create_training_job(local_aws), ("Completed", "Failed", "Stopped"))

    # THEN the first failed after downloading its data, with the reason; the second trained
    assert (failed["TrainingJobStatus"], failed["FailureReason"]) == ("Failed", "AlgorithmError: out of memory")
    assert [t["Status"] for t in failed["SecondaryStatusTransitions"]][-2:] == ["Training", "Failed"]
    assert completed["TrainingJobStatus"] == "Completed"
    assert fault.fired == 1


def test_a_training_failure_aimed_at_a_pipeline_spares_the_others_jobs(local_aws: LocalAws, faults: Faults) -> None:
    fault = faults.fail_training_job(pipeline="churn")

    other = wait_for(local_aws, create_training_job(local_aws, "demo"), ("Completed", "Failed", "Stopped"))
    churn = wait_for(local_aws, create_training_job(local_aws, "churn"), ("Completed", "Failed", "Stopped"))

    assert (other["TrainingJobStatus"], churn["TrainingJobStatus"]) == ("Completed", "Failed")
    assert fault.fired == 1


def test_a_stalled_training_job_stays_in_progress_until_stopped(local_aws: LocalAws, faults: Faults) -> None:
    # GIVEN the next training job hangs
    fault = faults.stall_training_job(times=1)
    name = create_training_job(local_aws)

    # WHEN it has been training a while, then is stopped
    training = wait_for(local_aws, name, ("Training",))
    time.sleep(0.5)
    still = client(local_aws, "sagemaker").describe_training_job(TrainingJobName=name)
    client(local_aws, "sagemaker").stop_training_job(TrainingJobName=name)
    stopped = wait_for(local_aws, name, ("Completed", "Failed", "Stopped"))

    # THEN it was InProgress until the stop, then ended Stopped
    assert training["TrainingJobStatus"] == still["TrainingJobStatus"] == "InProgress"
    assert still["SecondaryStatus"] == "Training"
    assert (stopped["TrainingJobStatus"], stopped["SecondaryStatus"]) == ("Stopped", "Stopped")
    assert fault.fired == 1


# --- the local time scale of retries ---


def test_compressing_retries_shortens_the_waits_and_keeps_the_attempts() -> None:
    # GIVEN a definition with retries at the top level and inside Parallel and Map states
    retrier = {
        "ErrorEquals": ["TransientAwsError"],
        "IntervalSeconds": 2,
        "MaxAttempts": 6,
        "BackoffRate": 2.0,
        "MaxDelaySeconds": 60,
        "JitterStrategy": "FULL",
    }
    inner = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn", "Retry": [retrier], "End": True}}}
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Task", "Resource": "arn", "Retry": [{**retrier, "MaxDelaySeconds": 1}], "Next": "P"},
            "P": {"Type": "Parallel", "Branches": [inner], "Next": "M"},
            "M": {"Type": "Map", "ItemProcessor": inner, "End": True},
        },
    }

    # WHEN it is compressed to the local time scale
    local = json.loads(compress_retries(json.dumps(definition), max_delay_seconds=2))

    # THEN every retrier starts at 1 s and waits at most 2 s, and keeps its errors, attempts, backoff and jitter
    retriers = [
        local["States"]["A"]["Retry"][0],
        local["States"]["P"]["Branches"][0]["States"]["T"]["Retry"][0],
        local["States"]["M"]["ItemProcessor"]["States"]["T"]["Retry"][0],
    ]
    expected = {**retrier, "IntervalSeconds": 1, "MaxDelaySeconds": 2}
    assert retriers == [{**expected, "MaxDelaySeconds": 1}, expected, expected]


def test_the_workflows_retries_take_seconds_on_the_local_time_scale() -> None:
    # GIVEN the workflow's definition
    definition = (Path(__file__).parents[3] / "statemachine" / "retraining.asl.json").read_text()

    # WHEN it is compressed
    local = compress_retries(definition, max_delay_seconds=2)

    # THEN each retrier's longest run of attempts (no jitter) is seconds long
    retriers = [r for state in json.loads(local)["States"].values() for r in state.get("Retry", [])]
    assert retriers
    for retrier in retriers:
        waits = [
            min(retrier["IntervalSeconds"] * retrier.get("BackoffRate", 2.0) ** n, retrier["MaxDelaySeconds"])
            for n in range(retrier.get("MaxAttempts", 3))
        ]
        assert sum(waits) <= 12


def test_failing_invocations_fire_for_the_named_model_only() -> None:
    # GIVEN a fault on one model's next deployment
    faults = Faults()
    fault = faults.fail_invocations(model="churn-2", status=503)

    # WHEN deployments of other models and then of that one start
    statuses = [
        faults.invocation_fault("churn-1"),
        faults.invocation_fault("churn-2"),
        faults.invocation_fault("churn-2"),
    ]

    # THEN only the first deployment of the named model answers 503
    assert statuses == [None, 503, None]
    assert fault.fired == 1


@pytest.mark.parametrize("status", [404, 600, True, "500"])
def test_failing_invocations_answer_a_5xx_only(status: Any) -> None:
    with pytest.raises(ValueError, match="status must be an HTTP 5xx"):
        Faults().script("fail_invocations", status=status)
