"""Stand-ins for the workflow's functions whose answers each test scripts, to drive every branch of the ASL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Step = Callable[[dict[str, Any]], dict[str, Any]]

# Function name -> what it does with the event; tests fill this in.
SCRIPTS: dict[str, Step] = {}
CALLS: list[tuple[str, dict[str, Any]]] = []


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    CALLS.append((context.function_name, event))
    return SCRIPTS[context.function_name](event)
