"""A local AWS for the Step Functions tests, emptied before each test, with the functions their machines invoke."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from local_runtime.event_bus import EventBus
from local_runtime.lambda_invoke import LocalFunction
from local_runtime.server import LocalAws
from tests.local_aws import local_client
from tests.unit.local_runtime.step_functions import handlers
from tests.unit.local_runtime.step_functions.machines import (
    ECHO_ARN,
    FIRST_ARN,
    HOLD_ARN,
    OVERSIZED_ARN,
    SECOND_ARN,
)

HANDLERS = "tests.unit.local_runtime.step_functions.handlers"


@pytest.fixture(scope="module")
def local_aws() -> Iterator[LocalAws]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with LocalAws(events=EventBus(retry_delay_seconds=0)) as aws:
        aws.register_function(LocalFunction("echo", ECHO_ARN, f"{HANDLERS}.echo"))
        aws.register_function(LocalFunction("hold", HOLD_ARN, f"{HANDLERS}.hold"))
        aws.register_function(LocalFunction("first", FIRST_ARN, f"{HANDLERS}.echo"))
        aws.register_function(LocalFunction("second", SECOND_ARN, f"{HANDLERS}.echo"))
        aws.register_function(LocalFunction("oversized", OVERSIZED_ARN, f"{HANDLERS}.oversized"))
        yield aws


@pytest.fixture
def aws(local_aws: LocalAws) -> Iterator[LocalAws]:
    """The module's local AWS with no machines, executions, rules or recorded invocations left by an earlier test."""
    requests.post(f"{local_aws.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()
    local_aws.functions.invocations.clear()
    local_aws.faults.clear()
    local_aws.events.deliveries.clear()
    handlers.HOLDING.clear()
    handlers.RELEASED.clear()
    yield local_aws
    handlers.RELEASED.set()  # a held function never outlives its test


@pytest.fixture
def sfn(aws: LocalAws) -> Any:
    return local_client(aws, "stepfunctions")
