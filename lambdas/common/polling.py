"""The previous run's durations that the wait/poll loops' schedule (contract/polling.py) is based on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def positive_seconds(value: Any) -> int | None:
    """A recorded duration, or None when absent or not a positive whole number (e.g. an older watermark)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def expected_seconds(state: Mapping[str, Any], field: str) -> int | None:
    """The previous run's duration CheckData put in `run` (None: no history, or a run started before it did)."""
    run = state.get("run")
    return positive_seconds(run.get(field)) if isinstance(run, Mapping) else None
