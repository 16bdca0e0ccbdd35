"""Each status change of a local execution reaches the rules that match "Step Functions Execution Status Change",
shaped as Step Functions shapes it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from local_runtime.deploy import deploy
from local_runtime.server import LocalAws
from local_runtime.step_functions.status_events import MAX_ESCAPED_PAYLOAD_BYTES, epoch_millis, status_change_detail
from local_runtime.template import read_stack
from tests.local_aws import local_client
from tests.unit.local_runtime.step_functions.machines import (
    ACCOUNT,
    ECHO_ARN,
    PASS,
    REGION,
    create,
    ended,
    entered,
    start,
    wait_for,
)

EXECUTION = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:quick:run-1"
MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:quick"
STARTED = datetime(2026, 12, 5, 6, 0, 0, 123000, tzinfo=UTC)
STOPPED = datetime(2026, 12, 5, 6, 0, 2, 456000, tzinfo=UTC)
ALL_STATUS_CHANGES = {"source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"]}


def described(status: str, **fields: Any) -> dict[str, Any]:
    """An execution as moto's DescribeExecution output has it."""
    return {
        "executionArn": EXECUTION,
        "stateMachineArn": MACHINE,
        "name": "run-1",
        "status": status,
        "startDate": STARTED,
        "stopDate": None if status == "RUNNING" else STOPPED,
        "input": '{"trigger":"schedule"}',
        "redriveCount": 0,
        "redriveStatus": "NOT_REDRIVABLE" if status in {"RUNNING", "SUCCEEDED"} else "REDRIVABLE",
        **fields,
    }


def test_a_running_executions_detail_has_no_stop_date_output_error_or_cause() -> None:
    assert status_change_detail(described("RUNNING")) == {
        "executionArn": EXECUTION,
        "stateMachineArn": MACHINE,
        "name": "run-1",
        "status": "RUNNING",
        "startDate": 1796450400123,
        "stopDate": None,
        "input": '{"trigger":"schedule"}',
        "inputDetails": {"included": True},
        "output": None,
        "outputDetails": None,
        "redriveCount": 0,
        "redriveDate": None,
        "redriveStatus": "NOT_REDRIVABLE",
    }


def test_a_succeeded_executions_detail_has_its_output_and_a_failed_ones_its_error_and_cause() -> None:
    succeeded = status_change_detail(described("SUCCEEDED", output='{"ok":true}'))
    failed = status_change_detail(described("FAILED", output="ignored", error="Broke", cause="on purpose"))

    assert (succeeded["stopDate"], succeeded["output"], succeeded["outputDetails"]) == (
        1796450402456,
        '{"ok":true}',
        {"included": True},
    )
    assert "error" not in succeeded
    assert "cause" not in succeeded
    assert (failed["output"], failed["outputDetails"], failed["error"], failed["cause"]) == (
        None,
        None,
        "Broke",
        "on purpose",
    )


def quotes(count: int) -> str:
    """A text whose escaped form (each quote becomes \\") takes twice its length."""
    return '"' * count


def test_an_output_too_large_for_the_event_is_left_out_and_the_input_with_it() -> None:
    detail = status_change_detail(described("SUCCEEDED", output=quotes(MAX_ESCAPED_PAYLOAD_BYTES // 2 + 1)))

    assert (detail["output"], detail["outputDetails"]) == (None, {"included": False})
    assert (detail["input"], detail["inputDetails"]) == (None, {"included": False})


def test_an_input_that_fits_only_without_the_output_is_left_out_and_the_output_kept() -> None:
    execution_input, output = quotes(MAX_ESCAPED_PAYLOAD_BYTES // 2 - 10), "x" * 100

    detail = status_change_detail(described("SUCCEEDED", input=execution_input, output=output))

    assert (detail["input"], detail["inputDetails"]) == (None, {"included": False})
    assert (detail["output"], detail["outputDetails"]) == (output, {"included": True})
    assert status_change_detail(described("SUCCEEDED", input=execution_input, output="x"))["input"] == execution_input


@pytest.mark.compatibility("states:status-change-events")
def test_a_rule_on_status_changes_receives_the_start_and_the_end_of_an_execution(sfn: Any, aws: LocalAws) -> None:
    # GIVEN a rule on every Step Functions status change, targeting a function
    events = local_client(aws, "events")
    events.put_rule(Name="executions", EventPattern=json.dumps(ALL_STATUS_CHANGES))
    events.put_targets(Rule="executions", Targets=[{"Id": "echo", "Arn": ECHO_ARN}])

    # WHEN an execution runs to its end
    execution = start(sfn, create(sfn, "quick", PASS), execution_input='{"trigger": "schedule"}')
    final = ended(sfn, execution)
    assert aws.events.wait_until_idle(timeout_seconds=10)

    # THEN the function received RUNNING, then SUCCEEDED, each as Step Functions sends it
    received = [event for name, event in aws.functions.invocations if name == "echo"]
    by_status = {event["detail"]["status"]: event for event in received}
    assert sorted(by_status) == ["RUNNING", "SUCCEEDED"]
    assert len(received) == 2
    succeeded = by_status["SUCCEEDED"]
    assert (succeeded["source"], succeeded["detail-type"]) == ("aws.states", "Step Functions Execution Status Change")
    assert (succeeded["resources"], succeeded["account"], succeeded["region"]) == ([execution], ACCOUNT, REGION)
    assert succeeded["detail"] == {
        "executionArn": execution,
        "stateMachineArn": final["stateMachineArn"],
        "name": "run-1",
        "status": "SUCCEEDED",
        "startDate": epoch_millis(final["startDate"]),
        "stopDate": epoch_millis(final["stopDate"]),
        "input": final["input"],
        "inputDetails": {"included": True},
        "output": final["output"],
        "outputDetails": {"included": True},
        "redriveCount": 0,
        "redriveDate": None,
        "redriveStatus": "NOT_REDRIVABLE",
        "redriveStatusReason": "Execution is SUCCEEDED and cannot be redriven",
    }
    assert by_status["RUNNING"]["detail"]["stopDate"] is None
    assert by_status["RUNNING"]["detail"]["redriveStatusReason"] == "Execution is RUNNING and cannot be redriven"


# Routes on its input: fail, or wait the seconds given (the machine may run 5 s: long enough for a loaded machine to
# stop a run in its Wait before the timeout would end it).
ROUTED = {
    "StartAt": "Route",
    "TimeoutSeconds": 5,
    "States": {
        "Route": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.fail", "BooleanEquals": True, "Next": "Broken"}],
            "Default": "Sleep",
        },
        "Sleep": {"Type": "Wait", "SecondsPath": "$.seconds", "Next": "Done"},
        "Broken": {"Type": "Fail", "Error": "Broke", "Cause": "on purpose"},
        "Done": {"Type": "Pass", "End": True},
    },
}


def test_a_deployed_rule_on_runs_that_end_badly_receives_aborted_timed_out_and_failed_runs(
    sfn: Any, aws: LocalAws
) -> None:
    # GIVEN a template whose rule sends its machine's ABORTED, TIMED_OUT and FAILED executions to a function
    template = {
        "Resources": {
            "Reaper": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": "reaper",
                    "Handler": "tests.unit.local_runtime.step_functions.handlers.echo",
                },
            },
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"StateMachineName": "routed", "DefinitionString": json.dumps(ROUTED)},
            },
            "OnBadEnd": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "EventPattern": {
                        **ALL_STATUS_CHANGES,
                        "detail": {
                            "status": ["ABORTED", "TIMED_OUT", "FAILED"],
                            "stateMachineArn": [{"Ref": "Machine"}],
                        },
                    },
                    "Targets": [{"Id": "reaper", "Arn": {"Fn::GetAtt": ["Reaper", "Arn"]}}],
                },
            },
        }
    }
    machine = deploy(aws, read_stack(template, stack_name="runs", region=REGION)).state_machine_arn

    # WHEN one run is stopped, one runs past the machine's timeout, one fails and one succeeds
    stopped = start(sfn, machine, "stopped", '{"seconds": 30}')
    timed_out = start(sfn, machine, "timed-out", '{"seconds": 30}')
    failed = start(sfn, machine, "failed", '{"fail": true}')
    succeeded = start(sfn, machine, "succeeded", '{"seconds": 0}')
    wait_for(lambda: entered(sfn, stopped, "Sleep"), what="the Wait")
    sfn.stop_execution(executionArn=stopped, error="Manual", cause="stopped by the operator")
    assert [ended(sfn, arn)["status"] for arn in (timed_out, failed, succeeded)] == ["TIMED_OUT", "FAILED", "SUCCEEDED"]
    assert aws.events.wait_until_idle(timeout_seconds=10)

    # THEN the function received the three bad ends, each with what DescribeExecution says of its error and cause
    received = {
        event["detail"]["name"]: event["detail"] for name, event in aws.functions.invocations if name == "reaper"
    }
    assert sorted(received) == ["failed", "stopped", "timed-out"]
    assert {name: detail["status"] for name, detail in received.items()} == {
        "stopped": "ABORTED",
        "timed-out": "TIMED_OUT",
        "failed": "FAILED",
    }
    assert (received["stopped"]["error"], received["stopped"]["cause"]) == ("Manual", "stopped by the operator")
    assert (received["failed"]["error"], received["failed"]["cause"]) == ("Broke", "on purpose")
    assert "error" not in received["timed-out"]
