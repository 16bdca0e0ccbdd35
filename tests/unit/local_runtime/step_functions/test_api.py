"""Step Functions' payload limits in the local runtime: StartExecution refuses an input over 256 KiB (counting its
UTF-8 bytes), the task callbacks refuse what is over their members' limits, and a task result over 256 KiB fails the
execution with States.DataLimitExceeded."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local_runtime.step_functions.api import MAX_INPUT_BYTES
from tests.unit.local_runtime.step_functions.machines import (
    CALLBACK,
    OVERSIZED_ARN,
    PASS,
    WAIT,
    create,
    ended,
    history,
    start,
    wait_for,
)

TOO_LONG = (
    "1 validation error detected: Value at 'input' failed to satisfy constraint: "
    "Member must have length less than or equal to 262144"
)


def input_of(size_in_bytes: int, character: str = "x") -> str:
    """A JSON object of exactly that many UTF-8 bytes, padded with the character."""
    frame = len(json.dumps({"pad": ""}).encode())
    padding, remainder = divmod(size_in_bytes - frame, len(character.encode()))
    text = json.dumps({"pad": character * padding + " " * remainder}, ensure_ascii=False)
    assert len(text.encode()) == size_in_bytes
    return text


def test_an_input_of_exactly_256_kib_is_accepted(sfn: Any) -> None:
    # (a machine that only waits: moto's interpreter measures a state's output with spaces after its separators)
    machine = create(sfn, "sleeper", WAIT)
    execution_input = input_of(MAX_INPUT_BYTES)

    execution = start(sfn, machine, execution_input=execution_input)

    described = sfn.describe_execution(executionArn=execution)
    assert described["status"] == "RUNNING"
    assert json.loads(described["input"]) == json.loads(execution_input)
    sfn.stop_execution(executionArn=execution)


@pytest.mark.reliability(
    "input",
    "An execution input over 256 KiB (counted in UTF-8 bytes), started in the local runtime",
    "StartExecution refuses it with Step Functions' ValidationException and starts nothing, as on AWS",
)
@pytest.mark.parametrize(
    "execution_input",
    [
        input_of(MAX_INPUT_BYTES + 1),
        # fewer characters than the limit, more bytes: the limit counts UTF-8 bytes
        input_of(MAX_INPUT_BYTES + 2, character="é"),
    ],
    ids=["one-byte-over", "multibyte-over"],
)
@pytest.mark.compatibility("states:payload-limits")
def test_an_input_over_256_kib_is_refused_and_starts_nothing(sfn: Any, execution_input: str) -> None:
    machine = create(sfn, "quick", PASS)
    assert len(execution_input) <= MAX_INPUT_BYTES + 1

    with pytest.raises(ClientError) as refused:
        start(sfn, machine, execution_input=execution_input)

    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert refused.value.response["Error"]["Message"] == TOO_LONG
    assert sfn.list_executions(stateMachineArn=machine)["executions"] == []


def callback_token(sfn: Any, execution: str) -> str:
    submitted = wait_for(lambda: [e for e in history(sfn, execution) if e["type"] == "TaskSubmitted"], what="submit")
    token: str = json.loads(submitted[0]["taskSubmittedEventDetails"]["output"])["Payload"]["token"]
    return token


@pytest.mark.parametrize(
    ("call", "arguments", "message"),
    [
        ("send_task_success", {"output": input_of(MAX_INPUT_BYTES + 1)}, TOO_LONG.replace("'input'", "'output'")),
        (
            "send_task_failure",
            {"error": "E" * 257},
            TOO_LONG.replace("'input'", "'error'").replace("262144", "256"),
        ),
    ],
    ids=["success-output-over-256-kib", "failure-error-over-256-characters"],
)
@pytest.mark.compatibility("states:payload-limits")
def test_a_task_callback_over_its_limits_is_refused_and_the_task_keeps_waiting(
    sfn: Any, call: str, arguments: dict[str, str], message: str
) -> None:
    execution = start(sfn, create(sfn, "awaiter", CALLBACK))
    token = callback_token(sfn, execution)

    with pytest.raises(ClientError) as refused:
        getattr(sfn, call)(taskToken=token, **arguments)

    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert refused.value.response["Error"]["Message"] == message
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
    sfn.send_task_success(taskToken=token, output='{"done": true}')  # the token still answers
    assert ended(sfn, execution)["status"] == "SUCCEEDED"


def test_a_task_result_over_256_kib_fails_the_execution_with_states_data_limit_exceeded(sfn: Any) -> None:
    definition = {
        "StartAt": "Large",
        "States": {
            "Large": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": OVERSIZED_ARN, "Payload": {}},
                "End": True,
            }
        },
    }

    described = ended(sfn, start(sfn, create(sfn, "large", definition)))

    assert (described["status"], described["error"]) == ("FAILED", "States.DataLimitExceeded")
