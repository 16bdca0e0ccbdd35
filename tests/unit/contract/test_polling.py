"""The poll policy: the safety net of a loop woken by SageMaker's events, sparse before the expected end."""

from __future__ import annotations

import math

import pytest

from contract.polling import Band, max_polls, next_poll_seconds, poll_times, woken_poll_times
from lambdas.common.polling import positive_seconds

MINUTE, HOUR = 60, 3600


def fixed_poll_count(duration: float, interval: int = MINUTE) -> int:
    return math.ceil(duration / interval)


def invocations(checks: int, loops: int) -> int:
    """AwaitStatusChange and GetStatus per check, and the listener once per loop (the event it receives)."""
    return 2 * checks + loops


def test_without_history_the_safety_net_checks_every_ten_intervals() -> None:
    # GIVEN no previous duration, WHEN a 2-hour job's event is lost
    times = poll_times(2 * HOUR, interval_seconds=MINUTE)

    # THEN the safety net checks every 10 minutes
    assert times == list(range(10 * MINUTE, 2 * HOUR + 1, 10 * MINUTE))


@pytest.mark.parametrize("interval", [1, 60, 300])
def test_no_wait_is_ever_shorter_than_the_interval(interval: int) -> None:
    for expected in (None, 10 * interval, 120 * interval):
        for waited in range(0, 400 * interval, max(1, interval // 7)):
            assert next_poll_seconds(waited, interval_seconds=interval, expected_seconds=expected) >= interval


def test_the_band_is_where_a_run_within_a_quarter_of_the_previous_one_ends() -> None:
    # GIVEN a previous run of 2 hours: this one took within ±25% of it if it ends in 96..160 minutes
    band = Band.around(2 * HOUR)

    assert (band.start, band.end) == (96 * MINUTE, 160 * MINUTE)


def test_before_the_band_checks_fall_at_its_start_divided_by_powers_of_three() -> None:
    # GIVEN a 2-hour expectation: the band starts at 96 minutes (5,760 s), WHEN the job is still running
    times = poll_times(10 * HOUR, interval_seconds=MINUTE, expected_seconds=2 * HOUR)

    # THEN the checks before it are at 5760 / 3^k, none sooner than 10 intervals after the last
    early = [t for t in times if t <= Band.around(2 * HOUR).start]
    assert early == [640, 1920, 5760]


def test_a_job_that_fails_early_and_whose_event_is_lost_is_noticed_within_three_times_its_runtime() -> None:
    for expected in (10 * MINUTE, 2 * HOUR, 24 * HOUR):
        for end in range(MINUTE, Band.around(expected).start, 7):
            noticed = poll_times(end, interval_seconds=MINUTE, expected_seconds=expected)[-1]
            assert noticed <= 3 * max(end, 10 * MINUTE)


def test_from_the_band_on_the_safety_net_checks_every_ten_intervals() -> None:
    band = Band.around(2 * HOUR)
    waits = {
        next_poll_seconds(t, interval_seconds=MINUTE, expected_seconds=2 * HOUR) for t in range(band.start, band.end)
    }
    assert waits == {10 * MINUTE}


@pytest.mark.parametrize("expected", [None, 2 * HOUR])
def test_long_runs_wait_a_240th_of_the_time_waited(expected: int | None) -> None:
    # GIVEN a job at 60 hours, past any band: a lost event is noticed within 1/240 of its runtime
    wait = next_poll_seconds(60 * HOUR, interval_seconds=MINUTE, expected_seconds=expected)

    assert wait == 60 * HOUR // 240


def test_a_wait_never_jumps_far_past_the_maximum_wait() -> None:
    # GIVEN a job expected to take 10 hours, but the loop gives up at 1 hour
    wait = next_poll_seconds(3500, interval_seconds=MINUTE, expected_seconds=10 * HOUR, max_wait_seconds=HOUR)

    # THEN the loop checks one second past the maximum, where wait_exceeded turns true, not at 9,600 s
    assert wait == HOUR + 1 - 3500


@pytest.mark.parametrize("previous", [None, 0.75, 1.0, 1.25])
@pytest.mark.parametrize("latency", [1, 10, 59])
def test_a_woken_run_of_two_hours_and_ten_minutes_costs_at_most_a_quarter_of_a_fixed_poll(
    previous: float | None, latency: int
) -> None:
    # GIVEN no history, or the previous run took within ±25% of this one's 2 hours and 10 minutes
    def expected(seconds: int) -> int | None:
        return None if previous is None else round(seconds * previous)

    for offset in range(-MINUTE, MINUTE + 1, 3):
        # WHEN the jobs end anywhere in the 2 minutes around them and their events come `latency` seconds later
        training = woken_poll_times(
            2 * HOUR + offset,
            event_latency_seconds=latency,
            interval_seconds=MINUTE,
            expected_seconds=expected(2 * HOUR),
        )
        deployment = woken_poll_times(
            10 * MINUTE + offset,
            event_latency_seconds=latency,
            interval_seconds=MINUTE,
            expected_seconds=expected(10 * MINUTE),
        )

        # THEN the loops cost at most a quarter of a fixed 60 s poll's invocations (120 + 10) and transitions
        fixed = fixed_poll_count(2 * HOUR) + fixed_poll_count(10 * MINUTE)
        checks = len(training) + len(deployment)
        assert invocations(checks, loops=2) <= fixed / 4
        assert 3 * checks <= 3 * fixed / 4
        # and each loop notices its job's end by the event's arrival at the latest
        assert training[-1] <= 2 * HOUR + offset + latency
        assert deployment[-1] <= 10 * MINUTE + offset + latency


def test_a_woken_check_that_a_timeout_beats_is_not_counted_twice() -> None:
    # GIVEN a job that ends 5 s before a safety-net check, its event 30 s after the end
    times = woken_poll_times(595, event_latency_seconds=30, interval_seconds=MINUTE)

    # THEN the timeout at 600 s sees it ended: one check, not a second at the event
    assert times == [600]


def test_the_policy_scales_with_the_interval() -> None:
    # GIVEN the same job on the local scale (1 s) and the deployed one (60 s)
    local = poll_times(120, interval_seconds=1, expected_seconds=120)
    deployed = poll_times(2 * HOUR, interval_seconds=MINUTE, expected_seconds=2 * HOUR)

    # THEN it makes as many checks, those from the band's start on at the same multiples of the interval
    assert len(local) == len(deployed)
    band_start = Band.around(120).start
    assert [t for t in local if t >= band_start] == [t // MINUTE for t in deployed if t >= band_start * MINUTE]


@pytest.mark.parametrize("max_wait", [HOUR, 24 * HOUR, 72 * HOUR])
@pytest.mark.parametrize("expected", [None, 60, 10 * MINUTE, 2 * HOUR, 20 * HOUR, 200 * HOUR])
def test_max_polls_bounds_every_loop_with_or_without_history(max_wait: int, expected: int | None) -> None:
    # GIVEN a job that never ends: the loop polls until it gives up
    times = poll_times(float("inf"), interval_seconds=MINUTE, expected_seconds=expected, max_wait_seconds=max_wait)

    # THEN it stops past the maximum wait by an interval at most, within the bound the config's history check uses
    assert max_wait < times[-1] <= max_wait + MINUTE
    assert len(times) <= max_polls(max_wait, interval_seconds=MINUTE)


@pytest.mark.parametrize(
    ("value", "seconds"), [(120, 120), (0, None), (-5, None), (True, None), ("120", None), (1.5, None), (None, None)]
)
def test_only_positive_whole_seconds_count_as_a_recorded_duration(value: object, seconds: int | None) -> None:
    assert positive_seconds(value) == seconds
