"""Simulate the wait/poll loops' policy (lambdas/common/polling.py) against a fixed 60-second poll.

For job durations from 1 minute to 8 hours, with no history and with a previous run 25% shorter, as long, or
25% longer: checks (each one Wait + GetStatus + Choice: 3 state transitions, 1 Lambda invocation, 9 history
events), mean and maximum detection lag over end times spread across two minutes; then the history events of
whole runs for jobs of 2, 24 and 72 hours. Run from the project root: `.venv/bin/python -m bench.poll_loop`.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.report import table, verdict
from lambdas.common.polling import poll_times

INTERVAL = 60
TRANSITIONS_PER_POLL = 3  # Wait, GetStatus, the status Choice
EVENTS_PER_STATE = {"Task": 5, "Choice": 2, "Wait": 2, "Succeed": 2, "Pass": 2, "Fail": 1}
EXECUTION_EVENTS = 2  # ExecutionStarted and ExecutionSucceeded
# A run that trains, passes the quality gate and deploys: every state it enters outside the two loops.
DEPLOYED_PATH = (
    "CheckData", "HasNewData", "StartTrainingJob", "NotifyTrainingStarted", "NotifyTrainingCompleted",
    "EvaluateModel", "ModelDecision", "DeployModel", "NotifyDeploymentStarted", "UpdateParameters",
    "RecordLineage", "WatermarkOutcome", "PruneModels", "NotifyDeployed", "Deployed",
)  # fmt: skip
LOOP_STATES = {"training": ("WaitForTraining", "GetTrainingStatus", "TrainingStatus"),
               "deployment": ("WaitForDeployment", "GetEndpointStatus", "EndpointStatus")}  # fmt: skip
ASL = Path(__file__).resolve().parents[1] / "statemachine" / "retraining.asl.json"
DURATIONS = (60, 300, 600, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600)
PREVIOUS = (None, 0.75, 1.0, 1.25)  # the previous run's duration relative to this one's


def _state_events(names: Sequence[str]) -> int:
    states = json.loads(ASL.read_text())["States"]
    return sum(EVENTS_PER_STATE[states[name]["Type"]] for name in names)


def events_per_poll(loop: str) -> int:
    return _state_events(LOOP_STATES[loop])


def run_history_events(training_polls: int, deployment_polls: int) -> int:
    """History events of a deployed run whose loops made these many checks, per the state machine's definition."""
    return (
        EXECUTION_EVENTS
        + _state_events(DEPLOYED_PATH)
        + training_polls * events_per_poll("training")
        + deployment_polls * events_per_poll("deployment")
    )


def checks(duration: float, *, interval: int, expected: int | None) -> list[int]:
    return poll_times(duration, interval_seconds=interval, expected_seconds=expected)


def fixed_checks(duration: float, interval: int = INTERVAL) -> list[int]:
    """A fixed poll: every `interval` seconds."""
    times = [interval]
    while times[-1] < duration:
        times.append(times[-1] + interval)
    return times


@dataclass(frozen=True)
class Figures:
    polls_mean: float
    polls_max: int
    lag_mean: float
    lag_max: float


def figures(nominal: int, expected: int | None, *, fixed: bool = False) -> Figures:
    """Checks and lag for jobs ending anywhere in the two minutes around `nominal` (1-second steps)."""
    ends = (
        [nominal - INTERVAL + offset + 0.5 for offset in range(2 * INTERVAL)] if nominal > INTERVAL else [nominal - 0.5]
    )
    runs = [fixed_checks(end) if fixed else checks(end, interval=INTERVAL, expected=expected) for end in ends]
    lags = [times[-1] - end for times, end in zip(runs, ends, strict=True)]
    counts = [len(times) for times in runs]
    return Figures(statistics.fmean(counts), max(counts), statistics.fmean(lags), max(lags))


def main(argv: Sequence[str] | None = None) -> int:
    del argv
    print(f"poll loop, interval {INTERVAL} s; lag over job ends spread across 2 minutes around each duration\n")
    rows = []
    for nominal in DURATIONS:
        base = figures(nominal, None, fixed=True)
        row: list[object] = [_duration(nominal), f"{base.polls_max}", f"{base.lag_mean:.0f} / {base.lag_max:.0f}"]
        for previous in PREVIOUS:
            expected = None if previous is None else round(nominal * previous)
            got = figures(nominal, expected)
            row.append(
                f"{got.polls_max} ({got.polls_max / base.polls_max:.0%}), {got.lag_mean:.0f} / {got.lag_max:.0f}"
            )
        rows.append(row)
    headers = ["job", "fixed: checks", "lag mean/max s", *(_previous(p) for p in PREVIOUS)]
    print("most checks (share of the fixed poll's most), lag mean / max in seconds")
    print(table(headers, rows))

    print("\nthe targets: a 2-hour training job and a 10-minute deployment, previous run within ±25%")
    target_rows, holds = [], True
    for previous in (0.75, 1.0, 1.25):
        # The checks of jobs that take exactly 2 hours and 10 minutes; the lag over ends spread around them.
        polls = len(checks(7200, interval=INTERVAL, expected=round(7200 * previous)))
        polls += len(checks(600, interval=INTERVAL, expected=round(600 * previous)))
        fixed = len(fixed_checks(7200)) + len(fixed_checks(600))
        training, deployment = figures(7200, round(7200 * previous)), figures(600, round(600 * previous))
        lag_ok = training.lag_mean <= INTERVAL and deployment.lag_mean <= INTERVAL
        met = polls <= fixed / 4 and lag_ok
        holds = holds and met
        target_rows.append(
            [
                _previous(previous),
                f"{polls} of {fixed}",
                f"{polls / fixed:.1%}",
                f"{training.lag_mean:.0f} / {training.lag_max:.0f}",
                f"{deployment.lag_mean:.0f} / {deployment.lag_max:.0f}",
                verdict(met),
            ]
        )
    no_history_same = all(
        checks(end, interval=INTERVAL, expected=None) == fixed_checks(end) for end in range(1, 4 * 3600, 7)
    )
    holds = holds and no_history_same
    print(table(["previous", "checks", "share", "training lag s", "deployment lag s", ""], target_rows))
    print(f"no history: the same checks as a fixed 60 s poll for every job up to 4 hours: {verdict(no_history_same)}")

    print("\nhistory events of a deployed run (10-minute deployment; Step Functions fails an execution at 25,000)")
    event_rows, far = [], True
    for hours in (2, 24, 72):
        duration = hours * 3600
        fixed = run_history_events(len(fixed_checks(duration)), len(fixed_checks(600)))
        none = run_history_events(
            len(checks(duration, interval=INTERVAL, expected=None)), len(checks(600, interval=INTERVAL, expected=None))
        )
        same = run_history_events(
            len(checks(duration, interval=INTERVAL, expected=duration)),
            len(checks(600, interval=INTERVAL, expected=600)),
        )
        far = far and max(none, same) <= 12_500
        event_rows.append([f"{hours} h", f"{fixed:,}", f"{none:,}", f"{same:,}"])
    print(table(["job", "fixed 60 s", "policy, no history", "policy, previous as long"], event_rows))
    print(f"at most half the limit (12,500) with the policy: {verdict(far)}")
    return 0 if holds and far else 1


def _duration(seconds: int) -> str:
    return f"{seconds // 3600} h" if seconds >= 3600 else f"{seconds // 60} min"


def _previous(previous: float | None) -> str:
    return "no history" if previous is None else f"previous x{previous}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
