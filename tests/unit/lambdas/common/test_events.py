"""Parsing the event the ASL builds for every task."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from lambdas.common.errors import InvalidStepEventError
from lambdas.common.events import StepEvent
from lambdas.common.models import TrainingJobState

EXECUTION = {
    "id": "arn:aws:states:eu-west-1:123456789012:execution:sagemaker-retraining-churn:manual-1",
    "name": "manual-1",
    "start_time": "2026-11-22T06:00:00.123Z",
}


def test_parses_state_execution_and_extra_parameters() -> None:
    step = StepEvent.parse({"state": {"run": {}}, "execution": EXECUTION, "target": "training"})

    assert step.execution.start_time == datetime(2026, 11, 22, 6, 0, 0, 123000, tzinfo=UTC)
    assert step.execution.region == "eu-west-1"
    assert step.params == {"target": "training"}
    assert step.execution.console_url == (
        "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1"
        f"#/v2/executions/details/{EXECUTION['id']}"
    )


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([], "must be a JSON object"),
        ({"state": [], "execution": EXECUTION}, "'state'"),
        ({"state": {}}, "'execution'"),
        ({"state": {}, "execution": {"id": "x", "name": "y"}}, "'execution.start_time' is missing"),
        ({"state": {}, "execution": {**EXECUTION, "start_time": "yesterday"}}, "'execution.start_time'"),
    ],
)
def test_malformed_events_name_the_field(event: Any, message: str) -> None:
    with pytest.raises(InvalidStepEventError, match=message):
        StepEvent.parse(event)


def test_missing_section_names_it() -> None:
    step = StepEvent.parse({"state": {}, "execution": EXECUTION})

    with pytest.raises(InvalidStepEventError, match="'training' is missing"):
        TrainingJobState.read(step.state)
