"""A scheduled run's window ends on the day its tick was due (the input's scheduled_time), however late it starts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from lambdas.check_data.core import RunInput, check_data
from lambdas.common.errors import InvalidRunInputError
from lambdas.common.events import Execution
from tests.unit.lambdas.check_data.test_core import SETTINGS, put

SCHEDULED = {"trigger": "schedule", "scheduled_time": "2026-11-20T04:00:00Z"}


def test_the_scheduled_time_is_read_in_utc() -> None:
    run_input = RunInput.from_state(SCHEDULED)

    assert run_input.scheduled_time == datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
    assert run_input.window_end == date(2026, 11, 20)
    assert run_input.to_state()["scheduled_time"] == "2026-11-20T04:00:00Z"


def test_a_time_with_an_offset_ends_the_window_on_its_utc_day() -> None:
    # 00:30 in Berlin (UTC+1 in winter) is 23:30 UTC the day before: the day an on-time run's start would have had.
    run_input = RunInput.from_state({"scheduled_time": "2026-11-20T00:30:00+01:00"})

    assert run_input.window_end == date(2026, 11, 19)


def test_a_late_delivery_trains_on_the_window_of_its_tick(s3: Any, ssm: Any, sfn: Any, execution: Execution) -> None:
    # GIVEN data for every day, and a tick due on the 20th delivered on the 22nd (the execution's start)
    for day in range(1, 23):
        put(s3, f"data/churn/2026-11-{day:02d}.csv")

    # WHEN CheckData decides
    result = check_data(RunInput.from_state(SCHEDULED), execution, s3=s3, ssm=ssm, sfn=sfn, settings=SETTINGS)

    # THEN the window ends on the 20th, not on the day the run started
    assert execution.start_time.date() == date(2026, 11, 22)
    assert (result.window_start, result.window_end) == ("2026-11-14", "2026-11-20")
    assert result.newest_data_date == "2026-11-20"


def test_force_and_window_days_combine_with_the_scheduled_time() -> None:
    run_input = RunInput.from_state({**SCHEDULED, "force": True, "window_days": 3})

    assert (run_input.force, run_input.window_days, run_input.window_end) == (True, 3, date(2026, 11, 20))


def test_end_date_and_scheduled_time_together_are_refused_naming_both() -> None:
    with pytest.raises(InvalidRunInputError, match="fields 'end_date' and 'scheduled_time' both set the window's end"):
        RunInput.from_state({**SCHEDULED, "end_date": "2026-11-18"})


@pytest.mark.reliability(
    "input",
    "A malformed scheduled_time in the run input: no offset, not a date, a number, an impossible day",
    "Refused with InvalidRunInputError naming scheduled_time and the form it takes",
)
@pytest.mark.parametrize(
    "value",
    [
        "2026-11-20T04:00:00",  # no offset: its day would be a guess
        "2026-11-20",
        "yesterday",
        "<aws.scheduler.scheduled-time>",  # never substituted: not delivered by Scheduler
        "2026-02-30T04:00:00Z",
        "2026-W47-5T04:00:00Z",
        1763611200,
        "",
    ],
)
def test_a_malformed_scheduled_time_is_refused_naming_the_field(value: Any) -> None:
    with pytest.raises(InvalidRunInputError, match=r"field 'scheduled_time' must be an ISO 8601 time with its offset"):
        RunInput.from_state({"trigger": "schedule", "scheduled_time": value})
