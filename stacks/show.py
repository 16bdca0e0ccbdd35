"""How a configuration value appears in an error message: the way it was written (JSON), cut to 80 characters."""

from __future__ import annotations

import json
from typing import Any


def show(value: Any) -> str:
    """Render a config value in an error message the way it was written (JSON)."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."
