"""The bench's tables and statistics."""

from __future__ import annotations

import pytest

from bench.report import median, table


def test_table_aligns_the_first_column_left_and_the_others_right() -> None:
    text = table(["layout", "requests"], [["dt", 5], ["flat+dt", 21]])

    assert text.splitlines() == [
        "layout   requests",
        "-------  --------",
        "dt              5",
        "flat+dt        21",
    ]


def test_table_refuses_a_row_of_the_wrong_width() -> None:
    with pytest.raises(ValueError, match="2 cells"):
        table(["a", "b"], [["only one"]])


def test_median_of_nothing_is_an_error_not_zero() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    with pytest.raises(ValueError, match="median of no values"):
        median([])
