"""Running a handler in a process of its own and reporting each call's cost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.run_step import peak_rss_kb, run

PROJECT_ROOT = Path(__file__).resolve().parents[3]


def echo(event: dict[str, object], context: object) -> dict[str, object]:
    return {"echo": event, "request": getattr(context, "aws_request_id", None)}


def greet(event: dict[str, object], context: object) -> str:
    return helper()


def helper() -> str:
    return "original"


def other_helper() -> str:
    return "replaced"


def test_runs_each_event_in_order_and_reports_each_call() -> None:
    result = run({"handler": f"{__name__}.echo", "events": [{"n": 1}, {"n": 2}], "counts_url": None})

    assert [call["result"] for call in result["calls"]] == [
        {"echo": {"n": 1}, "request": "bench-00000001"},
        {"echo": {"n": 2}, "request": "bench-00000002"},
    ]
    assert all(call["wall_seconds"] >= 0 and call["requests"] == {} for call in result["calls"])
    assert result["peak_rss_kb"] >= result["rss_before_calls_kb"] > 0


def test_replace_swaps_what_the_handler_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules[__name__], "helper", helper)  # so the swap is undone after the test

    result = run(
        {
            "handler": f"{__name__}.greet",
            "events": [{}],
            "counts_url": None,
            "replace": {f"{__name__}.helper": f"{__name__}.other_helper"},
        }
    )

    assert result["calls"][0]["result"] == "replaced"


def test_replace_refuses_a_target_that_does_not_exist() -> None:
    with pytest.raises(AttributeError, match="nothing to replace"):
        run({"handler": f"{__name__}.echo", "events": [], "replace": {f"{__name__}.gone": f"{__name__}.shout"}})


def test_peak_rss_is_read_from_the_processes_own_high_water_mark() -> None:
    status = "Name:\tpython\nVmPeak:\t  900000 kB\nVmHWM:\t   81234 kB\nVmRSS:\t   80000 kB\n"

    assert peak_rss_kb(status) == 81234
    with pytest.raises(RuntimeError):
        peak_rss_kb("Name:\tpython\n")


def test_a_small_process_started_by_a_large_one_reports_its_own_peak(tmp_path: Path) -> None:
    # GIVEN this process holds 200 MB when it starts the runner with a trivial handler
    ballast = b"x" * (200 * 1024 * 1024)
    spec, result = tmp_path / "spec.json", tmp_path / "result.json"
    spec.write_text(json.dumps({"handler": f"{__name__}.echo", "events": [[1, 2]], "counts_url": None}))

    subprocess.run([sys.executable, "-m", "bench.run_step", str(spec), str(result)], cwd=PROJECT_ROOT, check=True)
    del ballast

    # THEN the runner reports its own peak, not this process's (ru_maxrss carries the parent's over exec)
    reported = json.loads(result.read_text())
    assert reported["calls"][0]["result"]["echo"] == [1, 2]
    assert reported["peak_rss_kb"] < 100 * 1024 < peak_rss_kb()
