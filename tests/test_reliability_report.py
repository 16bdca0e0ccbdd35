"""docs/reliability.md lists exactly the tests that carry the reliability marker."""

from __future__ import annotations

import pytest

from tests.reliability_report import REPORT_PATH, Row, render, rows_of, whole_suite_collected


def test_the_committed_report_matches_the_tests(request: pytest.FixtureRequest) -> None:
    if not whole_suite_collected(request):
        pytest.skip("only a whole-suite run sees every test of the report")

    expected = render(rows_of(request.session.items))

    assert REPORT_PATH.read_text() == expected, "docs/reliability.md is stale: run `make reliability-report`"


def test_rows_render_as_one_table_per_kind_with_pipes_escaped() -> None:
    rows = [
        Row("fault", "Lambda throttled", "retried | completes", "tests/e2e/test_x.py::test_a"),
        Row("input", "bad row", "rejected", "tests/e2e/test_x.py::test_b"),
    ]

    text = render(rows)

    assert "## Faults injected" in text
    assert "## Bad input tried" in text
    assert "## Scans" not in text
    assert "| Lambda throttled | retried \\| completes | `tests/e2e/test_x.py::test_a` |" in text
