"""SageMaker's training job and endpoint state-change events, as the emulator sends them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from local_runtime.sagemaker.status_events import StatusChangeEvents, event_status

CREATED = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
ENDED = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


class Recorder:
    def __init__(self) -> None:
        self.entries: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, entries: list[dict[str, Any]], *, region: str) -> list[dict[str, Any]]:
        self.entries.extend((region, entry) for entry in entries)
        return [{"EventId": str(len(self.entries))}]


def job(status: str) -> SimpleNamespace:
    return SimpleNamespace(
        training_job_name="churn-1",
        arn="arn:aws:sagemaker:us-east-1:123456789012:training-job/churn-1",
        training_job_status=status,
        secondary_status=status,
        failure_reason=None,
        role_arn="arn:aws:iam::123456789012:role/sm",
        creation_time=CREATED,
        training_start_time=CREATED,
        training_end_time=ENDED,
        last_modified_time=ENDED,
    )


@pytest.mark.parametrize(
    ("status", "sent"),
    [
        ("InService", "IN_SERVICE"),
        ("OutOfService", "OUT_OF_SERVICE"),
        ("UpdateRollbackFailed", "UPDATE_ROLLBACK_FAILED"),
    ],
)
def test_endpoint_statuses_are_spelled_as_sagemakers_events_spell_them(status: str, sent: str) -> None:
    assert event_status(status) == sent


@pytest.mark.compatibility("sagemaker:events")
def test_a_training_job_event_has_the_documented_shape() -> None:
    recorder = Recorder()

    StatusChangeEvents(recorder).training_job_ended("us-east-1", job("Completed"))

    ((region, entry),) = recorder.entries
    detail = json.loads(entry["Detail"])
    assert (region, entry["Source"], entry["DetailType"]) == (
        "us-east-1",
        "aws.sagemaker",
        "SageMaker Training Job State Change",
    )
    assert entry["Resources"] == ["arn:aws:sagemaker:us-east-1:123456789012:training-job/churn-1"]
    assert detail["TrainingJobName"] == "churn-1"
    assert detail["TrainingJobStatus"] == "Completed"
    assert detail["TrainingEndTime"] == str(int(ENDED.timestamp() * 1000))


@pytest.mark.compatibility("sagemaker:events")
def test_an_endpoint_event_has_the_documented_shape() -> None:
    recorder = Recorder()
    endpoint = SimpleNamespace(
        endpoint_name="churn",
        arn="arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn",
        endpoint_config_name="churn-1",
        endpoint_status="InService",
        failure_reason=None,
        creation_time=CREATED,
        last_modified_time=ENDED,
    )

    StatusChangeEvents(recorder).endpoint_changed("us-east-1", endpoint)

    ((_, entry),) = recorder.entries
    detail = json.loads(entry["Detail"])
    assert entry["DetailType"] == "SageMaker Endpoint State Change"
    assert (detail["EndpointName"], detail["EndpointStatus"]) == ("churn", "IN_SERVICE")
    assert detail["LastModifiedTime"] == ENDED.timestamp() * 1000


def test_suppressed_events_are_dropped_and_counted() -> None:
    recorder = Recorder()
    events = StatusChangeEvents(recorder)
    events.suppressed = True

    events.training_job_ended("us-east-1", job("Failed"))

    assert recorder.entries == []
    assert len(events.dropped) == 1
    assert events.sent == []
