"""StartExecution refuses an input over 256 KiB as Step Functions does, counting its UTF-8 bytes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local_runtime.step_functions.api import MAX_INPUT_BYTES
from tests.unit.local_runtime.step_functions.machines import PASS, WAIT, create, start

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
def test_an_input_over_256_kib_is_refused_and_starts_nothing(sfn: Any, execution_input: str) -> None:
    machine = create(sfn, "quick", PASS)
    assert len(execution_input) <= MAX_INPUT_BYTES + 1

    with pytest.raises(ClientError) as refused:
        start(sfn, machine, execution_input=execution_input)

    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert refused.value.response["Error"]["Message"] == TOO_LONG
    assert sfn.list_executions(stateMachineArn=machine)["executions"] == []
