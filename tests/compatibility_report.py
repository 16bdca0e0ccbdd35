"""The compatibility table: what the local runtime implements beyond moto, with the tests that prove each entry.

The entries are local_runtime.compatibility's; a test joins an entry with `@pytest.mark.compatibility(key)`.
`make compatibility-report` writes docs/compatibility.md from the collected tests, and
tests/test_compatibility_report.py fails when the committed file and the tests differ, when an entry has no test,
and when a marker names no entry. CI runs every test listed, so a row stands only while its tests pass.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from local_runtime.compatibility import ENTRIES, Entry

REPORT_PATH = Path(__file__).parents[1] / "docs" / "compatibility.md"
MARKER = "compatibility"


def proofs_of(items: Iterable[pytest.Item]) -> dict[str, list[str]]:
    """Entry key -> the tests (node ids without parameters) that carry its marker, sorted."""
    proofs: defaultdict[str, set[str]] = defaultdict(set)
    for item in items:
        for mark in item.iter_markers(MARKER):
            for key in mark.args:
                if key not in ENTRIES:
                    raise ValueError(
                        f"{item.nodeid}: no compatibility entry {key!r} (see local_runtime/compatibility.py)"
                    )
                proofs[key].add(item.nodeid.split("[")[0])
    return {key: sorted(tests) for key, tests in proofs.items()}


def unproven(proofs: Mapping[str, list[str]], entries: Mapping[str, Entry] = ENTRIES) -> list[str]:
    """The entries no test proves."""
    return [key for key in entries if not proofs.get(key)]


def render(proofs: Mapping[str, list[str]], entries: Mapping[str, Entry] = ENTRIES) -> str:
    lines = [
        "# Local runtime: compatibility with AWS",
        "",
        "What the local runtime (`make serve`, `make demo`, `LocalRuntime`) implements beyond moto, which it serves",
        "every other API with, what it runs for real, and what is known to differ from AWS. Generated from",
        "`local_runtime/compatibility.py` and the tests marked `compatibility` by `make compatibility-report`;",
        "`tests/test_compatibility_report.py` fails when this file and the tests differ or an entry has no test, and",
        "CI runs every test listed, so each row holds as long as CI is green.",
    ]
    services: dict[str, list[Entry]] = {}
    for entry in entries.values():
        services.setdefault(entry.service, []).append(entry)
    for service, rows in services.items():
        lines += ["", f"## {service}", ""]
        lines += ["| API or integration | What the local runtime does | Known to differ | Tests |", "|---|---|---|---|"]
        for entry in rows:
            tests = "<br>".join(f"`{test}`" for test in proofs.get(entry.key, []))
            lines.append(f"| {_cell(entry.api)} | {_cell(entry.does)} | {_cell(entry.differs) or '-'} | {tests} |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
