"""The closing messages say what the run cost: each ended job, its billed time and price, and the total."""

from __future__ import annotations

from typing import Any

import pytest

from lambdas.notify_slack.messages import SECTION_TEXT_MAX, NotificationEvent, build_message
from tests.fakes.slack_api import block_texts
from tests.unit.lambdas.notify_slack.test_messages import EXECUTION


def usage(kind: str, name: str, **fields: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "job_name": name,
        "instance_type": "ml.m5.large",
        "instance_count": 1,
        "seconds": 600,
        "billable_seconds": 600,
        "spot": False,
        "usd_per_hour": 0.115,
        **fields,
    }


STATE = {
    "training": {
        "job_name": "churn-1",
        "usage": usage("training", "churn-1", spot=True, seconds=1200, billable_seconds=600),
    },
    "holdout_evaluation": {"usage": [usage("transform", "churn-1-new", usd_per_hour=None)]},
}


def cost_texts(event: NotificationEvent, state: dict[str, Any]) -> list[str]:
    message = build_message(event, state=state, execution=EXECUTION, pipeline="churn")
    return [text for text in block_texts(message.blocks) if text.startswith(":moneybag:")]


def test_the_deployed_message_lists_each_job_and_the_runs_billed_time_savings_and_cost() -> None:
    [text] = cost_texts(NotificationEvent.DEPLOYED, STATE)

    assert text == (
        ":moneybag: *What the run cost* (list prices, SageMaker instances only)\n"
        "• training job `churn-1`: 1 ml.m5.large, 10 min billable of 20 min on spot, $0.0192\n"
        "• transform job `churn-1-new`: 1 ml.m5.large, 10 min billable, no price in the table\n"
        "*Total:* 20 min billable (spot saved 50%), estimated $0.0192 (no price for transform ml.m5.large)"
    )


@pytest.mark.parametrize(
    "event",
    [NotificationEvent.TRAINING_STARTED, NotificationEvent.TRAINING_COMPLETED, NotificationEvent.APPROVAL_REQUESTED],
)
def test_messages_in_the_middle_of_a_run_leave_the_cost_to_its_end(event: NotificationEvent) -> None:
    assert cost_texts(event, STATE) == []


@pytest.mark.parametrize("event", [NotificationEvent.DEPLOYED, NotificationEvent.FAILED])
def test_a_run_whose_jobs_have_not_ended_shows_no_cost(event: NotificationEvent) -> None:
    running = {"training": {"usage": usage("training", "churn-1", seconds=None, billable_seconds=None)}}

    assert cost_texts(event, running) == []
    assert cost_texts(event, {}) == []


def test_a_run_of_many_jobs_stays_within_a_section() -> None:
    many = {"holdout_evaluation": {"usage": [usage("transform", f"churn-1-{'x' * 900}-{i}") for i in range(20)]}}

    [text] = cost_texts(NotificationEvent.MODEL_REJECTED, many)

    assert len(text) <= SECTION_TEXT_MAX
