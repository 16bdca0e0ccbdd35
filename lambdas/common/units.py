"""Quantities as people read them in messages."""

from __future__ import annotations


def human_bytes(count: int) -> str:
    """Render a byte count in decimal units, as S3 and SageMaker's GB count: 1234567 -> '1.2 MB'."""
    if count < 1000:
        return f"{count} bytes"
    value = float(count)
    for unit in ("kB", "MB", "GB", "TB"):
        value /= 1000
        if value < 999.95 or unit == "TB":
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")
