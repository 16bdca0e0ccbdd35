"""Held-out scoring: the built-ins' transform answers, metrics as scikit-learn computes them, Model Monitor's report."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost
from sklearn import metrics as sk

from contract.evaluation import EVALUATION_METRICS, metrics_for
from lambdas.evaluate_model.scoring import (
    DIRECTIONS,
    LabelError,
    NotEvaluableError,
    PredictionFormatError,
    Predictions,
    Task,
    compute_metrics,
    confusion_matrix,
    evaluate,
    quality_statistics,
    read_predictions,
    standard_deviations,
    task_of,
)
from local_runtime.algorithms.linear_learner import LinearLearnerModel
from local_runtime.algorithms.xgboost import MODEL_FILE
from local_runtime.algorithms.xgboost.serve import XGBoostServer
from local_runtime.sagemaker.serving import LinearLearnerServer

WHEN = "2026-11-22T03:00:00Z"
LL_BINARY = {"predictor_type": "binary_classifier"}


def labels_and_scores(seed: int, count: int = 500) -> tuple[list[float], list[float]]:
    """Binary labels and scores that tend to agree with them, rounded to one decimal so many scores tie."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, count).astype(float)
    scores = np.clip(np.round(0.35 * labels + rng.uniform(0, 0.65, count), 1), 0.05, 0.95)
    return labels.tolist(), scores.tolist()


@pytest.mark.parametrize(
    ("algorithm", "hyperparameters", "task"),
    [
        ("linear-learner", {"predictor_type": "regressor"}, "regression"),
        ("linear-learner", LL_BINARY, "binary"),
        ("linear-learner", {"predictor_type": "multiclass_classifier"}, "multiclass"),
        ("linear-learner", {}, None),
        ("xgboost", {}, "regression"),  # reg:squarederror by default
        ("xgboost", {"objective": "reg:logistic"}, "regression"),
        ("xgboost", {"objective": "reg:tweedie"}, "regression"),
        ("xgboost", {"objective": "count:poisson"}, "regression"),
        ("xgboost", {"objective": "survival:cox"}, "regression"),
        ("xgboost", {"objective": "binary:logistic"}, "binary"),
        ("xgboost", {"objective": "binary:logitraw"}, "binary"),
        ("xgboost", {"objective": "binary:hinge"}, "binary"),
        ("xgboost", {"objective": "multi:softmax", "num_class": "3"}, "multiclass"),
        ("xgboost", {"objective": "multi:softprob", "num_class": "3"}, "multiclass"),
        ("xgboost", {"objective": "rank:pairwise"}, None),
        ("kmeans", {"predictor_type": "regressor"}, None),
    ],
)
def test_the_task_comes_from_the_algorithm_and_its_objective(
    algorithm: str, hyperparameters: dict[str, str], task: Task | None
) -> None:
    assert task_of(algorithm, hyperparameters) == task


def test_every_metric_computed_has_a_direction() -> None:
    labels, scores = labels_and_scores(seed=1)
    predictions = Predictions([float(s > 0.5) for s in scores], scores, scores)
    computed = {
        "regression": compute_metrics("regression", scores, Predictions(labels)),
        "binary": compute_metrics("binary", labels, predictions),
        "multiclass": compute_metrics(
            "multiclass", labels, Predictions(predictions.values, None, None, [[0.5, 0.5]] * 500)
        ),
    }

    for task, names in computed.items():
        assert sorted(names) == sorted(metrics_for(task))
    assert {name: direction for name, (direction, _) in EVALUATION_METRICS.items()} == DIRECTIONS
    assert (DIRECTIONS["rmse"], DIRECTIONS["auc"], DIRECTIONS["logloss"]) == ("minimize", "maximize", "minimize")


def test_regression_metrics_are_scikit_learns() -> None:
    rng = np.random.default_rng(2)
    labels = rng.normal(10, 3, 1000)
    predicted = labels + rng.normal(0.5, 1.5, 1000)

    result = compute_metrics("regression", labels.tolist(), Predictions(predicted.tolist()))

    assert result["mse"] == pytest.approx(sk.mean_squared_error(labels, predicted), rel=1e-12)
    assert result["rmse"] == pytest.approx(math.sqrt(sk.mean_squared_error(labels, predicted)), rel=1e-12)
    assert result["mae"] == pytest.approx(sk.mean_absolute_error(labels, predicted), rel=1e-12)
    assert result["r2"] == pytest.approx(sk.r2_score(labels, predicted), rel=1e-12)


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_binary_metrics_are_scikit_learns_with_tied_scores(seed: int) -> None:
    labels, scores = labels_and_scores(seed)
    predicted = [float(score > 0.5) for score in scores]

    result = compute_metrics("binary", labels, Predictions(predicted, scores, scores))

    assert len(set(scores)) < 12  # hundreds of ties
    assert result["accuracy"] == pytest.approx(sk.accuracy_score(labels, predicted), rel=1e-12)
    assert result["f1"] == pytest.approx(sk.f1_score(labels, predicted), rel=1e-12)
    assert result["precision"] == pytest.approx(sk.precision_score(labels, predicted), rel=1e-12)
    assert result["recall"] == pytest.approx(sk.recall_score(labels, predicted), rel=1e-12)
    assert result["auc"] == pytest.approx(sk.roc_auc_score(labels, scores), rel=1e-12)
    assert result["logloss"] == pytest.approx(sk.log_loss(labels, scores), rel=1e-12)


def test_a_raw_margin_ranks_for_the_auc_but_gives_no_log_loss() -> None:
    rng = np.random.default_rng(6)
    labels = rng.integers(0, 2, 300).astype(float)
    margins = np.round(labels + rng.normal(0, 1.2, 300), 1)

    result = compute_metrics(
        "binary", labels.tolist(), Predictions((margins > 0).astype(float).tolist(), margins.tolist())
    )

    assert result["auc"] == pytest.approx(sk.roc_auc_score(labels, margins), rel=1e-12)
    assert "logloss" not in result


def test_the_log_loss_clips_certain_mistakes_at_1e_15() -> None:
    # GIVEN a positive record predicted with probability 0 and a negative one with probability 1
    result = compute_metrics("binary", [1.0, 0.0, 1.0], Predictions([0.0, 1.0, 1.0], [0.0, 1.0, 1.0], [0.0, 1.0, 1.0]))

    # THEN each costs -log(1e-15), the right answer -log(1 - 1e-15)
    assert result["logloss"] == pytest.approx((-2 * math.log(1e-15) - math.log(1 - 1e-15)) / 3, rel=1e-12)


def test_precision_recall_and_f1_are_zero_without_a_true_positive_as_in_scikit_learn() -> None:
    labels, predicted = [0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]

    result = compute_metrics("binary", labels, Predictions(predicted))

    assert result["precision"] == sk.precision_score(labels, predicted, zero_division=0) == 0.0
    assert result["recall"] == result["f1"] == 0.0
    assert result["accuracy"] == 0.5


def test_multiclass_metrics_are_scikit_learns() -> None:
    # GIVEN four classes, the last one predicted but never a label
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 3, 600)
    probabilities = rng.dirichlet([1.0, 1.0, 1.0, 0.3], 600)
    probabilities[np.arange(600), labels] += 0.5
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    predicted = probabilities.argmax(axis=1)

    result = compute_metrics(
        "multiclass",
        labels.astype(float).tolist(),
        Predictions(predicted.astype(float).tolist(), class_probabilities=probabilities.tolist()),
    )

    assert 3 in set(predicted.tolist())
    assert result["accuracy"] == pytest.approx(sk.accuracy_score(labels, predicted), rel=1e-12)
    assert result["f1"] == pytest.approx(sk.f1_score(labels, predicted, average="macro"), rel=1e-12)
    assert result["logloss"] == pytest.approx(sk.log_loss(labels, probabilities, labels=[0, 1, 2, 3]), rel=1e-12)


@pytest.mark.parametrize(
    ("task", "labels", "predictions", "missing"),
    [
        ("regression", [2.0, 2.0, 2.0], Predictions([1.0, 2.0, 3.0]), "r2"),
        ("binary", [1.0, 1.0, 1.0], Predictions([1.0, 0.0, 1.0], [0.9, 0.2, 0.7], [0.9, 0.2, 0.7]), "auc"),
        ("binary", [1.0, 0.0], Predictions([1.0, 0.0]), "logloss"),  # binary:hinge: classes only
        ("multiclass", [0.0, 2.0], Predictions([0.0, 1.0]), "logloss"),  # multi:softmax: classes only
    ],
)
def test_a_metric_that_cannot_be_computed_is_left_out(
    task: Task, labels: list[float], predictions: Predictions, missing: str
) -> None:
    result = compute_metrics(task, labels, predictions)

    assert missing not in result
    assert all(math.isfinite(value) for value in result.values())


# --- reading the built-ins' answers -------------------------------------------------------------------------------


@pytest.mark.parametrize("predictor_type", ["regressor", "binary_classifier"])
def test_linear_learner_json_lines_are_read_from_its_server(predictor_type: str) -> None:
    # GIVEN the local Linear Learner's answers to three records, asked for JSON Lines
    model = LinearLearnerModel(predictor_type, [1.5, -2.0], 0.25, [0.0, 1.0], [1.0, 2.0])
    rows = [[0.5, 1.0], [-1.0, 3.0], [2.0, -1.0]]
    body, _ = LinearLearnerServer(model).invoke(
        b"".join(f"{a},{b}\n".encode() for a, b in rows), "text/csv", "application/jsonlines"
    )

    predictions = read_predictions(
        body.decode().splitlines(), algorithm="linear-learner", hyperparameters={"predictor_type": predictor_type}
    )

    expected = model.predict(np.asarray(rows))
    if predictor_type == "regressor":
        assert predictions == Predictions([record["score"] for record in expected])
    else:
        probabilities = [record["score"] for record in expected]
        assert predictions == Predictions(
            [record["predicted_label"] for record in expected], probabilities, probabilities
        )


def test_linear_learner_multiclass_lines_carry_every_class_probability() -> None:
    # The documented multiclass answer (LL-in-formats, JSONLINES), and the label it picked, as it gives it.
    lines = [
        '{"score": [0.1, 0.2, 0.4, 0.3], "predicted_label": 2}',
        '{"score": [0.7, 0.1, 0.1, 0.1], "predicted_label": 0}',
    ]

    predictions = read_predictions(
        lines, algorithm="linear-learner", hyperparameters={"predictor_type": "multiclass_classifier"}
    )

    assert predictions == Predictions([2.0, 0.0], class_probabilities=[[0.1, 0.2, 0.4, 0.3], [0.7, 0.1, 0.1, 0.1]])


def xgboost_batch_answer(tmp_path: Path, params: dict[str, Any], features: Any, labels: Any) -> tuple[str, Any]:
    """Built-in XGBoost's batch transform answer (SAGEMAKER_BATCH) for `features`, and the booster's predictions."""
    booster = xgboost.train(params, xgboost.DMatrix(features, label=labels), 8)
    (tmp_path / MODEL_FILE).write_bytes(bytes(booster.save_raw("ubj")))
    server = XGBoostServer.load(tmp_path, {"SAGEMAKER_BATCH": "true"})
    body, _ = server.invoke(
        "".join(",".join(map(str, row)) + "\n" for row in features).encode(), "text/csv", "text/csv"
    )
    return body.decode(), booster.predict(xgboost.DMatrix(features))


@pytest.mark.parametrize(
    "objective",
    ["reg:squarederror", "binary:logistic", "binary:logitraw", "binary:hinge", "multi:softmax", "multi:softprob"],
)
def test_xgboost_batch_answers_are_read_for_each_objective(tmp_path: Path, objective: str) -> None:
    # GIVEN a booster trained with the objective, answering a batch transform through the built-in's contract
    rng = np.random.default_rng(8)
    features = rng.uniform(0, 1, size=(60, 3))
    classes = 3 if objective.startswith("multi:") else 2
    labels = np.minimum((features[:, 0] * classes).astype(int), classes - 1).astype(float)
    params: dict[str, Any] = {"objective": objective, "max_depth": 2, "nthread": 1}
    if classes == 3:
        params["num_class"] = 3
    answer, expected = xgboost_batch_answer(tmp_path, params, features, labels)

    predictions = read_predictions(answer.splitlines(), algorithm="xgboost", hyperparameters={"objective": objective})

    # THEN each line is one record's prediction, as the booster computes it
    assert len(predictions) == 60
    if objective == "multi:softprob":
        assert answer.startswith("[")
        np.testing.assert_allclose(predictions.class_probabilities or [], expected)
        assert predictions.values == expected.argmax(axis=1).astype(float).tolist()
    elif objective == "binary:logistic":
        assert predictions.scores == predictions.probabilities == pytest.approx(expected.tolist())
        assert predictions.values == (expected > 0.5).astype(float).tolist()
    elif objective == "binary:logitraw":
        assert predictions.scores == pytest.approx(expected.tolist())
        assert predictions.probabilities is None  # a margin is no probability: no log loss
        assert predictions.values == (expected > 0).astype(float).tolist()
    else:  # a value, or a class: hinge and softmax give no score
        assert predictions.values == pytest.approx(expected.tolist())
        assert (predictions.scores, predictions.probabilities, predictions.class_probabilities) == (None, None, None)
    task = task_of("xgboost", {"objective": objective})
    assert task is not None
    assert set(compute_metrics(task, labels.tolist(), predictions)) <= set(DIRECTIONS)


def test_blank_lines_are_skipped() -> None:
    predictions = read_predictions(["1.5\n", "\n", "  \n", "2.5"], algorithm="xgboost", hyperparameters={})

    assert predictions == Predictions([1.5, 2.5])


# --- errors ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("algorithm", "hyperparameters", "bad_line", "reason"),
    [
        ("xgboost", {}, "oops", "could not convert"),
        ("xgboost", {}, "nan", "not a finite number"),
        ("xgboost", {"objective": "binary:logistic"}, "1.5", "not a probability"),
        ("xgboost", {"objective": "binary:hinge"}, "0.5", "not a class"),
        (
            "xgboost",
            {"objective": "multi:softprob"},
            "[0.5, 0.5, 0.0]",
            "3 class probabilities, the lines above have 2",
        ),
        ("linear-learner", LL_BINARY, '{"score": 0.8}', "predicted_label"),
        ("linear-learner", LL_BINARY, '{"score": 0.8, "predicted_label": 2}', "not a class among 0..1"),
        ("linear-learner", LL_BINARY, "[0.8]", "expected a JSON object"),
        ("linear-learner", {"predictor_type": "regressor"}, '{"score": "3.2"}', "not a finite number"),
    ],
)
def test_a_line_that_is_not_an_answer_is_named_with_its_number(
    algorithm: str, hyperparameters: dict[str, str], bad_line: str, reason: str
) -> None:
    first = {"linear-learner": '{"score": 0.4, "predicted_label": 0}', "xgboost": "0.4"}[algorithm]
    if hyperparameters.get("objective") == "multi:softprob":
        first = "[0.4, 0.6]"
    elif hyperparameters.get("objective") == "binary:hinge":
        first = "1.0"
    elif hyperparameters.get("predictor_type") == "regressor":
        first = '{"score": 0.4}'

    with pytest.raises(PredictionFormatError) as caught:
        read_predictions([first, bad_line], algorithm=algorithm, hyperparameters=hyperparameters, source="s3://b/h.out")

    assert f"s3://b/h.out, line 2: {bad_line!r}" in str(caught.value)
    assert reason in str(caught.value)


def test_a_long_bad_line_is_quoted_to_200_characters() -> None:
    with pytest.raises(PredictionFormatError) as caught:
        read_predictions(["x" * 5000], algorithm="xgboost", hyperparameters={})

    assert repr("x" * 200) in str(caught.value)
    assert "x" * 201 not in str(caught.value)


def test_a_count_of_predictions_other_than_the_labels_names_both() -> None:
    with pytest.raises(PredictionFormatError, match="2 predictions for 3 labels"):
        compute_metrics("regression", [1.0, 2.0, 3.0], Predictions([1.0, 2.0]))


@pytest.mark.parametrize(("algorithm", "hyperparameters"), [("xgboost", {"objective": "rank:ndcg"}), ("kmeans", {})])
def test_a_model_without_an_evaluator_is_refused(algorithm: str, hyperparameters: dict[str, str]) -> None:
    with pytest.raises(NotEvaluableError, match=algorithm):
        read_predictions(["1.0"], algorithm=algorithm, hyperparameters=hyperparameters)


@pytest.mark.parametrize(
    ("task", "labels", "message"),
    [
        ("binary", [0.0, 1.0, 2.0], "holdout record 3: label 2.0 is not 0 or 1"),
        ("multiclass", [0.0, 1.5], "holdout record 2: label 1.5 is not a class index"),
        ("regression", [1.0, math.nan], "holdout record 2: label nan is not a finite number"),
    ],
)
def test_a_label_the_task_cannot_have_is_named(task: Task, labels: list[float], message: str) -> None:
    with pytest.raises(LabelError, match=message):
        compute_metrics(task, labels, Predictions([0.0] * len(labels)))


# --- the statistics document --------------------------------------------------------------------------------------


def test_the_binary_report_matches_model_monitors_documented_example() -> None:
    # GIVEN the four records behind the binary example of model-monitor-model-quality-metrics.html
    labels, predicted = [0.0, 0.0, 0.0, 1.0], [0.0, 1.0, 1.0, 1.0]

    evaluation = evaluate("binary", labels, Predictions(predicted), evaluation_time=WHEN)

    # THEN the same confusion matrix (actual class, then predicted) and metrics; no deviation under 200 records
    section = evaluation.statistics["binary_classification_metrics"]
    assert section["confusion_matrix"] == {"0": {"0": 1, "1": 2}, "1": {"0": 0, "1": 1}}
    assert section["recall"] == {"value": 1.0, "standard_deviation": "NaN"}
    assert section["precision"] == {"value": 1 / 3, "standard_deviation": "NaN"}
    assert section["accuracy"] == {"value": 0.5, "standard_deviation": "NaN"}
    assert section["f1"] == {"value": 0.5, "standard_deviation": "NaN"}
    assert evaluation.statistics["version"] == 0.0
    assert evaluation.statistics["dataset"] == {"item_count": 4, "evaluation_time": WHEN}
    assert evaluation.metrics == {name: section[name]["value"] for name in evaluation.metrics}


@pytest.mark.parametrize(
    ("task", "section"),
    [
        ("regression", "regression_metrics"),
        ("binary", "binary_classification_metrics"),
        ("multiclass", "multiclass_classification_metrics"),
    ],
)
def test_each_task_reports_in_its_own_section_with_deviations_from_200_records(task: Task, section: str) -> None:
    labels, scores = labels_and_scores(seed=9, count=400)
    if task == "regression":
        predictions = Predictions(scores)
    elif task == "binary":
        predictions = Predictions([float(s > 0.5) for s in scores], scores, scores)
    else:
        predictions = Predictions([float(s > 0.5) for s in scores], class_probabilities=[[1 - s, s] for s in scores])

    statistics = evaluate(task, labels, predictions, evaluation_time=WHEN).statistics

    assert set(statistics) == {"version", "dataset", section}
    metrics = {name: entry for name, entry in statistics[section].items() if name != "confusion_matrix"}
    assert sorted(metrics) == sorted(metrics_for(task))
    for entry in metrics.values():
        assert set(entry) == {"value", "standard_deviation"}
        assert 0 < entry["standard_deviation"] < 0.1
    assert ("confusion_matrix" in statistics[section]) == (task != "regression")
    json.dumps(statistics, allow_nan=False)  # valid JSON: no bare NaN


def test_standard_deviations_are_reproducible_and_need_200_records() -> None:
    labels, scores = labels_and_scores(seed=10, count=1000)
    predictions = Predictions([float(s > 0.5) for s in scores], scores, scores)

    first = standard_deviations("binary", labels, predictions)

    assert first == standard_deviations("binary", labels, predictions)
    assert first != standard_deviations("binary", labels, predictions, seed=1)
    assert standard_deviations("binary", labels[:199], predictions.subset(range(199))) == {}


def test_a_multiclass_confusion_matrix_spans_the_classes_seen_in_labels_or_predictions() -> None:
    matrix = confusion_matrix("multiclass", [0.0, 2.0, 2.0], Predictions([0.0, 2.0, 3.0]))

    assert matrix == {
        "0": {"0": 1, "2": 0, "3": 0},
        "2": {"0": 0, "2": 1, "3": 1},
        "3": {"0": 0, "2": 0, "3": 0},
    }


def test_a_report_without_deviations_or_matrix_writes_nan_deviations() -> None:
    document = quality_statistics("regression", {"rmse": 1.5}, 10, WHEN)

    assert document == {
        "version": 0.0,
        "dataset": {"item_count": 10, "evaluation_time": WHEN},
        "regression_metrics": {"rmse": {"value": 1.5, "standard_deviation": "NaN"}},
    }
