"""Built-in XGBoost's metrics: the names it accepts, the ones it computes itself, and SageMaker's definitions.

Sources: aws/sagemaker-xgboost-container, `constants/xgb_constants.py` (the metrics to maximize and minimize),
`metrics/custom_metrics.py` (the metrics the container computes in a custom eval function rather than XGBoost) and
`algorithm_mode/metrics.py` (the tuning metrics, `validation:<name>`). The metric definitions SageMaker attaches to a
built-in XGBoost job are the ones DescribeTrainingJob shows: `train:<name>` and `validation:<name>` with a regex over
the log as CloudWatch stores it, where XGBoost's tab reads `#011`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import xgboost

MAXIMIZE_METRICS = [
    "accuracy", "auc", "aucpr", "balanced_accuracy", "f1", "f1_binary", "f1_macro", "map", "ndcg", "precision", "r2",
    "recall", "precision_macro", "precision_micro", "recall_macro", "recall_micro",
]  # fmt: skip
MINIMIZE_METRICS = [
    "aft-nloglik", "cox-nloglik", "error", "gamma-deviance", "gamma-nloglik", "interval-regression-accuracy",
    "logloss", "mae", "mape", "merror", "mlogloss", "mphe", "mse", "poisson-nloglik", "rmse", "rmsle",
    "tweedie-nloglik",
]  # fmt: skip
TUNING_METRIC_NAMES = tuple(f"validation:{name}" for name in MAXIMIZE_METRICS + MINIMIZE_METRICS)

# The metrics SageMaker defines for the built-in, per channel, as DescribeTrainingJob lists them for sagemaker-xgboost
# jobs (the union of what 1.0-1 and 1.5-1 jobs show).
_DEFINED = (
    "accuracy", "auc", "aucpr", "cox-nloglik", "error", "f1", "gamma-deviance", "gamma-nloglik", "logloss", "mae",
    "map", "merror", "mlogloss", "mse", "ndcg", "poisson-nloglik", "r2", "rmse", "tweedie-nloglik",
)  # fmt: skip
_NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
METRIC_DEFINITIONS: tuple[tuple[str, str], ...] = tuple(
    (f"{channel}:{name}", rf".*\[[0-9]+\].*#011{channel}-{name}:{_NUMBER}.*")
    for channel in ("train", "validation")
    for name in _DEFINED
)

FloatArray = npt.NDArray[np.float64]
Feval = Callable[[FloatArray, "xgboost.DMatrix"], list[tuple[str, float]]]


def _labels_of(predictions: FloatArray, objective: str) -> FloatArray:
    """Class labels as the container derives them from raw margins (argmax per row, or margin > 0).

    xgb.train's custom_metric gets predictions after the objective's link function (the 1.5-1 and 1.7-1 containers
    passed raw margins through the `feval` XGBoost 3 removed), so the same labels are read from those: probability
    > 0.5 for a logistic objective, the class itself for multi:softmax. (The 3.0-5 container compares probabilities
    with 0, which makes every binary:logistic prediction a 1; that is not reproduced.)
    """
    if predictions.ndim == 2:
        labels: FloatArray = np.argmax(predictions, axis=-1).astype(np.float64)
    elif objective in ("binary:logistic", "reg:logistic"):
        labels = (predictions > 0.5).astype(np.float64)
    elif objective == "multi:softmax":
        labels = predictions.astype(np.float64)
    else:
        labels = (predictions > 0.0).astype(np.float64)
    return labels


def _classification(name: str, labels: FloatArray, predicted: FloatArray) -> float:
    from sklearn import metrics

    scorers: dict[str, Callable[[FloatArray, FloatArray], float]] = {
        "accuracy": metrics.accuracy_score,
        "balanced_accuracy": metrics.balanced_accuracy_score,
        "f1": lambda y, p: metrics.f1_score(y, p, average="macro"),
        "f1_binary": lambda y, p: metrics.f1_score(y, p, average="binary"),
        "f1_macro": lambda y, p: metrics.f1_score(y, p, average="macro"),
        "precision": metrics.precision_score,
        "precision_macro": lambda y, p: metrics.precision_score(y, p, average="macro"),
        "precision_micro": lambda y, p: metrics.precision_score(y, p, average="micro"),
        "recall": metrics.recall_score,
        "recall_macro": lambda y, p: metrics.recall_score(y, p, average="macro"),
        "recall_micro": lambda y, p: metrics.recall_score(y, p, average="micro"),
    }
    return float(scorers[name](labels, predicted))


def _regression(name: str, labels: FloatArray, predictions: FloatArray) -> float:
    errors = predictions - labels
    if name == "mse":
        return float(np.mean(errors**2))
    if name == "rmse":
        return float(np.sqrt(np.mean(errors**2)))
    if name == "mae":
        return float(np.mean(np.abs(errors)))
    total = float(np.sum((labels - labels.mean()) ** 2))  # r2, as scikit-learn defines it
    return 1.0 - float(np.sum(errors**2)) / total if total > 0 else 0.0


_REGRESSION = ("mse", "rmse", "mae", "r2")
CUSTOM_METRICS = (
    "accuracy", "balanced_accuracy", "f1", "f1_binary", "f1_macro", "mse", "rmse", "mae", "precision",
    "precision_macro", "precision_micro", "r2", "recall", "recall_macro", "recall_micro",
)  # fmt: skip


def custom_feval(names: Sequence[str], objective: str) -> Feval:
    """The container's custom eval function for `names`, given the predictions of a model trained for `objective`."""

    def evaluate(predictions: FloatArray, data: xgboost.DMatrix) -> list[tuple[str, float]]:
        labels = np.asarray(data.get_label(), dtype=np.float64)
        predicted = np.asarray(predictions, dtype=np.float64)
        results = []
        for name in names:
            if name in _REGRESSION:
                results.append((name, _regression(name, labels, predicted.reshape(labels.shape))))
            else:
                value = _classification(name, labels, _labels_of(predicted, objective)) if predicted.size else 0.0
                results.append((name, value))
        return results

    return evaluate


def split_metrics(eval_metric: Sequence[str] | None, tuning_metric: str | None) -> tuple[list[str], list[str]]:
    """(XGBoost's own eval metrics, the container's custom ones) for `eval_metric` and the tuning objective.

    As the container does: the union of both, sorted when both are given, and the custom ones taken out of what
    XGBoost is asked to compute.
    """
    tuning = [tuning_metric.split(":", 1)[1]] if tuning_metric else []
    requested = list(eval_metric or [])
    union = sorted(set(requested) | set(tuning)) if requested and tuning else requested or tuning
    custom = [name for name in union if name in CUSTOM_METRICS]
    return [name for name in union if name not in custom], custom
