"""EventBridge Scheduler in the local runtime: due one-time schedules start their state machine, then go away."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests

from local_runtime.scheduler import LocalScheduler
from local_runtime.server import LocalAws

REGION, ACCOUNT = "eu-west-1", "123456789012"
GROUP = "retraining"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/scheduler"
# Far enough ahead that the server's own scheduler (on the real clock) leaves these schedules to the test's.
LATER = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)


@pytest.fixture(scope="module")
def local_aws() -> Iterator[LocalAws]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    with LocalAws() as aws:
        yield aws


@pytest.fixture
def aws(local_aws: LocalAws, aws_env: None) -> LocalAws:
    requests.post(f"{local_aws.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()
    client(local_aws, "scheduler").create_schedule_group(Name=GROUP)
    return local_aws


def client(aws: LocalAws, service: str) -> Any:
    return boto3.client(service, endpoint_url=aws.endpoint_url, region_name=REGION)  # type: ignore[call-overload]


def machine(aws: LocalAws) -> str:
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
    arn: str = client(aws, "stepfunctions").create_state_machine(
        name="retraining", definition=json.dumps(definition), roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn"
    )["stateMachineArn"]
    return arn


def schedule(aws: LocalAws, name: str, target: str, *, at: datetime = LATER, **extra: Any) -> None:
    client(aws, "scheduler").create_schedule(
        Name=name,
        GroupName=GROUP,
        ScheduleExpression=extra.pop("expression", f"at({at.strftime('%Y-%m-%dT%H:%M:%S')})"),
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": target, "RoleArn": ROLE, "Input": json.dumps({"trigger": name})},
        **extra,
    )


def at_time(aws: LocalAws, moment: datetime) -> LocalScheduler:
    """A scheduler whose clock reads `moment`, firing through the local AWS."""
    scheduler = LocalScheduler(clock=lambda: moment)
    scheduler.bind(aws.endpoint_url)
    return scheduler


def names(aws: LocalAws) -> list[str]:
    return sorted(s["Name"] for s in client(aws, "scheduler").list_schedules(GroupName=GROUP)["Schedules"])


def inputs(aws: LocalAws, state_machine: str) -> list[Any]:
    sfn = client(aws, "stepfunctions")
    executions = sfn.list_executions(stateMachineArn=state_machine)["executions"]
    return [json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"]) for e in executions]


@pytest.mark.compatibility("scheduler:schedules")
def test_a_due_one_time_schedule_starts_its_state_machine_with_its_input_then_deletes_itself(aws: LocalAws) -> None:
    target = machine(aws)
    schedule(aws, "new-data", target, ActionAfterCompletion="DELETE")

    fired = at_time(aws, LATER).fire_due()

    assert [(f.target_arn, f.error) for f in fired] == [(target, None)]
    assert inputs(aws, target) == [{"trigger": "new-data"}]
    assert names(aws) == []


def test_a_schedule_not_yet_due_waits(aws: LocalAws) -> None:
    target = machine(aws)
    schedule(aws, "new-data", target, ActionAfterCompletion="DELETE")

    assert at_time(aws, LATER - timedelta(seconds=1)).fire_due() == []
    assert inputs(aws, target) == []
    assert names(aws) == ["new-data"]


def test_disabled_and_recurring_schedules_are_not_fired(aws: LocalAws) -> None:
    target = machine(aws)
    schedule(aws, "disabled", target, State="DISABLED")
    schedule(aws, "daily", target, expression="rate(1 day)")

    assert at_time(aws, LATER + timedelta(days=2)).fire_due() == []
    assert inputs(aws, target) == []


def test_a_schedule_kept_after_completion_fires_once(aws: LocalAws) -> None:
    target = machine(aws)
    schedule(aws, "kept", target, ActionAfterCompletion="NONE")
    scheduler = at_time(aws, LATER)

    assert len(scheduler.fire_due()) == 1
    assert scheduler.fire_due() == []
    assert names(aws) == ["kept"]
    assert len(inputs(aws, target)) == 1


def test_the_time_is_read_in_the_schedules_time_zone(aws: LocalAws) -> None:
    target = machine(aws)
    # 12:00 in Paris in winter is 11:00 UTC
    schedule(aws, "paris", target, at=datetime(2031, 1, 15, 12, 0), ScheduleExpressionTimezone="Europe/Paris")

    assert at_time(aws, datetime(2031, 1, 15, 10, 59, 59, tzinfo=UTC)).fire_due() == []
    assert len(at_time(aws, datetime(2031, 1, 15, 11, 0, tzinfo=UTC)).fire_due()) == 1


def test_a_target_other_than_a_state_machine_is_recorded_as_not_emulated(aws: LocalAws) -> None:
    schedule(aws, "queue", f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs")

    (fired,) = at_time(aws, LATER).fire_due()

    assert fired.execution_arn is None
    assert fired.error == "only Step Functions targets are emulated"


def test_a_schedule_moved_while_it_fires_is_kept_for_its_new_time(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a due schedule that TriggerRun moves while the scheduler starts its run
    target = machine(aws)
    schedule(aws, "new-data", target, ActionAfterCompletion="DELETE")
    scheduler = at_time(aws, LATER)
    start = scheduler._start_execution
    assert start is not None
    moved = (LATER + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S")

    def start_while_moved(arn: str, name: str, payload: str, role_arn: str | None) -> str:
        client(aws, "scheduler").update_schedule(
            Name="new-data",
            GroupName=GROUP,
            ScheduleExpression=f"at({moved})",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={"Arn": target, "RoleArn": ROLE, "Input": payload},
        )
        return start(arn, name, payload, role_arn)

    monkeypatch.setattr(scheduler, "_start_execution", start_while_moved)

    # WHEN it fires
    scheduler.fire_due()

    # THEN it is not deleted: it fires again at its new time
    assert names(aws) == ["new-data"]
    assert len(at_time(aws, LATER + timedelta(minutes=5)).fire_due()) == 1


def test_the_servers_scheduler_fires_a_schedule_within_a_second_of_its_time(aws: LocalAws) -> None:
    target = machine(aws)
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    schedule(aws, "soon", target, at=due, ActionAfterCompletion="DELETE")

    deadline = time.monotonic() + 10
    while not inputs(aws, target):
        assert time.monotonic() < deadline, "the schedule never fired"
        time.sleep(0.05)

    assert datetime.now(UTC) >= due
    assert datetime.now(UTC) < due + timedelta(seconds=1.5)
    assert inputs(aws, target) == [{"trigger": "soon"}]
