"""StatusChangeListener: SageMaker's state-change event wakes exactly the loop that waits for that job or endpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from lambdas.await_status_change.core import WakeSettings
from lambdas.common import wakeups
from lambdas.status_change_listener.core import on_status_change
from tests.fakes.stepfunctions import TaskTokens

SETTINGS = WakeSettings(bucket="data", prefix="waits/churn")
EVENTS = Path(__file__).parent / "events"
JOB = "churn-20261122-0600-abc"


def event(name: str, **detail: Any) -> dict[str, Any]:
    """A sample event as SageMaker documents it, with some detail fields replaced."""
    sample: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    sample["detail"].update(detail)
    return sample


def keep(s3: Any, awaited: str, name: str, token: str = "token-1") -> None:
    record = wakeups.WakeRecord(token, "arn:execution:run-1", awaited, name, "2026-11-22T06:30:00Z")
    wakeups.store(s3, "data", "waits/churn", record)


@pytest.fixture
def s3(aws: None) -> Any:
    client = boto3.client("s3")
    client.create_bucket(Bucket="data")
    return client


@pytest.mark.parametrize(
    ("sample", "awaited", "name", "detail", "status"),
    [
        ("training_job_state_change", "training", JOB, {"TrainingJobStatus": "Completed"}, "Completed"),
        ("training_job_state_change", "training", JOB, {"TrainingJobStatus": "Failed"}, "Failed"),
        ("processing_job_state_change", "preprocessing", JOB, {"ProcessingJobStatus": "Completed"}, "Completed"),
        ("processing_job_state_change", "preprocessing", JOB, {"ProcessingJobStatus": "Stopped"}, "Stopped"),
        ("transform_job_state_change", "batch_transform", JOB, {"TransformJobStatus": "Completed"}, "Completed"),
        ("transform_job_state_change", "batch_transform", JOB, {"TransformJobStatus": "Failed"}, "Failed"),
        ("transform_job_state_change", "batch_transform", JOB, {"TransformJobStatus": "Stopped"}, "Stopped"),
        ("endpoint_state_change", "deployment", "churn", {"EndpointStatus": "IN_SERVICE"}, "InService"),
        (
            "endpoint_state_change",
            "deployment",
            "churn",
            {"EndpointStatus": "UPDATE_ROLLBACK_FAILED"},
            "UpdateRollbackFailed",
        ),
    ],
)
def test_an_event_that_ends_the_loop_wakes_the_waiting_run(
    s3: Any, sample: str, awaited: str, name: str, detail: dict[str, Any], status: str
) -> None:
    keep(s3, awaited, name)
    tokens = TaskTokens("token-1")

    outcome = on_status_change(event(sample, **detail), s3=s3, stepfunctions=tokens, settings=SETTINGS)

    assert outcome == f"woke arn:execution:run-1: {name} {status}"
    assert tokens.resumed == [("token-1", {"status": status})]
    assert wakeups.load(s3, "data", "waits/churn", awaited, name) is None


@pytest.mark.parametrize("code", ["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"])
def test_an_event_after_the_safety_net_check_is_normal_and_forgets_the_token(s3: Any, code: str) -> None:
    # GIVEN the loop already went on at its timeout: the token no longer waits
    keep(s3, "training", JOB)

    outcome = on_status_change(
        event("training_job_state_change"), s3=s3, stepfunctions=TaskTokens(gone_code=code), settings=SETTINGS
    )

    assert outcome.startswith("too late: arn:execution:run-1 no longer waits for")
    assert wakeups.load(s3, "data", "waits/churn", "training", JOB) is None


def test_an_event_no_run_waits_for_is_ignored(s3: Any) -> None:
    tokens = TaskTokens("token-1")

    outcome = on_status_change(event("training_job_state_change"), s3=s3, stepfunctions=tokens, settings=SETTINGS)

    assert outcome == f"ignored: no run waits for {JOB}"
    assert tokens.resumed == []


@pytest.mark.parametrize(
    ("sample", "detail"),
    [
        ("training_job_state_change", {"TrainingJobStatus": "InProgress"}),
        ("training_job_state_change", {"TrainingJobStatus": "Stopping"}),
        ("processing_job_state_change", {"ProcessingJobStatus": "InProgress"}),
        ("processing_job_state_change", {"ProcessingJobStatus": "Stopping"}),
        ("transform_job_state_change", {"TransformJobStatus": "InProgress"}),
        ("transform_job_state_change", {"TransformJobStatus": "Stopping"}),
        ("endpoint_state_change", {"EndpointStatus": "UPDATING"}),
        ("endpoint_state_change", {"EndpointStatus": "ROLLING_BACK"}),
    ],
)
def test_a_state_that_does_not_end_the_loop_wakes_nothing(s3: Any, sample: str, detail: dict[str, Any]) -> None:
    keep(s3, "training", JOB)
    keep(s3, "preprocessing", JOB)
    keep(s3, "batch_transform", JOB)
    keep(s3, "deployment", "churn")
    tokens = TaskTokens("token-1")

    outcome = on_status_change(event(sample, **detail), s3=s3, stepfunctions=tokens, settings=SETTINGS)

    assert outcome.startswith("ignored:")
    assert "does not end the loop" in outcome
    assert tokens.resumed == []


def test_other_events_are_ignored(s3: Any) -> None:
    outcome = on_status_change(
        {"detail-type": "SageMaker Model State Change", "detail": {}},
        s3=s3,
        stepfunctions=TaskTokens(),
        settings=SETTINGS,
    )

    assert outcome.startswith("ignored: not a job or endpoint state change")


def test_a_processing_event_wakes_the_preprocessing_loop_not_the_training_loop_of_the_same_name(s3: Any) -> None:
    # GIVEN both loops of a run wait on jobs of one name (the run id names both jobs), with different tokens
    keep(s3, "training", JOB, token="training-token")
    keep(s3, "preprocessing", JOB, token="preprocessing-token")
    tokens = TaskTokens("training-token", "preprocessing-token")

    # WHEN the processing job completes
    on_status_change(event("processing_job_state_change"), s3=s3, stepfunctions=tokens, settings=SETTINGS)

    # THEN only the preprocessing loop wakes
    assert tokens.resumed == [("preprocessing-token", {"status": "Completed"})]
    assert wakeups.load(s3, "data", "waits/churn", "training", JOB) is not None


def test_a_transform_event_wakes_the_transform_loop_not_the_other_loops_of_the_same_name(s3: Any) -> None:
    # GIVEN the run id names the run's processing, training and transform jobs, each loop with its own token
    keep(s3, "preprocessing", JOB, token="preprocessing-token")
    keep(s3, "training", JOB, token="training-token")
    keep(s3, "batch_transform", JOB, token="transform-token")
    tokens = TaskTokens("preprocessing-token", "training-token", "transform-token")

    # WHEN the transform job completes
    outcome = on_status_change(event("transform_job_state_change"), s3=s3, stepfunctions=tokens, settings=SETTINGS)

    # THEN only the transform loop wakes; the other records stay
    assert outcome == f"woke arn:execution:run-1: {JOB} Completed"
    assert tokens.resumed == [("transform-token", {"status": "Completed"})]
    assert wakeups.load(s3, "data", "waits/churn", "batch_transform", JOB) is None
    assert wakeups.load(s3, "data", "waits/churn", "training", JOB) is not None
    assert wakeups.load(s3, "data", "waits/churn", "preprocessing", JOB) is not None
