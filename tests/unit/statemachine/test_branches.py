"""Every branch of the real ASL, executed by moto's Step Functions interpreter.

The steps' answers are scripted (see scripted_steps.py) so that every status SageMaker can report is met;
notifications go through the real NotifySlack function with Slack not configured.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.core.responses import EmptyResult
from moto.sagemaker.models import sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse

from contract.steps import NOTIFY_SLACK, WORKFLOW_STEPS
from lambdas.common.transform import TransformRequestError
from local_runtime.deploy import DeployedPipeline, ExecutionRecord, run_execution, wait_for_execution
from local_runtime.lambda_invoke import LocalFunction
from local_runtime.server import LocalAws
from local_runtime.template import LocalStack
from stacks.constructs.state_machine import with_run_timeout
from tests.unit.statemachine import scripted_steps

REGION, ACCOUNT = "us-east-1", "123456789012"
ASL = (Path(__file__).parents[3] / "statemachine" / "retraining.asl.json").read_text()
_unique = count()
MODEL_PACKAGE_GROUP = "churn-models"
MODEL_PACKAGE_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{MODEL_PACKAGE_GROUP}/1"


def arn(step: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{step}"


@pytest.fixture(scope="module")
def local_aws() -> Iterator[LocalAws]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with LocalAws() as aws:
        for step in WORKFLOW_STEPS:
            if step is not NOTIFY_SLACK:
                aws.register_function(
                    LocalFunction(step.name, arn(step.name), "tests.unit.statemachine.scripted_steps.handler")
                )
        aws.register_function(
            LocalFunction(
                NOTIFY_SLACK.name,
                arn(NOTIFY_SLACK.name),
                NOTIFY_SLACK.handler,
                {"PIPELINE_NAME": "churn", "POWERTOOLS_TRACE_DISABLED": "1", "AWS_DEFAULT_REGION": REGION},
            )
        )
        yield aws


@pytest.fixture
def pipeline(local_aws: LocalAws, aws_env: None) -> DeployedPipeline:
    return create_machine(local_aws, ASL)


def create_machine(local_aws: LocalAws, asl: str) -> DeployedPipeline:
    """A state machine of the definition with the scripted steps' ARNs, and the scripts of earlier tests cleared."""
    definition = asl
    for step in WORKFLOW_STEPS:
        definition = definition.replace("${" + step.placeholder + "}", arn(step.name))
    sfn = boto3.client("stepfunctions", endpoint_url=local_aws.endpoint_url)
    name = f"branches-{next(_unique)}"
    machine = sfn.create_state_machine(name=name, definition=definition, roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn")[
        "stateMachineArn"
    ]
    scripted_steps.SCRIPTS.clear()
    scripted_steps.CALLS.clear()
    local_aws.functions.invocations.clear()
    return DeployedPipeline(stack=LocalStack(name=name, region=REGION, account=ACCOUNT), state_machine_arn=machine)


class ScriptedRun:
    """Answers of CheckData, StartPreprocessing, StartTrainingJob, GetStatus, DeployModel and UpdateParameters for
    one run."""

    def __init__(
        self,
        *,
        has_new_data: bool = True,
        training: tuple[dict[str, Any], ...] = (),
        endpoint: tuple[dict[str, Any], ...] = (),
        job_name: str = "churn-1",
        approval_status: str = "Approved",
        approval_timeout_seconds: int = 60,
        woken: bool = True,
        preprocessing: tuple[dict[str, Any], ...] | None = None,
        batch_transform: tuple[dict[str, Any], ...] | None = None,
        evaluation: tuple[dict[str, Any], ...] | None = None,
    ) -> None:
        """`woken`: AwaitStatusChange returns its token at once (the state-change event came); otherwise every
        wait ends at its one-second timeout (the safety net). `preprocessing`: the pipeline has preprocessing, and
        these are GetStatus' answers about its processing job. `batch_transform`: the pipeline runs a batch transform
        after deploying, and these are GetStatus' answers about its transform job. `evaluation`: the run scores the
        models on its holdout, and these are GetStatus' answers about the evaluation's transform jobs."""
        self.has_new_data, self.job_name = has_new_data, job_name
        self.woken, self.endpoint_url = woken, ""
        self.awaited: list[str] = []
        self.approval_status, self.approval_timeout_seconds = approval_status, approval_timeout_seconds
        self.task_tokens: list[str] = []
        self.training, self.endpoint = iter(training), iter(endpoint)
        self.preprocess, self.preprocessing = preprocessing is not None, iter(preprocessing or ())
        self.transforms, self.batch_transform = batch_transform is not None, iter(batch_transform or ())
        self.evaluates, self.evaluation = evaluation is not None, iter(evaluation or ())

    def install(self, endpoint_url: str = "") -> None:
        self.endpoint_url = endpoint_url
        scripted_steps.SCRIPTS.update(
            AwaitStatusChange=self.await_status_change,
            CheckData=self.check_data,
            StartPreprocessing=self.start_preprocessing,
            StartTrainingJob=self.start_training_job,
            StartBatchTransform=self.start_batch_transform,
            StartEvaluation=self.start_evaluation,
            GetStatus=self.get_status,
            DeployModel=self.deploy_model,
            EvaluateModel=self.evaluate_model,
            RequestApproval=self.request_approval,
            UpdateParameters=self.update_parameters,
            SmokeTest=lambda e: {**e["state"], "smoke_test": {"skipped": False, "records": 5, "answers": 5}},
            PruneModels=lambda e: {**e["state"], "pruned": {"keep_last": 5, "deleted_models": []}},
            RecordLineage=lambda e: {**e["state"], "lineage": {"run_record": "s3://b/runs/churn/churn-1.json"}},
            CleanUp=lambda e: {**e["state"], "clean_up": {"run_id": self.job_name}},
        )

    def evaluate_model(self, event: dict[str, Any]) -> dict[str, Any]:
        evaluation = {
            "approval_status": self.approval_status,
            "model_package_arn": MODEL_PACKAGE_ARN,
            "model_package_version": 1,
            "approval_timeout_seconds": self.approval_timeout_seconds,
        }
        return {**event["state"], "evaluation": evaluation}

    def request_approval(self, event: dict[str, Any]) -> dict[str, Any]:
        self.task_tokens.append(event["task_token"])
        return {"waiting": True}

    @staticmethod
    def update_parameters(event: dict[str, Any]) -> dict[str, Any]:
        state = event["state"]
        rejected = "Rejected" in (state["evaluation"]["approval_status"], state.get("approval", {}).get("status"))
        watermark = {"newest_data_date": "2026-11-21", "outcome": "rejected" if rejected else "deployed"}
        return {**state, "watermark": watermark}

    def check_data(self, event: dict[str, Any]) -> dict[str, Any]:
        run = {"pipeline": "churn", "run_id": self.job_name, "has_new_data": self.has_new_data}
        flags = {"preprocess": self.preprocess, "batch_transform": self.transforms, "evaluate": self.evaluates}
        return {"run": {**run, **flags}}

    def start_preprocessing(self, event: dict[str, Any]) -> dict[str, Any]:
        preprocessing = {
            "job_name": self.job_name,
            "status": "InProgress",
            "poll_seconds": 1,
            "waited_seconds": 0,
            "wait_exceeded": False,
            "failure_reason": None,
        }
        return {**event["state"], "preprocessing": preprocessing}

    def start_batch_transform(self, event: dict[str, Any]) -> dict[str, Any]:
        batch_transform = {
            "job_name": self.job_name,
            "status": "InProgress",
            "day": "2026-11-21",
            "input_uri": "s3://b/daily/churn/2026-11-21.csv",
            "output_uri": "s3://b/predictions/daily/churn/",
            "poll_seconds": 1,
            "waited_seconds": 0,
            "wait_exceeded": False,
            "failure_reason": None,
        }
        return {**event["state"], "batch_transform": batch_transform}

    def start_evaluation(self, event: dict[str, Any]) -> dict[str, Any]:
        holdout_evaluation = {
            "job_name": f"{self.job_name}-new",
            "candidate_job": f"{self.job_name}-new",
            "production_job": f"{self.job_name}-prod",
            "status": "InProgress",
            "poll_seconds": 1,
            "waited_seconds": 0,
            "wait_exceeded": False,
            "failure_reason": None,
        }
        return {**event["state"], "holdout_evaluation": holdout_evaluation}

    def start_training_job(self, event: dict[str, Any]) -> dict[str, Any]:
        training = {
            "job_name": self.job_name,
            "status": "InProgress",
            "poll_seconds": 1,
            "waited_seconds": 0,
            "wait_exceeded": False,
            "failure_reason": None,
        }
        return {**event["state"], "training": training}

    def deploy_model(self, event: dict[str, Any]) -> dict[str, Any]:
        deployment = {
            "endpoint_name": "churn",
            "endpoint_config_name": self.job_name,
            "status": "Updating",
            "serving_new_model": False,
            "poll_seconds": 1,
            "waited_seconds": 0,
            "wait_exceeded": False,
            "failure_reason": None,
        }
        return {**event["state"], "deployment": deployment}

    def await_status_change(self, event: dict[str, Any]) -> dict[str, Any]:
        self.awaited.append(event["target"])
        if self.woken:
            sfn = boto3.client("stepfunctions", endpoint_url=self.endpoint_url)
            sfn.send_task_success(taskToken=event["task_token"], output=json.dumps({"status": "Completed"}))
        return {"waiting": not self.woken}

    def get_status(self, event: dict[str, Any]) -> dict[str, Any]:
        section = {
            "training": "training",
            "preprocessing": "preprocessing",
            "transform": "batch_transform",
            "evaluation": "holdout_evaluation",
        }.get(event["target"], "deployment")
        answers = {
            "training": self.training,
            "preprocessing": self.preprocessing,
            "batch_transform": self.batch_transform,
            "holdout_evaluation": self.evaluation,
        }
        answer = next(answers.get(section, self.endpoint))
        return {**event["state"], section: {**event["state"][section], **answer}}


def run(local_aws: LocalAws, pipeline: DeployedPipeline, script: ScriptedRun) -> ExecutionRecord:
    script.install(local_aws.endpoint_url)
    return run_execution(local_aws, pipeline, name=f"run-{next(_unique)}", timeout_seconds=60)


def alerts(local_aws: LocalAws) -> list[str]:
    """Events the real NotifySlack function was invoked with, in order."""
    return [event["event"] for name, event in local_aws.functions.invocations if name == "NotifySlack"]


def status(value: str, **extra: Any) -> dict[str, Any]:
    return {"status": value, **extra}


class AccessDeniedError(Exception):
    """What a step raises when IAM refuses it; the class name is the error name the ASL sees."""


def refused(event: dict[str, Any]) -> dict[str, Any]:
    raise AccessDeniedError("not authorized to perform sagemaker:DeleteModel")


COMPLETED = status("Completed", model_artifact="s3://b/model.tar.gz")
IN_SERVICE_NEW = status("InService", serving_new_model=True)


def test_no_new_data_ends_successfully_without_training(local_aws: LocalAws, pipeline: DeployedPipeline) -> None:
    record = run(local_aws, pipeline, ScriptedRun(has_new_data=False))

    assert record.status == "SUCCEEDED"
    assert record.states_entered() == ["ReadRunInput", "CheckData", "HasNewData", "NotifyNoNewData", "NoNewData"]


def test_happy_path_polls_until_completed_then_in_service(local_aws: LocalAws, pipeline: DeployedPipeline) -> None:
    script = ScriptedRun(
        training=(status("InProgress"), status("Stopping", wait_exceeded=False), COMPLETED),
        endpoint=(status("Updating"), status("SystemUpdating"), status("RollingBack"), IN_SERVICE_NEW),
    )

    record = run(local_aws, pipeline, script)

    assert record.status == "SUCCEEDED", record.cause
    entered = record.states_entered()
    assert entered.count("GetTrainingStatus") == 3
    assert entered.count("GetEndpointStatus") == 4
    assert entered[-7:] == [
        "UpdateParameters",
        "RecordLineage",
        "WatermarkOutcome",
        "PruneModels",
        "NotifyDeployed",
        "TransformAfterDeploy",  # no batch transform configured: straight on
        "Deployed",
    ]
    assert alerts(local_aws) == ["training_started", "training_completed", "deployment_started", "deployed"]
    assert record.output["pruned"]["keep_last"] == 5


def test_with_preprocessing_the_run_trains_once_its_processing_job_completed(
    local_aws: LocalAws, pipeline: DeployedPipeline
) -> None:
    # GIVEN a pipeline with preprocessing whose processing job runs a while
    script = ScriptedRun(
        preprocessing=(status("InProgress"), status("Completed")),
        training=(COMPLETED,),
        endpoint=(IN_SERVICE_NEW,),
    )

    record = run(local_aws, pipeline, script)

    # THEN the job is awaited like training, and training starts only after it completed
    assert record.status == "SUCCEEDED", record.cause
    entered = record.states_entered()
    assert entered[:4] == ["ReadRunInput", "CheckData", "HasNewData", "StartPreprocessing"]
    assert entered.count("GetPreprocessingStatus") == entered.count("WaitForPreprocessing") == 2
    last_check = len(entered) - 1 - entered[::-1].index("PreprocessingStatus")
    assert entered[last_check + 1] == "StartTrainingJob"
    assert script.awaited[:2] == ["preprocessing", "preprocessing"]
    assert record.output["preprocessing"]["status"] == "Completed"


def test_without_preprocessing_the_run_trains_on_the_raw_data(local_aws: LocalAws, pipeline: DeployedPipeline) -> None:
    record = run(local_aws, pipeline, ScriptedRun(training=(COMPLETED,), endpoint=(IN_SERVICE_NEW,)))

    assert record.status == "SUCCEEDED", record.cause
    assert record.states_entered()[:4] == ["ReadRunInput", "CheckData", "HasNewData", "StartTrainingJob"]
    assert not [state for state in record.states_entered() if "Preprocessing" in state]


def test_with_preprocessing_and_no_new_data_nothing_starts(local_aws: LocalAws, pipeline: DeployedPipeline) -> None:
    record = run(local_aws, pipeline, ScriptedRun(has_new_data=False, preprocessing=()))

    assert record.status == "SUCCEEDED"
    assert record.states_entered() == ["ReadRunInput", "CheckData", "HasNewData", "NotifyNoNewData", "NoNewData"]


@pytest.mark.parametrize(
    ("answer", "error", "cause"),
    [
        (
            status("Failed", failure_reason="processing job churn-1 failed: AlgorithmError: bad column"),
            "PreprocessingFailed",
            "processing job churn-1 failed: AlgorithmError: bad column",
        ),
        (
            status("Stopped", failure_reason="processing job churn-1 was stopped"),
            "PreprocessingFailed",
            "processing job churn-1 was stopped",
        ),
        (
            status("Deleting"),
            "UnexpectedPreprocessingStatus",
            "processing job churn-1 reported an unexpected status: Deleting",
        ),
    ],
    ids=["failed", "stopped", "unexpected"],
)
def test_preprocessing_that_does_not_complete_fails_the_run_before_training(
    local_aws: LocalAws, pipeline: DeployedPipeline, answer: dict[str, Any], error: str, cause: str
) -> None:
    record = run(local_aws, pipeline, ScriptedRun(preprocessing=(answer,)))

    assert (record.status, record.error, record.cause) == ("FAILED", error, cause)
    assert record.states_entered()[-3:] == ["CleanUp", "NotifyFailure", "RunFailed"]
    assert "StartTrainingJob" not in record.states_entered()


def test_preprocessing_past_the_maximum_wait_is_stopped_and_fails(
    local_aws: LocalAws, pipeline: DeployedPipeline
) -> None:
    # GIVEN a processing job SageMaker reports InProgress
    sagemaker = boto3.client("sagemaker", endpoint_url=local_aws.endpoint_url)
    job_name = f"churn-prep-timeout-{next(_unique)}"
    sagemaker.create_processing_job(
        ProcessingJobName=job_name,
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/sm",
        AppSpecification={"ImageUri": "img"},
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}},
        StoppingCondition={"MaxRuntimeInSeconds": 60},
    )
    sagemaker_backends[ACCOUNT][REGION].processing_jobs[job_name].processing_job_status = "InProgress"
    script = ScriptedRun(
        job_name=job_name, preprocessing=(status("InProgress", wait_exceeded=True, waited_seconds=960),)
    )

    # WHEN the poll loop sees the maximum wait exceeded
    record = run(local_aws, pipeline, script)

    # THEN the job is stopped through the aws-sdk integration and the run fails with the cause, before training
    assert (record.status, record.error) == ("FAILED", "PreprocessingTimedOut")
    assert record.cause == (
        f"processing job {job_name} was still InProgress after 960 s, more than the maximum wait; it was stopped"
    )
    assert "StopProcessingJob" in record.states_entered()
    assert "StartTrainingJob" not in record.states_entered()
    assert sagemaker.describe_processing_job(ProcessingJobName=job_name)["ProcessingJobStatus"] == "Stopped"


def test_a_wait_no_event_wakes_checks_at_its_timeout(local_aws: LocalAws, pipeline: DeployedPipeline) -> None:
    # GIVEN SageMaker's state-change events never come: every AwaitStatusChange waits out its timeout
    script = ScriptedRun(training=(status("InProgress"), COMPLETED), endpoint=(IN_SERVICE_NEW,), woken=False)

    record = run(local_aws, pipeline, script)

    # THEN each timeout leads to the status check, as a woken wait does, and the run deploys
    assert record.status == "SUCCEEDED", record.cause
    entered = record.states_entered()
    assert entered.count("WaitForTraining") == entered.count("GetTrainingStatus") == 2
    assert entered.count("WaitForDeployment") == entered.count("GetEndpointStatus") == 1
    assert script.awaited == ["training", "training", "endpoint"]
    assert [e["type"] for e in record.history].count("TaskTimedOut") == 3
    assert "failure" not in record.output


def settle(local_aws: LocalAws, quiet_seconds: float = 1.5, within_seconds: float = 10.0) -> None:
    """Return once no step has been invoked for `quiet_seconds`."""
    deadline = time.monotonic() + within_seconds
    seen, since = len(local_aws.functions.invocations), time.monotonic()
    while time.monotonic() - since < quiet_seconds:
        if time.monotonic() > deadline:
            raise AssertionError(f"steps were still invoked {within_seconds} s after the execution ended")
        time.sleep(0.1)
        if len(local_aws.functions.invocations) != seen:
            seen, since = len(local_aws.functions.invocations), time.monotonic()


def test_a_run_stuck_past_the_machines_timeout_ends_timed_out_without_recording(
    local_aws: LocalAws, aws_env: None
) -> None:
    # GIVEN the definition as the stack deploys it, its run timeout shortened to 3 s, and a training job that never
    # ends while the loop's own maximum is far away (a fault the waits do not bound)
    stuck = create_machine(local_aws, with_run_timeout(ASL, 3))
    script = ScriptedRun(training=(status("InProgress"),) * 100, woken=False)

    record = run(local_aws, stuck, script)

    # THEN Step Functions ends the execution TimedOut (what the runs-timed-out alarm counts), mid-loop, and the
    # watermark is never recorded
    assert record.status == "TIMED_OUT", record.status
    assert "GetTrainingStatus" in record.states_entered()
    assert "UpdateParameters" not in record.states_entered()
    # (moto marks the execution at once and lets the state in progress finish: wait for its last call, which must
    # not land among the next test's)
    settle(local_aws)


def test_a_wait_that_fails_cleans_up_and_alerts(local_aws: LocalAws, pipeline: DeployedPipeline) -> None:
    script = ScriptedRun(training=(COMPLETED,), endpoint=(IN_SERVICE_NEW,))
    script.install(local_aws.endpoint_url)
    scripted_steps.SCRIPTS["AwaitStatusChange"] = refused

    record = run_execution(local_aws, pipeline, name=f"run-{next(_unique)}", timeout_seconds=60)

    assert record.status == "FAILED"
    entered = record.states_entered()
    assert "GetTrainingStatus" not in entered
    assert entered[entered.index("WaitForTraining") + 1] == "CleanUp"
    assert "training_started" in alerts(local_aws)


@pytest.mark.reliability(
    "fault",
    "RecordLineage fails after the new model went into service",
    "The run still succeeds with the watermark moved; the deployed Slack message carries the lineage error",
)
def test_a_lineage_failure_never_fails_a_run_whose_model_serves(
    local_aws: LocalAws, pipeline: DeployedPipeline
) -> None:
    script = ScriptedRun(training=(COMPLETED,), endpoint=(IN_SERVICE_NEW,))
    script.install(local_aws.endpoint_url)

    def broken(event: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("lineage store unavailable")

    scripted_steps.SCRIPTS["RecordLineage"] = broken
    record = run_execution(local_aws, pipeline, name=f"run-{next(_unique)}", timeout_seconds=60)

    assert record.status == "SUCCEEDED", record.cause
    assert record.states_entered()[-6:] == [
        "RecordLineage",
        "WatermarkOutcome",
        "PruneModels",
        "NotifyDeployed",
        "TransformAfterDeploy",
        "Deployed",
    ]
    (deployed,) = [
        e for name, e in local_aws.functions.invocations if name == "NotifySlack" and e["event"] == "deployed"
    ]
    assert deployed["state"]["lineage_error"]["Error"] == "RuntimeError"
    assert "watermark" in deployed["state"]  # the watermark moved before lineage was attempted


@pytest.mark.parametrize(
    ("answer", "error", "cause"),
    [
        (
            status("Failed", failure_reason="AlgorithmError: label column missing"),
            "TrainingJobFailed",
            "AlgorithmError: label column missing",
        ),
        (
            status("Stopped", failure_reason="stopped at its maximum runtime"),
            "TrainingJobStopped",
            "stopped at its maximum runtime",
        ),
        (status("Pending"), "UnexpectedTrainingStatus", "training job churn-1 reported an unexpected status: Pending"),
    ],
)
def test_training_that_does_not_complete_fails_the_run_after_an_alert(
    local_aws: LocalAws, pipeline: DeployedPipeline, answer: dict[str, Any], error: str, cause: str
) -> None:
    record = run(local_aws, pipeline, ScriptedRun(training=(answer,)))

    assert (record.status, record.error, record.cause) == ("FAILED", error, cause)
    assert record.states_entered()[-3:] == ["CleanUp", "NotifyFailure", "RunFailed"]
    assert alerts(local_aws) == ["training_started", "failed"]
    assert "DeployModel" not in record.states_entered()


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (status("InService", serving_new_model=False, failure_reason="rolled back: ping failed"), "DeploymentFailed"),
        (status("Failed", failure_reason="endpoint churn is Failed: capacity"), "DeploymentFailed"),
        (status("OutOfService", failure_reason="endpoint churn is OutOfService"), "DeploymentFailed"),
        (status("UpdateRollbackFailed", failure_reason="endpoint churn is UpdateRollbackFailed"), "DeploymentFailed"),
        (status("Updating", wait_exceeded=True, waited_seconds=4000), "DeploymentTimedOut"),
        (status("Deleting"), "UnexpectedEndpointStatus"),
    ],
)
def test_deployment_that_does_not_serve_the_new_model_fails_and_never_updates_the_watermark(
    local_aws: LocalAws, pipeline: DeployedPipeline, answer: dict[str, Any], error: str
) -> None:
    record = run(local_aws, pipeline, ScriptedRun(training=(COMPLETED,), endpoint=(answer,)))

    assert (record.status, record.error) == ("FAILED", error)
    assert "UpdateParameters" not in record.states_entered()
    assert record.states_entered()[-3:] == ["CleanUp", "NotifyFailure", "RunFailed"]


def test_training_past_the_maximum_wait_is_stopped_and_fails(local_aws: LocalAws, pipeline: DeployedPipeline) -> None:
    # GIVEN a training job SageMaker reports InProgress
    sagemaker = boto3.client("sagemaker", endpoint_url=local_aws.endpoint_url)
    job_name = f"churn-timeout-{next(_unique)}"
    sagemaker.create_training_job(
        TrainingJobName=job_name,
        AlgorithmSpecification={"TrainingImage": "img", "TrainingInputMode": "File"},
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/sm",
        OutputDataConfig={"S3OutputPath": "s3://b/m/"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 60},
    )
    sagemaker_backends[ACCOUNT][REGION].training_jobs[job_name].training_job_status = "InProgress"
    script = ScriptedRun(job_name=job_name, training=(status("InProgress", wait_exceeded=True, waited_seconds=90),))

    # WHEN the poll loop sees the maximum wait exceeded
    record = run(local_aws, pipeline, script)

    # THEN the job is stopped through the aws-sdk integration and the run fails with the cause
    assert (record.status, record.error) == ("FAILED", "TrainingTimedOut")
    assert record.cause == (
        f"training job {job_name} was still InProgress after 90 s, more than the maximum wait; it was stopped"
    )
    assert "StopTrainingJob" in record.states_entered()
    assert sagemaker.describe_training_job(TrainingJobName=job_name)["TrainingJobStatus"] == "Stopped"


def test_a_step_that_raises_is_retried_only_for_transient_errors_then_alerted(
    local_aws: LocalAws, pipeline: DeployedPipeline
) -> None:
    attempts: list[int] = []

    class InvalidRunInputError(Exception):
        pass

    def check_data(event: dict[str, Any]) -> dict[str, Any]:
        attempts.append(1)
        raise InvalidRunInputError("unknown field(s) in the execution input: forse")

    script = ScriptedRun()
    script.check_data = check_data  # type: ignore[method-assign]
    record = run(local_aws, pipeline, script)

    assert (record.status, record.error) == ("FAILED", "InvalidRunInputError")
    assert record.cause == "unknown field(s) in the execution input: forse"
    assert len(attempts) == 1


def test_transient_errors_are_retried(local_aws: LocalAws, pipeline: DeployedPipeline) -> None:
    attempts: list[int] = []

    class TransientAwsError(Exception):
        pass

    script = ScriptedRun(has_new_data=False)
    original = script.check_data

    def flaky(event: dict[str, Any]) -> dict[str, Any]:
        attempts.append(1)
        if len(attempts) == 1:
            raise TransientAwsError("Rate exceeded")
        return original(event)

    script.check_data = flaky  # type: ignore[method-assign]
    record = run(local_aws, pipeline, script)

    assert record.status == "SUCCEEDED"
    assert len(attempts) == 2
    assert any("TaskFailed" in event["type"] for event in record.history)


def test_history_has_the_failed_state_for_the_console(local_aws: LocalAws, pipeline: DeployedPipeline) -> None:
    record = run(local_aws, pipeline, ScriptedRun(training=(status("Failed", failure_reason="boom"),)))

    failed = [e for e in record.history if e["type"] == "ExecutionFailed"]
    assert json.loads(json.dumps(failed[0]["executionFailedEventDetails"])) == {
        "error": "TrainingJobFailed",
        "cause": "boom",
    }


@pytest.mark.reliability(
    "fault",
    "The clean-up after a failure fails itself",
    "The alert still goes out, and the run fails with the original error, not the clean-up's",
)
def test_a_failing_clean_up_still_alerts_with_the_original_failure(
    local_aws: LocalAws, pipeline: DeployedPipeline
) -> None:
    # GIVEN a run whose training fails and whose clean-up then fails too
    script = ScriptedRun(training=(status("Failed", failure_reason="AlgorithmError: bad label"),))
    script.install(local_aws.endpoint_url)
    scripted_steps.SCRIPTS["CleanUp"] = refused

    # WHEN the run ends
    record = run_execution(local_aws, pipeline, name=f"run-{next(_unique)}", timeout_seconds=60)

    # THEN the alert still goes out, and the run reports the training failure, not the clean-up's
    assert (record.status, record.error, record.cause) == ("FAILED", "TrainingJobFailed", "AlgorithmError: bad label")
    assert record.states_entered()[-3:] == ["CleanUp", "NotifyFailure", "RunFailed"]
    assert alerts(local_aws)[-1] == "failed"


@pytest.mark.reliability(
    "fault",
    "Housekeeping fails after the new model serves (PruneModels raises)",
    "The run still ends Deployed; the error is kept in prune_error and the deployed alert goes out",
)
def test_a_failing_housekeeping_never_fails_a_run_whose_model_serves(
    local_aws: LocalAws, pipeline: DeployedPipeline
) -> None:
    # GIVEN a deployment that succeeds and a PruneModels refused by SageMaker
    script = ScriptedRun(training=(COMPLETED,), endpoint=(IN_SERVICE_NEW,))
    script.install(local_aws.endpoint_url)
    scripted_steps.SCRIPTS["PruneModels"] = refused

    # WHEN the run ends
    record = run_execution(local_aws, pipeline, name=f"run-{next(_unique)}", timeout_seconds=60)

    # THEN it succeeded, the error is recorded and Slack heard of the deployment
    assert record.status == "SUCCEEDED", record.cause
    assert record.states_entered()[-4:] == ["PruneModels", "NotifyDeployed", "TransformAfterDeploy", "Deployed"]
    assert record.output["prune_error"]["Error"] == "AccessDeniedError"
    assert "pruned" not in record.output
    assert alerts(local_aws)[-1] == "deployed"


@pytest.mark.reliability(
    "fault",
    "A step function dies after its work (Runtime.ExitError)",
    "Step Functions retries it (at most twice) and the run completes",
)
def test_a_function_that_crashes_after_its_work_is_retried(local_aws: LocalAws, pipeline: DeployedPipeline) -> None:
    # GIVEN a StartTrainingJob whose first attempt dies the way Lambda reports a killed runtime
    crash = type("Runtime.ExitError", (Exception,), {})
    script = ScriptedRun(training=(COMPLETED,), endpoint=(IN_SERVICE_NEW,))
    attempts: list[int] = []
    original = script.start_training_job

    def dies_once(event: dict[str, Any]) -> dict[str, Any]:
        attempts.append(1)
        if len(attempts) == 1:
            raise crash("Runtime exited with error: signal: killed")
        return original(event)

    script.start_training_job = dies_once  # type: ignore[method-assign]

    # WHEN the run goes on
    record = run(local_aws, pipeline, script)

    # THEN the step was retried once and the run completed
    assert record.status == "SUCCEEDED", record.cause
    assert len(attempts) == 2


TRAINED = {"training": (status("Completed"),), "endpoint": (status("InService", serving_new_model=True),)}


def test_a_model_the_gate_rejects_is_recorded_and_never_deployed(
    local_aws: LocalAws, pipeline: DeployedPipeline
) -> None:
    record = run(local_aws, pipeline, ScriptedRun(approval_status="Rejected", **TRAINED))

    assert record.status == "SUCCEEDED"
    entered = record.states_entered()
    assert "DeployModel" not in entered
    assert entered[-6:] == [
        "ModelDecision",
        "UpdateParameters",
        "RecordLineage",
        "WatermarkOutcome",
        "NotifyModelRejected",
        "ModelRejected",
    ]
    assert alerts(local_aws)[-1] == "model_rejected"


def test_an_unknown_approval_status_fails_the_run_after_clean_up(
    local_aws: LocalAws, pipeline: DeployedPipeline
) -> None:
    record = run(local_aws, pipeline, ScriptedRun(approval_status="Deleted", **TRAINED))

    assert record.status == "FAILED"
    assert record.error == "UnexpectedApprovalStatus"
    assert "CleanUp" in record.states_entered()


def start(local_aws: LocalAws, pipeline: DeployedPipeline, script: ScriptedRun) -> str:
    script.install(local_aws.endpoint_url)
    sfn = boto3.client("stepfunctions", endpoint_url=local_aws.endpoint_url)
    return str(
        sfn.start_execution(stateMachineArn=pipeline.state_machine_arn, name=f"run-{next(_unique)}", input="{}")[
            "executionArn"
        ]
    )


def token_of(script: ScriptedRun) -> str:
    for _ in range(200):
        if script.task_tokens:
            return script.task_tokens[-1]
        time.sleep(0.05)
    raise AssertionError("RequestApproval was never invoked")


@pytest.mark.parametrize(("decision", "end"), [("Approved", "Deployed"), ("Rejected", "ModelRejected")])
def test_a_run_waiting_for_approval_resumes_with_the_decision_it_is_sent(
    local_aws: LocalAws, pipeline: DeployedPipeline, decision: str, end: str
) -> None:
    # GIVEN a run parked in WaitForApproval
    script = ScriptedRun(approval_status="PendingManualApproval", **TRAINED)
    execution = start(local_aws, pipeline, script)
    token = token_of(script)

    # WHEN the decision comes back with its token (what ApprovalListener sends)
    sfn = boto3.client("stepfunctions", endpoint_url=local_aws.endpoint_url)
    sfn.send_task_success(taskToken=token, output=json.dumps({"status": decision}))

    # THEN the run takes the decision's branch
    record = wait_for_execution(local_aws, execution, region=REGION, timeout_seconds=60)
    assert record.status == "SUCCEEDED"
    assert record.states_entered()[-1] == end
    assert ("DeployModel" in record.states_entered()) is (decision == "Approved")
    assert "approval_requested" in alerts(local_aws)


def test_a_run_nobody_approves_in_time_rejects_the_version_and_ends_without_deploying(
    local_aws: LocalAws, pipeline: DeployedPipeline
) -> None:
    sagemaker = boto3.client("sagemaker", endpoint_url=local_aws.endpoint_url)
    if not sagemaker.list_model_package_groups(NameContains=MODEL_PACKAGE_GROUP)["ModelPackageGroupSummaryList"]:
        sagemaker.create_model_package_group(ModelPackageGroupName=MODEL_PACKAGE_GROUP)
    sagemaker.create_model_package(
        ModelPackageGroupName=MODEL_PACKAGE_GROUP,
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [{"Image": "img"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )

    record = run(
        local_aws, pipeline, ScriptedRun(approval_status="PendingManualApproval", approval_timeout_seconds=1, **TRAINED)
    )

    assert record.status == "SUCCEEDED"
    entered = record.states_entered()
    assert entered[-4:] == ["WaitForApproval", "ExpireApproval", "NotifyApprovalTimedOut", "ApprovalTimedOut"]
    assert "UpdateParameters" not in entered
    assert "DeployModel" not in entered
    described = sagemaker.describe_model_package(ModelPackageName=MODEL_PACKAGE_ARN)
    assert described["ModelApprovalStatus"] == "Rejected"
    assert "approval timeout" in described["ApprovalDescription"]


DEPLOYED_TAIL = ["UpdateParameters", "RecordLineage", "WatermarkOutcome", "PruneModels", "NotifyDeployed"]


def test_a_batch_transform_after_deploying_is_awaited_and_announced(
    local_aws: LocalAws, pipeline: DeployedPipeline
) -> None:
    # GIVEN a pipeline with a batch transform whose job runs a while
    script = ScriptedRun(
        training=(COMPLETED,),
        endpoint=(IN_SERVICE_NEW,),
        batch_transform=(status("InProgress"), status("Completed")),
    )

    record = run(local_aws, pipeline, script)

    # THEN after the deployment is announced the job is started and awaited until it completed, then announced
    assert record.status == "SUCCEEDED", record.cause
    entered = record.states_entered()
    start = entered.index("StartBatchTransform")
    assert entered[start - 2 : start] == ["NotifyDeployed", "TransformAfterDeploy"]
    assert entered.count("WaitForBatchTransform") == entered.count("GetBatchTransformStatus") == 2
    assert entered[-3:] == ["BatchTransformStatus", "NotifyBatchTransformed", "Deployed"]
    assert script.awaited[-2:] == ["transform", "transform"]
    assert alerts(local_aws)[-2:] == ["deployed", "batch_transform_completed"]
    assert record.output["batch_transform"]["status"] == "Completed"
    assert "transform_error" not in record.output


@pytest.mark.parametrize(
    ("answer", "error", "cause"),
    [
        (
            status("Failed", failure_reason="transform job churn-1 over s3://b/x.csv failed: ClientError"),
            "BatchTransformFailed",
            "transform job churn-1 over s3://b/x.csv failed: ClientError",
        ),
        (
            status("Stopped", failure_reason="transform job churn-1 over s3://b/x.csv stopped: by hand"),
            "BatchTransformFailed",
            "transform job churn-1 over s3://b/x.csv stopped: by hand",
        ),
        (
            status("Deleting"),
            "UnexpectedBatchTransformStatus",
            "transform job churn-1 reported an unexpected status: Deleting",
        ),
    ],
    ids=["failed", "stopped", "unexpected"],
)
def test_a_batch_transform_that_does_not_complete_is_reported_and_the_run_still_ends_deployed(
    local_aws: LocalAws, pipeline: DeployedPipeline, answer: dict[str, Any], error: str, cause: str
) -> None:
    script = ScriptedRun(training=(COMPLETED,), endpoint=(IN_SERVICE_NEW,), batch_transform=(answer,))

    record = run(local_aws, pipeline, script)

    # THEN the model serves and the watermark moved: the failure is a warning, never CleanUp or a failed run
    assert record.status == "SUCCEEDED", record.cause
    assert record.output["transform_error"] == {"Error": error, "Cause": cause}
    assert record.states_entered()[-2:] == ["NotifyBatchTransformFailed", "Deployed"]
    assert "CleanUp" not in record.states_entered()
    assert alerts(local_aws)[-2:] == ["deployed", "batch_transform_failed"]
    assert record.output["watermark"]["outcome"] == "deployed"


def test_a_batch_transform_that_cannot_start_is_reported_and_the_run_still_ends_deployed(
    local_aws: LocalAws, pipeline: DeployedPipeline
) -> None:
    # GIVEN a newest day whose data is gone by the time the transform starts
    script = ScriptedRun(training=(COMPLETED,), endpoint=(IN_SERVICE_NEW,), batch_transform=())
    script.install(local_aws.endpoint_url)

    def no_data(event: dict[str, Any]) -> dict[str, Any]:
        raise TransformRequestError("no data for 2026-11-21")

    scripted_steps.SCRIPTS["StartBatchTransform"] = no_data

    record = run_execution(local_aws, pipeline, name=f"run-{next(_unique)}", timeout_seconds=60)

    assert record.status == "SUCCEEDED", record.cause
    assert record.output["transform_error"]["Error"] == "TransformRequestError"
    assert "no data for 2026-11-21" in record.output["transform_error"]["Cause"]
    assert record.states_entered()[-3:] == ["StartBatchTransform", "NotifyBatchTransformFailed", "Deployed"]
    assert "WaitForBatchTransform" not in record.states_entered()


def _stop_transform_job(self: Any) -> EmptyResult:
    """StopTransformJob, which moto lacks (the local runtime's SageMaker emulator answers it): the job stops."""
    job = self.sagemaker_backend.transform_jobs[self._get_param("TransformJobName")]
    job.transform_job_status = "Stopped"
    return EmptyResult()


def test_a_batch_transform_past_the_maximum_wait_is_stopped_and_reported(
    local_aws: LocalAws, pipeline: DeployedPipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a transform job SageMaker reports InProgress
    monkeypatch.setattr(SageMakerResponse, "stop_transform_job", _stop_transform_job, raising=False)
    sagemaker = boto3.client("sagemaker", endpoint_url=local_aws.endpoint_url)
    job_name = f"churn-transform-timeout-{next(_unique)}"
    sagemaker.create_transform_job(
        TransformJobName=job_name,
        ModelName="churn-model",
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/daily/x.csv"}}},
        TransformOutput={"S3OutputPath": "s3://b/predictions/daily/"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
    )
    sagemaker_backends[ACCOUNT][REGION].transform_jobs[job_name].transform_job_status = "InProgress"
    script = ScriptedRun(
        job_name=job_name,
        training=(COMPLETED,),
        endpoint=(IN_SERVICE_NEW,),
        batch_transform=(status("InProgress", wait_exceeded=True, waited_seconds=3700),),
    )

    # WHEN the poll loop sees the maximum wait exceeded
    record = run(local_aws, pipeline, script)

    # THEN the job is stopped through the aws-sdk integration, reported, and the run still ends Deployed
    assert record.status == "SUCCEEDED", record.cause
    assert record.output["transform_error"] == {
        "Error": "BatchTransformTimedOut",
        "Cause": f"transform job {job_name} was still InProgress after 3700 s, more than the maximum wait; "
        "it was stopped",
    }
    assert record.states_entered()[-4:] == [
        "StopTransformJob",
        "BatchTransformTimedOut",
        "NotifyBatchTransformFailed",
        "Deployed",
    ]
    assert sagemaker.describe_transform_job(TransformJobName=job_name)["TransformJobStatus"] == "Stopped"


def test_without_a_batch_transform_the_run_ends_deployed_after_the_announcement(
    local_aws: LocalAws, pipeline: DeployedPipeline
) -> None:
    record = run(local_aws, pipeline, ScriptedRun(training=(COMPLETED,), endpoint=(IN_SERVICE_NEW,)))

    assert record.status == "SUCCEEDED", record.cause
    assert record.states_entered()[-7:] == [*DEPLOYED_TAIL, "TransformAfterDeploy", "Deployed"]
    assert not [state for state in record.states_entered() if "BatchTransform" in state]


def test_a_run_that_scores_its_models_on_the_holdout_awaits_both_jobs_then_judges(
    local_aws: LocalAws, pipeline: DeployedPipeline
) -> None:
    # GIVEN a run whose evaluation jobs run a while (CheckData: run.evaluate)
    script = ScriptedRun(
        training=(COMPLETED,),
        endpoint=(IN_SERVICE_NEW,),
        evaluation=(status("InProgress"), status("InProgress", job_name="churn-1-prod"), status("Completed")),
    )

    record = run(local_aws, pipeline, script)

    # THEN after training is announced the jobs are started and awaited until both completed, then the model judged
    assert record.status == "SUCCEEDED", record.cause
    entered = record.states_entered()
    start = entered.index("StartEvaluation")
    assert entered[start - 2 : start] == ["NotifyTrainingCompleted", "EvaluateOnHoldout"]
    assert entered.count("WaitForEvaluation") == entered.count("GetEvaluationStatus") == 3
    evaluated = entered.index("EvaluateModel")
    assert entered[evaluated - 1] == "EvaluationStatus"
    assert entered[-1] == "Deployed"
    assert script.awaited.count("evaluation") == 3
    assert record.output["holdout_evaluation"]["status"] == "Completed"


def test_a_run_that_does_not_score_its_models_goes_from_training_to_the_gate(
    local_aws: LocalAws, pipeline: DeployedPipeline
) -> None:
    record = run(local_aws, pipeline, ScriptedRun(training=(COMPLETED,), endpoint=(IN_SERVICE_NEW,)))

    entered = record.states_entered()
    assert entered[entered.index("NotifyTrainingCompleted") + 1 :][:2] == ["EvaluateOnHoldout", "EvaluateModel"]
    assert "StartEvaluation" not in entered


@pytest.mark.parametrize(
    ("answer", "error", "cause"),
    [
        (
            status("Failed", failure_reason="evaluation transform job churn-1-new (model churn-1) failed: no ping"),
            "EvaluationFailed",
            "evaluation transform job churn-1-new (model churn-1) failed: no ping",
        ),
        (
            status("InProgress", waited_seconds=3_700, wait_exceeded=True),
            "EvaluationTimedOut",
            "evaluation transform job churn-1-new was still InProgress after 3700 s, more than "
            "evaluation.max_wait_seconds; the run stops it",
        ),
        (
            status("Deleting"),
            "UnexpectedEvaluationStatus",
            "evaluation transform job churn-1-new reported an unexpected status: Deleting",
        ),
    ],
    ids=["failed", "timed-out", "unexpected"],
)
def test_an_evaluation_that_does_not_complete_fails_the_run_before_the_gate(
    local_aws: LocalAws, pipeline: DeployedPipeline, answer: dict[str, Any], error: str, cause: str
) -> None:
    script = ScriptedRun(training=(COMPLETED,), evaluation=(answer,))

    record = run(local_aws, pipeline, script)

    # THEN the run fails through CleanUp (which stops the jobs) with the alert, and nothing is judged or deployed
    assert (record.status, record.error, record.cause) == ("FAILED", error, cause)
    entered = record.states_entered()
    assert entered[-4:] == [error, "CleanUp", "NotifyFailure", "RunFailed"]
    assert "EvaluateModel" not in entered
    assert "DeployModel" not in entered
    assert alerts(local_aws)[-1] == "failed"


def test_an_evaluation_that_cannot_start_fails_the_run_after_clean_up(
    local_aws: LocalAws, pipeline: DeployedPipeline
) -> None:
    script = ScriptedRun(training=(COMPLETED,), evaluation=())
    script.install(local_aws.endpoint_url)
    scripted_steps.SCRIPTS["StartEvaluation"] = refused

    record = run_execution(local_aws, pipeline, name=f"run-{next(_unique)}", timeout_seconds=60)

    assert (record.status, record.error) == ("FAILED", "AccessDeniedError")
    assert record.states_entered()[-4:] == ["StartEvaluation", "CleanUp", "NotifyFailure", "RunFailed"]
