"""Executions of the local Step Functions end as on AWS: StopExecution aborts what is in progress, the state machine's
TimeoutSeconds times it out, each with its last history event and nothing after it."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local_runtime.server import LocalAws
from tests.unit.local_runtime.step_functions import handlers
from tests.unit.local_runtime.step_functions.machines import (
    CALLBACK,
    HOLD,
    PASS,
    WAIT,
    create,
    ended,
    entered,
    history,
    start,
    wait_for,
    with_timeout,
)


@pytest.mark.compatibility("states:StopExecution")
def test_a_stopped_wait_is_aborted_with_the_error_and_cause_given(sfn: Any) -> None:
    # GIVEN an execution waiting in a 30 s Wait
    execution = start(sfn, create(sfn, "sleeper", WAIT))
    wait_for(lambda: entered(sfn, execution, "Sleep"), what="the Wait")

    # WHEN it is stopped with an error and a cause
    stopped = sfn.stop_execution(executionArn=execution, error="Manual", cause="stopped by the operator")

    # THEN it is ABORTED at once, stopped when StopExecution says, with that error and cause
    described = sfn.describe_execution(executionArn=execution)
    assert described["status"] == "ABORTED"
    assert described["stopDate"] == stopped["stopDate"]
    assert (described["error"], described["cause"]) == ("Manual", "stopped by the operator")
    # AND its history ends as AWS's does: ExecutionAborted right after the Wait was entered, from event 0
    *_, entered_wait, aborted = history(sfn, execution)
    assert entered_wait["type"] == "WaitStateEntered"
    assert aborted["type"] == "ExecutionAborted"
    assert aborted["previousEventId"] == 0
    assert aborted["executionAbortedEventDetails"] == {"error": "Manual", "cause": "stopped by the operator"}
    # AND it is listed as ABORTED, no longer as RUNNING
    machine = described["stateMachineArn"]
    aborted_runs = sfn.list_executions(stateMachineArn=machine, statusFilter="ABORTED")["executions"]
    assert [(e["executionArn"], e["stopDate"]) for e in aborted_runs] == [(execution, stopped["stopDate"])]
    assert sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING")["executions"] == []


def test_a_stop_without_error_or_cause_leaves_both_out(sfn: Any) -> None:
    execution = start(sfn, create(sfn, "sleeper", WAIT))
    wait_for(lambda: entered(sfn, execution, "Sleep"), what="the Wait")

    sfn.stop_execution(executionArn=execution)

    described = sfn.describe_execution(executionArn=execution)
    assert described["status"] == "ABORTED"
    assert "error" not in described
    assert "cause" not in described
    assert history(sfn, execution)[-1]["executionAbortedEventDetails"] == {}


@pytest.mark.compatibility("states:StopExecution")
def test_a_stopped_callback_wait_is_aborted_at_once_and_its_token_is_closed(sfn: Any) -> None:
    # GIVEN an execution whose task waits up to 60 s for its callback token
    execution = start(sfn, create(sfn, "awaiter", CALLBACK))
    submitted = wait_for(lambda: [e for e in history(sfn, execution) if e["type"] == "TaskSubmitted"], what="submit")
    token = submitted[0]["taskSubmittedEventDetails"]["output"].split('"token": "')[1].split('"')[0]

    # WHEN it is stopped
    sfn.stop_execution(executionArn=execution, error="Manual", cause="operator")

    # THEN it is ABORTED at once (before, the task's timeout ended it FAILED States.Timeout a minute later)
    assert sfn.describe_execution(executionArn=execution)["status"] == "ABORTED"
    # AND the released wait records nothing after the abort (no TaskTimedOut, no ExecutionFailed)
    time.sleep(0.5)
    assert [e["type"] for e in history(sfn, execution)][-2:] == ["TaskSubmitted", "ExecutionAborted"]
    # AND the token belongs to a closed task
    with pytest.raises(ClientError) as refused:
        sfn.send_task_success(taskToken=token, output="{}")
    assert refused.value.response["Error"]["Code"] in {"TaskTimedOut", "InvalidToken"}


def test_a_lambda_running_when_stopped_is_not_heard_and_no_further_state_is_entered(sfn: Any, aws: LocalAws) -> None:
    # GIVEN an execution whose Lambda is still running
    execution = start(sfn, create(sfn, "holder", HOLD))
    assert handlers.HOLDING.wait(timeout=10)

    # WHEN it is stopped, then the Lambda answers
    sfn.stop_execution(executionArn=execution)
    status_while_running = sfn.describe_execution(executionArn=execution)["status"]
    handlers.RELEASED.set()
    time.sleep(1.5)  # the answer reaches the interpreter, past the Retry's 1 s backoff had it failed

    # THEN it was ABORTED without waiting for the Lambda, and the answer moved it nowhere
    assert status_while_running == "ABORTED"
    assert sfn.describe_execution(executionArn=execution)["status"] == "ABORTED"
    events = history(sfn, execution)
    assert events[-1]["type"] == "ExecutionAborted"
    assert not entered(sfn, execution, "After")
    assert [name for name, _ in aws.functions.invocations] == ["hold"]


def test_an_execution_stopped_right_after_its_start_is_aborted_with_its_start_recorded(sfn: Any) -> None:
    execution = start(sfn, create(sfn, "sleeper", WAIT))

    sfn.stop_execution(executionArn=execution)

    assert sfn.describe_execution(executionArn=execution)["status"] == "ABORTED"
    events = history(sfn, execution)
    assert (events[0]["type"], events[-1]["type"]) == ("ExecutionStarted", "ExecutionAborted")


def test_stopping_an_execution_that_has_ended_changes_nothing(sfn: Any) -> None:
    # GIVEN an execution that has succeeded
    execution = start(sfn, create(sfn, "quick", PASS))
    before = ended(sfn, execution)
    events_before = history(sfn, execution)

    # WHEN it is stopped
    answer = sfn.stop_execution(executionArn=execution, error="Late", cause="too late")

    # THEN the stop is accepted, answers the date it ended, and the execution is as it was
    after = sfn.describe_execution(executionArn=execution)
    assert answer["stopDate"] == before["stopDate"]
    assert (after["status"], after["stopDate"], after.get("error")) == ("SUCCEEDED", before["stopDate"], None)
    assert history(sfn, execution) == events_before


@pytest.mark.parametrize(
    ("arguments", "member", "maximum"),
    [({"error": "E" * 257}, "error", 256), ({"cause": "c" * 32_769}, "cause", 32_768)],
)
def test_an_error_or_cause_over_its_maximum_length_is_refused_and_stops_nothing(
    sfn: Any, arguments: dict[str, str], member: str, maximum: int
) -> None:
    execution = start(sfn, create(sfn, "sleeper", WAIT))

    with pytest.raises(ClientError) as refused:
        sfn.stop_execution(executionArn=execution, **arguments)

    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert refused.value.response["Error"]["Message"] == (
        f"1 validation error detected: Value at '{member}' failed to satisfy constraint: "
        f"Member must have length less than or equal to {maximum}"
    )
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
    sfn.stop_execution(executionArn=execution, **{member: "x" * maximum})  # the maximum itself is accepted
    assert sfn.describe_execution(executionArn=execution)[member] == "x" * maximum


@pytest.mark.compatibility("states:TimeoutSeconds")
@pytest.mark.parametrize("definition", [WAIT, CALLBACK], ids=["wait", "callback"])
def test_an_execution_past_the_machines_timeout_ends_timed_out(sfn: Any, definition: dict[str, Any]) -> None:
    # GIVEN a machine whose executions may run 1 s, waiting far longer in its first state
    machine = create(sfn, "bounded", with_timeout(definition, 1))

    # WHEN an execution runs past it
    execution = start(sfn, machine)
    described = ended(sfn, execution)

    # THEN it is TIMED_OUT, stopped exactly 1 s after its start, with no error or cause (AWS keeps States.Timeout
    # for the history)
    assert described["status"] == "TIMED_OUT"
    assert abs(described["stopDate"] - described["startDate"] - timedelta(seconds=1)) <= timedelta(milliseconds=2)
    assert "error" not in described
    assert "cause" not in described
    # AND its history ends with ExecutionTimedOut and records nothing after it
    time.sleep(0.5)
    last = history(sfn, execution)[-1]
    assert (last["type"], last["previousEventId"]) == ("ExecutionTimedOut", 0)
    assert last["executionTimedOutEventDetails"] == {"error": "States.Timeout"}
    # AND it is listed as TIMED_OUT with its stop date
    (listed,) = sfn.list_executions(stateMachineArn=machine, statusFilter="TIMED_OUT")["executions"]
    assert listed["stopDate"] == described["stopDate"]
