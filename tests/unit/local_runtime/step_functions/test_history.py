"""GetExecutionHistory pages as the API reference documents: maxResults (default 100, at most 1000), an opaque
nextToken, reverseOrder, and includeExecutionData."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from local_runtime.step_functions.history import history_page
from tests.unit.local_runtime.step_functions.machines import create, ended, passes, start

STEPS = 60  # 122 events: more than the default page


def every_page(sfn: Any, execution: str, **arguments: Any) -> list[list[dict[str, Any]]]:
    pages, token = [], None
    while True:
        answer = sfn.get_execution_history(
            executionArn=execution, **arguments, **({"nextToken": token} if token else {})
        )
        pages.append(answer["events"])
        token = answer.get("nextToken")
        if token is None:
            return pages


@pytest.fixture
def long_run(sfn: Any) -> str:
    execution = start(sfn, create(sfn, "long", passes(STEPS)), execution_input='{"n": 1}')
    assert ended(sfn, execution)["status"] == "SUCCEEDED"
    return execution


def test_pages_hold_100_events_by_default_and_chain_through_the_whole_history(sfn: Any, long_run: str) -> None:
    pages = every_page(sfn, long_run)

    assert [len(page) for page in pages] == [100, 2 * STEPS + 2 - 100]
    assert [e["id"] for page in pages for e in page] == list(range(1, 2 * STEPS + 3))


@pytest.mark.compatibility("states:GetExecutionHistory")
def test_max_results_sizes_the_pages_and_reverse_order_serves_the_newest_first(sfn: Any, long_run: str) -> None:
    forward = every_page(sfn, long_run, maxResults=50)
    backward = every_page(sfn, long_run, maxResults=50, reverseOrder=True)

    assert [len(page) for page in forward] == [50, 50, 22]
    ids = [e["id"] for page in forward for e in page]
    assert [e["id"] for page in backward for e in page] == ids[::-1]
    assert backward[0][0]["type"] == "ExecutionSucceeded"
    assert sfn.get_execution_history(executionArn=long_run, maxResults=1000)["events"][-1]["id"] == 2 * STEPS + 2


@pytest.mark.compatibility("states:GetExecutionHistory")
def test_without_execution_data_no_event_carries_an_input_or_output(sfn: Any, long_run: str) -> None:
    events = sfn.get_execution_history(executionArn=long_run, maxResults=1000, includeExecutionData=False)["events"]
    with_data = sfn.get_execution_history(executionArn=long_run, maxResults=1000)["events"]

    details = [value for event in events for key, value in event.items() if key.endswith("EventDetails")]
    assert details
    assert not [d for d in details if "input" in d or "output" in d]
    assert (
        events[0]["executionStartedEventDetails"]["roleArn"] == with_data[0]["executionStartedEventDetails"]["roleArn"]
    )
    assert with_data[0]["executionStartedEventDetails"]["input"] == '{"n": 1}'


@pytest.mark.compatibility("states:GetExecutionHistory")
@pytest.mark.parametrize("token", ["not-a-token", "eyJhZnRlciI6ICJ4In0="], ids=["garbage", "not-ours"])
def test_an_invalid_token_is_refused(sfn: Any, long_run: str, token: str) -> None:
    with pytest.raises(ClientError) as refused:
        sfn.get_execution_history(executionArn=long_run, nextToken=token)

    assert refused.value.response["Error"]["Code"] == "InvalidToken"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_token_used_with_other_arguments_is_refused(sfn: Any, long_run: str) -> None:
    token = sfn.get_execution_history(executionArn=long_run, maxResults=10)["nextToken"]

    with pytest.raises(ClientError) as refused:
        sfn.get_execution_history(executionArn=long_run, maxResults=10, nextToken=token, reverseOrder=True)

    assert refused.value.response["Error"]["Code"] == "InvalidToken"


def test_more_than_1000_results_per_page_is_refused(sfn: Any, long_run: str) -> None:
    with pytest.raises(ClientError) as refused:
        sfn.get_execution_history(executionArn=long_run, maxResults=1001)

    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert refused.value.response["Error"]["Message"] == (
        "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: "
        "Member must have value less than or equal to 1000"
    )


def test_zero_results_per_page_means_the_default() -> None:
    events = [{"id": index, "type": "PassStateEntered"} for index in range(1, 151)]

    page = history_page(events, max_results=0, next_token=None, reverse=False, include_data=True)

    assert len(page["events"]) == 100
    assert "nextToken" in page
