"""Fitting and scoring: Newton's method with Linear Learner's penalties, and the metrics it reports."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from local_runtime.algorithms.linear_learner.inputs import Dataset, Hyperparameters
from local_runtime.algorithms.linear_learner.model import (
    BINARY_CLASSIFIER,
    REGRESSOR,
    FloatArray,
    LinearLearnerModel,
    sigmoid,
)

_MIN_CURVATURE = 1e-6
_CONVERGED = 1e-10  # largest change of a parameter in an epoch below which fitting stops


def fit(
    data: Dataset,
    hyperparameters: Hyperparameters,
    *,
    on_epoch: Callable[[int, LinearLearnerModel], None] | None = None,
) -> LinearLearnerModel:
    """Fit by Newton's method (one step solves a regressor exactly) with the l1 (lasso) and wd (ridge) penalties.

    Features are standardized (normalize_data) and, for a regressor, the label too (normalize_label); penalties
    apply in that space, as in Linear Learner. `on_epoch(epoch, model)` is called after each epoch.
    """
    binary = hyperparameters.predictor_type == BINARY_CLASSIFIER
    features, labels = data.features, data.labels
    means = features.mean(axis=0) if hyperparameters.normalize_data else np.zeros(features.shape[1])
    scales = features.std(axis=0) if hyperparameters.normalize_data else np.ones(features.shape[1])
    scales = np.where(scales > 0, scales, 1.0)
    standardized = (features - means) / scales
    normalize_label = (not binary) if hyperparameters.normalize_label is None else hyperparameters.normalize_label
    label_mean = float(labels.mean()) if normalize_label and not binary else 0.0
    label_scale = float(labels.std()) if normalize_label and not binary else 1.0
    label_scale = label_scale if label_scale > 0 else 1.0
    target = (labels - label_mean) / label_scale

    weights = np.zeros(standardized.shape[1])
    share = float(np.clip(target.mean(), 1e-6, 1 - 1e-6)) if binary else float(target.mean())
    bias = math.log(share / (1 - share)) if binary else share
    model = _model(hyperparameters.predictor_type, weights, bias, means, scales, label_mean, label_scale)
    best_loss, stale = math.inf, 0
    for epoch in range(hyperparameters.epochs):
        linear = standardized @ weights + bias
        if binary:
            probabilities = sigmoid(linear)
            curvature = np.maximum(probabilities * (1 - probabilities), _MIN_CURVATURE)
            working = linear + (target - probabilities) / curvature
        else:
            curvature, working = np.ones_like(target), target
        new_weights, new_bias = _weighted_elastic_net(
            standardized, working, curvature, l1=hyperparameters.l1, wd=hyperparameters.wd, start=weights
        )
        change = max(float(np.abs(new_weights - weights).max(initial=0.0)), abs(new_bias - bias))
        weights, bias = new_weights, new_bias
        model = _model(hyperparameters.predictor_type, weights, bias, means, scales, label_mean, label_scale)
        if on_epoch is not None:
            on_epoch(epoch, model)
        # Linear Learner's early stopping: no relative improvement of the loss for `patience` epochs.
        loss = evaluate(model, data)["objective_loss"]
        if loss < best_loss * (1 - hyperparameters.early_stopping_tolerance):
            best_loss, stale = loss, 0
        else:
            stale += 1
        if change < _CONVERGED or stale >= hyperparameters.early_stopping_patience:
            break
    return model


def evaluate(model: LinearLearnerModel, data: Dataset, *, f_beta: float = 1.0) -> dict[str, float]:
    """The metrics Linear Learner reports for a channel, by name without the channel prefix."""
    scores = model.scores(data.features)
    labels = data.labels
    if model.predictor_type == REGRESSOR:
        errors = scores - labels
        mse = float(np.mean(errors**2))
        return {"objective_loss": mse, "mse": mse, "absolute_loss": float(np.mean(np.abs(errors)))}
    probabilities = np.clip(sigmoid(scores), 1e-12, 1 - 1e-12)
    predicted = probabilities >= 0.5
    actual = labels == 1.0
    true_positives = float(np.sum(predicted & actual))
    precision = true_positives / float(predicted.sum()) if predicted.any() else 0.0
    recall = true_positives / float(actual.sum()) if actual.any() else 0.0
    beta2 = f_beta**2
    denominator = beta2 * precision + recall
    return {
        "objective_loss": float(-np.mean(labels * np.log(probabilities) + (1 - labels) * np.log(1 - probabilities))),
        "binary_classification_accuracy": float(np.mean(predicted == actual)),
        "binary_f_beta": (1 + beta2) * precision * recall / denominator if denominator > 0 else 0.0,
        "precision": precision,
        "recall": recall,
    }


def _model(
    predictor_type: str,
    weights: FloatArray,
    bias: float,
    means: FloatArray,
    scales: FloatArray,
    label_mean: float,
    label_scale: float,
) -> LinearLearnerModel:
    """Fold the label's normalization into the weights: the saved model predicts in the label's own units."""
    return LinearLearnerModel(
        predictor_type=predictor_type,
        weights=[float(w) * label_scale for w in weights],
        bias=float(bias) * label_scale + label_mean,
        feature_means=[float(m) for m in means],
        feature_scales=[float(s) for s in scales],
    )


def _weighted_elastic_net(
    features: FloatArray, target: FloatArray, weights: FloatArray, *, l1: float, wd: float, start: FloatArray
) -> tuple[FloatArray, float]:
    """Minimize Σ w_i (t_i - b - x_i·β)² / 2n + l1 |β|₁ + wd |β|² / 2, the bias unpenalized."""
    count = features.shape[0]
    total = float(weights.sum())
    feature_mean = (weights @ features) / total
    target_mean = float(weights @ target) / total
    centered = features - feature_mean
    gram = (centered.T * weights) @ centered / count
    correlation = (centered.T * weights) @ (target - target_mean) / count
    if l1 == 0.0:
        regularized = gram + (wd + 1e-12) * np.eye(gram.shape[0])
        beta: FloatArray = np.linalg.lstsq(regularized, correlation, rcond=None)[0]
    else:
        beta = start.copy()
        for _ in range(50):  # coordinate descent on the covariance form: cheap, d² per sweep
            previous = beta.copy()
            for j in range(beta.shape[0]):
                rho = correlation[j] - gram[j] @ beta + gram[j, j] * beta[j]
                beta[j] = (
                    math.copysign(max(abs(rho) - l1, 0.0), rho) / (gram[j, j] + wd) if gram[j, j] + wd > 0 else 0.0
                )
            if float(np.abs(beta - previous).max(initial=0.0)) < 1e-9:
                break
    return beta, target_mean - float(feature_mean @ beta)
