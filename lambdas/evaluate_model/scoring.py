"""Held-out scoring: a built-in's batch transform answers plus the holdout's labels, into metrics and a report.

Pure standard library (the Lambda has no numpy), linear or n log n in the number of records. The report is the
statistics document SageMaker Model Monitor writes for model quality, which a model package's
`ModelMetrics.ModelQuality.Statistics` points to.
"""

from __future__ import annotations

import json
import math
import random
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from contract.evaluation import (
    BINARY,
    EVALUATION_METRICS,
    MULTICLASS,
    REGRESSION,
    Task,
    task_of,
    xgboost_objective,
)

__all__ = [
    "DIRECTIONS",
    "STATISTICS_SECTIONS",
    "STATISTICS_VERSION",
    "Evaluation",
    "LabelError",
    "NotEvaluableError",
    "PredictionFormatError",
    "Predictions",
    "Task",
    "compute_metrics",
    "confusion_matrix",
    "evaluate",
    "quality_statistics",
    "read_predictions",
    "standard_deviations",
    "task_of",
]

LINEAR_LEARNER, XGBOOST = "linear-learner", "xgboost"
# Which way each metric improves ("minimize" or "maximize"): the quality gate compares candidate and production by it.
DIRECTIONS: Final[Mapping[str, str]] = {name: direction for name, (direction, _) in EVALUATION_METRICS.items()}

# scikit-learn's historical log_loss clip (eps=1e-15); releases since 1.5 clip at the float's machine epsilon.
_LOGLOSS_EPS = 1e-15
# Model Monitor's standard deviation: "provided only when at least 200 samples are available. Model Monitor
# computes standard deviation by randomly sampling 80% of the data five times, computing the metric, and taking the
# standard deviation for those results"; below that it writes "NaN".
# https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-metrics.html
_DEVIATION_MIN_ITEMS, _DEVIATION_SAMPLES, _DEVIATION_FRACTION = 200, 5, 0.8
_NO_DEVIATION = "NaN"
# The statistics document's sections and version: the page above (sections, metric names, confusion matrix) and
# https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-interpreting-statistics.html (version, dataset).
STATISTICS_SECTIONS: Final[Mapping[str, str]] = {
    REGRESSION: "regression_metrics",
    BINARY: "binary_classification_metrics",
    MULTICLASS: "multiclass_classification_metrics",
}
STATISTICS_VERSION = 0.0
_ERROR_TEXT_LIMIT = 200


class PredictionFormatError(ValueError):
    """A transform answer that is not what the model's algorithm writes, or not one answer per label."""


class LabelError(ValueError):
    """A holdout label the task cannot have (a class other than 0 or 1 for a binary classifier, ...)."""


class NotEvaluableError(ValueError):
    """The model's algorithm or objective has no built-in evaluator (ranking, or not a built-in)."""


@dataclass(frozen=True)
class Predictions:
    """What a model predicted for each holdout record, in the records' order.

    `values` holds the prediction itself: a number for regression, a class (0.0, 1.0, 2.0, ...) for classifiers.
    `scores` (binary) ranks the records for the AUC: the probability of class 1, or XGBoost's raw margin.
    `probabilities` (binary) is the probability of class 1 and `class_probabilities` (multiclass) one probability
    per class, when the model gives them: the log loss needs them.
    """

    values: list[float]
    scores: list[float] | None = None
    probabilities: list[float] | None = None
    class_probabilities: list[list[float]] | None = None

    def __len__(self) -> int:
        return len(self.values)

    def subset(self, indices: Sequence[int]) -> Predictions:
        """The predictions of the records at `indices`, in that order."""

        def pick(items: Sequence[Any] | None) -> list[Any] | None:
            return None if items is None else [items[i] for i in indices]

        return Predictions(
            [self.values[i] for i in indices],
            pick(self.scores),
            pick(self.probabilities),
            pick(self.class_probabilities),
        )


@dataclass(frozen=True)
class Evaluation:
    """The metrics the gate reads and the model-quality statistics document that reports them."""

    metrics: dict[str, float]
    statistics: dict[str, Any] = field(repr=False)


def read_predictions(
    lines: Iterable[str],
    *,
    algorithm: str,
    hyperparameters: Mapping[str, str],
    source: str = "the transform output",
) -> Predictions:
    """Read a built-in's batch transform answers, one a line in the order of the records; blank lines are skipped.

    Linear Learner is asked for application/jsonlines: `{"score": y}`, `{"score": p, "predicted_label": 0|1}`
    or `{"score": [p0, p1, ...], "predicted_label": k}`
    (https://docs.aws.amazon.com/sagemaker/latest/dg/LL-in-formats.html). Built-in XGBoost in a batch transform
    (SAGEMAKER_BATCH) writes `str(prediction)` a line whatever the Accept: a float, or a list for multi:softprob
    (aws/sagemaker-xgboost-container, src/sagemaker_xgboost_container/algorithm_mode/serve.py, `invocations`).
    Raises NotEvaluableError for a model task_of rejects and PredictionFormatError, naming `source`, the line's
    number and its text, for a line that is not such an answer.
    """
    task = task_of(algorithm, hyperparameters)
    if task is None:
        raise NotEvaluableError(
            f"no built-in evaluator for algorithm {algorithm!r} with hyperparameters "
            f"{dict(hyperparameters)!r}: regression, binary and multiclass Linear Learner or XGBoost only"
        )
    objective = xgboost_objective(hyperparameters) if algorithm == XGBOOST else ""
    parse = (
        _linear_learner_parser(task) if algorithm == LINEAR_LEARNER else _XGBOOST_PARSERS.get(objective, _xgboost_value)
    )
    values: list[float] = []
    scores: list[float] = []
    vectors: list[list[float]] = []
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text:
            continue
        try:
            value, score, vector = parse(text)
            if vectors and vector is not None and len(vector) != len(vectors[0]):
                raise ValueError(f"{len(vector)} class probabilities, the lines above have {len(vectors[0])}")
        except (ValueError, TypeError, KeyError) as error:
            raise PredictionFormatError(
                f"{source}, line {number}: {text[:_ERROR_TEXT_LIMIT]!r} is not a {algorithm} ({objective or task}) "
                f"answer: {str(error)[:_ERROR_TEXT_LIMIT]}"
            ) from None
        values.append(value)
        if score is not None:
            scores.append(score)
        if vector is not None:
            vectors.append(vector)
    probabilistic = algorithm == LINEAR_LEARNER or objective == "binary:logistic"
    return Predictions(
        values,
        scores=scores if task == BINARY and scores else None,
        probabilities=scores if task == BINARY and scores and probabilistic else None,
        class_probabilities=vectors if task == MULTICLASS and vectors else None,
    )


def compute_metrics(task: Task, labels: Sequence[float], predictions: Predictions) -> dict[str, float]:
    """The task's metrics, named as contract.evaluation names them; one that is undefined here is left out.

    r2 needs labels that vary, auc both classes, logloss probabilities. precision, recall and f1 follow
    scikit-learn's zero_division default: 0.0 when their denominator is 0. Raises PredictionFormatError when the
    counts differ and LabelError for a label the task cannot have.
    """
    _check_counts(labels, predictions)
    return _metrics(task, _checked_labels(task, labels), predictions)


def confusion_matrix(task: Task, labels: Sequence[float], predictions: Predictions) -> dict[str, dict[str, int]]:
    """Counts by actual class, then predicted class, as Model Monitor writes them (`{"0": {"0": tn, "1": fp}, ...}`).

    Binary has both classes; multiclass every class among the labels and the predictions.
    """
    _check_counts(labels, predictions)
    actual = [int(label) for label in _checked_labels(task, labels)]
    predicted = [int(value) for value in predictions.values]
    present = [0, 1] if task == BINARY else sorted(set(actual) | set(predicted))
    counts = Counter(zip(actual, predicted, strict=True))
    return {str(a): {str(p): counts[(a, p)] for p in present} for a in present}


def standard_deviations(
    task: Task, labels: Sequence[float], predictions: Predictions, *, seed: int = 0
) -> dict[str, float]:
    """Each metric's standard deviation the way Model Monitor estimates it; empty below 200 records.

    Five random samples of about 80% of the records, each record kept with probability 0.8 (Bernoulli sampling,
    as Spark's `sample(fraction)`; random.Random(seed), so a run is reproducible); the sample standard deviation of
    each metric over them. A metric some sample cannot compute (auc on a sample with one class) has none.
    """
    _check_counts(labels, predictions)
    if len(labels) < _DEVIATION_MIN_ITEMS:
        return {}
    checked = _checked_labels(task, labels)
    draw = random.Random(seed).random
    samples: list[dict[str, float]] = []
    for _ in range(_DEVIATION_SAMPLES):
        indices = [i for i in range(len(checked)) if draw() < _DEVIATION_FRACTION]
        samples.append(_metrics(task, [checked[i] for i in indices], predictions.subset(indices)))
    shared = set.intersection(*(set(sample) for sample in samples))
    return {name: statistics.stdev(sample[name] for sample in samples) for name in samples[0] if name in shared}


def quality_statistics(
    task: Task,
    metrics: Mapping[str, float],
    item_count: int,
    evaluation_time: str,
    *,
    deviations: Mapping[str, float] | None = None,
    matrix: Mapping[str, Mapping[str, int]] | None = None,
) -> dict[str, Any]:
    """Model Monitor's model-quality statistics document for these metrics.

    `{"version": 0.0, "dataset": {"item_count", "evaluation_time"}, "<task>_metrics": {"confusion_matrix": ...,
    "<metric>": {"value": x, "standard_deviation": s}}}`, with s "NaN" where there is no deviation, as Model
    Monitor writes it below 200 records. Metrics keep their names: Model Monitor's where it has them (rmse, auc,
    f1, ...), the issue's otherwise (logloss; macro-averaged f1 for multiclass, where Model Monitor reports
    weighted_f1).
    """
    deviations = deviations or {}
    section: dict[str, Any] = {} if matrix is None else {"confusion_matrix": {k: dict(v) for k, v in matrix.items()}}
    for name, value in metrics.items():
        section[name] = {"value": value, "standard_deviation": deviations.get(name, _NO_DEVIATION)}
    return {
        "version": STATISTICS_VERSION,
        "dataset": {"item_count": item_count, "evaluation_time": evaluation_time},
        STATISTICS_SECTIONS[task]: section,
    }


def evaluate(task: Task, labels: Sequence[float], predictions: Predictions, *, evaluation_time: str) -> Evaluation:
    """Metrics, their standard deviations and (for classifiers) the confusion matrix, with the document.

    Raises what compute_metrics raises.
    """
    metrics = compute_metrics(task, labels, predictions)
    matrix = None if task == REGRESSION else confusion_matrix(task, labels, predictions)
    deviations = standard_deviations(task, labels, predictions)
    return Evaluation(
        metrics, quality_statistics(task, metrics, len(labels), evaluation_time, deviations=deviations, matrix=matrix)
    )


_Row = tuple[float, float | None, list[float] | None]  # (value or class, binary score, class probabilities)


def _linear_learner_parser(task: Task) -> Callable[[str], _Row]:
    def parse(text: str) -> _Row:
        record = json.loads(text)
        if not isinstance(record, dict):
            raise ValueError("expected a JSON object")
        if task == REGRESSION:
            return _number(record["score"]), None, None
        if task == BINARY:
            return _class(record["predicted_label"], 2), _probability(record["score"]), None
        vector = _probability_vector(record["score"])
        return _class(record["predicted_label"], len(vector)), None, vector

    return parse


def _xgboost_value(text: str) -> _Row:
    return _number(float(text)), None, None


def _above(score: float, threshold: float) -> _Row:
    return float(score > threshold), score, None


def _xgboost_softprob(text: str) -> _Row:
    # Python's str() of a list of floats is JSON, but for nan and inf, which are not probabilities anyway.
    vector = _probability_vector(json.loads(text))
    return float(max(range(len(vector)), key=vector.__getitem__)), None, vector  # the first maximum, as argmax


# XGBoost counts a probability above 0.5 (a margin above 0) as class 1, as its `error` metric does
# (https://xgboost.readthedocs.io/en/stable/parameter.html, eval_metric). Other objectives answer a number.
_XGBOOST_PARSERS: Final[Mapping[str, Callable[[str], _Row]]] = {
    "binary:logistic": lambda text: _above(_probability(float(text)), 0.5),
    "binary:logitraw": lambda text: _above(_number(float(text)), 0.0),
    "binary:hinge": lambda text: (_class(float(text), 2), None, None),
    "multi:softmax": lambda text: (_class(float(text), None), None, None),
    "multi:softprob": _xgboost_softprob,
}


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    return float(value)


def _probability(value: Any) -> float:
    number = _number(value)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{value!r} is not a probability")
    return number


def _probability_vector(value: Any) -> list[float]:
    if not isinstance(value, list) or len(value) < 2:
        raise ValueError(f"{value!r} is not a list of class probabilities")
    return [_probability(item) for item in value]


def _class(value: Any, count: int | None) -> float:
    number = _number(value)
    if not number.is_integer() or number < 0 or (count is not None and number >= count):
        raise ValueError(f"{value!r} is not a class" + ("" if count is None else f" among 0..{count - 1}"))
    return number


def _check_counts(labels: Sequence[float], predictions: Predictions) -> None:
    if len(labels) != len(predictions):
        raise PredictionFormatError(
            f"{len(predictions)} predictions for {len(labels)} labels: the transform must answer each holdout record "
            "once, in order"
        )


def _checked_labels(task: Task, labels: Sequence[float]) -> Sequence[float]:
    """The labels, once each distinct value is known to suit the task (checking values, not rows, is fast)."""
    for label in set(labels):
        if task == REGRESSION:
            valid, expected = math.isfinite(label), "a finite number"
        elif task == BINARY:
            valid, expected = label in (0.0, 1.0), "0 or 1"
        else:
            valid, expected = math.isfinite(label) and label.is_integer() and label >= 0, "a class index 0, 1, 2, ..."
        if not valid:
            same = math.isnan if math.isnan(label) else label.__eq__
            row = next(row for row, value in enumerate(labels, 1) if same(value))
            raise LabelError(f"holdout record {row}: label {label!r} is not {expected} for a {task} model")
    return labels


def _metrics(task: Task, labels: Sequence[float], predictions: Predictions) -> dict[str, float]:
    if task == REGRESSION:
        return _regression_metrics(labels, predictions.values)
    if task == BINARY:
        return _binary_metrics(labels, predictions)
    return _multiclass_metrics(labels, predictions)


def _regression_metrics(labels: Sequence[float], predicted: Sequence[float]) -> dict[str, float]:
    count = len(labels)
    if not count:
        return {}
    squared = math.fsum((y - p) ** 2 for y, p in zip(labels, predicted, strict=True))
    mse = squared / count
    metrics = {
        "rmse": math.sqrt(mse),
        "mse": mse,
        "mae": math.fsum(abs(y - p) for y, p in zip(labels, predicted, strict=True)) / count,
    }
    mean = math.fsum(labels) / count
    total = math.fsum((y - mean) ** 2 for y in labels)
    if total > 0:
        metrics["r2"] = 1.0 - squared / total
    return metrics


def _binary_metrics(actual: Sequence[float], predictions: Predictions) -> dict[str, float]:
    count = len(actual)
    if not count:
        return {}
    counts = Counter(zip(actual, predictions.values, strict=True))  # keys compare equal across int and float
    tp, fp, fn = counts[(1, 1)], counts[(0, 1)], counts[(1, 0)]
    metrics = {
        "accuracy": (tp + counts[(0, 0)]) / count,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp else 0.0,
        "precision": tp / (tp + fp) if tp else 0.0,
        "recall": tp / (tp + fn) if tp else 0.0,
    }
    if predictions.scores is not None:
        auc = _auc(actual, predictions.scores)
        if auc is not None:
            metrics["auc"] = auc
    if predictions.probabilities is not None:
        metrics["logloss"] = _log_loss(
            (p if y == 1 else 1.0 - p for y, p in zip(actual, predictions.probabilities, strict=True)), count
        )
    return metrics


def _auc(actual: Sequence[float], scores: Sequence[float]) -> float | None:
    """The area under the ROC curve as the Mann-Whitney U statistic: tied scores share their average rank."""
    with_score = Counter(scores)
    positive_with_score = Counter(score for score, label in zip(scores, actual, strict=True) if label)
    positives = positive_with_score.total()
    negatives = len(actual) - positives
    if not positives or not negatives:
        return None
    rank_sum, seen = 0.0, 0
    for score in sorted(with_score):
        tied = with_score[score]
        rank_sum += (seen + (tied + 1) / 2) * positive_with_score[score]
        seen += tied
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def _log_loss(true_class_probabilities: Iterable[float], count: int) -> float:
    low, high = _LOGLOSS_EPS, 1.0 - _LOGLOSS_EPS
    clipped = (p if low < p < high else (low if p <= low else high) for p in true_class_probabilities)
    return -math.fsum(map(math.log, clipped)) / count


def _multiclass_metrics(labels: Sequence[float], predictions: Predictions) -> dict[str, float]:
    count = len(labels)
    if not count:
        return {}
    actual = [int(label) for label in labels]
    predicted = [int(value) for value in predictions.values]
    hits: Counter[int] = Counter(a for a, p in zip(actual, predicted, strict=True) if a == p)
    actual_counts, predicted_counts = Counter(actual), Counter(predicted)
    present = set(actual_counts) | set(predicted_counts)
    # Per class, f1 = 2 tp / (2 tp + fp + fn) = 2 tp / (actual + predicted); macro: their unweighted mean.
    f1_sum = math.fsum(2 * hits[c] / (actual_counts[c] + predicted_counts[c]) for c in present)
    metrics = {"accuracy": hits.total() / count, "f1": f1_sum / len(present)}
    if predictions.class_probabilities is not None:
        metrics["logloss"] = _log_loss(
            # A class the model has no probability for has probability 0 (clipped).
            (
                vector[a] if a < len(vector) else 0.0
                for a, vector in zip(actual, predictions.class_probabilities, strict=True)
            ),
            count,
        )
    return metrics
