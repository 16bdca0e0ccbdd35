"""docs/compatibility.md lists every entry of local_runtime/compatibility.py with the tests marked as its proof."""

from __future__ import annotations

import pytest

from local_runtime.compatibility import ENTRIES, Entry
from tests.compatibility_report import REPORT_PATH, proofs_of, render, unproven
from tests.reliability_report import whole_suite_collected


def test_the_committed_table_matches_the_tests_and_every_entry_has_one(request: pytest.FixtureRequest) -> None:
    if not whole_suite_collected(request):
        pytest.skip("only a whole-suite run sees every test of the table")
    proofs = proofs_of(request.session.items)

    assert unproven(proofs) == [], "entries no test proves: mark a test with @pytest.mark.compatibility(key)"
    assert REPORT_PATH.read_text() == render(proofs), "docs/compatibility.md is stale: run `make compatibility-report`"


def test_rows_render_per_service_with_their_tests_and_pipes_escaped() -> None:
    entries = {
        "a": Entry("a", "S3", "PutObject | If-Match", "atomic", ""),
        "b": Entry("b", "Lambda", "Invoke", "in-process", "one at a time"),
    }

    text = render({"a": ["tests/x.py::test_a", "tests/y.py::test_b"]}, entries)

    assert "## S3" in text
    assert "## Lambda" in text
    assert "| PutObject \\| If-Match | atomic | - | `tests/x.py::test_a`<br>`tests/y.py::test_b` |" in text
    assert "| Invoke | in-process | one at a time |  |" in text
    assert unproven({"a": ["tests/x.py::test_a"]}, entries) == ["b"]


def test_a_marker_naming_no_entry_is_refused() -> None:
    marker = pytest.mark.compatibility("no-such-entry").mark

    class _Item:
        nodeid = "tests/x.py::test_a"

        def iter_markers(self, name: str) -> list[pytest.Mark]:
            return [marker] if name == "compatibility" else []

    with pytest.raises(ValueError, match="no compatibility entry 'no-such-entry'"):
        proofs_of([_Item()])  # type: ignore[list-item]


def test_every_entry_says_what_the_runtime_does() -> None:
    assert all(entry.does and entry.service and entry.api for entry in ENTRIES.values())
