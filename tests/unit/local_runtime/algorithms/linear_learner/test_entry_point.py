"""The container entry point, run as a training job runs it: `python -m ... train` in SageMaker's layout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from local_runtime.algorithms.linear_learner.model import LinearLearnerModel
from tests.unit.local_runtime.algorithms.linear_learner.datasets import linear_data, write_csv

PROJECT_ROOT = Path(__file__).parents[5]


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
