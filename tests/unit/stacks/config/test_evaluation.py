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


# The held-out evaluation: the new and the production model scored on the holdout


@pytest.mark.parametrize(
    ("fields", "task", "answering"),
    [
        ({}, "regression", {"predictor_type": "regressor"}),
        ({"hyperparameters": {"predictor_type": "binary_classifier"}}, "binary",
         {"predictor_type": "binary_classifier"}),
        ({**XGBOOST, "hyperparameters": {"num_round": 5, "objective": "multi:softprob", "num_class": 3}}, "multiclass",
         {"objective": "multi:softprob"}),
    ],
)  # fmt: skip
def test_a_built_in_on_csv_data_is_scored_on_the_holdout_by_its_task(
    fields: dict[str, Any], task: str, answering: dict[str, str]
) -> None:
    config = parse_one(**fields)

    assert config.builtin_evaluation is not None
    assert config.builtin_evaluation.task == task
    env = json.loads(config.builtin_evaluation.to_env(config.evaluation, config.evaluation_prefix))
    assert env["hyperparameters"] == answering
    assert (env["output_prefix"], env["instance_type"], env["max_wait_seconds"]) == (
        "evaluations/churn",
        "ml.m5.large",
        3600,
    )


@pytest.mark.parametrize(
    ("fields", "metric", "direction"),
    [
        ({}, "rmse", "minimize"),
        ({}, "r2", "maximize"),
        ({**XGBOOST, "hyperparameters": {"num_round": 5, "objective": "binary:logistic"}}, "auc", "maximize"),
        ({"hyperparameters": {"predictor_type": "binary_classifier"}}, "logloss", "minimize"),
    ],
)
def test_a_gate_on_an_evaluation_metric_compares_both_models_on_the_holdout(
    fields: dict[str, Any], metric: str, direction: str
) -> None:
    gate = {"metric": metric, "direction": direction, "max_regression_percent": 5}

    config = parse_one(**fields, quality_gate=gate)

    assert config.quality_gate is not None
    assert config.quality_gate.metric == metric


@pytest.mark.parametrize(
    ("fields", "metric", "message"),
    [
        ({}, "auc", "quality_gate.metric 'auc' scores binary models; this pipeline's linear-learner trains a "
         "regression model: use one of rmse, mse, mae, r2"),
        ({"evaluation": {"holdout": "none"}}, "rmse", 'evaluation.holdout is "none"'),
        ({"evaluation": {"score_models": False}}, "rmse", "evaluation.score_models is false"),
        ({"preprocessing": PREPROCESSING}, "rmse", "this pipeline has preprocessing"),
        ({**XGBOOST, "hyperparameters": {"num_round": 5, "objective": "rank:pairwise"}}, "rmse",
         "do not score xgboost with these hyperparameters"),
    ],
)  # fmt: skip
def test_a_gate_on_an_evaluation_metric_nobody_computes_is_refused_saying_why(
    fields: dict[str, Any], metric: str, message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_one(**fields, quality_gate={"metric": metric, "direction": "minimize", "threshold": 1.0})

    assert str(raised.value).startswith("pipeline 'churn': quality_gate.metric")
    assert message in str(raised.value)


def test_a_gate_whose_direction_contradicts_its_evaluation_metric_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"quality_gate.direction must be minimize for 'rmse', got 'maximize'"):
        parse_one(quality_gate={"metric": "rmse", "direction": "maximize", "threshold": 1.0})


def test_comparing_two_training_jobs_metrics_is_refused_where_the_holdout_compares_both_models() -> None:
    # GIVEN the README's old example: production's training metric against the new model's, each on its own data
    gate = {"metric": "train:objective_loss:final", "direction": "minimize", "max_regression_percent": 5}

    # WHEN the models could be compared on the same held-out records instead, THEN synth says so
    with pytest.raises(ConfigError) as raised:
        parse_one(quality_gate=gate)
    assert str(raised.value) == (
        "pipeline 'churn': quality_gate.max_regression_percent compares 'train:objective_loss:final' of two "
        "training jobs, each on its own data: gate on a held-out evaluation metric instead (rmse, mse, mae, r2), "
        "which scores the new and the production model on this run's holdout"
    )
    # ... a threshold on a training metric is still a gate of its own, and without the evaluation the comparison
    # of training metrics is what there is
    assert parse_one(quality_gate={**gate, "max_regression_percent": None, "threshold": 1.0}).quality_gate
    assert parse_one(quality_gate=gate, evaluation={"score_models": False}).quality_gate


def test_with_preprocessing_every_day_trains_and_a_holdout_nothing_reads_is_refused() -> None:
    # GIVEN a pipeline with preprocessing, whose output is the training job's only channel
    config = parse_one(preprocessing=PREPROCESSING)

    # THEN by default nothing is held out, and asking for a holdout says why it would be wasted
    assert config.evaluation.split is None
    with pytest.raises(ConfigError) as raised:
        parse_one(preprocessing=PREPROCESSING, evaluation={"holdout": {"days": 1}})
    assert str(raised.value).startswith("pipeline 'churn': evaluation.holdout would hold data out that nothing reads")
    assert parse_one(preprocessing=PREPROCESSING, evaluation={"holdout": "none"}).evaluation.split is None
