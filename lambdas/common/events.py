"""The event every task receives from the state machine: the workflow state plus the execution it runs in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lambdas.common.errors import InvalidStepEventError


@dataclass(frozen=True)
class Execution:
    """The Step Functions execution a task runs in (from the `$$.Execution` context object)."""

    id: str
    name: str
    start_time: datetime

    @property
    def region(self) -> str:
        # arn:aws:states:<region>:<account>:execution:<machine>:<name>
        parts = self.id.split(":")
        return parts[3] if len(parts) > 3 else ""

    @property
    def console_url(self) -> str:
        """Link to this execution in the Step Functions console."""
        region = self.region
        return f"https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{self.id}"

    def to_state(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "start_time": format_timestamp(self.start_time)}


@dataclass(frozen=True)
class StepEvent:
    """A task's event: `state` is the workflow state so far, `execution` where it runs, `params` the rest.

    The state stays a dict so each task passes on what it does not read exactly as it came; the sections a task
    reads are typed where it reads them (lambdas.common.models).
    """

    state: dict[str, Any]
    execution: Execution
    params: dict[str, Any]

    @classmethod
    def parse(cls, event: Any) -> StepEvent:
        """Read the event the ASL's Payload builds; raise InvalidStepEventError naming the bad field."""
        if not isinstance(event, dict):
            raise InvalidStepEventError(f"event must be a JSON object, got {type(event).__name__}")
        state = event.get("state", {})
        if not isinstance(state, dict):
            raise InvalidStepEventError("event field 'state' must be a JSON object")
        raw_execution = event.get("execution")
        if not isinstance(raw_execution, dict):
            raise InvalidStepEventError("event field 'execution' must be a JSON object")
        try:
            execution = Execution(
                id=str(raw_execution["id"]),
                name=str(raw_execution["name"]),
                start_time=parse_timestamp(str(raw_execution["start_time"])),
            )
        except KeyError as missing:
            raise InvalidStepEventError(f"event field 'execution.{missing.args[0]}' is missing") from None
        except ValueError as error:
            raise InvalidStepEventError(f"event field 'execution.start_time': {error}") from None
        params = {k: v for k, v in event.items() if k not in ("state", "execution")}
        return cls(state=state, execution=execution, params=params)


def parse_timestamp(value: str) -> datetime:
    """Parse an ISO 8601 timestamp (Step Functions writes `2026-11-22T06:00:00.123Z`) as aware UTC."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_timestamp(value: datetime) -> str:
    """Format an aware datetime as ISO 8601 UTC with a trailing Z."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
