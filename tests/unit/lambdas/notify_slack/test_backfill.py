"""Slack on backfills (the watermark stays) and on a run input that is not a JSON object."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from lambdas.notify_slack.messages import NotificationEvent, build_message, failure_report
from local_runtime.slack_api import FakeSlackApi, block_texts
from tests.unit.lambdas.notify_slack.test_handler import handler  # noqa: F401 (a fixture)
from tests.unit.lambdas.notify_slack.test_messages import EXECUTION

SampleEvent = Callable[[str], dict[str, Any]]


def facts_of(event: NotificationEvent, state: dict[str, Any]) -> dict[str, str]:
    message = build_message(event, state=state, execution=EXECUTION, pipeline="churn")
    [fields] = [block["fields"] for block in message.blocks if "fields" in block]
    return dict(field["text"].split("\n", 1) for field in fields)


def test_a_registered_backfill_says_so_and_that_the_watermark_stays(sample_event: SampleEvent) -> None:
    # GIVEN the state NotifyBackfillRegistered sends: an approved backfill, nothing deployed
    state = sample_event("backfill_registered")["state"]

    # WHEN the message is built
    message = build_message(NotificationEvent.BACKFILL_REGISTERED, state=state, execution=EXECUTION, pipeline="churn")

    # THEN the headline says the current model keeps serving, and the facts say why and what stayed
    [header] = [block["text"]["text"] for block in message.blocks if block["type"] == "header"]
    assert header == ":card_index_dividers: churn: backfill registered, not deployed: the current model keeps serving"
    facts = facts_of(NotificationEvent.BACKFILL_REGISTERED, state)
    assert (facts["*Stage*"], facts["*Status*"]) == ("`UpdateParameters`", "Registered")
    assert facts["*Backfill*"] == "data older than the watermark 2026-11-21: registered only (deploy with --deploy)"
    assert facts["*Watermark*"] == "stays at 2026-11-21 (a backfill never moves it back)"
    assert facts["*Data window*"] == "2026-11-08 to 2026-11-14 (7 days)"
    assert facts["*Trigger*"] == "manual (forced)"
    assert "*Endpoint*" not in facts  # nothing was deployed
    # ... the registry version is named with the gate's verdict
    [verdict] = [text for text in block_texts(message.blocks) if text.startswith("*Quality gate*")]
    assert "`churn-models` version 8, Approved" in verdict
    assert "backfill registered" in message.text


def test_a_deployed_backfill_says_the_model_serves_and_the_watermark_stays(sample_event: SampleEvent) -> None:
    # GIVEN a backfill asked to deploy, whose model now serves
    state = copy.deepcopy(sample_event("deployed")["state"])
    state["run"].update(backfill=True, deploy=True, watermark_date="2026-11-28")
    state["watermark"] = {"newest_data_date": "2026-11-28", "previous_date": "2026-11-28", "moved": False}

    facts = facts_of(NotificationEvent.DEPLOYED, state)

    assert facts["*Backfill*"] == "data older than the watermark 2026-11-28: deploys when it passes"
    assert facts["*Watermark*"] == "stays at 2026-11-28 (a backfill never moves it back)"
    assert facts["*Model*"] == "`churn-20261122060000-1a2b3c4d`"


def test_a_run_that_is_no_backfill_shows_no_backfill_and_the_watermarks_move(sample_event: SampleEvent) -> None:
    facts = facts_of(NotificationEvent.DEPLOYED, sample_event("deployed")["state"])

    assert "*Backfill*" not in facts
    assert facts["*Watermark*"] == "2026-11-14 to 2026-11-21"


@pytest.mark.parametrize("watermark_date", [None, 20261121, {"day": "2026-11-21"}], ids=repr)
def test_a_backfill_whose_run_has_no_readable_watermark_day_still_gets_its_message(watermark_date: Any) -> None:
    # The message is built from whatever the state holds: a fact that is not text is left out, never an error.
    state = {"run": {"backfill": True, "deploy": False, "watermark_date": watermark_date}}

    facts = facts_of(NotificationEvent.BACKFILL_REGISTERED, state)

    assert facts["*Backfill*"].endswith("registered only (deploy with --deploy)")
    assert "{" not in facts["*Backfill*"]


def test_the_handler_posts_the_backfill_message(
    handler: ModuleType,  # noqa: F811 (the imported fixture)
    lambda_context: Any,
    fake_slack: FakeSlackApi,
    sample_event: SampleEvent,
) -> None:
    result = handler.lambda_handler(sample_event("backfill_registered"), lambda_context)

    assert result == {"delivered": True, "detail": "sent"}
    [posted] = fake_slack.messages
    assert "backfill registered, not deployed" in posted.block_text


@pytest.mark.parametrize("run_input", [[1, 2], "hello", 42, None], ids=repr)
def test_the_alert_of_an_input_that_is_not_an_object_names_check_data_and_the_input(run_input: Any) -> None:
    # GIVEN the state NotifyFailure gets when CheckData refused the input ReadRunInput passed on
    cause = json.dumps(
        {
            "errorMessage": "the execution input must be a JSON object like {}, got an array: [1, 2]",
            "errorType": "InvalidRunInputError",
            "stackTrace": [],
        }
    )
    state = {
        "run_input": run_input,
        "failure": {"CheckData": {"Error": "InvalidRunInputError", "Cause": cause}},
        "clean_up": {"run_id": None},
    }

    # WHEN the failure is reported and the alert built
    report = failure_report(state)
    message = build_message(
        NotificationEvent.FAILED, state=state, execution=EXECUTION, pipeline="churn", failure=report
    )

    # THEN it names the state, the error and what was wrong with the input
    assert (report.stage, report.error) == ("CheckData", "InvalidRunInputError")
    assert report.cause.startswith("the execution input must be a JSON object")
    text = " ".join(block_texts(message.blocks))
    assert "InvalidRunInputError" in text
    assert "must be a JSON object" in text
    [fields] = [block["fields"] for block in message.blocks if "fields" in block]
    assert {"type": "mrkdwn", "text": "*Stage*\n`CheckData`"} in fields
