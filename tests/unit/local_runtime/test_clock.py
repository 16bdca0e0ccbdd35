"""The scheduler's clock under `serve --clock`: it starts where told and runs at its speed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from local_runtime.clock import LocalClock


def test_the_clock_starts_at_the_time_given_and_runs_at_its_speed(monkeypatch: pytest.MonkeyPatch) -> None:
    real = iter([100.0, 100.0, 110.0])
    monkeypatch.setattr("local_runtime.clock.time.monotonic", lambda: next(real))
    clock = LocalClock(datetime.fromisoformat("2026-12-05T04:59:50+01:00"), speed=60)

    assert clock() == datetime(2026, 12, 5, 3, 59, 50, tzinfo=UTC)
    assert clock() == datetime(2026, 12, 5, 3, 59, 50, tzinfo=UTC) + timedelta(minutes=10)


@pytest.mark.parametrize(("start", "speed"), [(datetime(2026, 12, 5), 1.0), (datetime(2026, 12, 5, tzinfo=UTC), 0.0)])
def test_a_naive_start_or_a_speed_not_above_zero_is_refused(start: datetime, speed: float) -> None:
    with pytest.raises(ValueError, match="clock's"):
        LocalClock(start, speed)
