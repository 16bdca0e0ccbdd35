"""The local scheduler's clock under `serve --clock`: it starts at a given time and runs at a given speed.

Schedules then fire as they would on that day (a 05:00 Berlin cron at 05:00 Berlin time of the local clock), while
everything else (executions, logs, SageMaker) keeps the machine's real time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class LocalClock:
    """A clock reading `start` when made, then advancing `speed` seconds per real second."""

    start: datetime
    speed: float = 1.0
    _started: float = field(default_factory=lambda: time.monotonic())

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("the clock's start needs a UTC offset, e.g. 2026-12-05T04:59:50+01:00")
        if not self.speed > 0:
            raise ValueError(f"the clock's speed must be positive, got {self.speed}")

    def __call__(self) -> datetime:
        elapsed = (time.monotonic() - self._started) * self.speed
        return self.start.astimezone(UTC) + timedelta(seconds=elapsed)
