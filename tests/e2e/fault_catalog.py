"""The faults the e2e fault suite injects, each with the outcome the pipeline must reach despite it.

A case arms its faults through the local runtime (`runtime.faults`) or the local Slack API, may change the
functions' environment for the faulted run, may act while the run is going, and names its outcome: the run
completes (`error` is None) or fails with the named error whose cause contains `cause`. `fired` is how often
each armed fault must have fired. tests/e2e/test_faults.py runs every case and then the same checks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from local_runtime.deploy import ExecutionRecord
from local_runtime.fault_records import Fault
from local_runtime.runtime import LocalRuntime
from local_runtime.slack_api import LocalSlackApi

BROKEN_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/no-such-server:1"
ALGORITHM_ERROR = "AlgorithmError: the model diverged (loss is NaN) after 3 epochs"
SLACK_TIMEOUT_SECONDS = 1  # the functions' SLACK_TIMEOUT_SECONDS in the suite: a timeout costs a second
SLACK_TIMEOUT_DETAIL = f"slack did not answer within {SLACK_TIMEOUT_SECONDS} s"


class Bench(Protocol):
    """What a case needs from the suite's deployed pipeline."""

    runtime: LocalRuntime
    slack: LocalSlackApi

    def training_jobs(self, *statuses: str) -> list[str]: ...


@dataclass(frozen=True)
class FaultRun:
    """A faulted run as the checks see it: the execution, and what happened around it."""

    record: ExecutionRecord
    run_id: str  # the name of the run's training job, model and endpoint config
    api_calls: Mapping[str, int]  # JSON-protocol calls during the run, by X-Amz-Target, faulted ones included
    training_jobs_created: list[str]  # the training jobs that exist now and did not before the run
    notifications: list[tuple[str, dict[str, Any]]]  # each NotifySlack task's state and result, in order


@dataclass(frozen=True)
class FaultCase:
    id: str
    description: str  # the fault, in a line of docs/reliability.md
    holds: str  # what the checks prove holds after it, in the same line
    inject: Callable[[Bench], Sequence[Fault]]
    fired: tuple[int, ...]  # how often each injected fault must have fired
    error: str | None = None  # None: the run completes despite the fault
    cause: str | None = None  # what the failure's cause (and so the alert) must name
    environment: Mapping[str, str] = field(default_factory=dict)  # for the faulted run only
    during: Callable[[Bench, str], None] | None = None  # acts while the run (given its ARN) is going
    undelivered: str | None = None  # Slack fault: the detail of the notifications that could not be sent
    check: Callable[[Bench, FaultRun], None] | None = None  # what only this fault needs checked


# --- actions and checks of single cases ---


def stop_the_training_job(bench: Bench, execution_arn: str) -> None:
    """Stop the run's training job once it trains, as an operator would in the console."""
    deadline = time.monotonic() + 30
    while not (running := bench.training_jobs("InProgress")):
        assert time.monotonic() < deadline, "the run's training job never started"
        time.sleep(0.05)
    bench.runtime.client("sagemaker").stop_training_job(TrainingJobName=running[0])


def one_training_job(bench: Bench, run: FaultRun) -> None:
    """However often a step was retried, the run has one training job."""
    assert run.training_jobs_created == [run.run_id]


def each_resource_created_once(bench: Bench, run: FaultRun) -> None:
    """A retried step adopted what its crashed attempt created: one create of each, one rollout."""
    one_training_job(bench, run)
    for action in ("CreateTrainingJob", "CreateModel", "CreateEndpointConfig", "UpdateEndpoint"):
        assert run.api_calls.get(f"SageMaker.{action}", 0) == 1, (action, dict(run.api_calls))
    assert run.record.output["deployment"]["action"] == "update"


def no_training_job_created(bench: Bench, run: FaultRun) -> None:
    assert run.api_calls.get("SageMaker.CreateTrainingJob", 0) == 7  # the first attempt and six retries
    assert run.training_jobs_created == []


def clean_up_stopped_the_training_job(bench: Bench, run: FaultRun) -> None:
    """The run failed while its job trained: CleanUp stopped the job rather than leave it billing."""
    assert run.api_calls.get("SageMaker.StopTrainingJob", 0) == 1
    job = bench.runtime.client("sagemaker").describe_training_job(TrainingJobName=run.run_id)
    assert job["TrainingJobStatus"] == "Stopped"


def the_stop_was_retried(bench: Bench, run: FaultRun) -> None:
    stops = [state for state in run.record.states_entered() if state == "StopTrainingJob"]
    assert stops == ["StopTrainingJob"]
    assert run.api_calls.get("SageMaker.StopTrainingJob", 0) == 2  # throttled once, then accepted


CATALOG: tuple[FaultCase, ...] = (
    FaultCase(
        id="lambda-throttled",
        description="Lambda throttles StartTrainingJob twice and DeployModel once",
        holds="Step Functions retries them with backoff; the run completes with one training job and deploys",
        inject=lambda bench: [
            bench.runtime.faults.throttle_lambda("StartTrainingJob", times=2),
            bench.runtime.faults.throttle_lambda("DeployModel", times=1),
        ],
        fired=(2, 1),
        check=one_training_job,
    ),
    FaultCase(
        id="lambda-throttled-persistent",
        description="Lambda throttles GetStatus on every call while the training job runs",
        holds="After six retries the run fails with Lambda.TooManyRequestsException; CleanUp stops the training "
        "job, the alert names the error",
        inject=lambda bench: [
            bench.runtime.faults.throttle_lambda("GetStatus", times=None),
            bench.runtime.faults.stall_training_job(times=1),
        ],
        fired=(7, 1),
        error="Lambda.TooManyRequestsException",
        cause="Rate Exceeded.",
        check=clean_up_stopped_the_training_job,
    ),
    FaultCase(
        id="sagemaker-throttled",
        description="SageMaker throttles a CreateTrainingJob, a DescribeTrainingJob and an UpdateEndpoint call",
        holds="The functions' SDK retries absorb it; the run completes with one training job and deploys",
        inject=lambda bench: [
            bench.runtime.faults.aws_error("sagemaker", action, "ThrottlingException", times=1, message="Rate exceeded")
            for action in ("CreateTrainingJob", "DescribeTrainingJob", "UpdateEndpoint")
        ],
        fired=(1, 1, 1),
        check=one_training_job,
    ),
    FaultCase(
        id="resource-limit-then-capacity",
        description="CreateTrainingJob answers ResourceLimitExceeded twice, then capacity frees up",
        holds="StartTrainingJob is retried with backoff and jitter; the run completes with one training job",
        inject=lambda bench: [
            bench.runtime.faults.aws_error(
                "sagemaker",
                "CreateTrainingJob",
                "ResourceLimitExceeded",
                times=2,
                message="The account-level service limit 'ml.m5.large for training job usage' is 2 Instances",
            )
        ],
        fired=(2,),
        check=one_training_job,
    ),
    FaultCase(
        id="resource-limit-persistent",
        description="CreateTrainingJob answers ResourceLimitExceeded every time",
        holds="After six retries the run fails with TransientAwsError naming ResourceLimitExceeded; no training "
        "job exists",
        inject=lambda bench: [
            bench.runtime.faults.aws_error(
                "sagemaker",
                "CreateTrainingJob",
                "ResourceLimitExceeded",
                times=None,
                message="The account-level service limit 'ml.m5.large for training job usage' is 2 Instances",
            )
        ],
        fired=(7,),
        error="TransientAwsError",
        cause="ResourceLimitExceeded",
        check=no_training_job_created,
    ),
    FaultCase(
        id="training-fails",
        description="The training job fails: the algorithm exits with an error",
        holds="The run fails as TrainingJobFailed with the algorithm's reason in the alert; nothing is deployed",
        inject=lambda bench: [bench.runtime.faults.fail_training_job(times=1, reason=ALGORITHM_ERROR)],
        fired=(1,),
        error="TrainingJobFailed",
        cause=ALGORITHM_ERROR,
    ),
    FaultCase(
        id="training-stopped",
        description="The training job hangs and an operator stops it with StopTrainingJob",
        holds="The run fails as TrainingJobStopped with an alert; nothing is deployed",
        inject=lambda bench: [bench.runtime.faults.stall_training_job(times=1)],
        fired=(1,),
        during=stop_the_training_job,
        error="TrainingJobStopped",
        cause="was stopped",
    ),
    FaultCase(
        id="training-exceeds-max-wait",
        description="The training job hangs past the maximum wait; the workflow's StopTrainingJob is throttled once",
        holds="StopTrainingJob is retried and stops the job; the run fails as TrainingTimedOut with an alert",
        inject=lambda bench: [
            bench.runtime.faults.stall_training_job(times=1),
            bench.runtime.faults.aws_error("sagemaker", "StopTrainingJob", "ThrottlingException", times=1),
        ],
        fired=(1, 1),
        environment={"MAX_TRAINING_WAIT_SECONDS": "1"},
        error="TrainingTimedOut",
        cause="more than the maximum wait; it was stopped",
        check=the_stop_was_retried,
    ),
    FaultCase(
        id="endpoint-update-fails",
        description="An endpoint update fails: the new model cannot load",
        holds="The old model keeps answering the same predictions; the run fails as DeploymentFailed with an "
        "alert; CleanUp deletes the new model and endpoint config",
        inject=lambda bench: [],
        fired=(),
        environment={"INFERENCE_IMAGE": BROKEN_IMAGE},
        error="DeploymentFailed",
        cause="did not pass the ping health check",
    ),
    FaultCase(
        id="slack-rate-limited",
        description="Slack rate limits a request (HTTP 429, Retry-After)",
        holds="slack-sdk waits and retries; every message of the run is delivered once",
        inject=lambda bench: [bench.slack.rate_limit(1, retry_after=1)],
        fired=(1,),
    ),
    FaultCase(
        id="slack-invalid-token",
        description="Slack refuses the bot token (invalid_auth) on every request",
        holds="The run completes and deploys; each notification records invalid_auth and none crashes",
        inject=lambda bench: [bench.slack.reject_token(times=None)],
        fired=(4,),
        undelivered="slack error: invalid_auth",
    ),
    FaultCase(
        id="slack-timeout",
        description="Slack answers the first notification's two attempts after the client's timeout",
        holds="The run completes and deploys; the notification records the timeout, the later ones are delivered",
        inject=lambda bench: [bench.slack.delay(SLACK_TIMEOUT_SECONDS + 0.5, times=2)],
        fired=(2,),
        undelivered=SLACK_TIMEOUT_DETAIL,
    ),
    FaultCase(
        id="start-training-job-crashes",
        description="StartTrainingJob's process dies after it created the training job (Runtime.ExitError)",
        holds="The retry adopts the job: one CreateTrainingJob, one model, one endpoint config, one UpdateEndpoint",
        inject=lambda bench: [bench.runtime.faults.crash_lambda("StartTrainingJob", times=1)],
        fired=(1,),
        check=each_resource_created_once,
    ),
    FaultCase(
        id="deploy-model-crashes",
        description="DeployModel's process dies after it asked for the update, while the endpoint is Updating",
        holds="The retry sees the pending config and asks nothing twice: one model, one endpoint config, one "
        "UpdateEndpoint; the run completes",
        inject=lambda bench: [
            bench.runtime.faults.crash_lambda("DeployModel", times=1),
            bench.runtime.faults.slow_endpoint_deployment(3, times=1),
        ],
        fired=(1, 1),
        check=each_resource_created_once,
    ),
)
