"""Small state machines and the helpers that run them, for the Step Functions tests."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from typing import Any

REGION, ACCOUNT = "us-east-1", "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sfn"
ECHO_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:echo"
HOLD_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:hold"
FIRST_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:first"
SECOND_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:second"
OVERSIZED_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:oversized"

PASS = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
WAIT = {
    "StartAt": "Sleep",
    "States": {"Sleep": {"Type": "Wait", "Seconds": 30, "Next": "After"}, "After": {"Type": "Pass", "End": True}},
}
# A task waiting for its callback token, for far longer than any test.
CALLBACK = {
    "StartAt": "Await",
    "States": {
        "Await": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": ECHO_ARN, "Payload": {"token.$": "$$.Task.Token"}},
            "TimeoutSeconds": 60,
            "Next": "After",
        },
        "After": {"Type": "Pass", "End": True},
    },
}
# A Lambda that runs until the test releases it, then another Lambda.
HOLD = {
    "StartAt": "Hold",
    "States": {
        "Hold": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": HOLD_ARN, "Payload": {}},
            "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2, "IntervalSeconds": 1}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "After"}],
            "Next": "After",
        },
        "After": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": ECHO_ARN, "Payload": {"after": True}},
            "End": True,
        },
    },
}
# Two Lambdas, each wrapping its input in its own key: {"second": {"first": input}}.
TWO_LAMBDAS = {
    "StartAt": "First",
    "States": {
        "First": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": FIRST_ARN, "Payload.$": "$"},
            "ResultSelector": {"first.$": "$.Payload"},
            "Next": "Second",
        },
        "Second": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": SECOND_ARN, "Payload.$": "$"},
            "ResultSelector": {"second.$": "$.Payload"},
            "End": True,
        },
    },
}
FAIL = {"StartAt": "Broken", "States": {"Broken": {"Type": "Fail", "Error": "Broke", "Cause": "on purpose"}}}


def with_timeout(definition: dict[str, Any], seconds: int) -> dict[str, Any]:
    return {**definition, "TimeoutSeconds": seconds}


def create(sfn: Any, name: str, definition: dict[str, Any]) -> str:
    arn: str = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"]
    return arn


def start(sfn: Any, machine: str, name: str = "run-1", execution_input: str = "{}") -> str:
    arn: str = sfn.start_execution(stateMachineArn=machine, name=name, input=execution_input)["executionArn"]
    return arn


def history(sfn: Any, execution: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = sfn.get_execution_history(executionArn=execution)["events"]
    return events


def wait_for(condition: Callable[[], Any], timeout_seconds: float = 10.0, what: str = "the condition") -> Any:
    """The condition's first truthy value, polled every 50 ms."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} did not hold within {timeout_seconds} s")


def ended(sfn: Any, execution: str, timeout_seconds: float = 10.0) -> dict[str, Any]:
    """DescribeExecution once the execution has ended."""

    def described() -> dict[str, Any] | None:
        answer: dict[str, Any] = sfn.describe_execution(executionArn=execution)
        return answer if answer["status"] != "RUNNING" else None

    result: dict[str, Any] = wait_for(described, timeout_seconds, f"the end of {execution}")
    return result


def entered(sfn: Any, execution: str, state: str) -> bool:
    return any(e.get("stateEnteredEventDetails", {}).get("name") == state for e in history(sfn, execution))


def passes(count: int) -> dict[str, Any]:
    """A chain of `count` Pass states: a history of 2 * count + 2 events."""
    names = [f"Step{index}" for index in range(count)]
    states: dict[str, Any] = {name: {"Type": "Pass", "Next": after} for name, after in itertools.pairwise(names)}
    states[names[-1]] = {"Type": "Pass", "End": True}
    return {"StartAt": names[0], "States": states}
