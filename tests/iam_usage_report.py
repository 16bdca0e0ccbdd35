"""The report of the deployed roles' grants that no request of the test run used (see local_runtime.iam.usage).

Every process of the run (the xdist workers, and the `serve` and `demo` processes the tests start) writes what its
enforcing servers saw to build/iam-usage/; the controller adds it up at the end, prints the unused grants in the
terminal summary and writes them to build/iam-grants-unused.txt.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from local_runtime.iam.usage import GRANT_USAGE, USAGE_DIR_VARIABLE, merge, render

USAGE_DIR = Path(__file__).parents[1] / "build" / "iam-usage"
REPORT_PATH = Path(__file__).parents[1] / "build" / "iam-grants-unused.txt"


def start(config: pytest.Config) -> None:
    """In the controller, before the workers start: an empty directory, named in the environment they inherit."""
    if hasattr(config, "workerinput"):
        return
    shutil.rmtree(USAGE_DIR, ignore_errors=True)
    os.environ[USAGE_DIR_VARIABLE] = str(USAGE_DIR)


def finish() -> None:
    """In every process of the run: what it saw (nothing to write when no enforcing server ran in it)."""
    if GRANT_USAGE.granted:
        GRANT_USAGE.dump(USAGE_DIR)


def summarize(terminal: pytest.TerminalReporter, config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or not USAGE_DIR.is_dir():
        return
    text = render(merge(USAGE_DIR))
    REPORT_PATH.write_text(text)
    terminal.write_sep("-", f"IAM grants no request used (also in build/{REPORT_PATH.name})")
    terminal.write(text)
