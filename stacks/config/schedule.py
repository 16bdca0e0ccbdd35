"""A pipeline's `schedule`: an EventBridge rate or cron expression, checked as EventBridge would."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, WithJsonSchema

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.*)\)$")


def schedule_problem(expression: str) -> str | None:
    """Why EventBridge would refuse `expression`; None when it is a valid rate or cron expression."""
    rate = _RATE.match(expression)
    if rate:
        value, unit = int(rate[1]), rate[2]
        if value < 1:
            return "must be a rate of at least 1"
        if (value == 1) != (not unit.endswith("s")):
            singular = unit.rstrip("s")
            return f"must use '{singular}' for 1 and '{singular}s' otherwise, e.g. rate(1 {singular})"
        return None
    cron = _CRON.match(expression)
    if cron:
        parts = cron[1].split()
        if len(parts) != 6:
            return f"must be cron(minutes hours day-of-month month day-of-week year) with 6 fields, got {len(parts)}"
        if "?" not in (parts[2], parts[4]):
            return "must use '?' in day-of-month or day-of-week (EventBridge requires one of them)"
        return None
    return "must be 'rate(N minute|minutes|hour|hours|day|days)' or 'cron(<6 fields>)'"


def _check_schedule(expression: str) -> str:
    problem = schedule_problem(expression)
    if problem:
        raise ValueError(f"{problem}, got {expression!r}")
    return expression


Schedule = Annotated[
    str,
    Field(min_length=1),
    AfterValidator(_check_schedule),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(.*\))$",
            "description": "an EventBridge rate(...) or cron(...) expression",
        }
    ),
]
