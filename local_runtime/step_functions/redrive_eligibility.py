"""Whether an execution can be redriven, and what DescribeExecution says of its redrives (redrive.py redrives).

The rules, from the API reference's RedriveExecution (botocore's stepfunctions service model carries the same text)
and the developer guide's "Restarting state machine executions with redrive" (redrive-executions.html):
- only a Standard execution that is not RUNNING nor SUCCEEDED (FAILED, TIMED_OUT, ABORTED) can be redriven;
- within the redrivable period of 14 days, which "starts from the day a state machine completes its execution"
  (taken here as 14 days after its stop date);
- while it has not exceeded the maximum open time of one year;
- while its history holds fewer than 24,999 events ("to accommodate the ExecutionRedriven history event and at least
  one other history event").
DescribeExecution's `redriveStatus` is NOT_REDRIVABLE exactly when RedriveExecution would answer
ExecutionNotRedrivable, and `redriveStatusReason` then names why, in the words the API reference lists
("Execution is RUNNING and cannot be redriven", "Execution redrivable period exceeded", ...). The error's message is
that reason: the words of the error are not documented (an inference, as other emulators make it).
`redriveCount` is 0 until a redrive succeeds; `redriveDate` is the last redrive's date, absent before.

Time comes from `clock`, which tests move instead of sleeping for two weeks.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.stepfunctions.parser.api import ExecutionStatus, StateMachineType
from moto.stepfunctions.parser.backend.execution import Execution

REDRIVABLE_PERIOD = timedelta(days=14)
MAX_OPEN_TIME = timedelta(days=365)
MAX_HISTORY_EVENTS_TO_REDRIVE = 24_999
# "The API will return idempotent responses for the last 10 client tokens used to successfully redrive the
# execution. These client tokens are valid for up to 15 minutes after they are first used." (RedriveExecution)
CLIENT_TOKENS_KEPT = 10
CLIENT_TOKEN_LIFETIME = timedelta(minutes=15)

REDRIVABLE, NOT_REDRIVABLE = "REDRIVABLE", "NOT_REDRIVABLE"
PERIOD_EXCEEDED = "Execution redrivable period exceeded"
HISTORY_LIMIT_EXCEEDED = "Execution history event limit exceeded"
MAX_TIME_EXCEEDED = "Execution has exceeded the max execution time"
# Not an AWS reason: the API reference only says RedriveExecution "is not supported by EXPRESS state machines".
EXPRESS_NOT_SUPPORTED = "Executions of EXPRESS state machines cannot be redriven"


def _now() -> datetime:
    return datetime.now(UTC)


clock: Callable[[], datetime] = _now


@dataclass
class Redrives:
    """An execution's redrives so far, and the client tokens of the recent ones with the date of the redrive each
    one made (the token's first use)."""

    count: int = 0
    date: datetime | None = None
    client_tokens: dict[str, datetime] = field(default_factory=dict)

    def remembered(self, token: str, now: datetime) -> datetime | None:
        """The redrive date answered to this token, if it is one of the last ones and still valid."""
        first_used = self.client_tokens.get(token)
        return first_used if first_used is not None and now - first_used <= CLIENT_TOKEN_LIFETIME else None

    def record(self, date: datetime, token: str | None) -> None:
        self.count, self.date = self.count + 1, date
        if token is not None:
            self.client_tokens[token] = date
            while len(self.client_tokens) > CLIENT_TOKENS_KEPT:
                del self.client_tokens[next(iter(self.client_tokens))]


_redrives: weakref.WeakKeyDictionary[Execution, Redrives] = weakref.WeakKeyDictionary()


def redrives_of(execution: Execution) -> Redrives:
    return _redrives.setdefault(execution, Redrives())


def not_redrivable_reason(execution: Execution, history_length: int, now: datetime) -> str | None:
    """Why RedriveExecution refuses the execution now; None if it can be redriven."""
    status = execution.exec_status
    if execution.sm_type == StateMachineType.EXPRESS:
        return EXPRESS_NOT_SUPPORTED
    if status in (ExecutionStatus.RUNNING, ExecutionStatus.SUCCEEDED) or status is None:
        return f"Execution is {status.value if status else 'RUNNING'} and cannot be redriven"
    if history_length >= MAX_HISTORY_EVENTS_TO_REDRIVE:
        return HISTORY_LIMIT_EXCEEDED
    if now - _aware(execution.start_date) > MAX_OPEN_TIME:
        return MAX_TIME_EXCEEDED
    stop_date = execution.stop_date
    if stop_date is not None and now - _aware(stop_date) > REDRIVABLE_PERIOD:
        return PERIOD_EXCEEDED
    return None


def redrive_fields(execution: Execution, history_length: int) -> dict[str, Any]:
    """DescribeExecution's redrive members for the execution as it is now."""
    redrives = _redrives.get(execution) or Redrives()
    fields: dict[str, Any] = {"redriveCount": redrives.count}
    if redrives.date is not None:
        fields["redriveDate"] = redrives.date
    reason = not_redrivable_reason(execution, history_length, clock())
    fields["redriveStatus"] = REDRIVABLE if reason is None else NOT_REDRIVABLE
    if reason is not None:
        fields["redriveStatusReason"] = reason
    return fields


def history_length(execution: Execution) -> int:
    worker = execution.exec_worker
    env = worker.env if worker is not None else None
    return len(env.event_manager._history_event_list) if env is not None else 0


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
