"""What a run can cost in Step Functions history events and time: the arithmetic behind the run's limits.

Step Functions fails an execution at 25,000 history events and ends it after a year; the configuration is refused
at synth when its wait/poll loops could exceed the events budget, and the state machine's TimeoutSeconds is the
longest a run can take.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from contract.polling import max_polls

if TYPE_CHECKING:
    from stacks.config import PipelineConfig, PollingConfig

# Step Functions fails an execution at 25,000 history events (a hard limit). One poll iteration costs about
# 15 events (AwaitStatusChange's callback task 6 + GetStatus 5 + Choice 2 + margin); the rest of a run about
# 100. The budget leaves headroom for Retry attempts, which add events too. How many polls a loop makes at
# most is the poll policy's (contract/polling.py): every 10 intervals for the first 2,400 intervals,
# then a 240th of the time waited.
HISTORY_EVENTS_PER_POLL = 15
HISTORY_EVENTS_FIXED = 100
HISTORY_EVENTS_BUDGET = 20_000
# The longest polling interval the configuration allows, the last one an over-budget pipeline is advised to try.
MAX_INTERVAL_SECONDS = 3_600
# SageMaker stops a processing job at its MaxRuntimeInSeconds; the workflow stops waiting this much later.
PREPROCESSING_WAIT_MARGIN_SECONDS = 900
# Step Functions ends a Standard workflow's execution after one year at most.
MAX_EXECUTION_SECONDS = 31_536_000
# What a run spends beyond its waits: the Lambda steps, their retries, stopping a job that ran past its wait.
RUN_STEPS_MARGIN_SECONDS = 6 * 3_600


def polls_history_events(
    polling: PollingConfig, *, interval_seconds: int | None = None, other_waits: Sequence[int] = ()
) -> int:
    """Estimate the history events of a run that waits the maximum for training, deployment and `other_waits`
    (the preprocessing and batch transform loops' maximum waits, when the pipeline has them)."""
    interval = interval_seconds or polling.interval_seconds
    waits = (polling.max_training_wait_seconds, polling.max_deployment_wait_seconds, *other_waits)
    polls = sum(max_polls(wait, interval_seconds=interval) for wait in waits)
    return polls * HISTORY_EVENTS_PER_POLL + HISTORY_EVENTS_FIXED


def other_waits(config: PipelineConfig) -> tuple[int, ...]:
    """The maximum waits of the pipeline's optional loops: preprocessing, batch transform, held-out evaluation."""
    waits = []
    if config.preprocessing is not None:
        waits.append(config.preprocessing.max_wait_seconds)
    if config.batch_transform is not None:
        waits.append(config.batch_transform.max_wait_seconds)
    if config.evaluates_models:
        waits.append(config.evaluation.max_wait_seconds)
    return tuple(waits)


def run_timeout_seconds(config: PipelineConfig) -> int:
    """The longest a run can take: every wait at its maximum (the optional loops and a person's approval too), an
    interval more for each loop (its last check may land up to an interval past the maximum), plus the steps'
    margin. The state machine's TimeoutSeconds: a run kept going past it by a fault ends TimedOut, which the
    runs-timed-out alarm reports, instead of running for Step Functions' year."""
    loops = (config.polling.max_training_wait_seconds, config.polling.max_deployment_wait_seconds, *other_waits(config))
    waits = sum(loops) + len(loops) * config.polling.interval_seconds
    if config.registry.manual:
        waits += config.registry.approval_timeout_hours * 3_600
    return min(waits + RUN_STEPS_MARGIN_SECONDS, MAX_EXECUTION_SECONDS)


def history_budget_problem(polling: PollingConfig, *, waits: Sequence[int] = ()) -> str | None:
    """Why the loops could exceed the history budget, naming the polling fields and the shortest interval that
    fits; None when they fit."""
    events = polls_history_events(polling, other_waits=waits)
    if events <= HISTORY_EVENTS_BUDGET:
        return None
    shortest = next(
        (
            interval
            for interval in range(polling.interval_seconds + 1, MAX_INTERVAL_SECONDS + 1)
            if polls_history_events(polling, interval_seconds=interval, other_waits=waits) <= HISTORY_EVENTS_BUDGET
        ),
        None,
    )
    advice = (
        f"set polling.interval_seconds to at least {shortest}"
        if shortest
        else "lower polling.max_training_wait_seconds or polling.max_deployment_wait_seconds"
    )
    return (
        f"polling.max_training_wait_seconds ({polling.max_training_wait_seconds}) and "
        f"polling.max_deployment_wait_seconds ({polling.max_deployment_wait_seconds})"
        + (f" and the optional loops' ({', '.join(map(str, waits))} s)" if waits else "")  # other_waits' order
        + " polled every "
        f"polling.interval_seconds ({polling.interval_seconds}) could take about {events} Step Functions "
        f"history events, more than the budget of {HISTORY_EVENTS_BUDGET} under the hard limit of 25,000 "
        f"per execution: {advice}"
    )
