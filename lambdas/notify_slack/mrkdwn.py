"""Values as a Slack message shows them: read leniently from the run's state, written in Slack's mrkdwn."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def section(state: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """A section of the state as it is, or empty: read leniently, not through lambdas.common.models, on purpose.

    A failure alert is sent from any point of a run, with whatever sections the run had written, complete or
    not; the one message that must always go out cannot itself fail over a section it cannot parse.
    """
    value = state.get(name)
    return value if isinstance(value, Mapping) else {}


def text(value: Any) -> str | None:
    if value is None or isinstance(value, Mapping | list):
        return None
    text = str(value).strip()
    return text or None


def whole(value: Any) -> int | None:
    # bool is an int subclass; a flag is never a count.
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def number(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.6g}"
    return escape(str(value))


def size(num_bytes: int) -> str:
    size = float(num_bytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def code(text: str) -> str:
    # A backtick would end the code span early; SageMaker and Step Functions names never contain one.
    return "`" + escape(text.replace("`", "'")) + "`"


def escape(text: str) -> str:
    # The three characters Slack's mrkdwn requires escaped; anything else is shown as written.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def listed(names: Any, total: int) -> str:
    """`: `a`, `b` and 3 more` for the names a state lists (the first ones of `total`); empty when it lists none."""
    shown = [code(name) for name in names if isinstance(name, str) and name] if isinstance(names, list) else []
    if not shown:
        return ""
    more = total - len(shown)
    return ": " + ", ".join(shown) + (f" and {more} more" if more > 0 else "")
