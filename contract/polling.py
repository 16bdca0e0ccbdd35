"""How long the wait/poll loops (GetStatus) wait for SageMaker's state-change event before the next safety-net check.

The loops are woken by SageMaker's own events (AwaitStatusChange parks the run with a task token,
StatusChangeListener returns it when the job or endpoint reaches a state that ends the loop): detection takes
the event's delivery and one GetStatus, not a poll's interval. The waits computed here are the loop's timeouts:
the safety-net checks that find the job ended when its event is late or lost. Every check costs an
AwaitStatusChange and a GetStatus invocation and three state transitions, so the checks stay sparse: before
the band in which the job ends if it takes within `TOLERANCE` of the previous run, they fall at powers of 3
below the band's start; from there on, and always without history, one every `SAFETY_NET_INTERVALS`
intervals. The function is pure and works on any time scale: every wait is a multiple of the configured
interval or a fraction of the elapsed time, so a local run with a 1-second interval polls as a deployed one
with 60 seconds does, 60 times faster. The stack bounds a run's history and timeout by `max_polls`, so both
sides read this one schedule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# A run takes within ±25% of the previous one: it ends between expected / 1.25 and expected / 0.75.
TOLERANCE = 0.25
# The safety net's period from the band on (and always without history): 10 intervals, 10 minutes at 60 s. A lost
# event is noticed within that; a 2-hour job and a 10-minute deployment cost at most 15 checks with or without
# history, under a quarter of a fixed 60 s poll's invocations (two per check, plus the listener's wake-ups).
SAFETY_NET_INTERVALS = 10
# Before the band the checks fall at the band's start divided by powers of 3 (none sooner than a safety-net
# period after the last): reaching the band takes about log3(band start / period) checks, and a job that fails
# early and whose event is lost is still noticed within 3 times its runtime (or 3 periods).
EARLY_RATIO = 3
# Past 240 safety-net periods (40 hours at 60 s) a wait grows with the elapsed time, so that a run of days
# stays far below Step Functions' 25,000 history events: a lost event is noticed within 1/240 of the runtime.
LONG_RUN_DIVISOR = 240


@dataclass(frozen=True)
class Band:
    """Where a job that takes within TOLERANCE of `expected_seconds` ends: [start, end] seconds."""

    start: int
    end: int

    @classmethod
    def around(cls, expected_seconds: int) -> Band:
        return cls(int(expected_seconds / (1 + TOLERANCE)), math.ceil(expected_seconds / (1 - TOLERANCE)))


def next_poll_seconds(
    waited_seconds: int,
    *,
    interval_seconds: int,
    expected_seconds: int | None = None,
    max_wait_seconds: int | None = None,
) -> int:
    """Seconds to wait before the next status check, `waited_seconds` after the job started.

    `interval_seconds` is the shortest wait; `expected_seconds` the previous run's duration (None: no history,
    then the loop checks every SAFETY_NET_INTERVALS intervals). The wait never takes the loop more than an
    interval past `max_wait_seconds`, where the workflow gives up on the job.
    """
    waited = max(0, waited_seconds)
    wait = max(SAFETY_NET_INTERVALS * interval_seconds, waited // LONG_RUN_DIVISOR)
    if expected_seconds is not None and expected_seconds > 0:
        band_start = Band.around(expected_seconds).start
        if waited < band_start:
            earliest = waited + SAFETY_NET_INTERVALS * interval_seconds
            wait = max(interval_seconds, _early_check(band_start, earliest) - waited)
    if max_wait_seconds is not None:
        # wait_exceeded is `waited > max_wait`: land one second past it, or an interval later at most.
        wait = min(wait, max(interval_seconds, max_wait_seconds + 1 - waited))
    return wait


def _early_check(band_start: int, earliest: int) -> int:
    """The first of band_start, band_start / 3, band_start / 9... that is at least `earliest`, going down."""
    check = band_start
    while check // EARLY_RATIO >= earliest:
        check //= EARLY_RATIO
    return check


def poll_times(
    duration_seconds: float,
    *,
    interval_seconds: int,
    expected_seconds: int | None = None,
    max_wait_seconds: int | None = None,
) -> list[int]:
    """The elapsed times at which the safety net checks a job that ends after `duration_seconds` if its event is
    lost, up to the check that sees it ended (or the first past `max_wait_seconds`), with no latency between
    the steps."""
    times: list[int] = []
    waited = 0
    while True:
        waited += next_poll_seconds(
            waited,
            interval_seconds=interval_seconds,
            expected_seconds=expected_seconds,
            max_wait_seconds=max_wait_seconds,
        )
        times.append(waited)
        if waited >= duration_seconds or (max_wait_seconds is not None and waited > max_wait_seconds):
            return times


def woken_poll_times(
    duration_seconds: float,
    *,
    event_latency_seconds: float,
    interval_seconds: int,
    expected_seconds: int | None = None,
    max_wait_seconds: int | None = None,
) -> list[float]:
    """The elapsed times of the loop's checks when the job's event arrives `event_latency_seconds` after its end:
    the safety-net checks that time out before then, and the one the event wakes (or a timeout that comes
    between the end and the event, which sees the job ended first)."""
    woken = duration_seconds + event_latency_seconds
    times: list[float] = []
    for check in poll_times(
        duration_seconds,
        interval_seconds=interval_seconds,
        expected_seconds=expected_seconds,
        max_wait_seconds=max_wait_seconds,
    ):
        if check >= woken:
            break
        times.append(check)
        if check >= duration_seconds:
            return times
    return [*times, woken]


def max_polls(max_wait_seconds: int, *, interval_seconds: int) -> int:
    """The most status checks one loop can make before it gives up at `max_wait_seconds`, with or without history.

    Without history the count is that of a job that never ends (the event never comes). With history, past the
    checks before the band (at most one per power of 3 between the interval and the maximum wait) every wait
    is as long as without: at most that many more.
    """
    never_ends = poll_times(float("inf"), interval_seconds=interval_seconds, max_wait_seconds=max_wait_seconds)
    early = 1
    while interval_seconds * EARLY_RATIO**early <= max_wait_seconds:
        early += 1
    return len(never_ends) + early + 1
