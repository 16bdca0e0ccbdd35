"""The run input's `scheduled_time`: when the pipeline schedule's tick was due, as EventBridge Scheduler says.

Scheduler substitutes `<aws.scheduler.scheduled-time>` with the tick's time in UTC, ISO 8601
(https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html, e.g.
2022-11-21T17:10:00Z). A person repeating a scheduled run may write an offset instead of Z: any ISO 8601 date and
time with an explicit offset is taken, a time without one is refused (its day would be a guess).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from contract.names import SCHEDULED_TIME_FIELD
from lambdas.common.errors import InvalidRunInputError

# Date, time to the second (fractions allowed), and Z or ±hh:mm: Python 3.11's fromisoformat reads more (week
# dates, compact forms), which is not what Scheduler sends.
_ISO_WITH_OFFSET = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$"
)


def parse_scheduled_time(value: Any) -> datetime | None:
    """The scheduled time in UTC, or None when the input has none; InvalidRunInputError naming the field."""
    if value is None:
        return None
    expected = f"field '{SCHEDULED_TIME_FIELD}' must be an ISO 8601 time with its offset like 2026-12-05T04:00:00Z"
    if not isinstance(value, str) or not _ISO_WITH_OFFSET.match(value):
        raise InvalidRunInputError(f"{expected}, got {value!r}")
    try:
        return datetime.fromisoformat(value).astimezone(UTC)
    except ValueError:
        raise InvalidRunInputError(f"{expected}, got {value!r} (no such date or time)") from None


def format_utc(moment: datetime) -> str:
    """The time as Scheduler writes it: UTC, to the second, with Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
