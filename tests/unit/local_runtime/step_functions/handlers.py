"""Lambda handlers the Step Functions tests' state machines invoke (in the test's own process)."""

from __future__ import annotations

import threading
from typing import Any

# `hold` blocks until a test sets RELEASED: a Lambda still running when its execution is stopped.
HOLDING = threading.Event()
RELEASED = threading.Event()


def echo(event: Any, context: Any) -> Any:
    return event


def hold(event: Any, context: Any) -> Any:
    HOLDING.set()
    RELEASED.wait(timeout=30)
    return event


def oversized(event: Any, context: Any) -> Any:
    """A result over Step Functions' 256 KiB payload limit (Lambda itself takes up to 6 MB)."""
    return {"pad": "x" * 262_144}
