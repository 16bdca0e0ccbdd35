"""The overlapping-run guard against moto's Step Functions (executions stay RUNNING there)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from lambdas.check_data.core import CheckDataSettings, RunInput, check_data
from lambdas.check_data.overlap import earlier_running_execution, state_machine_arn
from lambdas.common.events import Execution

MACHINE = "sagemaker-retraining-churn"


@pytest.fixture
def sfn(aws: None) -> Any:
    client = boto3.client("stepfunctions")
    client.create_state_machine(
        name=MACHINE,
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )
    return client


def start(sfn: Any, name: str) -> Execution:
    """Start an execution and describe it as the context object would."""
    arn = sfn.start_execution(stateMachineArn=machine_arn(sfn), name=name)["executionArn"]
    started = sfn.describe_execution(executionArn=arn)["startDate"]
    return Execution(id=arn, name=name, start_time=started.astimezone(UTC))


def machine_arn(sfn: Any) -> str:
    (machine,) = sfn.list_state_machines()["stateMachines"]
    return str(machine["stateMachineArn"])


def test_the_state_machine_is_read_from_the_execution_arn() -> None:
    execution = Execution(
        id=f"arn:aws:states:eu-west-1:123456789012:execution:{MACHINE}:manual-1",
        name="manual-1",
        start_time=datetime(2026, 11, 22, tzinfo=UTC),
    )

    assert state_machine_arn(execution) == f"arn:aws:states:eu-west-1:123456789012:stateMachine:{MACHINE}"


def test_alone_the_run_goes_on(sfn: Any) -> None:
    assert earlier_running_execution(sfn, start(sfn, "only")) is None


def test_the_later_of_two_running_executions_stops_and_the_earlier_goes_on(sfn: Any) -> None:
    first = start(sfn, "manual")
    second = start(sfn, "schedule")
    if second.start_time <= first.start_time:  # same clock tick: order by ARN, as the guard does
        second = Execution(id=second.id, name=second.name, start_time=first.start_time + timedelta(milliseconds=1))

    assert earlier_running_execution(sfn, second) == first.id
    assert earlier_running_execution(sfn, first) is None


def test_executions_started_in_the_same_instant_let_exactly_one_go_on(sfn: Any) -> None:
    same = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
    runs = [start(sfn, name) for name in ("a", "b")]
    tied = [Execution(id=r.id, name=r.name, start_time=same) for r in runs]

    class SameStart:
        """Step Functions reporting both executions with the same start time."""

        def get_paginator(self, name: str) -> Any:
            pages = [{"executions": [{"executionArn": r.id, "startDate": same} for r in tied]}]
            return type("Paginator", (), {"paginate": lambda self, **kwargs: pages})()

    blocked = [earlier_running_execution(SameStart(), run) is not None for run in tied]
    assert sorted(blocked) == [False, True]


def test_finished_executions_do_not_block(sfn: Any) -> None:
    earlier = start(sfn, "earlier")
    sfn.stop_execution(executionArn=earlier.id)

    assert earlier_running_execution(sfn, start(sfn, "later")) is None


def test_a_blocked_run_writes_no_manifest_and_says_which_run_blocks_it(sfn: Any) -> None:
    s3, ssm = boto3.client("s3"), boto3.client("ssm")
    s3.create_bucket(Bucket="churn-data")
    s3.put_object(Bucket="churn-data", Key="data/churn/2026-11-21.csv", Body=b"1,2\n")
    settings = CheckDataSettings("churn", "churn-data", "data/churn", "manifests/churn", "/wm", 7)
    first = start(sfn, "manual")
    later = start(sfn, "schedule")
    later = Execution(id=later.id, name=later.name, start_time=first.start_time + timedelta(seconds=1))

    result = check_data(RunInput(), later, s3=s3, ssm=ssm, sfn=sfn, settings=settings)

    assert (result.has_new_data, result.blocked_by) == (False, first.id)
    assert result.reason == "another run of the pipeline is in progress: manual"
    assert s3.list_objects_v2(Bucket="churn-data", Prefix="manifests/")["KeyCount"] == 0
