"""The "no new data" hint: why the run trained nothing and how to train on the same days again, in Slack too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from lambdas.common.events import Execution
from lambdas.notify_slack.messages import NotificationEvent, build_message
from lambdas.notify_slack.no_new_data import no_new_data_hint
from tests.fakes.slack_api import block_texts

EXECUTION = Execution(
    id="arn:aws:states:eu-west-1:123456789012:execution:sagemaker-retraining-churn:run-7",
    name="run-7",
    start_time=datetime(2026, 11, 22, 6, 0, tzinfo=UTC),
)
# CheckData's `run` section when the window's newest day is the watermark's: a corrected file for that day reads so.
ALREADY_TRAINED = {
    "pipeline": "churn",
    "window_start": "2026-11-16",
    "window_end": "2026-11-22",
    "window_days": 7,
    "newest_data_date": "2026-11-21",
    "watermark_date": "2026-11-21",
    "has_new_data": False,
    "reason": "newest data 2026-11-21 is not newer than the watermark 2026-11-21",
}
RETRAIN = "sagemaker-retraining runs start --pipeline churn --force --end-date 2026-11-22 --window-days 7"


def test_data_the_watermark_covers_gets_the_command_that_retrains_the_same_window() -> None:
    hint = no_new_data_hint(ALREADY_TRAINED)

    assert hint is not None
    assert hint.text == (
        "no data newer than the watermark day 2026-11-21 (the window's newest is 2026-11-21); to retrain on the "
        "same days (a corrected file), start a run with --force"
    )
    assert hint.command == RETRAIN


def test_a_window_that_ends_before_the_watermark_says_the_forced_run_is_a_backfill() -> None:
    older = ALREADY_TRAINED | {
        "window_start": "2026-11-08",
        "window_end": "2026-11-14",
        "newest_data_date": "2026-11-14",
    }

    hint = no_new_data_hint(older)

    assert hint is not None
    assert hint.text.endswith("(its window ends before the watermark day: a backfill, deployed only with --deploy)")
    assert hint.command is not None
    assert hint.command.endswith("--force --end-date 2026-11-14 --window-days 7")


def test_an_empty_window_gets_no_command_since_a_forced_run_fails_on_it() -> None:
    hint = no_new_data_hint(ALREADY_TRAINED | {"newest_data_date": None, "watermark_date": None})

    assert hint is not None
    assert hint.command is None
    assert hint.text.startswith("no data file dated 2026-11-16 to 2026-11-22 under the pipeline's data prefix")
    assert "a forced run fails on an empty window" in hint.text


@pytest.mark.parametrize(
    "run",
    [
        ALREADY_TRAINED | {"has_new_data": True},
        ALREADY_TRAINED | {"blocked_by": "arn:aws:states:eu-west-1:1:execution:m:earlier"},
        {},
    ],
    ids=["trains", "another-run-in-progress", "no-run-section"],
)
def test_a_run_that_trains_or_was_blocked_gets_no_hint(run: dict[str, Any]) -> None:
    assert no_new_data_hint(run) is None


def test_the_no_new_data_message_carries_the_hint_and_the_command_as_code() -> None:
    message = build_message(
        NotificationEvent.NO_NEW_DATA, state={"run": ALREADY_TRAINED}, execution=EXECUTION, pipeline="churn"
    )

    hints = [text for text in block_texts(message.blocks) if text.startswith(":bulb:")]
    assert hints == [
        ":bulb: no data newer than the watermark day 2026-11-21 (the window's newest is 2026-11-21); to retrain on "
        f"the same days (a corrected file), start a run with --force\n`{RETRAIN}`"
    ]


def test_other_messages_carry_no_hint() -> None:
    message = build_message(
        NotificationEvent.TRAINING_STARTED, state={"run": ALREADY_TRAINED}, execution=EXECUTION, pipeline="churn"
    )

    assert not [text for text in block_texts(message.blocks) if text.startswith(":bulb:")]
