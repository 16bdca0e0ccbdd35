"""The poll loop bench: its fixed-poll baseline, the woken loop's checks and its count of a run's history events."""

from __future__ import annotations

import pytest

from bench.poll_loop import checks, events_per_poll, fixed_checks, main, run_history_events, woken_checks


def test_a_fixed_poll_checks_every_interval_until_the_job_has_ended() -> None:
    assert fixed_checks(150, 60) == [60, 120, 180]
    assert fixed_checks(120, 60) == [60, 120]


@pytest.mark.parametrize("loop", ["training", "deployment"])
def test_each_check_is_a_callback_task_a_task_and_a_choice(loop: str) -> None:
    assert events_per_poll(loop) == 6 + 5 + 2


def test_each_check_adds_its_events_to_the_run() -> None:
    assert run_history_events(3, 1) - run_history_events(1, 1) == 2 * 13


def test_a_woken_loop_checks_at_the_event_and_not_again() -> None:
    # GIVEN no history: safety-net checks at 600 s, 1,200 s...; the job ends at 700 s, its event 10 s later
    assert woken_checks(700, interval=60, expected=None, latency=10) == [600, 710]
    # and a lost event leaves the check to the safety net
    assert checks(700, interval=60, expected=None) == [600, 1200]


def test_the_bench_meets_its_targets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    output = capsys.readouterr().out
    assert "MISSED" not in output
    assert "local runtime: SageMaker event to StatusChangeListener's invocation, 20 events" in output
