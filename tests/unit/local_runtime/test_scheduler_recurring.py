"""EventBridge Scheduler's recurring schedules in the local runtime: rate and cron ticks in their time zone, the
context attributes in the input, retries of a failed start, and the dead-letter queue."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local_runtime.scheduler import LocalScheduler
from local_runtime.server import LocalAws
from tests.unit.local_runtime.test_scheduler import (
    ACCOUNT,
    GROUP,
    REGION,
    ROLE,
    aws,
    client,
    inputs,
    local_aws,
    machine,
)

__all__ = ["aws", "local_aws"]  # the fixtures, shared with the one-time schedules' tests

CONTEXT_INPUT = json.dumps(
    {
        "trigger": "schedule",
        "scheduled_time": "<aws.scheduler.scheduled-time>",
        "attempt": "<aws.scheduler.attempt-number>",
        "schedule": "<aws.scheduler.schedule-arn>",
        "execution_id": "<aws.scheduler.execution-id>",
    }
)


class Clock:
    """A clock a test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def recurring(aws: LocalAws, clock: Clock) -> LocalScheduler:
    scheduler = LocalScheduler(clock=clock, recurring=True, retry_base_seconds=0)
    scheduler.bind(aws.endpoint_url)
    return scheduler


def create(aws: LocalAws, name: str, arn: str, expression: str, *, target: Any = None, **extra: Any) -> str:
    schedule_arn: str = client(aws, "scheduler").create_schedule(
        Name=name,
        GroupName=GROUP,
        ScheduleExpression=expression,
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": arn, "RoleArn": ROLE, "Input": CONTEXT_INPUT, **(target or {})},
        **extra,
    )["ScheduleArn"]
    return schedule_arn


def dead_letter_queue(aws: LocalAws) -> tuple[str, str]:
    sqs = client(aws, "sqs")
    url: str = sqs.create_queue(QueueName="schedule-dead-letters")["QueueUrl"]
    return url, f"arn:aws:sqs:{REGION}:{ACCOUNT}:schedule-dead-letters"


def fire_until(scheduler: LocalScheduler, clock: Clock, end: datetime, step: timedelta) -> None:
    while clock.now < end:
        clock.now += step
        scheduler.fire_due()


@pytest.mark.compatibility("scheduler:schedules")
def test_a_cron_schedule_in_berlin_fires_at_5_local_before_and_after_the_spring_change(aws: LocalAws) -> None:
    # GIVEN a 05:00 Europe/Berlin schedule, and a clock from Friday 26 March 2027 (summer time starts on the 28th)
    target = machine(aws)
    create(aws, "daily", target, "cron(0 5 * * ? *)", ScheduleExpressionTimezone="Europe/Berlin")
    clock = Clock(datetime(2027, 3, 26, 0, 0, tzinfo=UTC))
    scheduler = recurring(aws, clock)

    # WHEN the clock runs through four days, a pass every ten minutes
    fire_until(scheduler, clock, datetime(2027, 3, 30, 0, 0, tzinfo=UTC), timedelta(minutes=10))

    # THEN it fired once a day at 05:00 in Berlin: 04:00 UTC in winter, 03:00 UTC in summer
    times = sorted(i["scheduled_time"] for i in inputs(aws, target))
    assert times == ["2027-03-26T04:00:00Z", "2027-03-27T04:00:00Z", "2027-03-28T03:00:00Z", "2027-03-29T03:00:00Z"]


@pytest.mark.compatibility("scheduler:schedules")
def test_the_context_attributes_are_substituted_in_the_input(aws: LocalAws) -> None:
    target = machine(aws)
    arn = create(aws, "hourly", target, "cron(0 * * * ? *)")
    clock = Clock(datetime(2027, 1, 1, 9, 59, 50, tzinfo=UTC))
    scheduler = recurring(aws, clock)
    assert scheduler.fire_due() == []

    clock.now = datetime(2027, 1, 1, 10, 0, 20, tzinfo=UTC)
    (firing,) = scheduler.fire_due()

    (received,) = inputs(aws, target)
    assert received["scheduled_time"] == "2027-01-01T10:00:00Z"
    assert received["attempt"] == "1"
    assert received["schedule"] == arn
    assert len(received["execution_id"]) == 16
    assert firing.execution_arn is not None


def test_a_rate_schedule_fires_at_once_then_every_interval(aws: LocalAws) -> None:
    target = machine(aws)
    create(aws, "every-6h", target, "rate(6 hours)")
    clock = Clock(datetime(2027, 1, 1, 0, 0, 30, tzinfo=UTC))
    scheduler = recurring(aws, clock)

    fire_until(scheduler, clock, datetime(2027, 1, 1, 13, 0, tzinfo=UTC), timedelta(minutes=15))

    times = sorted(i["scheduled_time"] for i in inputs(aws, target))
    assert times == ["2027-01-01T00:15:30Z", "2027-01-01T06:15:30Z", "2027-01-01T12:15:30Z"]


def test_recurring_schedules_wait_when_the_scheduler_is_not_told_to_fire_them(aws: LocalAws) -> None:
    target = machine(aws)
    create(aws, "every-minute", target, "rate(1 minute)")
    scheduler = LocalScheduler(clock=lambda: datetime(2027, 1, 1, tzinfo=UTC))
    scheduler.bind(aws.endpoint_url)

    assert scheduler.fire_due() == []


def throttled(times: int, start: Callable[..., str]) -> Callable[..., str]:
    calls = {"n": 0}

    def start_execution(*arguments: Any) -> str:
        calls["n"] += 1
        if calls["n"] <= times:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "StartExecution")
        return start(*arguments)

    return start_execution


def test_a_throttled_start_is_retried_with_the_same_scheduled_time_and_the_next_attempt_number(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = machine(aws)
    create(aws, "daily", target, "cron(0 5 * * ? *)")
    clock = Clock(datetime(2027, 1, 1, 5, 0, tzinfo=UTC))
    scheduler = recurring(aws, clock)
    assert scheduler._start_execution is not None
    monkeypatch.setattr(scheduler, "_start_execution", throttled(2, scheduler._start_execution))

    firings = [*scheduler.fire_due(), *scheduler.fire_due(), *scheduler.fire_due()]

    assert [(f.attempt, f.execution_arn is not None) for f in firings] == [(1, False), (2, False), (3, True)]
    (received,) = inputs(aws, target)
    assert (received["scheduled_time"], received["attempt"]) == ("2027-01-01T05:00:00Z", "3")


@pytest.mark.reliability(
    "fault",
    "EventBridge Scheduler cannot start the scheduled run: throttled past the retry policy, or the state machine gone",
    "The tick goes to the schedule's dead-letter queue with its input (scheduled_time included) and why",
)
@pytest.mark.compatibility("scheduler:schedules")
def test_a_start_that_keeps_failing_goes_to_the_dead_letter_queue_after_the_retry_policy(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a schedule retried once at most, and a target that is throttled every time
    target = machine(aws)
    url, queue = dead_letter_queue(aws)
    arn = create(
        aws,
        "daily",
        target,
        "cron(0 5 * * ? *)",
        target={
            "RetryPolicy": {"MaximumRetryAttempts": 1, "MaximumEventAgeInSeconds": 60},
            "DeadLetterConfig": {"Arn": queue},
        },
    )
    clock = Clock(datetime(2027, 1, 1, 5, 0, tzinfo=UTC))
    scheduler = recurring(aws, clock)
    assert scheduler._start_execution is not None
    monkeypatch.setattr(scheduler, "_start_execution", throttled(99, scheduler._start_execution))

    # WHEN it fires, and its one retry fails too
    firings = [*scheduler.fire_due(), *scheduler.fire_due(), *scheduler.fire_due()]

    # THEN the tick is in the dead-letter queue, with what the run would have received and why it did not start
    assert [(f.attempt, f.dead_lettered) for f in firings] == [(1, False), (2, True)]
    (message,) = client(aws, "sqs").receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    assert json.loads(message["Body"])["scheduled_time"] == "2027-01-01T05:00:00Z"
    attributes = {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}
    assert attributes["ERROR_CODE"] == "ThrottlingException"
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert attributes["RETRY_ATTEMPTS"] == "1"
    assert attributes["SCHEDULE_ARN"] == arn
    assert attributes["TARGET_ARN"] == target


def test_a_start_that_cannot_succeed_is_not_retried(aws: LocalAws) -> None:
    # GIVEN a schedule whose state machine was deleted
    url, queue = dead_letter_queue(aws)
    gone = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:deleted"
    create(aws, "daily", gone, "cron(0 5 * * ? *)", target={"DeadLetterConfig": {"Arn": queue}})
    scheduler = recurring(aws, Clock(datetime(2027, 1, 1, 5, 0, tzinfo=UTC)))

    # WHEN it fires / THEN its tick goes to the dead-letter queue at once
    ((firing,), retries) = scheduler.fire_due(), scheduler.fire_due()

    assert firing.dead_lettered
    assert retries == []
    (message,) = client(aws, "sqs").receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    assert message["MessageAttributes"]["EXHAUSTED_RETRY_CONDITION"]["StringValue"] == "NonRetryableError"
