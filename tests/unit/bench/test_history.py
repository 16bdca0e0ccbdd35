"""The histories the CheckData benchmark lists: their size, their windows, their keys."""

from __future__ import annotations

from datetime import date

import pytest

from bench.history import HISTORY_DAYS, OBJECTS_PER_WINDOW_DAY, WINDOW_DAYS, make_history, windows
from lambdas.common.data_files import FLAT_KEY as _FLAT_KEY
from lambdas.common.data_files import HIVE_KEY as _HIVE_KEY

LAST_DAY = date(2026, 11, 22)


@pytest.mark.parametrize("layout", ["dt", "flat+dt"])
@pytest.mark.parametrize("size", [20_000, 200_000])
def test_history_has_its_size_over_two_years_and_the_same_window_at_every_size(layout: str, size: int) -> None:
    history = make_history(layout, size, LAST_DAY)
    keys = list(history.object_keys())

    assert history.size == len(keys) == size
    assert len(set(keys)) == size
    assert len(history.objects_per_day) == HISTORY_DAYS
    assert max(history.objects_per_day) == LAST_DAY
    for window in windows(LAST_DAY):
        assert history.objects_in(window) == WINDOW_DAYS * OBJECTS_PER_WINDOW_DAY == 2_002


def test_growing_the_history_adds_objects_only_outside_the_windows() -> None:
    small, large = make_history("dt", 20_000, LAST_DAY), make_history("dt", 200_000, LAST_DAY)

    for day, count in small.objects_per_day.items():
        in_window = any(window.holds(day) for window in windows(LAST_DAY))
        assert (large.objects_per_day[day] == count) if in_window else (large.objects_per_day[day] > count)


def test_windows_are_the_schedules_and_a_backfill_a_year_earlier() -> None:
    latest, backfill = windows(LAST_DAY)

    assert (latest.start, latest.end) == (date(2026, 11, 16), LAST_DAY)
    assert (backfill.start, backfill.end) == (date(2025, 11, 16), date(2025, 11, 22))


def test_keys_follow_their_layout() -> None:
    dt = list(make_history("dt", 20_000, LAST_DAY).object_keys())
    mixed = list(make_history("flat+dt", 20_000, LAST_DAY).object_keys())
    flat = list(make_history("flat", 0, LAST_DAY).object_keys())

    assert all(_HIVE_KEY.match(key) for key in dt)
    assert sum(1 for key in mixed if _FLAT_KEY.match(key)) == HISTORY_DAYS
    assert all(_FLAT_KEY.match(key) or _HIVE_KEY.match(key) for key in mixed)
    assert len(flat) == HISTORY_DAYS
    assert all(_FLAT_KEY.match(key) for key in flat)
    assert "2026-11-22.csv" in flat
    assert "dt=2026-11-22/part-00285.csv" in dt


def test_rejects_an_unknown_layout_or_too_few_objects() -> None:
    with pytest.raises(ValueError, match="unknown layout"):
        make_history("hourly", 20_000, LAST_DAY)
    with pytest.raises(ValueError, match="too few"):
        make_history("dt", 4_500, LAST_DAY)
