"""The trained model's contract: what training saves and hosting loads and predicts with."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

MODEL_FILE = "linear_learner_model.json"  # at the root of the model directory, hence of model.tar.gz
MODEL_FORMAT = "local-linear-learner/1"
REGRESSOR, BINARY_CLASSIFIER = "regressor", "binary_classifier"
PREDICTOR_TYPES = (REGRESSOR, BINARY_CLASSIFIER)

FloatArray = npt.NDArray[np.float64]


class ModelLoadError(Exception):
    """The model directory holds no readable Linear Learner model."""


@dataclass(frozen=True)
class LinearLearnerModel:
    """Weights in the standardized feature space: score = ((x - feature_means) / feature_scales) · weights + bias."""

    predictor_type: str
    weights: list[float]
    bias: float
    feature_means: list[float]
    feature_scales: list[float]

    def __post_init__(self) -> None:
        if self.predictor_type not in PREDICTOR_TYPES:
            raise ValueError(f"predictor_type must be one of {', '.join(PREDICTOR_TYPES)}, got {self.predictor_type!r}")
        sizes = {len(self.weights), len(self.feature_means), len(self.feature_scales)}
        if len(sizes) != 1:
            raise ValueError(
                f"weights, feature_means and feature_scales must have the same length, got "
                f"{len(self.weights)}, {len(self.feature_means)} and {len(self.feature_scales)}"
            )
        if any(scale == 0 for scale in self.feature_scales):
            raise ValueError("feature_scales must not contain 0")

    @property
    def feature_dim(self) -> int:
        return len(self.weights)

    def scores(self, rows: FloatArray) -> FloatArray:
        """The raw linear output of each row (the regression value, or the logit for a classifier)."""
        matrix = np.asarray(rows, dtype=np.float64)
        if matrix.ndim == 1:
            matrix = matrix.reshape(1, -1)
        if matrix.ndim != 2 or matrix.shape[1] != self.feature_dim:
            raise ValueError(f"expected rows of {self.feature_dim} features, got an array of shape {matrix.shape}")
        standardized = (matrix - np.asarray(self.feature_means)) / np.asarray(self.feature_scales)
        result: FloatArray = standardized @ np.asarray(self.weights, dtype=np.float64) + self.bias
        return result

    def predict(self, rows: FloatArray) -> list[dict[str, float]]:
        """Linear Learner's JSON response records, one per row; raise ValueError on a wrong number of features.

        A regressor answers `{"score": y}`; a binary classifier `{"score": p, "predicted_label": 0.0 or 1.0}`
        with p the probability of label 1 and the label thresholded at 0.5.
        """
        scores = self.scores(rows)
        if self.predictor_type == REGRESSOR:
            return [{"score": float(value)} for value in scores]
        probabilities = sigmoid(scores)
        return [{"score": float(p), "predicted_label": 1.0 if p >= 0.5 else 0.0} for p in probabilities]

    def save(self, model_dir: Path) -> None:
        """Write MODEL_FILE into `model_dir` (created when missing)."""
        model_dir.mkdir(parents=True, exist_ok=True)
        document = {
            "format": MODEL_FORMAT,
            "predictor_type": self.predictor_type,
            "weights": self.weights,
            "bias": self.bias,
            "feature_means": self.feature_means,
            "feature_scales": self.feature_scales,
        }
        (model_dir / MODEL_FILE).write_text(json.dumps(document, indent=2) + "\n")

    @classmethod
    def load(cls, model_dir: Path) -> LinearLearnerModel:
        """Read MODEL_FILE from `model_dir`; raise ModelLoadError when it is missing or not a valid model."""
        path = model_dir / MODEL_FILE
        try:
            document: Any = json.loads(path.read_text())
        except FileNotFoundError:
            raise ModelLoadError(f"no {MODEL_FILE} in {model_dir}: not a model trained by linear-learner") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ModelLoadError(f"cannot read {path}: {error}") from error
        if not isinstance(document, dict) or document.get("format") != MODEL_FORMAT:
            raise ModelLoadError(f"{path} is not a {MODEL_FORMAT} model document")
        try:
            return cls(
                predictor_type=str(document["predictor_type"]),
                weights=_floats(document["weights"]),
                bias=_float(document["bias"]),
                feature_means=_floats(document["feature_means"]),
                feature_scales=_floats(document["feature_scales"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            detail = f"missing field {error}" if isinstance(error, KeyError) else str(error)
            raise ModelLoadError(f"{path} is not a valid model: {detail}") from error


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value!r}")
    return float(value)


def _floats(values: Any) -> list[float]:
    if not isinstance(values, list):
        raise ValueError(f"expected a list of numbers, got {type(values).__name__}")
    return [_float(value) for value in values]


def sigmoid(values: FloatArray) -> FloatArray:
    """The logistic function, elementwise: a classifier's probability of label 1."""
    result: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * values))  # tanh form: no overflow for large |x|
    return result
