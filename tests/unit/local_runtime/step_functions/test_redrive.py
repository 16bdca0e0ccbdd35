"""RedriveExecution in the local Step Functions, as AWS documents it: an unsuccessful Standard execution continues
from the state that did not complete, under the same ARN, within 14 days of its end."""

from __future__ import annotations

import json
from datetime import UTC, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local_runtime.server import LocalAws
from local_runtime.step_functions import redrive_eligibility
from local_runtime.step_functions.redrive import restart_point
from local_runtime.step_functions.status_events import epoch_millis
from tests.local_aws import local_client
from tests.unit.local_runtime.step_functions import handlers
from tests.unit.local_runtime.step_functions.machines import (
    ECHO_ARN,
    FAIL,
    HOLD,
    PASS,
    TWO_LAMBDAS,
    WAIT,
    create,
    ended,
    entered,
    history,
    start,
    wait_for,
    with_timeout,
)

STATUS_CHANGES = {"source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"]}


def refused_redrive(sfn: Any, execution: str) -> tuple[str, str]:
    """The error code and message RedriveExecution answers."""
    with pytest.raises(ClientError) as refused:
        sfn.redrive_execution(executionArn=execution)
    error = refused.value.response["Error"]
    return error["Code"], error["Message"]


def entries(events: list[dict[str, Any]], state: str) -> int:
    return sum(1 for e in events if e.get("stateEnteredEventDetails", {}).get("name") == state)


@pytest.mark.reliability(
    "fault",
    "A workflow whose second Lambda failed, redriven after the cause was fixed",
    "It continues from the failed step under the same ARN: the first Lambda is not run again, the execution "
    "SUCCEEDS with redriveCount 1, as RedriveExecution does on AWS",
)
@pytest.mark.compatibility("states:RedriveExecution")
def test_a_failed_lambda_workflow_redriven_succeeds_without_running_the_succeeded_step_again(
    sfn: Any, aws: LocalAws
) -> None:
    # GIVEN a rule on status changes, and a workflow whose second Lambda crashes the first time
    events = local_client(aws, "events")
    events.put_rule(Name="executions", EventPattern=json.dumps(STATUS_CHANGES))
    events.put_targets(Rule="executions", Targets=[{"Id": "echo", "Arn": ECHO_ARN}])
    aws.faults.crash_lambda("second", times=1, after_side_effects=False)
    machine = create(sfn, "two-steps", TWO_LAMBDAS)
    execution = start(sfn, machine, execution_input='{"run": 7}')
    failed = ended(sfn, execution)
    assert failed["status"] == "FAILED"
    assert (failed["redriveCount"], failed["redriveStatus"], "redriveDate" in failed) == (0, "REDRIVABLE", False)

    # WHEN it is redriven
    redriven = sfn.redrive_execution(executionArn=execution)

    # THEN the same execution succeeds, having run the first Lambda once and the second again
    described = ended(sfn, execution)
    assert (described["status"], described["redriveCount"]) == ("SUCCEEDED", 1)
    assert described["redriveDate"] == redriven["redriveDate"]
    assert json.loads(described["output"]) == {"second": {"first": {"run": 7}}}
    assert (described["redriveStatus"], described["redriveStatusReason"]) == (
        "NOT_REDRIVABLE",
        "Execution is SUCCEEDED and cannot be redriven",
    )
    assert "error" not in described
    lambdas = [name for name, _ in aws.functions.invocations if name in {"first", "second"}]
    assert lambdas == ["first", "second", "second"]  # the second: crashed, then run again by the redrive
    # AND its history goes on after the failure: ExecutionRedriven, then the second state only
    events_after = history(sfn, execution)
    types = [e["type"] for e in events_after]
    redrive_at = types.index("ExecutionRedriven")
    assert types[redrive_at - 1] == "ExecutionFailed"
    assert events_after[redrive_at]["executionRedrivenEventDetails"] == {"redriveCount": 1}
    assert events_after[redrive_at]["previousEventId"] == 0
    assert (entries(events_after, "First"), entries(events_after, "Second")) == (1, 2)
    assert types[-1] == "ExecutionSucceeded"
    assert [e["id"] for e in events_after] == list(range(1, len(events_after) + 1))
    # AND it is listed as redriven
    (listed,) = sfn.list_executions(stateMachineArn=machine, redriveFilter="REDRIVEN")["executions"]
    assert (listed["executionArn"], listed["redriveCount"], listed["redriveDate"]) == (
        execution,
        1,
        redriven["redriveDate"],
    )
    assert sfn.list_executions(stateMachineArn=machine, redriveFilter="NOT_REDRIVEN")["executions"] == []
    # AND its status changes were sent: RUNNING, FAILED, RUNNING again with redriveCount 1, SUCCEEDED
    assert aws.events.wait_until_idle(timeout_seconds=10)
    details = [event["detail"] for name, event in aws.functions.invocations if name == "echo"]
    assert [(d["status"], d["redriveCount"]) for d in details] == [
        ("RUNNING", 0),
        ("FAILED", 0),
        ("RUNNING", 1),
        ("SUCCEEDED", 1),
    ]
    assert details[2]["redriveDate"] == epoch_millis(redriven["redriveDate"])
    assert details[2]["stopDate"] is None


def test_a_succeeded_or_running_execution_is_not_redrivable(sfn: Any) -> None:
    succeeded = start(sfn, create(sfn, "quick", PASS))
    ended(sfn, succeeded)
    running = start(sfn, create(sfn, "sleeper", WAIT))

    for execution, status in ((succeeded, "SUCCEEDED"), (running, "RUNNING")):
        reason = f"Execution is {status} and cannot be redriven"
        assert refused_redrive(sfn, execution) == ("ExecutionNotRedrivable", reason)
        described = sfn.describe_execution(executionArn=execution)
        assert (described["redriveStatus"], described["redriveStatusReason"]) == ("NOT_REDRIVABLE", reason)
    sfn.stop_execution(executionArn=running)


def test_an_unknown_execution_cannot_be_redriven(sfn: Any) -> None:
    create(sfn, "quick", PASS)
    missing = "arn:aws:states:us-east-1:123456789012:execution:quick:missing"

    code, _ = refused_redrive(sfn, missing)

    assert code == "ExecutionDoesNotExist"


@pytest.mark.parametrize(
    ("after_its_end", "redrivable"),
    [(timedelta(days=13, hours=23), True), (timedelta(days=14, seconds=1), False)],
    ids=["within-14-days", "past-14-days"],
)
@pytest.mark.compatibility("states:RedriveExecution")
def test_an_execution_is_redrivable_for_14_days_after_its_end(
    sfn: Any, monkeypatch: pytest.MonkeyPatch, after_its_end: timedelta, redrivable: bool
) -> None:
    # GIVEN an execution that failed
    execution = start(sfn, create(sfn, "broken", FAIL))
    stop_date = ended(sfn, execution)["stopDate"]

    # WHEN the clock has moved on
    monkeypatch.setattr(redrive_eligibility, "clock", lambda: stop_date.astimezone(UTC) + after_its_end)

    # THEN it can be redriven only within 14 days of its end
    described = sfn.describe_execution(executionArn=execution)
    if redrivable:
        assert (described["redriveStatus"], "redriveStatusReason" in described) == ("REDRIVABLE", False)
        sfn.redrive_execution(executionArn=execution)
        again = ended(sfn, execution)  # the Fail state is entered again, and fails again
        assert (again["status"], again["error"], again["redriveCount"]) == ("FAILED", "Broke", 1)
    else:
        reason = "Execution redrivable period exceeded"
        assert (described["redriveStatus"], described["redriveStatusReason"]) == ("NOT_REDRIVABLE", reason)
        assert refused_redrive(sfn, execution) == ("ExecutionNotRedrivable", reason)
        assert sfn.describe_execution(executionArn=execution)["redriveCount"] == 0


@pytest.mark.compatibility("states:RedriveExecution")
def test_a_client_token_already_used_answers_the_same_redrive(sfn: Any) -> None:
    execution = start(sfn, create(sfn, "broken", FAIL))
    ended(sfn, execution)

    first = sfn.redrive_execution(executionArn=execution, clientToken="token-1")
    ended(sfn, execution)
    repeated = sfn.redrive_execution(executionArn=execution, clientToken="token-1")
    assert repeated["redriveDate"] == first["redriveDate"]
    assert ended(sfn, execution)["redriveCount"] == 1

    other = sfn.redrive_execution(executionArn=execution, clientToken="token-2")
    assert other["redriveDate"] > first["redriveDate"]
    assert ended(sfn, execution)["redriveCount"] == 2


def test_a_stopped_execution_redriven_runs_its_interrupted_state_again(sfn: Any) -> None:
    # GIVEN an execution stopped in its Wait
    execution = start(sfn, create(sfn, "sleeper", WAIT))
    wait_for(lambda: entered(sfn, execution, "Sleep"), what="the Wait")
    sfn.stop_execution(executionArn=execution, error="Manual")

    # WHEN it is redriven
    sfn.redrive_execution(executionArn=execution)

    # THEN it is RUNNING again, in the Wait, with the stop's error gone
    described = sfn.describe_execution(executionArn=execution)
    assert (described["status"], described["redriveCount"], "error" in described) == ("RUNNING", 1, False)
    assert "stopDate" not in described
    wait_for(lambda: entries(history(sfn, execution), "Sleep") == 2, what="the Wait entered again")
    assert sfn.list_executions(stateMachineArn=described["stateMachineArn"], statusFilter="RUNNING")["executions"]
    sfn.stop_execution(executionArn=execution)
    assert sfn.describe_execution(executionArn=execution)["status"] == "ABORTED"


def test_a_timed_out_execution_redriven_has_its_timeout_counted_from_the_redrive(sfn: Any) -> None:
    # GIVEN an execution that timed out after 1 s
    execution = start(sfn, create(sfn, "bounded", with_timeout(WAIT, 1)))
    assert ended(sfn, execution)["status"] == "TIMED_OUT"

    # WHEN it is redriven
    redriven = sfn.redrive_execution(executionArn=execution)["redriveDate"]

    # THEN it times out again 1 s after the redrive ("the state machine level timeout ... is reset to 0")
    again = ended(sfn, execution)
    assert (again["status"], again["redriveCount"]) == ("TIMED_OUT", 1)
    assert abs(again["stopDate"] - redriven - timedelta(seconds=1)) <= timedelta(milliseconds=2)
    assert [e["type"] for e in history(sfn, execution)].count("ExecutionTimedOut") == 2


def test_the_redrive_point_is_the_last_top_level_state_not_exited() -> None:
    def entered_event(name: str, state_input: str) -> dict[str, Any]:
        return {"stateEnteredEventDetails": {"name": name, "input": state_input}}

    events = [
        entered_event("A", '{"a": 1}'),
        {"stateExitedEventDetails": {"name": "A", "output": '{"b": 1}'}},
        entered_event("B", '{"b": 1}'),
        entered_event("Inner", '{"i": 1}'),  # a branch's state, not a top-level one
    ]

    assert restart_point(events, {"A", "B"}, "A", {"x": 1}) == ("B", {"b": 1})
    assert restart_point([], {"A", "B"}, "A", {"x": 1}) == ("A", {"x": 1})


# The stopped run's program ends when its Lambda answers: it must not end the redriven run (moto's end, taken from
# the running environment, raises in the execution's thread).
@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_the_lambda_of_a_stopped_run_answering_after_the_redrive_changes_nothing(sfn: Any, aws: LocalAws) -> None:
    # GIVEN an execution stopped while its Lambda runs, then redriven: the Lambda is invoked again (the local Lambda
    # runs one invocation at a time, so the second starts when the first has answered)
    execution = start(sfn, create(sfn, "holder", HOLD))
    assert handlers.HOLDING.wait(timeout=10)
    sfn.stop_execution(executionArn=execution)
    sfn.redrive_execution(executionArn=execution)
    wait_for(lambda: entries(history(sfn, execution), "Hold") == 2, what="the Lambda's state entered again")

    # WHEN the stopped run's Lambda answers, then the redriven run's
    handlers.RELEASED.set()

    # THEN only the redriven run goes on: it succeeds once, through the next state once, its history in one sequence
    described = ended(sfn, execution)
    assert (described["status"], described["redriveCount"]) == ("SUCCEEDED", 1)
    events = history(sfn, execution)
    assert (entries(events, "Hold"), entries(events, "After")) == (2, 1)
    assert [e["type"] for e in events].count("ExecutionSucceeded") == 1
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert [name for name, _ in aws.functions.invocations].count("hold") == 2
