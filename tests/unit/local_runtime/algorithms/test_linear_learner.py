"""The local Linear Learner: its model contract, its fit, and the ClientErrors that name the file and line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from local_runtime.algorithms.linear_learner import (
    MODEL_FILE,
    ClientError,
    Dataset,
    Hyperparameters,
    LinearLearnerModel,
    ModelLoadError,
    evaluate,
    fit,
    read_channel,
)

PROJECT_ROOT = Path(__file__).parents[4]


def linear_data(rows: int = 500, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, 4)) * [1.0, 10.0, 0.1, 3.0] + [0.0, 5.0, 1.0, -2.0]
    labels = 3.0 + features @ np.array([2.0, -0.5, 10.0, 1.0]) + rng.normal(scale=0.05, size=rows)
    return features, labels


def separable_data(rows: int = 400, *, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, 3)) * [1.0, 5.0, 2.0]
    margin = features @ np.array([1.0, -0.4, 0.5]) - 0.3
    keep = np.abs(margin) > 0.2
    return features[keep], (margin[keep] > 0).astype(float)


def write_csv(path: Path, labels: np.ndarray, features: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, np.column_stack([labels, features]), delimiter=",", fmt="%.10g")


# --- the model contract the hosting side codes against ---


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


# --- fitting ---


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


# --- hyperparameters ---


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "hyperparameter predictor_type is required"),
        ({"predictor_type": "ranker"}, "predictor_type must be one of binary_classifier, multiclass_classifier"),
        ({"predictor_type": "multiclass_classifier"}, "not supported by the local linear-learner"),
        ({"predictor_type": "regressor", "epochs": "0"}, "hyperparameter epochs must be an integer >= 1"),
        ({"predictor_type": "regressor", "epochs": "ten"}, "hyperparameter epochs must be an integer"),
        ({"predictor_type": "regressor", "wd": "-1"}, "hyperparameter wd must be a number >= 0.0"),
        ({"predictor_type": "regressor", "normalize_data": "yes"}, "normalize_data must be true, false or auto"),
        ({"predictor_type": "regressor", "loss": "hinge_loss"}, "loss 'hinge_loss' is not supported"),
        ({"predictor_type": "regressor", "colour": "blue"}, "unknown hyperparameters for linear-learner: colour"),
    ],
)
def test_invalid_hyperparameters_are_client_errors(values: dict[str, str], message: str) -> None:
    with pytest.raises(ClientError, match=message):
        Hyperparameters.from_dict(values)


def test_auto_and_numbers_are_parsed() -> None:
    parsed = Hyperparameters.from_dict(
        {
            "predictor_type": "binary_classifier",
            "feature_dim": "4",
            "epochs": "3",
            "l1": "auto",
            "wd": "0.01",
            "learning_rate": "0.1",
            "mini_batch_size": "100",
            "_tuning_objective_metric": "validation:mse",
        }
    )

    assert (parsed.feature_dim, parsed.epochs, parsed.l1, parsed.wd, parsed.learning_rate) == (4, 3, 0.0, 0.01, 0.1)


# --- reading a channel ---


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("1,2,3\n4,5,6\n7,8\n", "data/2026-11-20.csv line 3: expected 3 columns, got 2"),
        ("1,2,3\n4,abc,6\n", "data/2026-11-20.csv line 2, column 2: 'abc' is not a number"),
        ("label,a,b\n1,2,3\n", "data/2026-11-20.csv line 1, column 1: 'label' is not a number"),
        ("1,2,3\n4,nan,6\n", "data/2026-11-20.csv line 2, column 2: 'nan' is not a finite number"),
        ("1\n", "data/2026-11-20.csv line 1: expected a label and at least one feature, got 1 column"),
        ("\n\n", "channel train has no records: data/2026-11-20.csv hold no CSV rows"),
    ],
)
def test_bad_data_names_the_file_and_the_line(tmp_path: Path, rows: str, message: str) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "2026-11-20.csv").write_text(rows)

    with pytest.raises(ClientError) as raised:
        read_channel(tmp_path, "train")

    assert str(raised.value) == message


def test_rows_must_have_the_same_width_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("1,2,3\n")
    (tmp_path / "b.csv").write_text("1,2,3\n1,2\n")

    with pytest.raises(ClientError, match=f"^{re.escape('b.csv line 2: expected 3 columns, got 2')}"):
        read_channel(tmp_path, "train")


def test_feature_dim_must_match_the_data(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("1,2,3\n")

    with pytest.raises(ClientError, match=re.escape("a.csv line 1: feature_dim is 5 but the row has 2 features")):
        read_channel(tmp_path, "train", feature_dim=5)


def test_binary_labels_must_be_zero_or_one(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("1,2,3\n2,2,3\n")

    with pytest.raises(ClientError, match=re.escape("a.csv line 2: binary_classifier labels must be 0 or 1, got 2")):
        read_channel(tmp_path, "train", binary=True)


def test_a_validation_file_is_named_with_its_channel(tmp_path: Path) -> None:
    (tmp_path / "v.csv").write_text("1,2\n")

    with pytest.raises(
        ClientError, match=f"^{re.escape('channel validation, v.csv line 1: expected 3 columns, got 2')}"
    ):
        read_channel(tmp_path, "validation", columns=3)


def test_an_empty_channel_is_a_client_error(tmp_path: Path) -> None:
    with pytest.raises(ClientError, match="channel train is empty: no files"):
        read_channel(tmp_path, "train")


# --- the container entry point, in SageMaker's layout ---


def job_layout(root: Path, hyperparameters: dict[str, str]) -> dict[str, str]:
    (root / "input" / "config").mkdir(parents=True)
    (root / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    (root / "model").mkdir()
    (root / "output").mkdir()
    return {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "SM_INPUT_DIR": str(root / "input"),
        "SM_INPUT_CONFIG_DIR": str(root / "input" / "config"),
        "SM_MODEL_DIR": str(root / "model"),
        "SM_OUTPUT_DIR": str(root / "output"),
        "SM_CHANNEL_TRAIN": str(root / "input" / "data" / "train"),
    }


def run_train(root: Path, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "local_runtime.algorithms.linear_learner", "train"],
        cwd=root, env=environment, capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip


def test_train_writes_the_model_and_prints_linear_learner_metric_lines(tmp_path: Path) -> None:
    # GIVEN a train and a validation channel in the SageMaker layout
    environment = job_layout(tmp_path, {"predictor_type": "regressor", "epochs": "5"})
    features, labels = linear_data()
    write_csv(tmp_path / "input" / "data" / "train" / "part-1.csv", labels[:400], features[:400])
    write_csv(tmp_path / "input" / "data" / "validation" / "part-1.csv", labels[400:], features[400:])
    environment["SM_CHANNEL_VALIDATION"] = str(tmp_path / "input" / "data" / "validation")

    # WHEN the container's `train` runs
    result = run_train(tmp_path, environment)

    # THEN it exits 0, saves the model, and prints train and validation metrics
    assert result.returncode == 0, result.stderr
    assert LinearLearnerModel.load(tmp_path / "model").feature_dim == 4
    assert "#quality_metric: host=algo-1, epoch=0, train square_loss_objective <loss>=" in result.stdout
    assert "#quality_metric: host=algo-1, epoch=0, validation square_loss_objective <loss>=" in result.stdout
    assert "#quality_metric: host=algo-1, train mse <loss>=" in result.stdout
    assert "#quality_metric: host=algo-1, validation absolute_loss <loss>=" in result.stdout


def test_train_writes_sagemakers_failure_file_on_a_client_error(tmp_path: Path) -> None:
    environment = job_layout(tmp_path, {"epochs": "5"})
    write_csv(tmp_path / "input" / "data" / "train" / "a.csv", np.zeros(3), np.ones((3, 2)))

    result = run_train(tmp_path, environment)

    assert result.returncode == 1
    failure = (tmp_path / "output" / "failure").read_text()
    assert failure.startswith("ClientError: hyperparameter predictor_type is required")
    assert failure in result.stderr
