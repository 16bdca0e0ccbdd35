"""The `rollout` section: a guarded deployment's defaults, its baking periods, and errors naming the field."""

from __future__ import annotations

import re
from typing import Any

import pytest

from stacks.config import ConfigError, parse_pipeline
from tests.unit.stacks.config.raw import churn, parse_one


def test_without_a_rollout_section_deployments_stay_plain_updates() -> None:
    assert parse_one().rollout is None


def test_a_canary_rollout_gets_its_documented_defaults() -> None:
    # GIVEN only a strategy / WHEN parsed
    rollout = parse_one(rollout={"strategy": "canary"}).rollout

    # THEN the canary is 10 %, each bake 5 minutes, and a 5xx or a slow minute rolls back
    assert rollout is not None
    assert (rollout.strategy, rollout.canary_percent, rollout.linear_step_percent) == ("canary", 10, None)
    assert (rollout.wait_seconds, rollout.termination_wait_seconds, rollout.max_execution_seconds) == (300, 0, None)
    assert (rollout.alarms.max_5xx_errors, rollout.alarms.max_model_latency_ms) == (0, 1_000)
    assert rollout.alarms.evaluation_periods == 1
    assert (rollout.baking_periods, rollout.total_wait_seconds) == (2, 600)


@pytest.mark.parametrize(
    ("rollout", "periods"),
    [
        ({"strategy": "all_at_once"}, 1),
        ({"strategy": "canary", "canary_percent": 50}, 2),
        ({"strategy": "linear", "linear_step_percent": 10}, 10),
        ({"strategy": "linear", "linear_step_percent": 30}, 4),
    ],
)
def test_each_traffic_shift_is_followed_by_a_baking_period(rollout: dict[str, Any], periods: int) -> None:
    config = parse_one(rollout={**rollout, "wait_seconds": 60, "termination_wait_seconds": 30}).rollout

    assert config is not None
    assert (config.baking_periods, config.total_wait_seconds) == (periods, periods * 60 + 30)


def test_a_full_rollout_section_is_parsed() -> None:
    rollout = parse_one(
        rollout={
            "strategy": "linear",
            "linear_step_percent": 25,
            "wait_seconds": 120,
            "termination_wait_seconds": 60,
            "max_execution_seconds": 1_800,
            "alarms": {"max_5xx_errors": 3, "max_model_latency_ms": 250, "evaluation_periods": 2},
        }
    ).rollout

    assert rollout is not None
    assert (rollout.linear_step_percent, rollout.wait_seconds, rollout.termination_wait_seconds) == (25, 120, 60)
    assert rollout.max_execution_seconds == 1_800
    assert (rollout.alarms.max_5xx_errors, rollout.alarms.max_model_latency_ms) == (3, 250)
    assert rollout.alarms.evaluation_periods == 2


def test_a_null_latency_threshold_turns_the_latency_alarm_off() -> None:
    rollout = parse_one(rollout={"strategy": "all_at_once", "alarms": {"max_model_latency_ms": None}}).rollout

    assert rollout is not None
    assert rollout.alarms.max_model_latency_ms is None


@pytest.mark.parametrize(
    ("rollout", "message"),
    [
        ({}, "rollout.strategy is required: one of all_at_once, canary, linear"),
        ({"strategy": "blue_green"}, 'rollout.strategy must be one of all_at_once, canary, linear, got "blue_green"'),
        ({"strategy": "canary", "canary_percent": 51}, "rollout.canary_percent must be an integer between 1 and 50"),
        ({"strategy": "canary", "canary_percent": 0}, "rollout.canary_percent must be an integer between 1 and 50"),
        (
            {"strategy": "linear", "linear_step_percent": 5},
            "rollout.linear_step_percent must be an integer between 10 and 50",
        ),
        (
            {"strategy": "linear", "canary_percent": 20},
            "rollout.canary_percent applies to strategy 'canary' only, not 'linear'",
        ),
        (
            {"strategy": "all_at_once", "linear_step_percent": 20},
            "rollout.linear_step_percent applies to strategy 'linear' only",
        ),
        ({"strategy": "canary", "wait_seconds": 3_601}, "rollout.wait_seconds must be an integer between 0 and 3600"),
        (
            {"strategy": "canary", "termination_wait_seconds": -1},
            "rollout.termination_wait_seconds must be an integer between 0 and 3600",
        ),
        (
            {"strategy": "canary", "max_execution_seconds": 599},
            "rollout.max_execution_seconds must be an integer between 600 and 28800",
        ),
        (
            {"strategy": "canary", "wait_seconds": 300, "max_execution_seconds": 600},
            "rollout.max_execution_seconds (600) must be larger than the rollout's waits: 2 baking period(s)",
        ),
        (
            {"strategy": "canary", "alarms": {"max_5xx_errors": -1}},
            "rollout.alarms.max_5xx_errors must be an integer between 0 and 1000000",
        ),
        (
            {"strategy": "canary", "alarms": {"max_model_latency_ms": 0}},
            "rollout.alarms.max_model_latency_ms must be an integer between 1 and 3600000",
        ),
        (
            {"strategy": "canary", "alarms": {"evaluation_periods": 1_441}},
            "rollout.alarms.evaluation_periods must be an integer between 1 and 1440",
        ),
        ({"strategy": "canary", "alarms": {"max_5xx": 1}}, "unknown field 'rollout.alarms.max_5xx'"),
        ({"strategy": "canary", "bake_seconds": 60}, "unknown field 'rollout.bake_seconds'"),
    ],
)
def test_an_invalid_rollout_names_the_pipeline_and_the_field(rollout: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"pipeline 'churn': {message}")):
        parse_one(rollout=rollout)


def test_a_rollout_longer_than_the_deployment_wait_is_refused_naming_both_fields() -> None:
    # GIVEN a linear rollout of 5 bakes of 10 minutes, and a run that waits an hour at most for a deployment
    raw = churn(
        rollout={"strategy": "linear", "linear_step_percent": 20, "wait_seconds": 600, "termination_wait_seconds": 600},
        polling={"max_deployment_wait_seconds": 3_600},
    )

    # WHEN parsed THEN the error says the run would time out while SageMaker still bakes
    with pytest.raises(ConfigError) as raised:
        parse_pipeline(raw)
    assert "polling.max_deployment_wait_seconds (3600)" in str(raised.value)
    assert "= 3600 s" in str(raised.value)
    assert "DeploymentTimedOut" in str(raised.value)
