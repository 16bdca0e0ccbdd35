"""Fitting: the regressor, the classifier, the penalties and the epochs."""

from __future__ import annotations

import numpy as np
import pytest

from local_runtime.algorithms.linear_learner.fit import evaluate, fit
from local_runtime.algorithms.linear_learner.inputs import Dataset, Hyperparameters
from tests.unit.local_runtime.algorithms.linear_learner.datasets import linear_data, separable_data


def test_the_regressor_recovers_a_linear_function() -> None:
    features, labels = linear_data()

    model = fit(Dataset(features, labels), Hyperparameters(predictor_type="regressor"))

    probe = np.array([[0.5, 4.0, 1.2, -1.0], [-1.0, 20.0, 0.9, 0.0]])
    expected = 3.0 + probe @ np.array([2.0, -0.5, 10.0, 1.0])
    predicted = [record["score"] for record in model.predict(probe)]
    assert predicted == pytest.approx(expected, abs=0.05)
    assert evaluate(model, Dataset(features, labels))["mse"] < 0.01


def test_l1_drives_the_weights_of_useless_features_to_zero() -> None:
    rng = np.random.default_rng(3)
    features = rng.normal(size=(300, 3))
    labels = 2.0 * features[:, 0] + rng.normal(scale=0.1, size=300)

    model = fit(Dataset(features, labels), Hyperparameters(predictor_type="regressor", l1=0.05))

    assert model.weights[1] == 0.0
    assert model.weights[2] == 0.0
    assert model.weights[0] > 1.0


def test_the_binary_classifier_separates_separable_classes() -> None:
    features, labels = separable_data()
    test_features, test_labels = separable_data(seed=2)

    model = fit(Dataset(features, labels), Hyperparameters(predictor_type="binary_classifier"))

    predicted = np.array([record["predicted_label"] for record in model.predict(test_features)])
    assert np.mean(predicted == test_labels) >= 0.97
    metrics = evaluate(model, Dataset(features, labels))
    assert metrics["binary_classification_accuracy"] >= 0.98
    assert set(metrics) == {"objective_loss", "binary_classification_accuracy", "binary_f_beta", "precision", "recall"}


def test_epochs_bounds_the_number_of_passes() -> None:
    features, labels = separable_data()
    epochs: list[int] = []

    fit(
        Dataset(features, labels),
        Hyperparameters(predictor_type="binary_classifier", epochs=2),
        on_epoch=lambda epoch, _: epochs.append(epoch),
    )

    assert epochs == [0, 1]
