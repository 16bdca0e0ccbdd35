"""Run one Lambda handler in this process, call after call as a warm Lambda would, and report each call's cost.

The benchmarks start it as a process of its own, so its memory is the step's alone (the local AWS runs in the
parent): its peak resident set size (VmHWM) is what Lambda reports as "Max Memory Used". It imports nothing the step
does not, except the standard library and bench.counts.

Usage: python -m bench.run_step SPEC.json RESULT.json, where SPEC holds
  handler      "package.module.function"
  events       the events to invoke it with, in order (the first call is the cold one)
  counts_url   where the request counter answers (bench.counts), or null
  replace      {"module.attribute": "module.attribute"}: swap a function before the calls (the bench's baseline)
  function_name, memory_mb   for the context object
RESULT gets {"import_seconds", "rss_before_calls_kb", "peak_rss_kb", "calls": [{"wall_seconds", "cpu_seconds",
"requests", "server_seconds", "result"}]}.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.counts import Counts, fetch_counts


class Context:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    def __init__(self, function_name: str, memory_mb: int, request: int) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = f"bench-{request:08d}"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000


def resolve(dotted: str) -> Any:
    """`package.module.attribute` → the attribute."""
    module_name, _, attribute = dotted.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def replace(target: str, replacement: str) -> None:
    module_name, _, attribute = target.rpartition(".")
    module = importlib.import_module(module_name)
    if not hasattr(module, attribute):
        raise AttributeError(f"{target} does not exist: nothing to replace")
    setattr(module, attribute, resolve(replacement))


def peak_rss_kb(status: str | None = None) -> int:
    """This process's peak resident set size (VmHWM), in kB.

    Not getrusage's ru_maxrss: Linux carries it over exec, so a process started by a large parent would report
    the parent's peak. VmHWM belongs to the process's own address space, which exec creates anew.
    """
    text = status if status is not None else Path("/proc/self/status").read_text()
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def run(spec: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    handler: Callable[[Any, Any], Any] = resolve(spec["handler"])
    import_seconds = time.perf_counter() - started
    for target, replacement in spec.get("replace", {}).items():
        replace(target, replacement)
    counts_url: str | None = spec.get("counts_url")
    rss_before = peak_rss_kb()
    calls = []
    for number, event in enumerate(spec["events"], start=1):
        before = fetch_counts(counts_url) if counts_url else None
        wall, cpu = time.perf_counter(), time.process_time()
        result = handler(event, Context(spec.get("function_name", "bench"), spec.get("memory_mb", 128), number))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        made = fetch_counts(counts_url).minus(before) if counts_url and before else Counts({}, {})
        calls.append(
            {
                "wall_seconds": wall,
                "cpu_seconds": cpu,
                "requests": made.requests,
                "server_seconds": made.server_seconds,
                "result": result,
            }
        )
    return {
        "import_seconds": import_seconds,
        "rss_before_calls_kb": rss_before,
        "peak_rss_kb": peak_rss_kb(),
        "calls": calls,
    }


def main(argv: Sequence[str]) -> int:
    spec_path, result_path = argv
    spec = json.loads(Path(spec_path).read_text())
    Path(result_path).write_text(json.dumps(run(spec)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
