"""An execution as Step Functions reports it: its description and every event of its history."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from types_boto3_stepfunctions import SFNClient


class ExecutionNotFoundError(Exception):
    """Step Functions has no execution with that ARN; the message names it, its state machine and where."""


def describe_execution(sfn: SFNClient, arn: str, *, where: str) -> dict[str, Any]:
    """DescribeExecution; raise ExecutionNotFoundError when there is no such execution in `where`."""
    try:
        return dict(sfn.describe_execution(executionArn=arn))
    except ClientError as error:
        if error.response["Error"].get("Code") != "ExecutionDoesNotExist":
            raise
    # arn:aws:states:<region>:<account>:execution:<state machine>:<name>
    parts = arn.split(":")
    state_machine, name = (parts[6], parts[7]) if len(parts) >= 8 else ("?", arn)
    raise ExecutionNotFoundError(
        f"execution {name} not found: state machine {state_machine} in {where} has no execution of that name"
    )


@dataclass(frozen=True)
class ExecutionRecord:
    arn: str
    status: str
    output: Any
    error: str | None
    cause: str | None
    history: list[dict[str, Any]]

    @classmethod
    def from_description(cls, described: Mapping[str, Any], history: list[dict[str, Any]]) -> ExecutionRecord:
        """Build the record from DescribeExecution's answer and the execution's history."""
        output = described.get("output")
        return cls(
            arn=described["executionArn"],
            status=described["status"],
            output=json.loads(output) if output else None,
            error=described.get("error"),
            cause=described.get("cause"),
            history=history,
        )

    def states_entered(self) -> list[str]:
        """Names of the states the execution entered, in order."""
        return [event[key]["name"] for event in self.history for key in event if key == "stateEnteredEventDetails"]


def execution_history(sfn: SFNClient, arn: str) -> list[dict[str, Any]]:
    """Every event of the execution, oldest first."""
    events: list[dict[str, Any]] = []
    arguments: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**arguments)
        events.extend(dict(event) for event in page["events"])
        if not page.get("nextToken"):
            return events
        arguments["nextToken"] = page["nextToken"]
