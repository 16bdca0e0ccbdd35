"""CheckData's cost as the history grows: S3 requests, wall time and memory, next to a list-everything baseline.

Run from the project root: `.venv/bin/python -m bench.check_data_cost` (or `make bench-check-data`).

What runs: the app is synthesized in-process with one pipeline (7-day window, Slack configured), and the local
runtime deploys it (`local_runtime.deploy`: bucket, watermark parameter, state machine, the CheckData function
with its environment from the template). CheckData's real handler runs in a process of its own
(`bench.run_step`) with that environment, invoked with the event the state machine sends: per process one cold
call, then `--calls` warm calls, each a new execution (so each writes its own manifest). Both sizes of a layout
are in the bucket at once, each under its own data prefix (the function's DATA_PREFIX, then `/<layout>-<size>`),
and their processes take turns (`--rounds`), so both sizes see the same load from whatever else the machine runs.

The histories (bench/history.py): 20,000 and 200,000 objects over two years, about 2,000 of them (2,002) in the
7-day window, in two layouts: `dt` (dt=YYYY-MM-DD/part-N.csv, many files per day) and `flat+dt` (one
YYYY-MM-DD.csv per day next to dt= partitions holding the rest: one file per day alone makes only 730 objects in
two years, less than one list page, so the flat listing is measured next to a large dt= history it must not
walk); plus `flat` alone (730 objects). Each history is read by two runs: the schedule's (the window ends on
the last day of data; the watermark is the day before the window, so the run writes a manifest) and a backfill
a year earlier (`end_date` and `force` in the input: objects after the window too).

What is measured, per call:
- S3 requests: every request the local AWS answers for S3 during the call (list pages, the manifest's PutObject,
  any GET), counted at the server (bench/aws_requests.py), not what the step reports. Budget:
  ceil(objects in the window / 1000) + 3.
- wall time: the handler call, median of the warm calls (a process's first call also creates its clients).
- memory: the peak resident set size of the step's process (VmHWM: interpreter, imports and calls, what Lambda
  reports as Max Memory Used; not ru_maxrss, which Linux carries over from the bench's large process through
  exec); the target is under 128 MB.
The baseline is the same handler with its listing swapped for one that lists every key under the data prefix
and then keeps the window's (bench/list_everything.py), measured in the same run, once per history (what it
lists does not depend on the window; at 200,000 objects one call takes about a minute here).

moto scans and sorts the whole bucket for every ListObjectsV2 page; S3 serves a page from an index. The bench
serves listings from a sorted index (bench/s3_listing.py, same answers as moto's), so wall times are the step's,
not the emulator's. moto still spends a few hundred milliseconds serializing each 1,000-key page; that share of
each call is reported as "S3 server". The emulator's 200,000 objects are frozen out of the garbage collector of
the bench's process (gc.freeze), so its pauses do not grow with the history either.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.aws_requests import CountingLocalAws
from bench.history import History, Window, make_history, windows
from bench.report import machine_line, median, table, verdict
from bench.s3_listing import fast_listing, sorted_key_names
from lambdas.common import env as names
from local_runtime.deploy import client, deploy
from local_runtime.lambda_invoke import LocalFunction
from local_runtime.runtime import synthesize
from local_runtime.template import read_stack

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
LAST_DAY = date(2026, 11, 22)  # the schedule's execution starts this day, so its window ends on it
SIZES = (20_000, 200_000)
MEMORY_LIMIT_MB = 128
# Wall time "does not grow" when the larger history's median is within this factor of the smaller's: what is
# left of the machine's noise (other processes) over a few warm calls.
GROWTH_TOLERANCE = 1.25
SLACK_SECRET = "bench/slack-bot"
PIPELINE: dict[str, Any] = {
    "name": "bench",
    "data_bucket": {"create": True},
    "data_prefix": "data/bench",
    "window_days": 7,
    "slack": {"channel": "#bench", "token_secret_name": SLACK_SECRET},
}
STACK_NAME = "SageMakerRetraining-bench"
CHECK_DATA_HANDLER = "lambdas.check_data.handler.lambda_handler"
STRATEGIES: dict[str, dict[str, str]] = {
    "window": {},
    "everything": {"lambdas.check_data.core.list_window_files": "bench.list_everything.list_everything"},
}
BODY = b"0.5,1.0,2.0\n"


@dataclass(frozen=True)
class Measurement:
    """One strategy's calls over one history and window, possibly gathered over several processes."""

    s3_requests: list[int]  # per call
    s3_operations: dict[str, int]  # all calls' S3 requests by operation
    cold_walls: list[float]  # the first call of each process (it also creates the clients)
    warm_walls: list[float]
    s3_server_seconds: list[float]  # per warm call (per cold call when there is none)
    peak_rss_mb: float
    files_found: int

    @property
    def warm_wall(self) -> float:
        """Median wall time of the warm calls (of the cold ones when there is none)."""
        return median(self.warm_walls or self.cold_walls)

    @classmethod
    def merge(cls, parts: Sequence[Measurement]) -> Measurement:
        """One measurement of several processes' calls; raise RuntimeError if they found different files."""
        if len({part.files_found for part in parts}) != 1:
            raise RuntimeError(f"the runs found different files: {[part.files_found for part in parts]}")
        return cls(
            s3_requests=[n for part in parts for n in part.s3_requests],
            s3_operations=dict(sum((Counter(part.s3_operations) for part in parts), Counter())),
            cold_walls=[wall for part in parts for wall in part.cold_walls],
            warm_walls=[wall for part in parts for wall in part.warm_walls],
            s3_server_seconds=[seconds for part in parts for seconds in part.s3_server_seconds],
            peak_rss_mb=max(part.peak_rss_mb for part in parts),
            files_found=parts[0].files_found,
        )


@dataclass(frozen=True)
class Row:
    """One history: the step's runs (by window name) and the baseline's."""

    layout: str
    history: int
    in_window: int  # objects in each window (the same in both)
    step: dict[str, Measurement]
    baseline: Measurement

    @property
    def budget(self) -> int:
        return request_budget(self.in_window)


def request_budget(objects_in_window: int) -> int:
    """The S3 requests CheckData may make: one list page per 1,000 window objects, plus 3."""
    return math.ceil(objects_in_window / 1000) + 3


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3, help="processes per history and window (interleaved)")
    parser.add_argument("--calls", type=int, default=2, help="warm calls per process, after its cold one")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="history sizes, comma-separated")
    parser.add_argument("--layouts", default="dt,flat+dt,flat", help="layouts, comma-separated")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]

    logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print(f"CheckData cost, {machine_line()}", flush=True)
    progress("synthesizing the app in-process (one pipeline)")
    template = synthesize({"pipelines": [PIPELINE]})[STACK_NAME]
    rows: list[Row] = []
    aws = CountingLocalAws()
    with fast_listing(), aws:
        stack = read_stack(template, stack_name=STACK_NAME, region=REGION)
        pipeline = deploy(aws, stack)
        client(aws, "secretsmanager", REGION).create_secret(Name=SLACK_SECRET, SecretString="xoxb-bench")
        function = next(f for f in stack.functions.values() if f.handler == CHECK_DATA_HANDLER)
        bench = Bench(aws, function, lambda_environment(aws, function), pipeline.state_machine_arn.rsplit(":", 1)[-1])
        backend = s3_backend(stack.account)
        for layout in args.layouts.split(","):
            histories = [make_history(layout, size, LAST_DAY) for size in ([0] if layout == "flat" else sizes)]
            for history in histories:
                started = time.monotonic()
                load(backend, bench.bucket, bench.history_prefix(history), history)
                progress(f"{layout}: {history.size:,} objects loaded in {time.monotonic() - started:.1f} s")
            # The loaded objects are the emulator's, not the step's: keep the collector from walking them.
            gc.collect()
            gc.freeze()
            rows.extend(bench.compare(histories, rounds=args.rounds, calls=args.calls))
            gc.unfreeze()
            for history in histories:
                clear(backend, bench.bucket, bench.history_prefix(history))
    print_report(rows)
    return 0 if all(holds for _, holds in targets(rows)) else 1


class Bench:
    """The deployed CheckData function and how to run it over histories."""

    def __init__(self, aws: CountingLocalAws, function: LocalFunction, environment: dict[str, str], machine: str):
        self.aws = aws
        self.function = function
        self.environment = environment
        self.machine = machine
        self.bucket = environment[names.DATA_BUCKET]
        self.prefix = environment[names.DATA_PREFIX]

    def history_prefix(self, history: History) -> str:
        """Where a history lives: the histories of one layout share the bucket, each under its own data prefix."""
        return f"{self.prefix}/{history.layout}-{history.size}"

    def compare(self, histories: Sequence[History], *, rounds: int, calls: int) -> list[Row]:
        """The step over each history and window, the sizes taking turns so that both see the same machine load;
        then the baseline, once per history."""
        latest, backfill = windows(LAST_DAY)
        parts: dict[tuple[int, str], list[Measurement]] = {}
        for window in (latest, backfill):
            for round_ in range(rounds):
                for history in histories:
                    measured = self.run(history, window, "window", calls + 1, label=f"round{round_}")
                    parts.setdefault((history.size, window.name), []).append(measured)
        rows = []
        for history in histories:
            in_window = {history.objects_in(latest), history.objects_in(backfill)}
            if len(in_window) != 1:
                raise RuntimeError(f"the two windows of {history.layout} hold {sorted(in_window)} objects")
            step = {window.name: Measurement.merge(parts[(history.size, window.name)]) for window in (latest, backfill)}
            for window_name, measured in step.items():
                progress(
                    f"  {history.layout} {history.size:,} {window_name:<8} window listing: "
                    f"{max(measured.s3_requests)} S3 requests, {measured.warm_wall * 1000:.0f} ms "
                    f"(all calls: {operations(measured)})"
                )
            baseline = self.run(history, latest, "everything", 1, label="baseline")
            progress(
                f"  {history.layout} {history.size:,} {latest.name:<8} list everything: "
                f"{max(baseline.s3_requests)} S3 requests, {baseline.warm_wall * 1000:.0f} ms "
                f"(all calls: {operations(baseline)})"
            )
            rows.append(Row(history.layout, history.size, in_window.pop(), step, baseline))
        return rows

    def run(self, history: History, window: Window, strategy: str, calls: int, *, label: str) -> Measurement:
        """`calls` calls of the handler in a new process; raise RuntimeError unless each found the window's files."""
        # The day before the window: the schedule's run finds new data and writes a manifest, as a backfill does.
        client(self.aws, "ssm", REGION).put_parameter(
            Name=self.environment[names.WATERMARK_PARAMETER],
            Value=json.dumps({"newest_data_date": (window.start - timedelta(days=1)).isoformat()}),
            Type="String",
            Overwrite=True,
        )
        name = f"{history.layout}-{history.size}-{window.name}-{strategy}-{label}"
        events = [step_event(window, self.machine, f"{name}-{call}") for call in range(calls)]
        environment = {**self.environment, names.DATA_PREFIX: self.history_prefix(history)}
        measured = measure(self.aws, self.function, environment, events, STRATEGIES[strategy])
        if measured.files_found != history.objects_in(window):
            raise RuntimeError(f"{name}: found {measured.files_found} files, expected {history.objects_in(window)}")
        return measured


def operations(measured: Measurement) -> str:
    """`ListObjectsV2 24, PutObject 6`: what the S3 requests were."""
    return ", ".join(f"{key.removeprefix('s3:')} {count}" for key, count in sorted(measured.s3_operations.items()))


def lambda_environment(aws: CountingLocalAws, function: LocalFunction) -> dict[str, str]:
    """What the local runtime gives the function when it invokes it (Lambda's variables, then its own)."""
    return {
        **aws.functions._lambda_environment(function),  # the runtime's own: same variables, same endpoint
        **function.environment,
        "POWERTOOLS_TRACE_DISABLED": "1",  # as the local runtime deploys it: no X-Ray daemon to send to
    }


def step_event(window: Window, machine: str, name: str) -> dict[str, Any]:
    """The event the state machine sends CheckData, for a scheduled run or a backfill of `window`."""
    if window.end == LAST_DAY:
        state: dict[str, Any] = {"trigger": "schedule"}
    else:
        state = {"trigger": "backfill", "end_date": window.end.isoformat(), "force": True}
    return {
        "state": state,
        "execution": {
            "id": f"arn:aws:states:{REGION}:123456789012:execution:{machine}:{name}",
            "name": name,
            "start_time": f"{LAST_DAY.isoformat()}T06:00:00.000Z",
        },
    }


def measure(
    aws: CountingLocalAws,
    function: LocalFunction,
    environment: dict[str, str],
    events: list[dict[str, Any]],
    replace: dict[str, str],
) -> Measurement:
    """Run the handler in a new process over `events`; raise RuntimeError if the process fails."""
    spec = {
        "handler": function.handler,
        "events": events,
        "counts_url": aws.counts_url,
        "replace": replace,
        "function_name": function.name,
        "memory_mb": function.memory_mb,
    }
    with tempfile.TemporaryDirectory(prefix="bench-step-") as workdir:
        spec_path, result_path = Path(workdir) / "spec.json", Path(workdir) / "result.json"
        spec_path.write_text(json.dumps(spec))
        child = subprocess.run(
            [sys.executable, "-m", "bench.run_step", str(spec_path), str(result_path)],
            cwd=PROJECT_ROOT,
            env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), **environment},
            stdout=subprocess.DEVNULL,  # the handler's JSON logs and metrics
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            raise RuntimeError(f"the step's process exited {child.returncode}:\n{child.stderr[-3000:]}")
        result = json.loads(result_path.read_text())
    calls = result["calls"]
    runs = [call["result"]["run"] for call in calls]
    if len({run["file_count"] for run in runs}) != 1 or not all(run["manifest_uri"] for run in runs):
        raise RuntimeError(f"the calls disagree or wrote no manifest: {runs}")
    server = [call["server_seconds"].get("s3", 0.0) for call in calls]
    return Measurement(
        s3_requests=[sum(n for key, n in call["requests"].items() if key.startswith("s3:")) for call in calls],
        s3_operations=dict(
            sum(
                (Counter({k: n for k, n in call["requests"].items() if k.startswith("s3:")}) for call in calls),
                Counter(),
            )
        ),
        cold_walls=[calls[0]["wall_seconds"]],
        warm_walls=[call["wall_seconds"] for call in calls[1:]],
        s3_server_seconds=server[1:] or server,
        peak_rss_mb=result["peak_rss_kb"] / 1024,
        files_found=runs[0]["file_count"],
    )


def s3_backend(account: str) -> Any:
    from moto.s3.models import s3_backends

    return s3_backends[account]["aws"]


def load(backend: Any, bucket: str, prefix: str, history: History) -> None:
    """Put the history's objects straight into moto's backend: 200,000 PUTs over HTTP would take minutes."""
    for key in history.object_keys():
        backend.put_object(bucket, f"{prefix}/{key}", BODY, disable_notification=True)
    sorted_key_names(backend.get_bucket(bucket))  # index them now, not in the first measured listing


def clear(backend: Any, bucket: str, prefix: str) -> None:
    keys = backend.get_bucket(bucket).keys
    for name in [name for name in dict.keys(keys) if name.startswith(f"{prefix}/")]:
        keys.pop(name)


def targets(rows: Sequence[Row]) -> list[tuple[str, bool]]:
    """Each target with whether it holds."""
    checks: list[tuple[str, bool]] = []
    for row in rows:
        where = f"{row.layout} {row.history:,}"
        for window, measured in row.step.items():
            requests = max(measured.s3_requests)
            checks.append((f"{where} {window}: {requests} S3 requests <= budget {row.budget}", requests <= row.budget))
            peak = measured.peak_rss_mb
            checks.append((f"{where} {window}: peak {peak:.0f} MB < {MEMORY_LIMIT_MB} MB", peak < MEMORY_LIMIT_MB))
    by_layout: dict[str, list[Row]] = {}
    for row in rows:
        by_layout.setdefault(row.layout, []).append(row)
    for layout, same_layout in by_layout.items():
        if len(same_layout) < 2:
            continue
        small, large = min(same_layout, key=lambda r: r.history), max(same_layout, key=lambda r: r.history)
        sizes = f"{small.history:,} -> {large.history:,} objects"
        for window in small.step:
            before, after = small.step[window], large.step[window]
            same = max(before.s3_requests) == max(after.s3_requests)
            checks.append((f"{layout} {window}: S3 requests the same, {sizes}", same))
            growth = after.warm_wall / before.warm_wall
            checks.append(
                (
                    f"{layout} {window}: wall time x{growth:.2f}, {sizes} (tolerance x{GROWTH_TOLERANCE}; "
                    f"baseline x{large.baseline.warm_wall / small.baseline.warm_wall:.1f})",
                    growth <= GROWTH_TOLERANCE,
                )
            )
    return checks


def print_report(rows: Sequence[Row]) -> None:
    headers = ["layout", "history", "in window", "budget", "S3 requests", "wall ms", "S3 server ms", "peak MB"]
    body = [
        [
            row.layout,
            f"{row.history:,}",
            f"{row.in_window:,}",
            row.budget,
            _three(row, lambda m: str(max(m.s3_requests))),
            _three(row, lambda m: f"{m.warm_wall * 1000:.0f}"),
            _three(row, lambda m: f"{median(m.s3_server_seconds) * 1000:.0f}"),
            _three(row, lambda m: f"{m.peak_rss_mb:.0f}"),
        ]
        for row in rows
    ]
    print()
    print("Each cell: schedule's run / backfill a year earlier / list-everything baseline (schedule's window).")
    print("S3 requests: all of a call's (list pages + the manifest's PutObject), counted at the server;")
    print("wall: median of the warm calls (baseline: one cold call); S3 server: moto's share of that time;")
    print("peak MB: peak resident set size (VmHWM) of the step's own process.")
    print(table(headers, body))
    print()
    for description, holds in targets(rows):
        print(f"  {verdict(holds):<6} {description}")


def _three(row: Row, show: Callable[[Measurement], str]) -> str:
    return " / ".join([show(row.step["latest"]), show(row.step["backfill"]), show(row.baseline)])


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
