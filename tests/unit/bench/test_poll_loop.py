"""The poll loop bench: its fixed-poll baseline and its count of a run's history events."""

from __future__ import annotations

import pytest

from bench.poll_loop import events_per_poll, fixed_checks, main, run_history_events


def test_a_fixed_poll_checks_every_interval_until_the_job_has_ended() -> None:
    assert fixed_checks(150, 60) == [60, 120, 180]
    assert fixed_checks(120, 60) == [60, 120]


@pytest.mark.parametrize("loop", ["training", "deployment"])
def test_each_check_is_a_wait_a_task_and_a_choice(loop: str) -> None:
    assert events_per_poll(loop) == 2 + 5 + 2


def test_each_check_adds_its_events_to_the_run() -> None:
    assert run_history_events(3, 1) - run_history_events(1, 1) == 2 * 9


def test_the_bench_meets_its_targets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert "MISSED" not in capsys.readouterr().out
