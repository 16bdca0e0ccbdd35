"""How EventBridge Scheduler delivers a pipeline's schedule: the time zone it reads it in, and its retries.

Facts, as AWS documents them (read 2026-12):
- https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html: ScheduleExpressionTimezone
  is "the timezone in which the scheduling expression is evaluated", default UTC; the time zones are IANA's.
- https://docs.aws.amazon.com/scheduler/latest/APIReference/API_RetryPolicy.html: MaximumRetryAttempts 0-185
  (default 185), MaximumEventAgeInSeconds 60-86400 (default 86400); aws-cdk-lib's ScheduleTargetBaseProps states
  the same limits and defaults.
- https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html: a cron schedule follows daylight
  saving time in its zone; an invocation that falls in the hour skipped in spring is skipped, the hour repeated in
  autumn runs once.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, StrictInt

from stacks.config.fields import Rule, Section

MAX_RETRY_ATTEMPTS = 185
MIN_EVENT_AGE_SECONDS = 60
MAX_EVENT_AGE_SECONDS = 86_400
# IANA names are area/location words; the local copies of the database also hold files that are not zones
# (posix/, right/, zone.tab), which ZoneInfo may open but Scheduler does not list.
_IANA_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}$")
_NOT_ZONES = ("posix/", "right/", "posixrules", "localtime", "Factory")


@cache
def time_zone_problem(name: str) -> str | None:
    """Why `name` is not an IANA time zone Scheduler would take; None when it is one.

    The zone data comes from the system (/usr/share/zoneinfo) or, where the system has none, from the `tzdata`
    package the project's dependencies pin: synth needs no network either way.
    """
    if not _IANA_NAME.match(name) or name.startswith(_NOT_ZONES):
        return "is not an IANA time zone name such as Europe/Berlin, America/New_York or UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "is not a time zone of the IANA database (names are case-sensitive: Europe/Berlin)"
    return None


def _check_time_zone(name: str) -> str:
    problem = time_zone_problem(name)
    if problem:
        raise ValueError(f"{name!r} {problem}")
    return name


_TIME_ZONE_RULE = "an IANA time zone name (Europe/Berlin, America/New_York, UTC) the schedule is read in"

TimeZoneName = Annotated[str, Field(min_length=1), AfterValidator(_check_time_zone), Rule(_TIME_ZONE_RULE)]


class ScheduleRetryConfig(Section):
    """How long EventBridge Scheduler keeps trying to start a run whose StartExecution failed, before it sends the
    tick to the schedule's dead-letter queue. Scheduler's own defaults: 185 retries within 24 hours."""

    maximum_retry_attempts: StrictInt = Field(default=MAX_RETRY_ATTEMPTS, ge=0, le=MAX_RETRY_ATTEMPTS)
    maximum_event_age_seconds: StrictInt = Field(
        default=MAX_EVENT_AGE_SECONDS, ge=MIN_EVENT_AGE_SECONDS, le=MAX_EVENT_AGE_SECONDS
    )
