"""Simulate the wait/poll loops (contract/polling.py), woken by SageMaker's events, against a fixed 60 s poll.

Each loop waits in AwaitStatusChange (a callback task) until SageMaker's state-change event wakes it through
StatusChangeListener, or until its timeout, the safety-net check; GetStatus then decides. Per check: AwaitStatusChange,
GetStatus and the status Choice (3 state transitions, 2 Lambda invocations, 13 history events), plus one
StatusChangeListener invocation per loop for the event. A fixed poll's check: Wait, GetStatus, Choice (3 transitions,
1 invocation, 9 events). Detection lag with the event: its delivery latency plus one GetStatus; without it (a lost
event): the time to the next safety-net check. For job durations from 1 minute to 8 hours, with no history and with a
previous run 25% shorter, as long, or 25% longer, over job ends spread across two minutes; then the history events of
whole runs for jobs of 2, 24 and 72 hours; then the event delivery latency measured in the local runtime.
Run from the project root: `.venv/bin/python -m bench.poll_loop`.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.event_latency import local_event_latencies
from bench.report import table, verdict
from contract.polling import poll_times, woken_poll_times

INTERVAL = 60
# SageMaker's events reach EventBridge "in near real time" (its documentation gives no figure) and EventBridge
# invokes a Lambda target typically within half a second; 10 s is assumed, for both, with margin. GetStatus and the
# resumed task add about a second.
EVENT_LATENCY = 10.0
GET_STATUS_SECONDS = 1.0
TRANSITIONS_PER_CHECK = 3  # AwaitStatusChange (or the fixed poll's Wait), GetStatus, the status Choice
FIXED_EVENTS_PER_CHECK = 9  # Wait 2 + GetStatus 5 + Choice 2
# Entered, Scheduled, Started, (Submitted for a callback task), Succeeded / TimedOut, Exited: what moto records too.
EVENTS_PER_STATE = {"Task": 5, "CallbackTask": 6, "Choice": 2, "Wait": 2, "Succeed": 2, "Pass": 2, "Fail": 1}
EXECUTION_EVENTS = 2  # ExecutionStarted and ExecutionSucceeded
# A run that trains, passes the quality gate and deploys: every state it enters outside the two loops.
DEPLOYED_PATH = (
    "ReadRunInput", "CheckData", "HasNewData", "StartTrainingJob", "NotifyTrainingStarted", "NotifyTrainingCompleted",
    "EvaluateOnHoldout", "EvaluateModel", "ModelDecision", "DeployOrRegister", "DeployModel",
    "NotifyDeploymentStarted", "SmokeTest", "UpdateParameters", "RecordLineage", "WatermarkOutcome", "PruneModels",
    "NotifyDeployed", "TransformAfterDeploy", "Deployed",
)  # fmt: skip
LOOP_STATES = {"training": ("WaitForTraining", "GetTrainingStatus", "TrainingStatus"),
               "deployment": ("WaitForDeployment", "GetEndpointStatus", "EndpointStatus")}  # fmt: skip
ASL = Path(__file__).resolve().parents[1] / "statemachine" / "retraining.asl.json"
DURATIONS = (60, 300, 600, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600)
PREVIOUS = (None, 0.75, 1.0, 1.25)  # the previous run's duration relative to this one's
TARGET_LAG = 60


def _kind(state: dict[str, Any]) -> str:
    callback = state["Type"] == "Task" and str(state.get("Resource", "")).endswith(".waitForTaskToken")
    return "CallbackTask" if callback else str(state["Type"])


def _state_events(names: Sequence[str]) -> int:
    states = json.loads(ASL.read_text())["States"]
    return sum(EVENTS_PER_STATE[_kind(states[name])] for name in names)


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
    """The safety net's checks alone: a loop whose event is lost."""
    return poll_times(duration, interval_seconds=interval, expected_seconds=expected)


def woken_checks(
    duration: float, *, interval: int, expected: int | None, latency: float = EVENT_LATENCY
) -> list[float]:
    """The checks of a loop its event wakes `latency` seconds after the job's end."""
    return woken_poll_times(
        duration, event_latency_seconds=latency, interval_seconds=interval, expected_seconds=expected
    )


def fixed_checks(duration: float, interval: int = INTERVAL) -> list[int]:
    """A fixed poll: every `interval` seconds."""
    times = [interval]
    while times[-1] < duration:
        times.append(times[-1] + interval)
    return times


@dataclass(frozen=True)
class Figures:
    checks_max: int
    invocations_max: int
    lag_mean: float
    lag_max: float

    @property
    def transitions_max(self) -> int:
        return TRANSITIONS_PER_CHECK * self.checks_max


def _ends(nominal: int) -> list[float]:
    """Job ends spread across the two minutes around `nominal` (1-second steps)."""
    return (
        [nominal - INTERVAL + offset + 0.5 for offset in range(2 * INTERVAL)] if nominal > INTERVAL else [nominal - 0.5]
    )


def figures(nominal: int, expected: int | None, *, mode: str) -> Figures:
    """Checks, invocations and lag over job ends around `nominal`: mode "fixed", "woken" or "lost" (the event)."""
    counts, lags = [], []
    for end in _ends(nominal):
        if mode == "fixed":
            times: Sequence[float] = fixed_checks(end)
            lag = times[-1] - end
        elif mode == "woken":
            times = woken_checks(end, interval=INTERVAL, expected=expected)
            lag = times[-1] - end + GET_STATUS_SECONDS
        else:
            times = checks(end, interval=INTERVAL, expected=expected)
            lag = times[-1] - end + GET_STATUS_SECONDS
        counts.append(len(times))
        lags.append(lag)
    per_check = 1 if mode == "fixed" else 2
    listener = 1 if mode == "woken" else 0
    return Figures(max(counts), per_check * max(counts) + listener, statistics.fmean(lags), max(lags))


def main(argv: Sequence[str] | None = None) -> int:
    del argv
    print(
        f"poll loop woken by SageMaker's events, interval {INTERVAL} s, safety net every 10 intervals; event latency "
        f"{EVENT_LATENCY:.0f} s assumed + {GET_STATUS_SECONDS:.0f} s GetStatus; job ends spread across 2 minutes\n"
    )
    _invocations_and_lag()
    holds = _targets()
    far = _history_events()
    latencies = local_event_latencies()
    print(
        f"\nlocal runtime: SageMaker event to StatusChangeListener's invocation, {len(latencies)} events: "
        f"median {statistics.median(latencies) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms"
    )
    return 0 if holds and far else 1


def _invocations_and_lag() -> None:
    """Each job length: the woken loop's invocations and lag against the fixed poll's, event kept or lost."""
    rows = []
    for nominal in DURATIONS:
        base = figures(nominal, None, mode="fixed")
        row: list[object] = [_duration(nominal), f"{base.invocations_max}, {base.lag_mean:.0f} / {base.lag_max:.0f}"]
        for previous in PREVIOUS:
            expected = None if previous is None else round(nominal * previous)
            woken, lost = figures(nominal, expected, mode="woken"), figures(nominal, expected, mode="lost")
            row.append(
                f"{woken.invocations_max} ({woken.invocations_max / base.invocations_max:.0%}), "
                f"{woken.lag_max:.0f} | {lost.lag_max:.0f}"
            )
        rows.append(row)
    print("most invocations (share of the fixed poll's), lag max in s with the event | if the event is lost")
    print(table(["job", "fixed 60 s: inv., lag mean/max s", *(_previous(p) for p in PREVIOUS)], rows))


def _targets() -> bool:
    """The targets for a 2-hour training job and a 10-minute deployment; whether every one holds."""
    print("\nthe targets: a 2-hour training job and a 10-minute deployment, both loops, most over the job ends")
    fixed_training, fixed_deployment = figures(7200, None, mode="fixed"), figures(600, None, mode="fixed")
    fixed_transitions = fixed_training.transitions_max + fixed_deployment.transitions_max
    fixed_invocations = fixed_training.invocations_max + fixed_deployment.invocations_max
    fixed_lag = max(fixed_training.lag_max, fixed_deployment.lag_max)
    target_rows, holds = [], True
    for previous in PREVIOUS:
        training = figures(7200, None if previous is None else round(7200 * previous), mode="woken")
        deployment = figures(600, None if previous is None else round(600 * previous), mode="woken")
        lost_lags = [
            figures(n, None if previous is None else round(n * previous), mode="lost").lag_max for n in (7200, 600)
        ]
        transitions = training.transitions_max + deployment.transitions_max
        invocations = training.invocations_max + deployment.invocations_max
        lag = max(training.lag_max, deployment.lag_max)
        share = 1.0 if previous is None else 0.25  # no history: no worse than the fixed poll; with history: a quarter
        met = transitions <= share * fixed_transitions and invocations <= share * fixed_invocations
        met = met and lag <= min(TARGET_LAG, fixed_lag)
        holds = holds and met
        target_rows.append(
            [
                _previous(previous),
                f"{transitions} ({transitions / fixed_transitions:.1%})",
                f"{invocations} ({invocations / fixed_invocations:.1%})",
                f"{training.lag_mean:.0f} / {lag:.0f}",
                f"{max(lost_lags):.0f}",
                f"<= {share:.0%}, lag <= {TARGET_LAG} s: {verdict(met)}",
            ]
        )
    print(
        f"fixed 60 s poll: {fixed_transitions} transitions, {fixed_invocations} invocations, lag max {fixed_lag:.0f} s"
    )
    headers = ["previous", "transitions", "invocations", "lag mean/max s", "lag if lost s", "target"]
    print(table(headers, target_rows))
    return holds


def _history_events() -> bool:
    """The history events of deployed runs; whether they stay under half of Step Functions' limit."""
    print("\nhistory events of a deployed run (10-minute deployment; Step Functions fails an execution at 25,000)")
    event_rows, far = [], True
    for hours in (2, 24, 72):
        duration = hours * 3600
        fixed = EXECUTION_EVENTS + _state_events(DEPLOYED_PATH)
        fixed += (len(fixed_checks(duration)) + len(fixed_checks(600))) * FIXED_EVENTS_PER_CHECK
        counts = []
        for expected, deploy_expected in ((None, None), (duration, 600)):
            for loop_checks in (woken_checks, checks):
                counts.append(
                    run_history_events(
                        len(loop_checks(duration, interval=INTERVAL, expected=expected)),
                        len(loop_checks(600, interval=INTERVAL, expected=deploy_expected)),
                    )
                )
        far = far and max(counts) <= 12_500
        event_rows.append([f"{hours} h", f"{fixed:,}", *(f"{count:,}" for count in counts)])
    headers = ["job", "fixed 60 s", "no history, woken", "event lost", "previous as long, woken", "event lost"]
    print(table(headers, event_rows))
    print(f"at most half the limit (12,500) with the policy, even with every event lost: {verdict(far)}")
    return far


def _duration(seconds: int) -> str:
    return f"{seconds // 3600} h" if seconds >= 3600 else f"{seconds // 60} min"


def _previous(previous: float | None) -> str:
    return "no history" if previous is None else f"previous x{previous}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
