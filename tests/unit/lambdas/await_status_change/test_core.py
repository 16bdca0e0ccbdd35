"""AwaitStatusChange: the loop's token is kept for the event, and a job that already ended wakes the loop at once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from lambdas.await_status_change.core import WakeSettings, await_status_change, awaited_name
from lambdas.common import wakeups
from lambdas.common.errors import InvalidStepEventError
from lambdas.common.events import Execution
from lambdas.common.models import HoldoutEvaluationState
from tests.fakes.stepfunctions import TaskTokens
from tests.unit.lambdas.states import (
    batch_transform_section,
    deployment_section,
    preprocessing_section,
    training_section,
)

SETTINGS = WakeSettings(bucket="data", prefix="waits/churn")
NOW = datetime(2026, 11, 22, 6, 30, tzinfo=UTC)
STATE = {
    "training": training_section(job_name="churn-20261122-0600-abc", poll_seconds=600).to_state(),
    "deployment": deployment_section(endpoint_name="churn", poll_seconds=600).to_state(),
    "preprocessing": preprocessing_section(job_name="churn-20261122-0600-pre", poll_seconds=600).to_state(),
    "batch_transform": batch_transform_section(job_name="churn-20261122-0600-bt", poll_seconds=600).to_state(),
    # The held-out evaluation's loop, after the new model's job completed: it awaits the production model's.
    "holdout_evaluation": HoldoutEvaluationState(
        holdout_uri="s3://data/manifests/churn/churn-20261122-0600.holdout.manifest",
        candidate_model="churn-20261122-0600",
        candidate_job="churn-20261122-0600-new",
        candidate_output_uri="s3://data/evaluation/churn/churn-20261122-0600/candidate/",
        production_model="churn-20261121-0600",
        production_job="churn-20261122-0600-prod",
        production_output_uri="s3://data/evaluation/churn/churn-20261122-0600/production/",
        job_name="churn-20261122-0600-prod",
        status="InProgress",
        failure_reason=None,
        started_at="2026-11-22T06:25:00.000Z",
        waited_seconds=240,
        wait_exceeded=False,
        poll_seconds=600,
    ).to_state(),
}


class DescribedSageMaker:
    """DescribeTrainingJob, DescribeProcessingJob, DescribeTransformJob and DescribeEndpoint answering one status
    each; records what was described."""

    def __init__(
        self,
        *,
        training: str = "InProgress",
        endpoint: str = "Updating",
        processing: str = "InProgress",
        transform: str = "InProgress",
    ) -> None:
        self.training, self.endpoint, self.processing, self.transform = training, endpoint, processing, transform
        self.described: list[str] = []

    def describe_transform_job(self, *, TransformJobName: str) -> dict[str, Any]:  # noqa: N803
        self.described.append(TransformJobName)
        return {"TransformJobName": TransformJobName, "TransformJobStatus": self.transform}

    def describe_processing_job(self, *, ProcessingJobName: str) -> dict[str, Any]:  # noqa: N803
        self.described.append(ProcessingJobName)
        return {"ProcessingJobName": ProcessingJobName, "ProcessingJobStatus": self.processing}

    def describe_training_job(self, *, TrainingJobName: str) -> dict[str, Any]:  # noqa: N803 (boto3's names)
        self.described.append(TrainingJobName)
        return {"TrainingJobName": TrainingJobName, "TrainingJobStatus": self.training}

    def describe_endpoint(self, *, EndpointName: str) -> dict[str, Any]:  # noqa: N803
        self.described.append(EndpointName)
        return {"EndpointName": EndpointName, "EndpointStatus": self.endpoint}


@pytest.fixture
def s3(aws: None) -> Any:
    client = boto3.client("s3")
    client.create_bucket(Bucket="data")
    return client


@pytest.mark.parametrize(
    ("target", "awaited", "name"),
    [
        ("training", "training", "churn-20261122-0600-abc"),
        ("endpoint", "deployment", "churn"),
        ("preprocessing", "preprocessing", "churn-20261122-0600-pre"),
        ("transform", "batch_transform", "churn-20261122-0600-bt"),
        # the evaluation's job is a transform job: its record is found by the transform job's name in the event
        ("evaluation", "batch_transform", "churn-20261122-0600-prod"),
    ],
)
def test_a_running_job_keeps_the_token_for_the_event(
    s3: Any, execution: Execution, target: str, awaited: str, name: str
) -> None:
    sagemaker, tokens = DescribedSageMaker(), TaskTokens("token-1")

    waiting = await_status_change(
        target,
        STATE,
        execution,
        "token-1",
        s3=s3,
        sagemaker=sagemaker,
        stepfunctions=tokens,
        settings=SETTINGS,
        now=NOW,
    )

    assert waiting is True
    record = wakeups.load(s3, "data", "waits/churn", awaited, name)
    assert record is not None
    assert (record.task_token, record.execution_id) == ("token-1", execution.id)
    assert s3.head_object(Bucket="data", Key=f"waits/churn/{awaited}/{name}.json")
    assert sagemaker.described == [name]
    assert tokens.resumed == []


@pytest.mark.parametrize(
    ("target", "sagemaker", "status"),
    [
        ("training", DescribedSageMaker(training="Completed"), "Completed"),
        ("training", DescribedSageMaker(training="Stopped"), "Stopped"),
        ("endpoint", DescribedSageMaker(endpoint="InService"), "InService"),
        ("endpoint", DescribedSageMaker(endpoint="Failed"), "Failed"),
        ("preprocessing", DescribedSageMaker(processing="Completed"), "Completed"),
        ("preprocessing", DescribedSageMaker(processing="Failed"), "Failed"),
        ("preprocessing", DescribedSageMaker(processing="Stopped"), "Stopped"),
        ("transform", DescribedSageMaker(transform="Completed"), "Completed"),
        ("transform", DescribedSageMaker(transform="Failed"), "Failed"),
        ("transform", DescribedSageMaker(transform="Stopped"), "Stopped"),
        ("evaluation", DescribedSageMaker(transform="Completed"), "Completed"),
        ("evaluation", DescribedSageMaker(transform="Failed"), "Failed"),
    ],
)
def test_a_job_that_ended_before_the_token_was_stored_wakes_the_loop_at_once(
    s3: Any, execution: Execution, target: str, sagemaker: DescribedSageMaker, status: str
) -> None:
    # GIVEN the event came between the last check and this wait, when no token was kept
    tokens = TaskTokens("token-1")

    waiting = await_status_change(
        target,
        STATE,
        execution,
        "token-1",
        s3=s3,
        sagemaker=sagemaker,
        stepfunctions=tokens,
        settings=SETTINGS,
        now=NOW,
    )

    # THEN the loop goes on to its check now, and the record is gone
    assert waiting is False
    assert tokens.resumed == [("token-1", {"status": status})]
    assert s3.list_objects_v2(Bucket="data").get("KeyCount") == 0


@pytest.mark.parametrize("status", ["Stopping", "InProgress"])
@pytest.mark.parametrize("target", ["training", "preprocessing", "transform", "evaluation"])
def test_a_job_still_running_or_stopping_does_not_wake(s3: Any, execution: Execution, target: str, status: str) -> None:
    tokens = TaskTokens("token-1")

    waiting = await_status_change(
        target,
        STATE,
        execution,
        "token-1",
        s3=s3,
        sagemaker=DescribedSageMaker(training=status, processing=status, transform=status),
        stepfunctions=tokens,
        settings=SETTINGS,
        now=NOW,
    )

    assert waiting is True
    assert tokens.resumed == []


@pytest.mark.parametrize(
    ("target", "state", "token", "message"),
    [
        ("training", STATE, "", "task_token"),
        ("model", STATE, "token-1", "target"),
        ("training", {"deployment": STATE["deployment"]}, "token-1", "training.job_name"),
        ("endpoint", {"training": STATE["training"]}, "token-1", "deployment.endpoint_name"),
        ("preprocessing", {"training": STATE["training"]}, "token-1", "preprocessing.job_name"),
        ("transform", {"deployment": STATE["deployment"]}, "token-1", "batch_transform.job_name"),
        # the batch transform's section does not stand in for the evaluation's, though both await transform jobs
        ("evaluation", {"batch_transform": STATE["batch_transform"]}, "token-1", "holdout_evaluation.job_name"),
    ],
)
def test_a_malformed_event_is_refused_naming_the_field(
    s3: Any, execution: Execution, target: str, state: dict[str, Any], token: str, message: str
) -> None:
    with pytest.raises(InvalidStepEventError, match=message):
        await_status_change(
            target,
            state,
            execution,
            token,
            s3=s3,
            sagemaker=DescribedSageMaker(),
            stepfunctions=TaskTokens(),
            settings=SETTINGS,
            now=NOW,
        )
    assert s3.list_objects_v2(Bucket="data").get("KeyCount") == 0


# The held-out evaluation by the user's script: one processing job, the section's job_name.
SCRIPT_EVALUATION = replace(
    HoldoutEvaluationState.from_state(STATE["holdout_evaluation"]),
    candidate_job="churn-20261122-0600-eval",
    candidate_output_uri="s3://data/evaluation/churn/churn-20261122-0600/script",
    production_job=None,
    production_output_uri=None,
    job_name="churn-20261122-0600-eval",
    kind="processing",
    script="evaluate.py",
).to_state()


@pytest.mark.parametrize(
    ("section", "awaited"),
    [
        (SCRIPT_EVALUATION, (wakeups.PREPROCESSING, "churn-20261122-0600-eval")),
        (STATE["holdout_evaluation"], (wakeups.TRANSFORM, "churn-20261122-0600-prod")),
    ],
    ids=["script-processing-job", "builtin-transform-jobs"],
)
def test_the_evaluation_awaits_the_kind_of_job_its_section_names(
    section: dict[str, Any], awaited: tuple[str, str]
) -> None:
    assert awaited_name("evaluation", {"holdout_evaluation": section}) == awaited


def test_the_evaluation_scripts_running_job_keeps_the_token_under_the_processing_jobs_name(
    s3: Any, execution: Execution
) -> None:
    # GIVEN the script's processing job running
    described, tokens = DescribedSageMaker(processing="InProgress", transform="Completed"), TaskTokens("token-1")
    sagemaker: Any = described
    stepfunctions: Any = tokens

    waiting = await_status_change(
        "evaluation",
        {"holdout_evaluation": SCRIPT_EVALUATION},
        execution,
        "token-1",
        s3=s3,
        sagemaker=sagemaker,
        stepfunctions=stepfunctions,
        settings=SETTINGS,
        now=NOW,
    )

    # THEN the token waits where a processing job's status change finds it, and the job described is that one
    assert waiting is True
    assert s3.head_object(Bucket="data", Key="waits/churn/preprocessing/churn-20261122-0600-eval.json")
    assert described.described == ["churn-20261122-0600-eval"]
    assert tokens.resumed == []


@pytest.mark.parametrize("status", ["Completed", "Failed", "Stopped"])
def test_the_evaluation_scripts_job_that_already_ended_wakes_the_loop_at_once(
    s3: Any, execution: Execution, status: str
) -> None:
    tokens = TaskTokens("token-1")
    sagemaker: Any = DescribedSageMaker(processing=status)
    stepfunctions: Any = tokens

    waiting = await_status_change(
        "evaluation",
        {"holdout_evaluation": SCRIPT_EVALUATION},
        execution,
        "token-1",
        s3=s3,
        sagemaker=sagemaker,
        stepfunctions=stepfunctions,
        settings=SETTINGS,
        now=NOW,
    )

    assert waiting is False
    assert tokens.resumed == [("token-1", {"status": status})]
