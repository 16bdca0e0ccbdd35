"""The reliability report: faults injected, inputs tried and scans run, read from the tests that prove them.

A test joins the report with `@pytest.mark.reliability(kind, case, holds)`; `make reliability-report` writes
docs/reliability.md from the collected tests, and tests/test_reliability_report.py fails when the committed file
and the tests differ. CI runs every test in the report, so a row stands only while its test passes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPORT_PATH = Path(__file__).parents[1] / "docs" / "reliability.md"
TESTS = Path(__file__).parent
KINDS = {
    "fault": ("Faults injected", "Fault"),
    "input": ("Bad input tried", "Input"),
    "scan": ("Scans and security checks", "Check"),
}
MARKER = "reliability"


@dataclass(frozen=True, order=True)
class Row:
    kind: str
    case: str
    holds: str
    test: str


def rows_of(items: Iterable[pytest.Item]) -> list[Row]:
    """One row per test carrying the marker (a parametrized case may carry its own)."""
    rows = set()
    for item in items:
        for mark in item.iter_markers(MARKER):
            kind, case, holds = mark.args
            if kind not in KINDS:
                raise ValueError(f"{item.nodeid}: reliability kind must be one of {sorted(KINDS)}, got {kind!r}")
            rows.add(Row(kind, case, holds, item.nodeid.split("[")[0]))
    return sorted(rows)


def render(rows: list[Row]) -> str:
    lines = [
        "# Reliability report",
        "",
        "What the test suite injects, feeds in and scans, and what it proves holds afterwards. Generated from the",
        "tests by `make reliability-report`; `tests/test_reliability_report.py` fails when this file and the tests",
        "differ, and CI runs every test listed, so each row holds as long as CI is green.",
        "",
        "After every case of the fault suite (`tests/e2e/test_faults.py`) one shared check also proves that the",
        "watermark did not move (or moved only with a deployed model), that no model, endpoint config or running",
        "training job of a failed run is left behind, that the old model still answers as before, that the alert",
        "reached Slack with the cause, and that the next run, fault cleared, completes.",
        "",
        "A run that ends outside the workflow (stopped by hand or timed out, in `tests/e2e/test_abort.py` and",
        "`tests/e2e/test_aborts.py`) is checked the same way once RunEnded has reaped it: no job of any run left",
        "running, no model or endpoint config that nothing serves, the run lease released, the watermark where it",
        "was, and RunEnded's alert naming how the run ended and the state it was in.",
    ]
    for kind, (title, column) in KINDS.items():
        selected = [row for row in rows if row.kind == kind]
        if not selected:
            continue
        lines += ["", f"## {title}", "", f"| {column} | What holds | Test |", "|---|---|---|"]
        for row in selected:
            lines.append(f"| {_cell(row.case)} | {_cell(row.holds)} | `{row.test}` |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def whole_suite_collected(request: pytest.FixtureRequest) -> bool:
    """Whether this run collected every test file, unfiltered: only then does a generated report see all its rows.
    Under pytest-xdist each worker collects the whole suite (and runs its share)."""
    on_disk = {str(path.relative_to(TESTS.parent)) for path in TESTS.rglob("test_*.py")}
    collected = {item.nodeid.split("::")[0] for item in request.session.items}
    options = request.config.option
    return on_disk <= collected and not options.keyword and not options.markexpr
