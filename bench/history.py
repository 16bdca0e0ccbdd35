"""The data histories the CheckData benchmark lists: two years of objects, about 2,000 of them in a 7-day window.

The window must hold about 2,000 objects at both history sizes, so the days of the two windows the bench runs
(the schedule's, ending on the last day, and a backfill a year earlier) hold a fixed number of objects each, and
the rest of the history is spread evenly over the other days: going from 20,000 to 200,000 objects only adds
objects outside the windows.

Layouts (keys relative to the data prefix):
- `dt`: `dt=YYYY-MM-DD/part-NNNNN.csv`, many files per day.
- `flat+dt`: one `YYYY-MM-DD.csv` per day, with the rest of each day's objects in `dt=` partitions. One file
  per day alone cannot make a large history (two years are 730 files, less than one ListObjectsV2 page), so the
  flat layout is measured where it can cost something: next to a large `dt=` history under the same prefix, which
  its listing must not walk (`dt=` keys sort after every date).
- `flat`: one `YYYY-MM-DD.csv` per day and nothing else: 730 objects, at one size only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

HISTORY_DAYS = 730
WINDOW_DAYS = 7
OBJECTS_PER_WINDOW_DAY = 286  # 7 x 286 = 2,002 objects in each window
LAYOUTS = ("dt", "flat+dt", "flat")


@dataclass(frozen=True)
class Window:
    """The days one CheckData run looks at: [start, end]."""

    name: str
    start: date
    end: date

    def holds(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class History:
    layout: str
    last_day: date
    objects_per_day: dict[date, int]

    @property
    def size(self) -> int:
        return sum(self.objects_per_day.values())

    def objects_in(self, window: Window) -> int:
        return sum(count for day, count in self.objects_per_day.items() if window.holds(day))

    def object_keys(self) -> Iterator[str]:
        """Every key of the history, relative to the data prefix."""
        for day, count in sorted(self.objects_per_day.items()):
            parts = count
            if self.layout in ("flat", "flat+dt"):
                yield f"{day.isoformat()}.csv"
                parts -= 1
            for part in range(parts):
                yield f"dt={day.isoformat()}/part-{part:05d}.csv"


def windows(last_day: date) -> tuple[Window, Window]:
    """The schedule's window (ending on the last day of data) and a backfill's (ending a year earlier)."""
    latest = Window("latest", last_day - timedelta(days=WINDOW_DAYS - 1), last_day)
    backfill_end = last_day - timedelta(days=365)
    backfill = Window("backfill", backfill_end - timedelta(days=WINDOW_DAYS - 1), backfill_end)
    return latest, backfill


def make_history(layout: str, size: int, last_day: date) -> History:
    """A history of `size` objects over HISTORY_DAYS days ending on `last_day`; raise ValueError if it cannot be.

    `flat` ignores `size`: one object per day.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    days = [last_day - timedelta(days=offset) for offset in range(HISTORY_DAYS)]
    if layout == "flat":
        return History(layout, last_day, dict.fromkeys(days, 1))
    in_windows = [day for day in days if any(window.holds(day) for window in windows(last_day))]
    others = [day for day in days if day not in in_windows]
    rest = size - OBJECTS_PER_WINDOW_DAY * len(in_windows)
    if rest < len(others):  # every day holds at least one object (the flat file in flat+dt)
        raise ValueError(f"{size} objects are too few for {len(others)} days outside the windows")
    per_day, extra = divmod(rest, len(others))
    counts = dict.fromkeys(in_windows, OBJECTS_PER_WINDOW_DAY)
    for index, day in enumerate(sorted(others)):
        counts[day] = per_day + (1 if index < extra else 0)
    return History(layout, last_day, counts)
