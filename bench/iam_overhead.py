"""What enforcing IAM costs the local runtime: the demo and the test suite timed with and without it.

The demo (`python -m local_runtime demo`) runs `--runs` times each way, alternating so that a busier moment of
the machine falls on both; the suite (`pytest`, as `make test` runs it after the linters) once each way, the
second with LOCAL_RUNTIME_IAM=off, which turns enforcement off everywhere the local runtime is used. Prints
each figure, the medians, and the overhead against the target (at most 10% slower). Run from the project root:
`.venv/bin/python -m bench.iam_overhead` (about 10 minutes on 2 cores; `--no-suite` for the demo alone).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections.abc import Sequence

from bench.process import timed_run
from local_runtime.runtime import IAM_VARIABLE

TARGET_OVERHEAD = 0.10  # the target: enforcement makes the demo and the suite at most 10% slower
DEMO = [sys.executable, "-m", "local_runtime", "demo", "--json", "--no-color"]


def _overhead(label: str, enforced: list[float], unenforced: list[float]) -> bool:
    on, off = statistics.median(enforced), statistics.median(unenforced)
    overhead = on / off - 1
    verdict = "meets" if overhead <= TARGET_OVERHEAD else "MISSES"
    print(
        f"{label}: median {on:.1f} s enforced, {off:.1f} s not: {overhead:+.1%} "
        f"({verdict} the target of at most +{TARGET_OVERHEAD:.0%})"
    )
    return overhead <= TARGET_OVERHEAD


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3, help="demo runs each way (default 3)")
    parser.add_argument("--no-suite", action="store_true", help="time the demo only")
    args = parser.parse_args(argv)

    print(f"IAM enforcement overhead, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    enforced: list[float] = []
    unenforced: list[float] = []
    try:
        for number in range(1, args.runs + 1):
            on, _ = timed_run(DEMO, what="the demo")
            off, _ = timed_run([*DEMO, "--no-iam"], what="the demo with --no-iam")
            enforced.append(on)
            unenforced.append(off)
            print(f"  demo run {number}: {on:5.1f} s enforced, {off:5.1f} s with --no-iam")
        met = _overhead("demo", enforced, unenforced)
        if args.no_suite:
            return 0 if met else 1
        suite = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        on, _ = timed_run(suite, what="the suite", tail_of="stdout")
        print(f"  suite: {on:5.1f} s enforced")
        off, _ = timed_run(
            suite, what="the suite without IAM", env={**os.environ, IAM_VARIABLE: "off"}, tail_of="stdout"
        )
        print(f"  suite: {off:5.1f} s with {IAM_VARIABLE}=off")
        met = _overhead("suite", [on], [off]) and met
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
