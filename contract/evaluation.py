"""Held-out evaluation: the metrics the built-in evaluators compute, which way each improves, and what is scored.

Shared by the stack (a gate's metric is checked at synth) and EvaluateModel (which computes them). The names are
the issue's and Model Monitor's (`rmse`, `auc`, ...): they have no `:`, unlike a training job's metrics.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

Task = Literal["regression", "binary", "multiclass"]
REGRESSION: Final = "regression"
BINARY: Final = "binary"
MULTICLASS: Final = "multiclass"

# metric -> (direction, the tasks it applies to)
EVALUATION_METRICS: Final[dict[str, tuple[str, frozenset[str]]]] = {
    "rmse": ("minimize", frozenset({REGRESSION})),
    "mse": ("minimize", frozenset({REGRESSION})),
    "mae": ("minimize", frozenset({REGRESSION})),
    "r2": ("maximize", frozenset({REGRESSION})),
    "accuracy": ("maximize", frozenset({BINARY, MULTICLASS})),
    "f1": ("maximize", frozenset({BINARY, MULTICLASS})),
    "precision": ("maximize", frozenset({BINARY})),
    "recall": ("maximize", frozenset({BINARY})),
    "auc": ("maximize", frozenset({BINARY})),
    "logloss": ("minimize", frozenset({BINARY, MULTICLASS})),
}
# How a built-in's transform answers are read (lambdas/evaluate_model/scoring.py): Linear Learner asked for JSON
# Lines, built-in XGBoost's batch answer (one str(prediction) a line, whatever the Accept).
ANSWER_FORMATS: Final[dict[str, str]] = {"linear-learner": "application/jsonlines", "xgboost": "text/csv"}
# The two transform jobs of a run's evaluation.
CANDIDATE: Final = "candidate"
PRODUCTION: Final = "production"


def metrics_for(task: str) -> list[str]:
    """The evaluation metrics of a task, in EVALUATION_METRICS' order."""
    return [name for name, (_, tasks) in EVALUATION_METRICS.items() if task in tasks]


# The task of a built-in's model, from the hyperparameters the algorithm reads. Linear Learner's `predictor_type`
# (required): https://docs.aws.amazon.com/sagemaker/latest/dg/ll_hyperparameters.html
_PREDICTOR_TASKS: Final[Mapping[str, Task]] = {
    "regressor": REGRESSION,
    "binary_classifier": BINARY,
    "multiclass_classifier": MULTICLASS,
}
# XGBoost's objectives: https://xgboost.readthedocs.io/en/stable/parameter.html#learning-task-parameters
# (reg:squarederror is the default). rank:* orders items within groups: no label to compare a prediction with.
DEFAULT_XGBOOST_OBJECTIVE: Final = "reg:squarederror"
_REGRESSION_PREFIXES = ("reg:", "count:", "survival:")
_BINARY_OBJECTIVES = frozenset({"binary:logistic", "binary:logitraw", "binary:hinge"})
_MULTICLASS_OBJECTIVES = frozenset({"multi:softmax", "multi:softprob"})


def xgboost_objective(hyperparameters: Mapping[str, str]) -> str:
    """XGBoost's objective as the algorithm reads it: its default when the hyperparameter is unset or blank."""
    return hyperparameters.get("objective", DEFAULT_XGBOOST_OBJECTIVE).strip() or DEFAULT_XGBOOST_OBJECTIVE


def task_of(algorithm: str, hyperparameters: Mapping[str, str]) -> Task | None:
    """The task a built-in model was trained for; None for ranking objectives and anything but the built-ins.
    The stack decides from it whether the held-out evaluation scores a pipeline, EvaluateModel how to read answers."""
    if algorithm == "linear-learner":
        return _PREDICTOR_TASKS.get(hyperparameters.get("predictor_type", "").strip())
    if algorithm == "xgboost":
        objective = xgboost_objective(hyperparameters)
        if objective.startswith(_REGRESSION_PREFIXES):
            return REGRESSION
        if objective in _BINARY_OBJECTIVES:
            return BINARY
        if objective in _MULTICLASS_OBJECTIVES:
            return MULTICLASS
    return None
