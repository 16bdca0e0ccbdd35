"""Tables and summary statistics the bench scripts print."""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence


def median(values: Sequence[float]) -> float:
    """The median; raise ValueError for no values (a figure measured zero times is a bug, not a zero)."""
    if not values:
        raise ValueError("median of no values")
    return float(statistics.median(values))


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table: the first column left-aligned, the others right-aligned, columns sized to fit."""
    cells = [[str(header) for header in headers], *[[str(cell) for cell in row] for row in rows]]
    if any(len(row) != len(headers) for row in cells):
        raise ValueError(f"every row must have {len(headers)} cells")
    widths = [max(len(row[column]) for row in cells) for column in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        parts = [row[0].ljust(widths[0]), *(cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True))]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def verdict(holds: bool) -> str:
    return "ok" if holds else "MISSED"


def machine_line() -> str:
    """CPU count and load average: the figures depend on what else the machine runs."""
    one, five, _ = os.getloadavg()
    return f"{os.cpu_count()} CPUs, load average {one:.1f} (1 min), {five:.1f} (5 min)"
