"""When recurring schedules are due: cron in its time zone across daylight saving time, the wildcards, and rates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from local_runtime.schedule_expressions import next_cron_tick, rate_interval

BERLIN = ZoneInfo("Europe/Berlin")


def ticks(expression: str, zone: str, start: datetime, count: int) -> list[datetime]:
    found: list[datetime] = []
    moment = start
    for _ in range(count):
        tick = next_cron_tick(expression, zone, moment)
        assert tick is not None
        found.append(tick)
        moment = tick + timedelta(minutes=1)
    return found


def test_a_daily_5_am_berlin_run_stays_at_5_local_across_the_spring_change() -> None:
    # Berlin moves from UTC+1 to UTC+2 on Sunday 2027-03-28
    found = ticks("cron(0 5 * * ? *)", "Europe/Berlin", datetime(2027, 3, 27, 0, 0, tzinfo=UTC), 3)

    assert [t.astimezone(BERLIN).hour for t in found] == [5, 5, 5]
    assert [t.hour for t in found] == [4, 3, 3]  # in UTC: an hour earlier once summer time starts


def test_a_daily_5_am_berlin_run_stays_at_5_local_across_the_autumn_change() -> None:
    # Berlin moves back to UTC+1 on Sunday 2026-10-25
    found = ticks("cron(0 5 * * ? *)", "Europe/Berlin", datetime(2026, 10, 24, 0, 0, tzinfo=UTC), 3)

    assert [t.astimezone(BERLIN).hour for t in found] == [5, 5, 5]
    assert [t.hour for t in found] == [3, 4, 4]


def test_a_tick_in_the_hour_skipped_in_spring_is_skipped() -> None:
    # 02:30 does not exist in Berlin on 2027-03-28 (02:00 becomes 03:00)
    found = ticks("cron(30 2 * * ? *)", "Europe/Berlin", datetime(2027, 3, 27, 0, 0, tzinfo=UTC), 2)

    assert [t.astimezone(BERLIN).date().isoformat() for t in found] == ["2027-03-27", "2027-03-29"]


def test_a_tick_in_the_hour_repeated_in_autumn_runs_once() -> None:
    found = ticks("cron(30 2 * * ? *)", "Europe/Berlin", datetime(2026, 10, 24, 12, 0, tzinfo=UTC), 2)

    assert [t.astimezone(BERLIN).date().isoformat() for t in found] == ["2026-10-25", "2026-10-26"]
    assert found[0] == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the first 02:30, still summer time


def test_a_tick_exactly_now_is_due_now_and_seconds_round_up_to_the_next_minute() -> None:
    now = datetime(2026, 12, 5, 4, 0, tzinfo=UTC)

    assert next_cron_tick("cron(0 5 * * ? *)", "Europe/Berlin", now) == now
    assert next_cron_tick("cron(0 5 * * ? *)", "Europe/Berlin", now + timedelta(seconds=1)) == now + timedelta(days=1)


@pytest.mark.parametrize(
    ("expression", "start", "expected"),
    [
        # the last day of the month, and the last weekday (2027-01-31 is a Sunday)
        ("cron(0 12 L * ? *)", datetime(2027, 2, 1), ["2027-02-28", "2027-03-31"]),
        ("cron(0 12 LW * ? *)", datetime(2027, 1, 1), ["2027-01-29", "2027-02-26"]),
        # the weekday nearest the 1st (2027-05-01 is a Saturday: Monday the 3rd, not April)
        ("cron(0 12 1W * ? *)", datetime(2027, 5, 1), ["2027-05-03", "2027-06-01"]),
        # the weekday nearest the 15th (2027-05-15 is a Saturday: Friday the 14th)
        ("cron(0 12 15W * ? *)", datetime(2027, 5, 1), ["2027-05-14", "2027-06-15"]),
        # the third Saturday, and the last Friday of the month
        ("cron(0 12 ? * SAT#3 *)", datetime(2027, 1, 1), ["2027-01-16", "2027-02-20"]),
        ("cron(0 12 ? * 6L *)", datetime(2027, 1, 1), ["2027-01-29", "2027-02-26"]),
        # weekdays only, and a year list
        ("cron(0 12 ? * MON-FRI *)", datetime(2027, 1, 1), ["2027-01-01", "2027-01-04"]),
        ("cron(0 12 1 JAN ? 2028,2030)", datetime(2027, 1, 1), ["2028-01-01", "2030-01-01"]),
    ],
)
def test_day_wildcards(expression: str, start: datetime, expected: list[str]) -> None:
    found = ticks(expression, "UTC", start.replace(tzinfo=UTC), len(expected))

    assert [t.date().isoformat() for t in found] == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("cron(0/20 * * * ? *)", ["00:00", "00:20", "00:40", "01:00"]),
        ("cron(5,35 22-1 * * ? *)", ["00:05", "00:35", "01:05", "01:35"]),  # a range that wraps past midnight
        ("cron(*/30 9 * * ? *)", ["09:00", "09:30", "09:00", "09:30"]),
    ],
)
def test_minute_and_hour_lists_ranges_and_steps(expression: str, expected: list[str]) -> None:
    found = ticks(expression, "UTC", datetime(2027, 1, 1, tzinfo=UTC), len(expected))

    assert [t.strftime("%H:%M") for t in found] == expected


def test_a_schedule_whose_years_are_past_has_no_next_tick() -> None:
    assert next_cron_tick("cron(0 12 * * ? 2020)", "UTC", datetime(2027, 1, 1, tzinfo=UTC)) is None


@pytest.mark.parametrize(
    ("expression", "interval"),
    [("rate(1 minute)", timedelta(minutes=1)), ("rate(6 hours)", timedelta(hours=6)), ("rate(2 days)", timedelta(2))],
)
def test_rates_are_fixed_intervals_whatever_the_wall_clock(expression: str, interval: timedelta) -> None:
    assert rate_interval(expression) == interval
    assert rate_interval("cron(0 5 * * ? *)") is None
