"""An execution's history read as the states it went through: each state's kind, times, result or error."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

_TASK_FAILURES = frozenset({"TaskFailed", "TaskTimedOut", "LambdaFunctionFailed", "LambdaFunctionTimedOut"})
_EXECUTION_ENDS = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"})


@dataclass(frozen=True)
class StateRun:
    """One visit of a state, read from the execution history."""

    name: str
    kind: str  # Task, Choice, Wait, Pass, Succeed, Fail, ...
    entered: datetime
    exited: datetime | None
    output: Mapping[str, Any]
    result: Any  # a task's result (the Lambda's payload), before ResultPath/OutputPath
    error: str | None
    cause: str | None
    attempts: int
    next_state: str | None  # the state entered after this one: a Choice's chosen branch

    @property
    def seconds(self) -> float:
        return (self.exited - self.entered).total_seconds() if self.exited else 0.0

    @property
    def failed(self) -> bool:
        return self.error is not None or self.kind == "Fail"


def state_runs(events: Iterable[Mapping[str, Any]]) -> tuple[list[StateRun], bool]:
    """The states the history shows as ended, in order, and whether the execution itself has ended.

    A state has ended when it exited (a Choice also once its branch is entered), or when it is the Fail
    state that ended the execution.
    """
    ended: list[StateRun] = []
    current: dict[str, Any] | None = None
    finished = False
    for event in events:
        kind = str(event.get("type", ""))
        when = _timestamp(event.get("timestamp"))
        if kind.endswith("StateEntered"):
            name = str(event["stateEnteredEventDetails"]["name"])
            if current is not None and current["exited"] is not None:
                current["next_state"] = name
                ended.append(_freeze(current))
            current = _new_state(name, kind.removesuffix("StateEntered"), when)
        elif current is None:
            finished = finished or kind in _EXECUTION_ENDS
            continue
        elif kind == "TaskScheduled":
            current["attempts"] += 1
        elif kind in ("TaskSucceeded", "LambdaFunctionSucceeded"):
            details = _details(event)
            current["result"] = _payload(details.get("output"))
            current["error"] = current["cause"] = None  # an earlier attempt's failure was retried
        elif kind in _TASK_FAILURES:
            details = _details(event)
            current["error"] = details.get("error") or kind
            current["cause"] = details.get("cause")
        elif kind.endswith("StateExited"):
            current["exited"] = when
            current["output"] = json_object(event["stateExitedEventDetails"].get("output"))
            if current["kind"] != "Choice":
                ended.append(_freeze(current))
                current = None
        elif kind in _EXECUTION_ENDS:
            finished = True
            details = _details(event)
            if current["kind"] == "Fail":
                current["exited"] = when
                current["error"] = details.get("error") or "Failed"
                current["cause"] = details.get("cause")
            if current["kind"] in ("Fail", "Choice"):
                ended.append(_freeze(current))
            current = None
    return ended, finished


def _new_state(name: str, kind: str, when: datetime) -> dict[str, Any]:
    return {
        "name": name,
        "kind": kind,
        "entered": when,
        "exited": None,
        "output": {},
        "result": None,
        "error": None,
        "cause": None,
        "attempts": 0,
        "next_state": None,
    }


def _freeze(state: Mapping[str, Any]) -> StateRun:
    return StateRun(**state)


def _details(event: Mapping[str, Any]) -> Mapping[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, Mapping):
            return value
    return {}


def _timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def json_object(text: Any) -> Mapping[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, Mapping) else {}


def _payload(text: Any) -> Any:
    """A Lambda task's result: the `Payload` of lambda:invoke's answer."""
    answer = json_object(text)
    return answer.get("Payload", answer)
