"""The model contract the hosting side codes against: predictions, saving and loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from local_runtime.algorithms.linear_learner.model import MODEL_FILE, LinearLearnerModel, ModelLoadError


def test_a_regressor_predicts_score_records_in_the_label_units() -> None:
    model = LinearLearnerModel(
        "regressor", weights=[2.0, -1.0], bias=0.5, feature_means=[1.0, 0.0], feature_scales=[2.0, 1.0]
    )

    records = model.predict(np.array([[3.0, 1.0], [1.0, 0.0]]))

    assert records == [{"score": 2.0 * 1.0 - 1.0 + 0.5}, {"score": 0.5}]
    assert model.feature_dim == 2


def test_a_binary_classifier_predicts_a_probability_and_a_label() -> None:
    model = LinearLearnerModel("binary_classifier", weights=[4.0], bias=0.0, feature_means=[0.0], feature_scales=[1.0])

    positive, negative, boundary = model.predict(np.array([[1.0], [-1.0], [0.0]]))

    assert positive["predicted_label"] == 1.0
    assert positive["score"] == pytest.approx(1 / (1 + np.exp(-4.0)))
    assert negative["predicted_label"] == 0.0
    assert negative["score"] == pytest.approx(1 / (1 + np.exp(4.0)))
    assert boundary == {"score": 0.5, "predicted_label": 1.0}


def test_predict_rejects_rows_of_the_wrong_width() -> None:
    model = LinearLearnerModel(
        "regressor", weights=[1.0, 1.0], bias=0.0, feature_means=[0.0, 0.0], feature_scales=[1.0, 1.0]
    )

    with pytest.raises(ValueError, match="expected rows of 2 features, got an array of shape \\(1, 3\\)"):
        model.predict(np.array([[1.0, 2.0, 3.0]]))


def test_a_saved_model_loads_back_equal(tmp_path: Path) -> None:
    model = LinearLearnerModel(
        "binary_classifier", weights=[0.25, -3.0], bias=1.5, feature_means=[1.0, 2.0], feature_scales=[0.5, 4.0]
    )

    model.save(tmp_path / "model")

    assert (tmp_path / "model" / MODEL_FILE).is_file()
    assert LinearLearnerModel.load(tmp_path / "model") == model


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no linear_learner_model.json in"),
        ("{not json", "cannot read"),
        ('{"format": "other"}', "is not a local-linear-learner/1 model document"),
        (
            '{"format": "local-linear-learner/1", "predictor_type": "regressor", "weights": [1], "bias": 0, '
            '"feature_means": [0, 0], "feature_scales": [1]}',
            "is not a valid model: weights, feature_means and feature_scales must have the same length",
        ),
        ('{"format": "local-linear-learner/1", "predictor_type": "regressor"}', "missing field 'weights'"),
        (
            '{"format": "local-linear-learner/1", "predictor_type": "ranker", "weights": [], "bias": 0, '
            '"feature_means": [], "feature_scales": []}',
            "predictor_type must be one of",
        ),
    ],
)
def test_a_missing_or_corrupt_model_raises_model_load_error(tmp_path: Path, content: str | None, message: str) -> None:
    if content is not None:
        (tmp_path / MODEL_FILE).write_text(content)

    with pytest.raises(ModelLoadError, match=message):
        LinearLearnerModel.load(tmp_path)
