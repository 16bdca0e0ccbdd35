"""Step Functions' optimized SageMaker integrations in the local runtime: `.sync` jobs run by the emulator until their
end, request-response calls answered by it, failures and stops as Step Functions reports them."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local_runtime.faults import Faults
from local_runtime.sagemaker.emulator import LocalSageMaker
from local_runtime.server import LocalAws
from local_runtime.step_functions.sagemaker_tasks import api_error_cause, api_error_name, json_ready
from tests.local_aws import local_client
from tests.unit.local_runtime.step_functions.machines import create, history, start, wait_for

BUCKET = "sync-tasks"
SAGEMAKER_ROLE = "arn:aws:iam::123456789012:role/sagemaker"
LINEAR_LEARNER = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
ROWS = "".join(f"{2 * x + 1},{x}\n" for x in range(40)).encode()  # label = 2x + 1


@pytest.fixture(scope="module")
def sagemaker_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAws]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    faults = Faults()
    emulator = LocalSageMaker(tmp_path_factory.mktemp("sync-tasks"), faults=faults)
    with LocalAws(sagemaker=emulator, faults=faults) as aws:
        s3 = local_client(aws, "s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="train/rows.csv", Body=ROWS)
        yield aws


@pytest.fixture
def sfn(sagemaker_aws: LocalAws) -> Iterator[Any]:
    yield local_client(sagemaker_aws, "stepfunctions")
    sagemaker_aws.faults.clear()


@pytest.fixture
def sagemaker(sagemaker_aws: LocalAws) -> Any:
    return local_client(sagemaker_aws, "sagemaker")


def training_job(name: str) -> dict[str, Any]:
    """CreateTrainingJob's parameters as CDK's SageMakerCreateTrainingJob writes them (PascalCase API shapes)."""
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": LINEAR_LEARNER, "TrainingInputMode": "File"},
        "RoleArn": SAGEMAKER_ROLE,
        "HyperParameters": {"predictor_type": "regressor"},
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "ContentType": "text/csv",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://{BUCKET}/train/",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/models"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }


def task_machine(resource: str, parameters: dict[str, Any], **state: Any) -> dict[str, Any]:
    return {
        "StartAt": "Call",
        "States": {
            "Call": {"Type": "Task", "Resource": resource, "Parameters": parameters, "End": True, **state},
        },
    }


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def run(sfn: Any, definition: dict[str, Any], timeout_seconds: float = 60.0) -> dict[str, Any]:
    execution = start(sfn, create(sfn, unique("machine"), definition))
    return wait_for(  # type: ignore[no-any-return]
        lambda: (described := sfn.describe_execution(executionArn=execution))["status"] != "RUNNING" and described,
        timeout_seconds=timeout_seconds,
        what="the execution's end",
    )


@pytest.mark.compatibility("states:sagemaker.sync")
def test_a_sync_training_task_waits_for_the_job_and_returns_its_description(sfn: Any, sagemaker: Any) -> None:
    # GIVEN a task createTrainingJob.sync with the Linear Learner on a tiny CSV
    name = unique("train")
    definition = task_machine("arn:aws:states:::sagemaker:createTrainingJob.sync", training_job(name))

    # WHEN the execution runs
    described = run(sfn, definition)

    # THEN it succeeds once the job has trained for real, its output DescribeTrainingJob's answer
    assert described["status"] == "SUCCEEDED", described.get("cause")
    output = json.loads(described["output"])
    job = sagemaker.describe_training_job(TrainingJobName=name)
    assert output["TrainingJobStatus"] == job["TrainingJobStatus"] == "Completed"
    assert output["TrainingJobArn"] == job["TrainingJobArn"]
    assert output["ModelArtifacts"]["S3ModelArtifacts"] == f"s3://{BUCKET}/models/{name}/output/model.tar.gz"
    assert output["HyperParameters"] == {"predictor_type": "regressor"}
    # AND its timestamps are epoch milliseconds
    assert output["TrainingEndTime"] == int(job["TrainingEndTime"].timestamp() * 1000)
    assert "ResponseMetadata" not in output
    # AND its history shows the job submitted (the Create answer), then the task succeeded
    events = history(sfn, described["executionArn"])
    submitted = next(e for e in events if e["type"] == "TaskSubmitted")["taskSubmittedEventDetails"]
    assert json.loads(submitted["output"]) == {"TrainingJobArn": job["TrainingJobArn"]}
    assert submitted["resource"] == "createTrainingJob.sync"


@pytest.mark.compatibility("states:sagemaker.sync")
def test_a_failed_job_fails_the_task_with_states_task_failed_and_its_description(
    sfn: Any, sagemaker_aws: LocalAws
) -> None:
    # GIVEN the next training job fails once its data is in, and a task that catches States.TaskFailed
    sagemaker_aws.faults.fail_training_job(reason="AlgorithmError: on purpose")
    name = unique("fail")
    definition = task_machine(
        "arn:aws:states:::sagemaker:createTrainingJob.sync",
        training_job(name),
        Catch=[{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}],
    )
    del definition["States"]["Call"]["End"]
    definition["States"]["Call"]["Next"] = "Done"
    definition["States"]["Caught"] = {"Type": "Pass", "End": True}
    definition["States"]["Done"] = {"Type": "Pass", "End": True}

    # WHEN it runs
    described = run(sfn, definition)

    # THEN the task failed with States.TaskFailed and DescribeTrainingJob's answer as the cause, which Catch caught
    assert described["status"] == "SUCCEEDED", described.get("cause")
    caught = json.loads(described["output"])
    assert caught["Error"] == "States.TaskFailed"
    cause = json.loads(caught["Cause"])
    assert (cause["TrainingJobName"], cause["TrainingJobStatus"]) == (name, "Failed")
    assert cause["FailureReason"] == "AlgorithmError: on purpose"
    failed = next(e for e in history(sfn, described["executionArn"]) if e["type"] == "TaskFailed")
    assert failed["taskFailedEventDetails"]["resourceType"] == "sagemaker"
    assert failed["taskFailedEventDetails"]["resource"] == "createTrainingJob.sync"


@pytest.mark.compatibility("states:sagemaker.sync")
def test_stopping_the_execution_stops_the_job_it_waits_for(sfn: Any, sagemaker: Any, sagemaker_aws: LocalAws) -> None:
    # GIVEN an execution waiting for a training job that hangs
    sagemaker_aws.faults.stall_training_job()
    name = unique("stall")
    machine = create(
        sfn, unique("machine"), task_machine("arn:aws:states:::sagemaker:createTrainingJob.sync", training_job(name))
    )
    execution = start(sfn, machine)
    wait_for(lambda: [e for e in history(sfn, execution) if e["type"] == "TaskSubmitted"], what="the job's creation")

    # WHEN the execution is stopped
    sfn.stop_execution(executionArn=execution, error="Manual", cause="operator")

    # THEN it is ABORTED, and the job is stopped as Step Functions stops a .sync task's job
    assert sfn.describe_execution(executionArn=execution)["status"] == "ABORTED"
    job = wait_for(
        lambda: (j := sagemaker.describe_training_job(TrainingJobName=name))["TrainingJobStatus"] == "Stopped" and j,
        what="the job's stop",
    )
    assert job["SecondaryStatus"] == "Stopped"
    # AND nothing was recorded after the abort
    assert history(sfn, execution)[-1]["type"] == "ExecutionAborted"


def processing_job(name: str, command: str) -> dict[str, Any]:
    """A processing job running `command` in the scikit-learn image's shell."""
    return {
        "ProcessingJobName": name,
        "RoleArn": SAGEMAKER_ROLE,
        "AppSpecification": {
            "ImageUri": SKLEARN,
            "ContainerEntrypoint": ["/bin/sh", "-c"],
            "ContainerArguments": [command],
        },
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 10}
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }


@pytest.mark.compatibility("states:sagemaker.sync")
def test_a_sync_processing_task_returns_the_jobs_description(sfn: Any) -> None:
    name = unique("process")

    described = run(
        sfn, task_machine("arn:aws:states:::sagemaker:createProcessingJob.sync", processing_job(name, "true"))
    )

    assert described["status"] == "SUCCEEDED", described.get("cause")
    output = json.loads(described["output"])
    assert (output["ProcessingJobName"], output["ProcessingJobStatus"]) == (name, "Completed")


def test_a_task_that_times_out_stops_its_job(sfn: Any, sagemaker: Any) -> None:
    # GIVEN a processing job that runs for a minute, in a task that gives up after 2 s
    name = unique("slow")
    definition = task_machine(
        "arn:aws:states:::sagemaker:createProcessingJob.sync", processing_job(name, "sleep 60"), TimeoutSeconds=2
    )

    # WHEN it runs
    described = run(sfn, definition)

    # THEN the task times out, and the job it abandoned is stopped
    assert (described["status"], described["error"]) == ("FAILED", "States.Timeout")
    job = wait_for(
        lambda: (
            (j := sagemaker.describe_processing_job(ProcessingJobName=name))["ProcessingJobStatus"] == "Stopped" and j
        ),
        what="the job's stop",
    )
    assert job["ProcessingJobStatus"] == "Stopped"


def test_a_task_wakes_up_even_when_sagemakers_events_are_lost(sfn: Any, sagemaker_aws: LocalAws) -> None:
    # GIVEN SageMaker's state-change events are dropped
    emulator = sagemaker_aws.sagemaker
    assert isinstance(emulator, LocalSageMaker)
    emulator.status_events.suppressed = True
    try:
        # WHEN a .sync task's job ends
        described = run(
            sfn, task_machine("arn:aws:states:::sagemaker:createTrainingJob.sync", training_job(unique("quiet")))
        )
    finally:
        emulator.status_events.suppressed = False

    # THEN the task went on all the same (the emulator tells the waiting task directly)
    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert emulator.status_events.dropped


@pytest.mark.compatibility("states:sagemaker")
def test_request_response_create_model_returns_the_create_answer(sfn: Any, sagemaker: Any) -> None:
    name = unique("model")
    parameters = {
        "ModelName": name,
        "ExecutionRoleArn": SAGEMAKER_ROLE,
        "PrimaryContainer": {"Image": LINEAR_LEARNER, "ModelDataUrl": f"s3://{BUCKET}/models/model.tar.gz"},
    }

    described = run(sfn, task_machine("arn:aws:states:::sagemaker:createModel", parameters))

    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert json.loads(described["output"]) == {"ModelArn": sagemaker.describe_model(ModelName=name)["ModelArn"]}


@pytest.mark.compatibility("states:sagemaker")
def test_an_api_error_is_named_as_step_functions_names_sagemakers_errors(sfn: Any, sagemaker: Any) -> None:
    # GIVEN a model that exists already
    name = unique("model")
    parameters = {
        "ModelName": name,
        "ExecutionRoleArn": SAGEMAKER_ROLE,
        "PrimaryContainer": {"Image": LINEAR_LEARNER, "ModelDataUrl": f"s3://{BUCKET}/models/model.tar.gz"},
    }
    sagemaker.create_model(**parameters)

    # WHEN a task creates it again
    described = run(sfn, task_machine("arn:aws:states:::sagemaker:createModel", parameters))

    # THEN the task fails with the generic SDK exception's name (ValidationException is not a modeled error)
    assert described["status"] == "FAILED"
    assert described["error"] == "SageMaker.AmazonSageMakerException"
    assert described["cause"].startswith("Cannot create already existing model")
    assert (
        "(Service: AmazonSageMaker; Status Code: 400; Error Code: ValidationException; Request ID: "
        in (described["cause"])
    )


def test_sync_tuning_jobs_are_refused_in_one_clear_line(sfn: Any) -> None:
    definition = task_machine("arn:aws:states:::sagemaker:createHyperParameterTuningJob.sync", {"x": 1})

    described = run(sfn, definition)

    assert described["status"] == "FAILED"
    assert described["error"] == "States.Runtime"
    assert "createHyperParameterTuningJob.sync: the local SageMaker emulator runs no such jobs" in described["cause"]


def test_wait_for_task_token_is_refused_as_step_functions_does_for_sagemaker(sfn: Any) -> None:
    definition = task_machine("arn:aws:states:::sagemaker:createModel.waitForTaskToken", {"ModelName": "m"})

    described = run(sfn, definition)

    assert described["status"] == "FAILED"
    assert "Unsupported waitForTaskToken callback procedure" in described["cause"]


# --- the pure parts ---


def client_error(code: str, message: str, status: int = 400) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {
                "HTTPStatusCode": status,
                "RequestId": "req-1",
                "HTTPHeaders": {},
                "HostId": "",
                "RetryAttempts": 0,
            },
        },
        "CreateTrainingJob",
    )


@pytest.mark.parametrize(
    ("action", "code", "expected"),
    [
        ("createTrainingJob", "ResourceLimitExceeded", "SageMaker.ResourceLimitExceededException"),
        ("createTrainingJob", "ResourceInUse", "SageMaker.ResourceInUseException"),
        ("createTrainingJob", "ValidationException", "SageMaker.AmazonSageMakerException"),
        ("createTrainingJob", "ThrottlingException", "SageMaker.AmazonSageMakerException"),
        ("createModel", "ResourceInUse", "SageMaker.AmazonSageMakerException"),  # not among CreateModel's errors
    ],
)
def test_api_error_names(action: str, code: str, expected: str) -> None:
    assert api_error_name(action, client_error(code, "m")) == expected


def test_api_error_cause_is_the_java_sdks_message() -> None:
    assert api_error_cause(client_error("ValidationException", "Bad name")) == (
        "Bad name (Service: AmazonSageMaker; Status Code: 400; Error Code: ValidationException; Request ID: req-1)"
    )


def test_json_ready_writes_timestamps_as_epoch_milliseconds() -> None:
    moment = datetime(2026, 12, 5, 6, 0, 0, 250000, tzinfo=UTC)
    naive = moment.replace(tzinfo=None)

    ready = json_ready({"A": moment, "B": [{"C": naive}], "D": "x", "E": 1})

    assert ready == {"A": 1796450400250, "B": [{"C": 1796450400250}], "D": "x", "E": 1}
