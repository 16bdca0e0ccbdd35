"""The previous run's durations that the wait/poll loops' schedule (contract/polling.py) is based on."""

from __future__ import annotations

from typing import Any


def positive_seconds(value: Any) -> int | None:
    """A recorded duration, or None when absent or not a positive whole number (e.g. an older watermark)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
