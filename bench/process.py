"""Run a command the way every benchmark times one: in the project root, output captured, failure raised."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
_TAIL_CHARS = 3000


def timed_run(
    command: Sequence[str], *, what: str, env: Mapping[str, str] | None = None, tail_of: str = "stderr"
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run `command` in the project root; return its wall time and the finished process.

    Raises RuntimeError naming `what`, its exit code and the end of its `tail_of` output when it fails.
    """
    started = time.monotonic()
    child = subprocess.run(
        list(command), cwd=PROJECT_ROOT, env=dict(env) if env is not None else None, capture_output=True, text=True
    )
    seconds = time.monotonic() - started
    if child.returncode != 0:
        output = child.stdout if tail_of == "stdout" else child.stderr
        raise RuntimeError(f"{what} exited {child.returncode}:\n{output[-_TAIL_CHARS:]}")
    return seconds, child
