"""When EventBridge Scheduler's recurring schedules are due: `rate(...)` and `cron(...)` read in their time zone.

As AWS documents it (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html, and the
knowledge-center article eventbridge-scheduler-adjust-dst, read 2026-12):
- cron fields: minutes hours day-of-month month day-of-week year, with `, - * / ?`, `L` and `W` in day-of-month,
  `L` and `#` in day-of-week (1-7 = SUN-SAT); the grammar is checked at synth (stacks/config/schedule.py), so this
  assumes a valid expression.
- a cron schedule follows its time zone's daylight saving time: an invocation that falls in the hour skipped in
  spring is skipped, one in the hour repeated in autumn runs once (here: at its first occurrence).
- `rate(n days)` is n times 24 hours after the previous invocation whatever the clock on the wall says, and a rate
  schedule without a StartDate invokes its target right away.
- invocations have a precision of one minute: a tick is the start of its minute.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from stacks.config.schedule import CRON_FIELDS, CronField

_RATE = re.compile(r"^rate\((?P<value>[0-9]+) (?P<unit>minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((?P<body>.*)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
# How far ahead a cron schedule is searched for its next tick: a valid expression whose years lie behind (or one
# naming 29 February 2100) has none.
_SEARCH_DAYS = 366 * 8


def rate_interval(expression: str) -> timedelta | None:
    """A rate expression's interval; None for any other expression."""
    match = _RATE.match(expression)
    if match is None:
        return None
    return timedelta(seconds=int(match["value"]) * _UNIT_SECONDS[match["unit"].removesuffix("s")])


def is_cron(expression: str) -> bool:
    return _CRON.match(expression) is not None


def next_cron_tick(expression: str, zone_name: str, at_or_after: datetime) -> datetime | None:
    """The first tick of `cron(...)` at or after `at_or_after` (aware), in UTC; None when there is none ahead."""
    cron = _parse(expression)
    zone = ZoneInfo(zone_name)
    start = at_or_after.astimezone(UTC)
    if start.second or start.microsecond:
        start = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    local_day = start.astimezone(zone).date() - timedelta(days=1)  # a tick of the local day before may still be ahead
    for offset in range(_SEARCH_DAYS):
        day = local_day + timedelta(days=offset)
        if not cron.day_matches(day):
            continue
        for hour in cron.hours:
            for minute in cron.minutes:
                tick = _existing_local_time(day, hour, minute, zone)
                if tick is not None and tick >= start:
                    return tick
    return None


def _existing_local_time(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime | None:
    """The UTC instant of a wall-clock time in `zone`: None in the hour skipped in spring, the first of the two in
    the hour repeated in autumn (fold 0)."""
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None  # the wall clock jumped over it
    return instant


@dataclass(frozen=True)
class _Cron:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    day_of_month: str
    months: frozenset[int]
    day_of_week: str
    years: frozenset[int]

    def day_matches(self, day: date) -> bool:
        if day.month not in self.months or day.year not in self.years:
            return False
        if self.day_of_month != "?":
            return _day_of_month_matches(self.day_of_month, day)
        return _day_of_week_matches(self.day_of_week, day)


@cache
def _parse(expression: str) -> _Cron:
    match = _CRON.match(expression)
    if match is None:
        raise ValueError(f"not a cron expression: {expression!r}")
    minutes, hours, day_of_month, months, day_of_week, years = match["body"].split()
    fields = dict(zip(("minutes", "hours", "month", "year"), (CRON_FIELDS[i] for i in (0, 1, 3, 5)), strict=True))
    return _Cron(
        minutes=tuple(sorted(_values(fields["minutes"], minutes))),
        hours=tuple(sorted(_values(fields["hours"], hours))),
        day_of_month=day_of_month,
        months=frozenset(_values(fields["month"], months)),
        day_of_week=day_of_week,
        years=frozenset(_values(fields["year"], years)),
    )


def _values(field: CronField, text: str) -> set[int]:
    """Every value a list of `*`, values and ranges (each with an optional /step) stands for."""
    values: set[int] = set()
    for item in text.split(","):
        span, _, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        if span in ("*", "?"):
            first, last = field.low, field.high
        elif "-" in span:
            first, last = (_number(field, end) for end in span.split("-", 1))
        else:
            first = _number(field, span)
            last = field.high if step_text else first  # "5/15": from 5 to the end, every 15
        if last < first:  # a range that wraps past the field's end (hours 20-2)
            candidates = [*range(first, field.high + 1), *range(field.low, last + 1)]
        else:
            candidates = list(range(first, last + 1))
        values.update(candidates[::step])
    return values


def _number(field: CronField, text: str) -> int:
    return field.names.index(text) + field.low if text in field.names else int(text)


def _aws_weekday(day: date) -> int:
    """1 for Sunday through 7 for Saturday, as cron's day-of-week counts."""
    return (day.weekday() + 1) % 7 + 1


def _day_of_month_matches(text: str, day: date) -> bool:
    last = calendar.monthrange(day.year, day.month)[1]
    if text == "L":
        return day.day == last
    if text == "LW":
        return day.day == _nearest_weekday(day, last)
    if text.endswith("W"):
        return day.day == _nearest_weekday(day, int(text[:-1]))
    return day.day in _values(CRON_FIELDS[2], text)


def _nearest_weekday(day: date, target: int) -> int:
    """The weekday (Monday-Friday) nearest day `target` of `day`'s month, never outside the month (Quartz's W)."""
    last = calendar.monthrange(day.year, day.month)[1]
    target = min(target, last)
    weekday = date(day.year, day.month, target).weekday()
    if weekday == 5:  # Saturday: the Friday before, or the Monday after when the 1st is a Saturday
        return target - 1 if target > 1 else target + 2
    if weekday == 6:  # Sunday: the Monday after, or the Friday before when the month ends on a Sunday
        return target + 1 if target < last else target - 2
    return target


def _day_of_week_matches(text: str, day: date) -> bool:
    weekday = _aws_weekday(day)
    field = CRON_FIELDS[4]
    if text == "L":
        return weekday == field.high  # L alone is the week's last day, Saturday
    if text.endswith("L"):
        last = calendar.monthrange(day.year, day.month)[1]
        return weekday == _number(field, text[:-1]) and day.day + 7 > last
    if "#" in text:
        which, nth = text.split("#")
        return weekday == _number(field, which) and (day.day - 1) // 7 + 1 == int(nth)
    return weekday in _values(field, text)
