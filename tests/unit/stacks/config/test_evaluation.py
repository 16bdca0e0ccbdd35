"""The `evaluation` section: the holdout split off each window, and the gates it makes possible."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stacks.config import ConfigError
from tests.unit.stacks.config.raw import parse_one

XGBOOST = {"algorithm": {"builtin": "xgboost"}, "hyperparameters": {"num_round": 10, "eval_metric": "auc"}}
PREPROCESSING = {"source_dir": "examples/churn/preprocessing"}


def gate(metric: str) -> dict[str, Any]:
    return {"metric": metric, "direction": "maximize", "threshold": 0.5}


def test_by_default_the_newest_day_is_held_out() -> None:
    config = parse_one()

    assert config.evaluation.split is not None
    assert json.loads(config.evaluation.split.to_env()) == {"days": 1}


@pytest.mark.parametrize(
    ("holdout", "env"),
    [
        ({"days": 2}, {"days": 2}),
        ({"fraction": 0.2}, {"fraction": 0.2, "seed": 0}),
        ({"fraction": 0.25, "seed": 7}, {"fraction": 0.25, "seed": 7}),
    ],
)
def test_a_holdout_by_days_or_by_fraction_reaches_check_data(holdout: dict[str, Any], env: dict[str, Any]) -> None:
    config = parse_one(evaluation={"holdout": holdout})

    assert config.evaluation.split is not None
    assert json.loads(config.evaluation.split.to_env()) == env


def test_none_trains_on_the_whole_window() -> None:
    assert parse_one(evaluation={"holdout": "none"}).evaluation.split is None


@pytest.mark.parametrize(
    ("holdout", "message"),
    [
        ({"days": 1, "fraction": 0.1}, "evaluation.holdout.days or fraction must be set, not both"),
        ({}, "evaluation.holdout.days or fraction must be set, not both"),
        ({"days": 1, "seed": 3}, "evaluation.holdout.seed only applies to a fraction split"),
        ({"fraction": 1.0}, "evaluation.holdout.fraction must be a number above 0 and below 1, like 0.1, got 1.0"),
        ({"fraction": 0}, "evaluation.holdout.fraction must be a number above 0 and below 1"),
        ({"days": 0}, "evaluation.holdout.days must be an integer between 1 and 365, got 0"),
        ({"days": 1.5}, "evaluation.holdout.days must be an integer between 1 and 365, got 1.5"),
        ({"weeks": 1}, "unknown field 'evaluation.holdout.weeks'; known fields: days, fraction, seed"),
        ("nonee", 'evaluation.holdout must be {"days": N}, {"fraction": f} (with an optional "seed") or "none", got'),
    ],
)
def test_a_bad_holdout_is_refused_naming_the_field(holdout: Any, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_one(evaluation={"holdout": holdout})

    assert str(raised.value).startswith("pipeline 'churn': ")
    assert message in str(raised.value)


def test_a_holdout_of_the_whole_window_is_refused() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_one(window_days=3, evaluation={"holdout": {"days": 3}})

    assert str(raised.value).startswith(
        "pipeline 'churn': evaluation.holdout.days (3) must be smaller than window_days (3)"
    )


@pytest.mark.parametrize(
    ("algorithm", "metric"),
    [
        (XGBOOST, "validation:auc"),
        ({"algorithm": {"builtin": "linear-learner"}}, "validation:objective_loss"),
    ],
)
def test_a_built_in_may_be_gated_on_a_validation_metric_read_from_the_holdout(
    algorithm: dict[str, Any], metric: str
) -> None:
    config = parse_one(**algorithm, quality_gate=gate(metric))

    assert config.quality_gate is not None
    assert config.quality_gate.metric == metric


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"evaluation": {"holdout": "none"}}, 'evaluation.holdout is "none"'),
        ({"preprocessing": PREPROCESSING}, "the preprocessing writes the job's only input"),
    ],
)
def test_a_validation_gate_without_a_validation_channel_is_refused(fields: dict[str, Any], why: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_one(**XGBOOST, quality_gate=gate("validation:auc"), **fields)

    message = str(raised.value)
    assert message.startswith("pipeline 'churn': quality_gate.metric 'validation:auc' is never reported: ")
    assert why in message
    assert "like 'train:auc'" in message
