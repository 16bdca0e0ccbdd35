"""A run's Step Functions history events and timeout: the polling budget the config is checked against."""

from __future__ import annotations

from typing import Any

import pytest

from contract.polling import max_polls
from stacks.config import ConfigError, PipelineConfig
from stacks.history_budget import (
    PREPROCESSING_WAIT_MARGIN_SECONDS,
    history_budget_problem,
    other_waits,
    polls_history_events,
    run_timeout_seconds,
)
from tests.unit.stacks.config import raw


def parse_one(**fields: Any) -> PipelineConfig:
    """A pipeline whose only loops are the ones given: no held-out evaluation unless asked for."""
    return raw.parse_one(**{"evaluation": {"holdout": "none"}, **fields})


def test_polling_within_the_history_budget_is_accepted() -> None:
    # A day of training checked every 10 minutes by the safety net, plus the checks a run with history makes
    # before the expected end: 153 checks at most (contract/polling.py); an hour of deployment: 12.
    # (153 + 12) * 15 + 100 = 2,575 events
    config = parse_one()

    assert polls_history_events(config.polling) == 2_575


def test_days_of_training_fit_the_history_budget() -> None:
    # 72 hours of training at 60 s would be 4,320 polls (43,300 events) with a fixed poll; the policy makes 391 at most
    config = parse_one(polling={"max_training_wait_seconds": 72 * 3600})

    deployment = max_polls(3600, interval_seconds=60)
    assert polls_history_events(config.polling) == (max_polls(72 * 3600, interval_seconds=60) + deployment) * 15 + 100
    assert polls_history_events(config.polling) < 12_000


def test_a_runs_timeout_is_every_wait_at_its_maximum_plus_six_hours_for_the_steps() -> None:
    # a day of training and an hour of deployment (the defaults), an interval (60 s) more for each loop's last
    # check, then 6 h for the steps and their retries
    assert run_timeout_seconds(parse_one()) == 86_400 + 3_600 + 2 * 60 + 6 * 3_600
    # the optional loops and a person's approval add their maximum waits (preprocessing: its runtime + 15 minutes)
    everything = parse_one(
        preprocessing={"source_dir": "examples/churn/preprocessing", "max_runtime_seconds": 1_800},
        batch_transform={"max_wait_seconds": 2_400},
        registry={"approval": "manual", "approval_timeout_hours": 48},
        polling={"interval_seconds": 300},
    )
    assert run_timeout_seconds(everything) == (
        86_400 + 3_600 + (1_800 + 900) + 2_400 + 4 * 300 + 48 * 3_600 + 6 * 3_600
    )
    # an automatic approval never waits
    assert run_timeout_seconds(parse_one(registry={"approval": "automatic", "approval_timeout_hours": 48})) == (
        86_400 + 3_600 + 2 * 60 + 6 * 3_600
    )


def test_a_runs_timeout_is_at_most_step_functions_year() -> None:
    config = parse_one(
        polling={"interval_seconds": 3_600, "max_training_wait_seconds": 31_536_000},
        registry={"approval": "manual", "approval_timeout_hours": 8_760},
    )

    assert run_timeout_seconds(config) == 31_536_000


def test_polling_over_the_history_budget_names_the_fields_and_suggests_an_interval() -> None:
    # GIVEN a one-second interval over a day of training: a check every 10 s for 24,000 s, then hundreds more
    with pytest.raises(ConfigError) as raised:
        parse_one(polling={"interval_seconds": 1})

    message = str(raised.value)
    assert message.startswith("pipeline 'churn': polling.max_training_wait_seconds (86400)")
    assert "polling.max_deployment_wait_seconds (3600)" in message
    assert "polling.interval_seconds (1)" in message
    assert "25,000" in message
    # THEN the suggested interval is the shortest that fits: 2 s gives 17,215 events (1 s: 22,255)
    assert message.endswith("set polling.interval_seconds to at least 2")
    assert parse_one(polling={"interval_seconds": 2}).polling.interval_seconds == 2


def test_the_preprocessing_and_batch_transform_loops_count_against_the_history_budget() -> None:
    # GIVEN a 2 s interval, which fits training and deployment alone (17,215 events), and a batch transform that may
    # be waited for a day too
    two_seconds = {"interval_seconds": 2}
    assert parse_one(polling=two_seconds).polling.interval_seconds == 2

    # WHEN the pipeline adds the transform's loop
    with pytest.raises(ConfigError) as raised:
        parse_one(polling=two_seconds, batch_transform={"max_wait_seconds": 86_400})

    # THEN its wait counts, and the message names it and the interval that fits all three loops
    message = str(raised.value)
    assert "the optional loops' (86400 s)" in message
    shortest = int(message.rsplit(" ", 1)[-1])
    config = parse_one(polling={"interval_seconds": shortest}, batch_transform={"max_wait_seconds": 86_400})
    assert polls_history_events(config.polling, other_waits=(86_400,)) <= 20_000
    assert polls_history_events(config.polling, interval_seconds=shortest - 1, other_waits=(86_400,)) > 20_000


def test_polling_budget_boundary_is_the_last_check_that_fits() -> None:
    # 1,323 checks at most of a loop that may wait up to 195,418 s, 3 of one of 1 s: 19,990 events; a second more
    # adds a check: 20,005
    fits = {"interval_seconds": 1, "max_training_wait_seconds": 195_418, "max_deployment_wait_seconds": 1}
    assert parse_one(polling=fits).polling.max_training_wait_seconds == 195_418

    with pytest.raises(ConfigError, match=r"polling\.max_training_wait_seconds"):
        parse_one(polling={**fits, "max_training_wait_seconds": 195_419})


def test_only_the_pipelines_optional_loops_are_other_waits() -> None:
    assert other_waits(parse_one()) == ()
    # preprocessing first (its runtime plus the margin for Stopping), then batch transform
    config = parse_one(
        preprocessing={"source_dir": "examples/churn/preprocessing", "max_runtime_seconds": 600},
        batch_transform={"max_wait_seconds": 1_200},
    )
    assert other_waits(config) == (600 + PREPROCESSING_WAIT_MARGIN_SECONDS, 1_200)


def test_loops_within_the_budget_have_no_problem() -> None:
    assert history_budget_problem(parse_one().polling) is None
    assert history_budget_problem(parse_one().polling, waits=(86_400,)) is None


def test_the_held_out_evaluation_loop_counts_like_the_other_optional_loops() -> None:
    # GIVEN the default pipeline, whose runs score both models on the held-out day (an hour at most)
    config = raw.parse_one(evaluation={"max_wait_seconds": 1_800})

    # THEN its wait is one of the optional loops', in the run's timeout and the history budget
    assert other_waits(config) == (1_800,)
    assert run_timeout_seconds(config) == 86_400 + 3_600 + 1_800 + 3 * 60 + 6 * 3_600
    assert polls_history_events(config.polling, other_waits=(1_800,)) > polls_history_events(config.polling)
