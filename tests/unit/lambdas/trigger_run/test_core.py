"""TriggerRun: the one-time schedule trails a burst of uploads by the quiet period, capped by the maximum delay."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from lambdas.check_data.core import RunInput
from lambdas.common.errors import InvalidStepEventError
from lambdas.trigger_run.core import (
    RUN_INPUT,
    STARTING_GRACE_SECONDS,
    NewObject,
    PendingRun,
    RunStartingError,
    ScheduleRaceError,
    TriggerOutcome,
    TriggerRunSettings,
    plan_run,
    trigger_run,
)

T0 = datetime(2026, 11, 22, 6, 0, 0, tzinfo=UTC)
GROUP = "sagemaker-retraining-churn"
SETTINGS = TriggerRunSettings(
    pipeline="churn",
    state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:sagemaker-retraining-churn",
    schedule_group=GROUP,
    scheduler_role_arn="arn:aws:iam::123456789012:role/churn-scheduler",
    quiet_seconds=300,
    max_delay_seconds=3600,
)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def object_created(key: str = "data/churn/2026-11-22.csv", time: str = "2026-11-22T06:00:00Z") -> dict[str, Any]:
    """The event as S3 sends it to EventBridge (trimmed to the fields TriggerRun reads and a few more)."""
    return {
        "version": "0",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "time": time,
        "detail": {"bucket": {"name": "data"}, "object": {"key": key, "size": 12}, "reason": "PutObject"},
    }


def new_object(seconds: float) -> NewObject:
    return NewObject(bucket="data", key=f"data/churn/{seconds}.csv", seen=at(seconds))


def plan(pending: PendingRun | None, *, seen: float, now: float | None = None) -> PendingRun:
    return plan_run(
        pending, seen=at(seen), now=at(seen if now is None else now), quiet_seconds=300, max_delay_seconds=3600
    )


# --- plan_run: the pure schedule arithmetic --------------------------------------------------------------------


def test_the_first_object_schedules_the_run_one_quiet_period_later() -> None:
    run = plan(None, seen=0)

    assert run == PendingRun(first_seen=at(0), run_at=at(300))


def test_each_later_object_pushes_the_run_to_one_quiet_period_after_it() -> None:
    # GIVEN a burst: objects every 100 s
    run = plan(None, seen=0)
    for seen in (100, 200, 350):
        run = plan(run, seen=seen)

    # THEN the run waits for quiet after the newest object, and remembers the burst's first one
    assert run == PendingRun(first_seen=at(0), run_at=at(650))


def test_a_steady_trickle_is_capped_at_the_maximum_delay_after_its_first_object() -> None:
    run = plan(None, seen=0)
    for seen in range(60, 4000, 60):  # one object a minute: never quiet for 300 s
        if run.run_at <= at(seen):
            break
        run = plan(run, seen=seen)

    assert run.run_at == at(3600)
    assert run.first_seen == at(0)


def test_an_object_delivered_late_never_moves_the_run_earlier_and_extends_the_burst_back() -> None:
    # GIVEN a run pending for an object seen at 200 s
    run = plan(None, seen=200)

    # WHEN an object created at 100 s is delivered afterwards
    later = plan(run, seen=100, now=210)

    # THEN the run stays where it was, and the burst started at 100 s (the cap counts from there)
    assert later == PendingRun(first_seen=at(100), run_at=at(500))


def test_an_object_just_before_a_capped_run_leaves_it_where_it_is() -> None:
    # GIVEN a run capped at the maximum delay, less than a second away
    run = PendingRun(first_seen=at(0), run_at=at(3600))

    # WHEN another object of the trickle lands
    later = plan(run, seen=3599, now=3599.5)

    # THEN the run is not pushed past the cap
    assert later == run


def test_an_event_processed_after_its_quiet_period_runs_at_once_not_in_the_past() -> None:
    run = plan(None, seen=0, now=900)  # throttled for 15 minutes

    assert run.run_at == at(901)


def test_run_times_are_whole_seconds_rounded_up() -> None:
    run = plan_run(None, seen=at(0.2), now=at(0.4), quiet_seconds=300, max_delay_seconds=3600)

    assert (run.first_seen, run.run_at) == (at(0), at(301))


# --- the schedule it stands for ----------------------------------------------------------------------------------


def test_a_pending_run_reads_back_from_its_schedule() -> None:
    run = PendingRun(first_seen=at(0), run_at=at(300))
    schedule = {
        "ScheduleExpression": run.expression,
        "ScheduleExpressionTimezone": "UTC",
        "Description": run.description("churn"),
    }

    assert run.expression == "at(2026-11-22T06:05:00)"
    assert PendingRun.from_schedule(schedule) == run


@pytest.mark.parametrize(
    "schedule",
    [
        {"ScheduleExpression": "rate(1 day)", "Description": "first object seen 2026-11-22T06:00:00Z"},
        {"ScheduleExpression": "at(2026-11-22T06:05:00)", "Description": "edited by hand"},
        {
            "ScheduleExpression": "at(2026-11-22T06:05:00)",
            "ScheduleExpressionTimezone": "Europe/Paris",
            "Description": "first object seen 2026-11-22T06:00:00Z",
        },
    ],
)
def test_a_schedule_this_step_did_not_write_is_no_pending_run(schedule: dict[str, str]) -> None:
    assert PendingRun.from_schedule(schedule) is None


def test_the_event_gives_the_object_and_when_s3_created_it() -> None:
    parsed = NewObject.from_event(object_created(time="2026-11-22T06:00:07Z"))

    assert parsed == NewObject(bucket="data", key="data/churn/2026-11-22.csv", seen=at(7))


@pytest.mark.parametrize(
    "event",
    [{"time": "2026-11-22T06:00:00Z"}, {**object_created(), "time": None}, {**object_created(), "time": "noon"}],
)
def test_an_event_that_is_no_object_created_event_is_refused(event: dict[str, Any]) -> None:
    with pytest.raises(InvalidStepEventError):
        NewObject.from_event(event)


# --- trigger_run against the Scheduler API (moto) ---------------------------------------------------------------


@pytest.fixture
def scheduler(aws: None) -> Any:
    client = boto3.client("scheduler")
    client.create_schedule_group(Name=GROUP)
    return client


def get(scheduler: Any) -> dict[str, Any]:
    schedule: dict[str, Any] = scheduler.get_schedule(Name="churn-new-data", GroupName=GROUP)
    return schedule


def test_the_first_object_creates_a_one_time_schedule_that_starts_the_workflow_and_deletes_itself(
    scheduler: Any,
) -> None:
    outcome = trigger_run(new_object(0), scheduler=scheduler, settings=SETTINGS, now=at(1))

    schedule = get(scheduler)
    assert outcome.action == "created"
    assert schedule["ScheduleExpression"] == "at(2026-11-22T06:05:00)"
    assert schedule["ActionAfterCompletion"] == "DELETE"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule["Target"]["Arn"] == SETTINGS.state_machine_arn
    assert schedule["Target"]["RoleArn"] == SETTINGS.scheduler_role_arn
    assert json.loads(schedule["Target"]["Input"]) == {"trigger": "new-data"}


def test_a_later_object_moves_the_schedule_and_keeps_the_first_seen_time(scheduler: Any) -> None:
    trigger_run(new_object(0), scheduler=scheduler, settings=SETTINGS, now=at(1))

    outcome = trigger_run(new_object(120), scheduler=scheduler, settings=SETTINGS, now=at(121))

    assert outcome.action == "moved"
    assert PendingRun.from_schedule(get(scheduler)) == PendingRun(first_seen=at(0), run_at=at(420))


def test_an_object_that_changes_nothing_writes_nothing(scheduler: Any) -> None:
    trigger_run(new_object(120), scheduler=scheduler, settings=SETTINGS, now=at(121))

    outcome = trigger_run(new_object(60), scheduler=scheduler, settings=SETTINGS, now=at(122))

    # the earlier object moves the burst's start back, not the run: first_seen changes
    assert outcome.action == "moved"
    assert trigger_run(new_object(60), scheduler=scheduler, settings=SETTINGS, now=at(123)).action == "unchanged"


def test_an_object_arriving_while_the_schedule_starts_its_run_is_retried_later(scheduler: Any) -> None:
    trigger_run(new_object(0), scheduler=scheduler, settings=SETTINGS, now=at(1))

    with pytest.raises(RunStartingError):
        trigger_run(new_object(301), scheduler=scheduler, settings=SETTINGS, now=at(301))


def test_a_schedule_left_long_after_its_time_is_reused_for_a_new_burst(scheduler: Any) -> None:
    trigger_run(new_object(0), scheduler=scheduler, settings=SETTINGS, now=at(1))
    late = 300 + STARTING_GRACE_SECONDS + 1

    outcome = trigger_run(new_object(late), scheduler=scheduler, settings=SETTINGS, now=at(late))

    assert outcome.action == "moved"
    assert outcome.run == PendingRun(first_seen=at(late), run_at=at(late + 300))


class RacingScheduler:
    """The Scheduler API, with another invocation's write slipped in right before this one's first write."""

    def __init__(self, real: Any, *, race: str) -> None:
        self.real, self.race, self.raced = real, race, False
        self.calls: list[str] = []

    def get_schedule(self, **kwargs: Any) -> Any:
        self.calls.append("get")
        return self.real.get_schedule(**kwargs)

    def create_schedule(self, **kwargs: Any) -> Any:
        self.calls.append("create")
        self._race(kwargs)
        return self.real.create_schedule(**kwargs)

    def update_schedule(self, **kwargs: Any) -> Any:
        self.calls.append("update")
        self._race(kwargs)
        return self.real.update_schedule(**kwargs)

    def _race(self, request: dict[str, Any]) -> None:
        if self.raced:
            return
        self.raced = True
        if self.race == "created":  # another invocation, for an object seen 10 s earlier, created it first
            earlier = PendingRun(first_seen=at(-10), run_at=at(290))
            self.real.create_schedule(
                **{**request, "ScheduleExpression": earlier.expression, "Description": earlier.description("churn")}
            )
        elif self.race == "fired":  # the schedule started its run and deleted itself
            self.real.delete_schedule(Name=request["Name"], GroupName=request["GroupName"])


def test_a_schedule_created_concurrently_is_read_again_and_updated_with_its_first_seen_time(scheduler: Any) -> None:
    racing = RacingScheduler(scheduler, race="created")

    outcome = trigger_run(new_object(0), scheduler=racing, settings=SETTINGS, now=at(1))

    assert racing.calls == ["get", "create", "get", "update"]
    assert outcome.action == "moved"
    assert PendingRun.from_schedule(get(scheduler)) == PendingRun(first_seen=at(-10), run_at=at(300))


def test_a_schedule_deleted_between_read_and_update_is_created_again(scheduler: Any) -> None:
    trigger_run(new_object(0), scheduler=scheduler, settings=SETTINGS, now=at(1))
    racing = RacingScheduler(scheduler, race="fired")

    outcome = trigger_run(new_object(100), scheduler=racing, settings=SETTINGS, now=at(101))

    assert racing.calls == ["get", "update", "get", "create"]
    assert outcome == TriggerOutcome("created", PendingRun(first_seen=at(100), run_at=at(400)))
    assert PendingRun.from_schedule(get(scheduler)) == outcome.run


class FailingCreate:
    """No schedule to read, and CreateSchedule always answers `code`."""

    def __init__(self, code: str) -> None:
        self.code, self.creates = code, 0

    def get_schedule(self, **_: Any) -> Any:
        raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "no"}}, "GetSchedule")

    def create_schedule(self, **_: Any) -> Any:
        self.creates += 1
        raise ClientError({"Error": {"Code": self.code, "Message": "refused"}}, "CreateSchedule")


def test_a_schedule_that_keeps_changing_gives_up_for_lambda_to_retry_the_event() -> None:
    scheduler = FailingCreate("ConflictException")

    with pytest.raises(ScheduleRaceError):
        trigger_run(new_object(0), scheduler=scheduler, settings=SETTINGS, now=at(1))
    assert scheduler.creates == 3


def test_a_missing_schedule_group_is_an_error_not_a_race() -> None:
    scheduler = FailingCreate("ResourceNotFoundException")  # what CreateSchedule answers for an unknown group

    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        trigger_run(new_object(0), scheduler=scheduler, settings=SETTINGS, now=at(1))
    assert scheduler.creates == 1


def test_a_kms_key_is_passed_to_the_schedule(scheduler: Any) -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    settings = TriggerRunSettings(**{**SETTINGS.__dict__, "kms_key_arn": key})

    trigger_run(new_object(0), scheduler=scheduler, settings=settings, now=at(1))

    assert get(scheduler)["KmsKeyArn"] == key


@pytest.mark.parametrize("run_input", [RUN_INPUT, {"trigger": "event:" + "a" * 32}])
def test_the_inputs_triggers_start_runs_with_are_ones_check_data_accepts(run_input: dict[str, str]) -> None:
    # The new-data schedule's input, and an upstream event's with the longest name config.py allows.
    assert RunInput.from_state(run_input).trigger == run_input["trigger"]
