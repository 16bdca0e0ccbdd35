"""`evaluation.script`: the user's evaluate.py scoring the new and the production model on the holdout, and the
rules it changes (the holdout behind preprocessing, the quality gate's metric)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stacks.config import ConfigError
from tests.unit.stacks.config.raw import parse_one

SCRIPT = {"source_dir": "tests/unit/stacks/fixtures/evaluation_script"}
PREPROCESSING = {"source_dir": "examples/churn/preprocessing"}
XGBOOST = {"algorithm": {"builtin": "xgboost"}, "hyperparameters": {"num_round": 10, "objective": "binary:logistic"}}
FRAMEWORK = {
    "algorithm": {
        "framework": "sklearn",
        "version": "1.2-1",
        "source_dir": "examples/churn/preprocessing",
        "entry_point": "preprocess.py",
        "metric_definitions": [{"Name": "validation:f1", "Regex": "f1=([0-9.]+)"}],
    }
}
OWN_IMAGE = {"algorithm": {"image_uri": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/trainer:2.1"}}


def with_script(**script: Any) -> dict[str, Any]:
    return {"script": {**SCRIPT, **script}}


@pytest.mark.parametrize(
    "algorithm", [{}, XGBOOST, FRAMEWORK, OWN_IMAGE], ids=["linear-learner", "xgboost", "framework", "own-image"]
)
def test_a_script_scores_the_models_of_any_algorithm_instead_of_the_built_in_evaluators(
    algorithm: dict[str, Any],
) -> None:
    config = parse_one(**algorithm, evaluation=with_script())

    assert config.evaluation_script is not None
    assert (config.evaluation_script.source_dir, config.evaluation_script.entry_point) == (
        SCRIPT["source_dir"],
        "evaluate.py",
    )
    assert config.evaluation_script.image is None  # SageMaker's scikit-learn image, chosen at synth
    assert config.evaluation_script.volume_size_gb == 30
    assert config.builtin_evaluation is None
    assert config.evaluates_models


def test_the_script_runs_on_the_holdout_split_off_the_window() -> None:
    config = parse_one(evaluation=with_script())

    assert config.evaluation.split is not None
    assert json.loads(config.evaluation.split.to_env()) == {"days": 1}


def test_the_script_may_name_its_file_image_and_volume() -> None:
    image = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/evaluate:2"

    config = parse_one(evaluation=with_script(entry_point="score.py", image_uri=image, volume_size_gb=100))

    script = config.evaluation_script
    assert script is not None
    assert script.entry_point == "score.py"
    assert script.image is not None
    assert script.image.uri == image
    assert script.volume_size_gb == 100


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ({"entry_point": "../evaluate.py"}, 'evaluation.script.entry_point must be a Python file name like '
         'preprocess.py (no directories), got "../evaluate.py"'),
        ({"entry_point": "lib/evaluate.py"}, "evaluation.script.entry_point must be a Python file name"),
        ({"entry_point": "evaluate.sh"}, "evaluation.script.entry_point must be a Python file name"),
        ({"source_dir": "/opt/evaluation"}, 'evaluation.script.source_dir must be a directory inside the project, '
         'got "/opt/evaluation"'),
        ({"source_dir": "evaluation/../../elsewhere"}, "evaluation.script.source_dir must be a directory inside the "
         "project"),
        ({"source_dir": ""}, "evaluation.script.source_dir must be a non-empty string"),
        ({"image_uri": "docker.io/team/evaluate:2"}, "evaluation.script.image_uri must be an ECR image URI"),
        ({"volume_size_gb": 0}, "evaluation.script.volume_size_gb must be an integer between 1 and 16384, got 0"),
        ({"instance_type": "ml.m5.xlarge"}, "unknown field 'evaluation.script.instance_type'; known fields: "
         "entry_point, image_uri, source_dir, volume_size_gb"),
    ],
)  # fmt: skip
def test_a_bad_script_is_refused_naming_the_field(script: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_one(evaluation=with_script(**script))

    assert str(raised.value).startswith("pipeline 'churn': ")
    assert message in str(raised.value)


def test_a_script_without_a_source_dir_is_refused_naming_the_field() -> None:
    with pytest.raises(ConfigError, match=r"evaluation\.script\.source_dir"):
        parse_one(evaluation={"script": {"entry_point": "evaluate.py"}})


@pytest.mark.parametrize(
    ("evaluation", "message"),
    [
        ({"holdout": "none"}, 'evaluation.script needs held-out data to score the models on, and evaluation.holdout '
         'is "none": hold out {"days": 1} or {"fraction": 0.1}'),
        ({"score_models": False}, "evaluation.script would never run: evaluation.score_models is false (no "
         "evaluation job); remove one of the two"),
    ],
)  # fmt: skip
def test_a_script_that_could_never_run_is_refused_naming_it(evaluation: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_one(evaluation={**with_script(), **evaluation})

    assert str(raised.value) == f"pipeline 'churn': {message}"


# Behind preprocessing: the holdout is read by the script alone


def test_with_preprocessing_a_script_without_a_holdout_is_refused_naming_it() -> None:
    with pytest.raises(ConfigError, match=r"^pipeline 'churn': evaluation\.script needs held-out data"):
        parse_one(preprocessing=PREPROCESSING, evaluation={**with_script(), "holdout": "none"})


def test_with_preprocessing_a_script_holds_out_the_newest_day_by_default() -> None:
    config = parse_one(preprocessing=PREPROCESSING, evaluation=with_script())

    assert config.evaluation.split is not None
    assert json.loads(config.evaluation.split.to_env()) == {"days": 1}
    assert config.evaluation_script is not None
    assert config.builtin_evaluation is None
    assert config.evaluates_models


@pytest.mark.parametrize(
    ("holdout", "env"),
    [({"days": 2}, {"days": 2}), ({"fraction": 0.2, "seed": 3}, {"fraction": 0.2, "seed": 3})],
)
def test_with_preprocessing_a_script_accepts_an_explicit_holdout(holdout: dict[str, Any], env: dict[str, Any]) -> None:
    config = parse_one(preprocessing=PREPROCESSING, evaluation={**with_script(), "holdout": holdout})

    assert config.evaluation.split is not None
    assert json.loads(config.evaluation.split.to_env()) == env


def test_with_preprocessing_a_script_still_leaves_a_day_to_train_on() -> None:
    with pytest.raises(ConfigError, match=r"evaluation\.holdout\.days \(3\) must be smaller than window_days \(3\)"):
        parse_one(window_days=3, preprocessing=PREPROCESSING, evaluation={**with_script(), "holdout": {"days": 3}})


def test_with_preprocessing_a_holdout_without_a_script_is_refused_suggesting_one() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_one(preprocessing=PREPROCESSING, evaluation={"holdout": {"days": 1}})

    message = str(raised.value)
    assert message.startswith("pipeline 'churn': evaluation.holdout would hold data out that nothing reads")
    assert "give evaluation.script to score the models on it yourself" in message


# The quality gate on the script's metrics


@pytest.mark.parametrize(
    ("algorithm", "metric", "direction"),
    [
        ({}, "my_score", "maximize"),
        ({}, "my_score", "minimize"),
        ({}, "rmse", "minimize"),
        (XGBOOST, "auc", "maximize"),
        (FRAMEWORK, "weighted_f1", "maximize"),
        (OWN_IMAGE, "mae", "minimize"),
    ],
)
def test_a_gate_on_any_metric_the_script_reports_compares_both_models(
    algorithm: dict[str, Any], metric: str, direction: str
) -> None:
    gate = {"metric": metric, "direction": direction, "max_regression_percent": 5}

    config = parse_one(**algorithm, evaluation=with_script(), quality_gate=gate)

    assert config.quality_gate is not None
    assert (config.quality_gate.metric, config.quality_gate.max_regression_percent) == (metric, 5)


def test_with_preprocessing_a_gate_on_the_scripts_metric_is_accepted() -> None:
    gate = {"metric": "rmse", "direction": "minimize", "threshold": 0.5}

    config = parse_one(preprocessing=PREPROCESSING, evaluation=with_script(), quality_gate=gate)

    assert config.quality_gate is not None
    assert config.quality_gate.metric == "rmse"


@pytest.mark.parametrize(("metric", "wanted"), [("rmse", "minimize"), ("auc", "maximize"), ("r2", "maximize")])
def test_a_gate_on_a_known_metric_in_the_wrong_direction_is_refused(metric: str, wanted: str) -> None:
    wrong = "maximize" if wanted == "minimize" else "minimize"

    with pytest.raises(ConfigError) as raised:
        parse_one(evaluation=with_script(), quality_gate={"metric": metric, "direction": wrong, "threshold": 1.0})

    assert str(raised.value) == (
        f"pipeline 'churn': quality_gate.direction must be {wanted} for {metric!r}, got {wrong!r}"
    )


@pytest.mark.parametrize(
    ("algorithm", "metric"),
    [({}, "validation:rmse"), ({}, "train:objective_loss:final"), (FRAMEWORK, "validation:f1")],
)
def test_comparing_two_training_jobs_metrics_is_refused_where_the_script_compares_both_models(
    algorithm: dict[str, Any], metric: str
) -> None:
    gate = {"metric": metric, "direction": "minimize", "max_regression_percent": 5}

    with pytest.raises(ConfigError) as raised:
        parse_one(**algorithm, evaluation=with_script(entry_point="score.py"), quality_gate=gate)

    assert str(raised.value) == (
        f"pipeline 'churn': quality_gate.max_regression_percent compares {metric!r} of two training jobs, each on "
        "its own data: gate on a metric your evaluation script (score.py) reports, which scores the new and the "
        "production model on this run's holdout"
    )


def test_a_threshold_on_a_training_metric_is_still_a_gate_of_its_own() -> None:
    gate = {"metric": "validation:rmse", "direction": "minimize", "threshold": 1.0}

    config = parse_one(evaluation=with_script(), quality_gate=gate)

    assert config.quality_gate is not None
    assert config.quality_gate.metric == "validation:rmse"


def test_a_training_metric_the_job_never_reports_is_still_refused_with_a_script() -> None:
    # GIVEN preprocessing, whose output is the training job's only channel: no validation:* metric
    gate = {"metric": "validation:rmse", "direction": "minimize", "threshold": 1.0}

    with pytest.raises(ConfigError, match=r"quality_gate\.metric 'validation:rmse' is never reported"):
        parse_one(preprocessing=PREPROCESSING, evaluation=with_script(), quality_gate=gate)


# The model's task, given to the script (MODEL_TASK) and grouping its flat metrics


@pytest.mark.parametrize(
    ("algorithm", "task"),
    [
        ({}, "regression"),
        ({"hyperparameters": {"predictor_type": "binary_classifier"}}, "binary"),
        ({"hyperparameters": {"predictor_type": "multiclass_classifier", "num_classes": 3}}, "multiclass"),
        (XGBOOST, "binary"),
        ({**XGBOOST, "hyperparameters": {"num_round": 5, "objective": "multi:softprob", "num_class": 3}},
         "multiclass"),
        ({**XGBOOST, "hyperparameters": {"num_round": 5}}, "regression"),
        ({**XGBOOST, "hyperparameters": {"num_round": 5, "objective": "rank:pairwise"}}, None),
        (FRAMEWORK, None),
        (OWN_IMAGE, None),
    ],
)  # fmt: skip
def test_the_model_task_is_known_for_built_ins_only(algorithm: dict[str, Any], task: str | None) -> None:
    assert parse_one(**algorithm, evaluation=with_script()).model_task == task
