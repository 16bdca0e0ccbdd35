"""Time the demo as `make demo` runs it: `python -m local_runtime demo` in a fresh process, several times.

Prints each run's wall time, then the minimum, median and maximum, and the median of each phase the demo
reports (synth, deploy, the three runs...). Run from the project root: `.venv/bin/python -m bench.demo_time`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from collections.abc import Sequence
from typing import Any

from bench.process import timed_run


def run_once() -> tuple[float, dict[str, Any]]:
    """One demo in a new process: its wall time and its JSON summary; raise RuntimeError if it fails."""
    wall, child = timed_run([sys.executable, "-m", "local_runtime", "demo", "--json", "--no-color"], what="the demo")
    summary: dict[str, Any] = json.loads(child.stdout)
    return wall, summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3, help="how many times to run the demo (default 3)")
    args = parser.parse_args(argv)

    print(f"demo wall time, {args.runs} runs, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    walls: list[float] = []
    phases: dict[str, list[float]] = {}
    for number in range(1, args.runs + 1):
        try:
            wall, summary = run_once()
        except RuntimeError as error:
            print(f"run {number}: {error}", file=sys.stderr)
            return 1
        walls.append(wall)
        for name, seconds in summary["phases"].items():
            phases.setdefault(name, []).append(float(seconds))
        print(f"  run {number}: {wall:5.1f} s  (SageMaker {summary['sagemaker']})")
    print(f"wall time: min {min(walls):.1f} s, median {statistics.median(walls):.1f} s, max {max(walls):.1f} s")
    print("phases (median, min-max):")
    for name, values in phases.items():
        print(f"  {name:<8} {statistics.median(values):5.1f} s  ({min(values):.1f}-{max(values):.1f})")
    inside = sum(statistics.median(values) for values in phases.values())
    print(f"  {'startup':<8} {statistics.median(walls) - inside:5.1f} s  (process start and imports, by difference)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
