"""Built-in XGBoost's hyperparameter checks: the container's names, ranges, dependencies and messages."""

from __future__ import annotations

import pytest

from local_runtime.algorithms.xgboost import UserError, validate


def test_valid_hyperparameters_are_parsed_with_their_aliases_resolved() -> None:
    # GIVEN hyperparameters.json's strings, one of them under an alias
    raw = {"num_round": "10", "objective": "binary:logistic", "learning_rate": "0.1", "eval_metric": "auc,logloss"}

    # WHEN they are validated
    parsed = validate(raw)

    # THEN each has its type, under the container's own name
    assert parsed == {"num_round": 10, "objective": "binary:logistic", "eta": 0.1, "eval_metric": ["auc", "logloss"]}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "Missing required hyperparameter: num_round"),
        ({"num_round": "5", "silent": "1"}, "Extraneous hyperparameter found: silent"),
        ({"num_round": "5", "sagemaker_job_name": '"x"'}, "Extraneous hyperparameter found: sagemaker_job_name"),
        ({"num_round": "five"}, "Hyperparameter num_round: could not parse value (caused by ValueError)"),
        ({"num_round": "0"}, "Hyperparameter num_round: 0 is not in [1, +inf)"),
        ({"num_round": "5", "eta": "2"}, "Hyperparameter eta: 2.0 is not in [0, 1]"),
        ({"num_round": "5", "subsample": "0"}, "Hyperparameter subsample: 0.0 is not in (0, 1]"),
        ({"num_round": "5", "max_depth": "-1"}, "Hyperparameter max_depth: -1 is not in [0, +inf)"),
        ({"num_round": "5", "objective": '"reg:squarederror"'}, 'Hyperparameter objective: "reg:squarederror" is not'),
        ({"num_round": "5", "eval_metric": "rmse,bogus"}, "Hyperparameter eval_metric: value ['rmse', 'bogus'] not"),
        ({"num_round": "5", "eval_metric": "rmse@0.5"}, "Metric 'rmse@0.5' is not supported."),
        ({"num_round": "5", "objective": "multi:softmax"}, "Require input for parameter 'num_class'"),
        ({"num_round": "5", "eval_metric": "auc"}, "Metric 'auc' can only be applied for classification"),
        ({"num_round": "5", "monotone_constraints": "(1,0)"}, "monotone_constraints can be used only when"),
        ({"num_round": "5", "booster": "gblinear", "updater": "grow_colmaker"}, "Linear updater should be one of"),
    ],
)
def test_a_bad_or_missing_hyperparameter_is_a_user_error_naming_it(raw: dict[str, str], message: str) -> None:
    with pytest.raises(UserError) as raised:
        validate(raw)

    assert str(raised.value).startswith(message)


def test_the_checks_run_in_the_containers_order() -> None:
    # GIVEN a missing required one, an unknown one and an out-of-range one: the required one is reported first
    with pytest.raises(UserError, match="Missing required hyperparameter: num_round"):
        validate({"bogus": "1", "eta": "5"})
