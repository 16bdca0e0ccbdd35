"""Held-out evaluation: the metrics the built-in evaluators compute, which way each improves, and what is scored.

Shared by the stack (a gate's metric is checked at synth) and EvaluateModel (which computes them). The names are
the issue's and Model Monitor's (`rmse`, `auc`, ...): they have no `:`, unlike a training job's metrics.
"""

from __future__ import annotations

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
