"""A scheduled run fired by the local EventBridge Scheduler: a cron schedule in a time zone, the local clock set just
before its tick; the run starts with the tick's scheduled_time and trains on the window ending on that day."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from local_runtime.clock import LocalClock
from local_runtime.deploy import ExecutionRecord, wait_for_execution
from local_runtime.runtime import LocalRuntime, SlackTarget, synthesize
from local_runtime.slack_api import LocalSlackApi
from tests.e2e.test_local_runtime import rows

pytestmark = pytest.mark.e2e

PIPELINE = "berlin"
STACK = f"SageMakerRetraining-{PIPELINE}"
TOKEN, CHANNEL = "xoxb-scheduled-e2e", "#ml-alerts"
# Two seconds before 05:00 in Berlin on 1 July 2026 (summer time, UTC+2): the tick is 03:00 UTC.
CLOCK_START = datetime.fromisoformat("2026-07-01T04:59:58+02:00")
TICK_DAY = date(2026, 7, 1)
TICK = "2026-07-01T03:00:00Z"


def pipeline_template() -> dict[str, Any]:
    pipeline = {
        "name": PIPELINE,
        "data_prefix": f"data/{PIPELINE}",
        "window_days": 3,
        "schedule": "cron(0 5 * * ? *)",
        "schedule_timezone": "Europe/Berlin",
        "hyperparameters": {"predictor_type": "regressor"},
        "evaluation": {"score_models": False},
        "polling": {"interval_seconds": 1, "max_training_wait_seconds": 600, "max_deployment_wait_seconds": 300},
        "slack": {"channel": CHANNEL, "token_secret_name": "berlin/slack-bot"},
    }
    template: dict[str, Any] = synthesize({"pipelines": [pipeline]})[STACK]
    return template


@pytest.fixture(scope="module")
def fired() -> Iterator[tuple[LocalRuntime, ExecutionRecord]]:
    """The pipeline deployed with data on both sides of the tick's day, its schedule fired by the local clock."""
    template = pipeline_template()
    with LocalSlackApi(valid_token=TOKEN, channels=(CHANNEL,)) as slack, LocalRuntime() as runtime:
        pipeline = runtime.deploy_template(
            template, stack_name=STACK, slack=SlackTarget(api_url=slack.base_url, token=TOKEN)
        )
        s3 = runtime.client("s3")
        for offset in range(-5, 3):  # data up to two days after the tick's day: a late run must not train on it
            key = f"data/{PIPELINE}/{(TICK_DAY - timedelta(days=offset)).isoformat()}.csv"
            s3.put_object(Bucket=pipeline.stack.outputs["DataBucketName"], Key=key, Body=rows(offset + 10))
        # Then the local clock, two seconds before the tick (as `serve --clock` sets it), and recurring schedules on
        scheduler = runtime.aws.scheduler
        scheduler.clock = LocalClock(CLOCK_START)
        scheduler.recurring = True
        sfn = runtime.client("stepfunctions")
        deadline = time.monotonic() + 30
        while not (executions := sfn.list_executions(stateMachineArn=pipeline.state_machine_arn)["executions"]):
            assert time.monotonic() < deadline, f"no run started; firings: {scheduler.firings}"
            time.sleep(0.2)
        (execution,) = executions
        yield (
            runtime,
            wait_for_execution(runtime.aws, execution["executionArn"], region=runtime.region, timeout_seconds=300),
        )


def check_data_output(record: ExecutionRecord) -> dict[str, Any]:
    for event in record.history:
        details = event.get("taskSucceededEventDetails") or event.get("lambdaFunctionSucceededEventDetails")
        if details and '"has_new_data"' in details.get("output", ""):
            output: dict[str, Any] = json.loads(details["output"])
            payload: dict[str, Any] = output.get("Payload", output)
            return payload
    raise AssertionError("CheckData's output is not in the history")


@pytest.mark.compatibility("scheduler:schedules")
def test_the_local_scheduler_fires_the_cron_tick_in_its_time_zone_with_the_scheduled_time(
    fired: tuple[LocalRuntime, ExecutionRecord],
) -> None:
    runtime, record = fired
    (firing,) = runtime.aws.scheduler.firings

    assert firing.scheduled_time == datetime(2026, 7, 1, 3, 0, tzinfo=UTC)
    assert json.loads(firing.input) == {"trigger": "schedule", "scheduled_time": TICK}
    described = runtime.client("stepfunctions").describe_execution(executionArn=record.arn)
    assert json.loads(described["input"]) == {"trigger": "schedule", "scheduled_time": TICK}


def test_the_scheduled_run_trains_on_the_window_ending_on_the_ticks_day(
    fired: tuple[LocalRuntime, ExecutionRecord],
) -> None:
    _, record = fired
    state = check_data_output(record)

    assert record.status == "SUCCEEDED", (record.error, record.cause)
    assert state["input"]["scheduled_time"] == TICK
    assert (state["run"]["window_start"], state["run"]["window_end"]) == ("2026-06-29", "2026-07-01")
    assert state["run"]["newest_data_date"] == "2026-07-01"
    assert state["run"]["file_count"] + state["run"]["holdout_file_count"] == 3
    assert "StartTrainingJob" in record.states_entered()
