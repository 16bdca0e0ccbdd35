"""A function that invokes another synchronously through the local Lambda, as RunEnded invokes CleanUp and
NotifySlack: the local runtime runs one invocation at a time, and the one waited for runs in its caller's turn."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from local_runtime.lambda_invoke import LocalFunction
from local_runtime.server import LocalAws
from tests.local_aws import local_client

HANDLERS = "tests.unit.local_runtime.nested_handler"
ACCOUNT, REGION = "123456789012", "us-east-1"


def function(name: str, handler: str, *, role: bool = True) -> LocalFunction:
    return LocalFunction(
        name,
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
        f"{HANDLERS}.{handler}",
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/{name}-role" if role else None,
    )


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    with LocalAws() as server:
        server.register_function(function("caller", "caller"))
        server.register_function(function("callee", "callee"))
        yield server


def invoke(aws: LocalAws, name: str, event: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    response = local_client(aws, "lambda").invoke(FunctionName=name, Payload=json.dumps(event))
    return response, json.loads(response["Payload"].read())


@pytest.mark.compatibility("lambda:Invoke")
def test_a_function_that_invokes_another_gets_its_answer(aws: LocalAws) -> None:
    # WHEN a function invokes another synchronously while it runs
    response, answer = invoke(aws, "caller", {"callee": "callee"})

    # THEN the other ran (in the caller's turn, not after it) and answered
    assert "FunctionError" not in response, answer
    assert answer == {"caller": "caller", "answer": {"callee": "callee", "received": {"from": "caller"}}}
    called = [name for name, _ in aws.functions.invocations]
    assert called[-2:] == ["caller", "callee"]


def test_the_next_invocation_after_a_nested_one_takes_its_turn_as_before(aws: LocalAws) -> None:
    # GIVEN a nested invocation has ended
    invoke(aws, "caller", {"callee": "callee"})

    # WHEN the callee is invoked again, from outside
    _, answer = invoke(aws, "callee", {"plain": True})

    # THEN it runs at once: the nested invocation left the lock free
    assert answer == {"callee": "callee", "received": {"plain": True}}
