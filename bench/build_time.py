"""Build and test speed: `cdk synth` of one and of ten pipelines, cold and warm, and the full test suite.

Run from the project root: `.venv/bin/python -m bench.build_time` (or `make bench-build`); `--skip-tests` leaves
the test suite out.

Synth is the CDK CLI as users run it (`make synth`): `npx cdk synth --quiet -o <dir>`, which runs cdk.json's app
(`.venv/bin/python app.py`) with .venv/bin first on PATH, as the Makefile sets it. One pipeline: cdk.json's. Ten
pipelines: cdk.json's pipeline ten times under other names and data prefixes, from a config file given with
`-c config_file=...`. Cold: into an empty directory (the layer is bundled with pip, the code asset copied).
Warm: again into the same directory with the sources unchanged: the assets are found by their source hash and
nothing may be bundled again, which the bench checks in the CLI's output (no "Bundling asset" line). Warm
times are the median of `--runs` synths.

The test suite is `make test` (ruff, ruff format --check, mypy, then pytest), timed once from start to exit,
with the virtualenv taken as installed (`--assume-old=.venv/.installed`): the bench times the tests, not a
reinstallation when requirements.lock is newer than the marker (as it is in a fresh checkout or a worktree).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.process import PROJECT_ROOT, timed_run
from bench.report import machine_line, median, table, verdict

WARM_TEN_LIMIT_SECONDS = 20.0
TEST_SUITE_LIMIT_SECONDS = 300.0
# The CLI colors its output: a line can start with an escape sequence (`\x1b[0mBundling asset ...`).
BUNDLING_LINE = re.compile(r"^(?:\x1b\[[0-9;]*m)*Bundling asset ", re.MULTILINE)
PYTEST_SUMMARY = re.compile(r"=+ (?P<summary>\d+ passed.*?) in [\d.]+s")


@dataclass(frozen=True)
class Synth:
    seconds: float
    bundled: int  # assets bundled during the synth


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3, help="warm synths per configuration (default 3)")
    parser.add_argument("--skip-tests", action="store_true", help="do not time the test suite")
    args = parser.parse_args(argv)

    print(f"Build and test speed, {machine_line()}", flush=True)
    rows, checks, warm_by_app = [], [], {}
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as workdir:
        ten = Path(workdir) / "ten-pipelines.json"
        ten.write_text(json.dumps({"pipelines": many_pipelines(cdk_json_pipeline(), 10)}))
        for label, context in (("1 pipeline", []), ("10 pipelines", ["-c", f"config_file={ten}"])):
            outdir = Path(workdir) / label.replace(" ", "-")
            cold = cdk_synth(outdir, context)
            warm = [cdk_synth(outdir, context) for _ in range(args.runs)]
            warm_by_app[label] = median([synth.seconds for synth in warm])
            bundled_again = sum(synth.bundled for synth in warm)
            rows.append([label, f"{cold.seconds:.1f} s", cold.bundled, f"{warm_by_app[label]:.1f} s", bundled_again])
            checks.append((f"{label}: a warm synth bundles nothing ({bundled_again} bundled)", not bundled_again))
            print(f"  {label}: cold {cold.seconds:.1f} s, warm {warm_by_app[label]:.1f} s", file=sys.stderr, flush=True)
    warm_ten = warm_by_app["10 pipelines"]
    checks.append(
        (
            f"10 pipelines: warm synth {warm_ten:.1f} s <= {WARM_TEN_LIMIT_SECONDS:.0f} s",
            warm_ten <= WARM_TEN_LIMIT_SECONDS,
        )
    )
    print()
    print(f"`npx cdk synth --quiet`; warm: median of {args.runs}, same output directory, sources unchanged")
    print(table(["app", "cold", "assets bundled", "warm", "bundled again"], rows))
    if not args.skip_tests:
        print(f"\n`make test` (lint, type checks, pytest) starting, {machine_line()}", flush=True)
        seconds, summary = time_test_suite()
        print(f"`make test`: {seconds:.0f} s ({seconds / 60:.1f} min), {summary}; {machine_line()}")
        checks.append(
            (f"test suite {seconds:.0f} s <= {TEST_SUITE_LIMIT_SECONDS:.0f} s", seconds <= TEST_SUITE_LIMIT_SECONDS)
        )
    print()
    for description, holds in checks:
        print(f"  {verdict(holds):<6} {description}")
    return 0 if all(holds for _, holds in checks) else 1


def cdk_json_pipeline() -> dict[str, Any]:
    context: dict[str, Any] = json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]
    pipeline: dict[str, Any] = context["pipelines"][0]
    return pipeline


def many_pipelines(template: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """`count` copies of a pipeline, each with its own name, data prefix and endpoint name."""
    pipelines = []
    for number in range(1, count + 1):
        name = f"{template['name']}-{number:02d}"
        pipeline = {**template, "name": name, "data_prefix": f"{template['data_prefix']}-{number:02d}"}
        if "endpoint" in template:
            pipeline["endpoint"] = {**template["endpoint"], "name": name}
        pipelines.append(pipeline)
    return pipelines


def cdk_synth(outdir: Path, context: list[str]) -> Synth:
    """`npx cdk synth --quiet -o outdir`; raise RuntimeError when it fails."""
    seconds, child = timed_run(
        ["npx", "cdk", "synth", "--quiet", "-o", str(outdir), *context],
        what="cdk synth",
        env={**os.environ, "PATH": f"{PROJECT_ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    return Synth(seconds=seconds, bundled=count_bundled(child.stdout + child.stderr))


def count_bundled(output: str) -> int:
    """How many assets the CLI's output says it bundled."""
    return len(BUNDLING_LINE.findall(output))


def time_test_suite() -> tuple[float, str]:
    """`make test`'s wall time and pytest's summary line; raise RuntimeError when it fails."""
    seconds, child = timed_run(["make", "--assume-old=.venv/.installed", "test"], what="make test", tail_of="stdout")
    return seconds, pytest_summary(child.stdout)


def pytest_summary(output: str) -> str:
    """pytest's final counts (`612 passed, 3 skipped`), or `?` when the output has none."""
    matches = PYTEST_SUMMARY.findall(output)
    return str(matches[-1]) if matches else "?"


if __name__ == "__main__":
    sys.exit(main())
