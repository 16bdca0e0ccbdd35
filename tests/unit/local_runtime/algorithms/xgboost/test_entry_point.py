"""The training entry point, run as a job runs it: `python -m ... train` in SageMaker's layout, the real xgboost."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xgboost

from local_runtime.algorithms.xgboost import METRIC_DEFINITIONS, MODEL_FILE, version_note

PROJECT_ROOT = Path(__file__).parents[5]
CSV_CHANNEL = {"ContentType": "text/csv", "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated"}


def job_layout(root: Path, hyperparameters: dict[str, str], channels: dict[str, dict[str, str]]) -> dict[str, str]:
    (root / "input" / "config").mkdir(parents=True)
    (root / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    (root / "input" / "config" / "inputdataconfig.json").write_text(json.dumps(channels))
    environment = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "SM_INPUT_DIR": str(root / "input"),
        "SM_INPUT_CONFIG_DIR": str(root / "input" / "config"),
        "SM_MODEL_DIR": str(root / "model"),
        "SM_OUTPUT_DIR": str(root / "output"),
    }
    for name in channels:
        environment[f"SM_CHANNEL_{name.upper()}"] = str(root / "input" / "data" / name)
    return environment


def write_classes(path: Path, rows: int, *, seed: int) -> None:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, 3))
    labels = (features @ np.array([1.0, -2.0, 0.5]) > 0).astype(float)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, np.column_stack([labels, features]), delimiter=",", fmt="%.8g")


def run_train(root: Path, environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "local_runtime.algorithms.xgboost", "train", *arguments],
        cwd=root, env=environment, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip


def test_train_prints_xgboosts_metric_lines_and_saves_xgboost_model(tmp_path: Path) -> None:
    # GIVEN a binary classification job with a validation channel and three eval metrics
    hyperparameters = {"num_round": "4", "objective": "binary:logistic", "eval_metric": "auc,logloss,accuracy"}
    environment = job_layout(tmp_path, hyperparameters, {"train": CSV_CHANNEL, "validation": CSV_CHANNEL})
    write_classes(tmp_path / "input" / "data" / "train" / "part-0.csv", 300, seed=0)
    write_classes(tmp_path / "input" / "data" / "validation" / "part-0.csv", 100, seed=1)

    # WHEN the container's `train` runs
    result = run_train(tmp_path, environment)

    # THEN it prints one line per round, every eval metric of both channels, tab-separated as XGBoost prints them
    assert result.returncode == 0, result.stderr
    rounds = [line for line in result.stdout.splitlines() if re.match(r"\[\d+\]\t", line)]
    assert len(rounds) == 4
    assert rounds[0].split("\t")[1:] == [
        f"{channel}-{metric}:{value}"
        for channel, metric, value in re.findall(r"(train|validation)-([a-z]+):([0-9.]+)", rounds[0])
    ]
    assert re.search(r"\tvalidation-auc:0\.\d{5}\tvalidation-logloss:\S+\tvalidation-accuracy:\S+$", rounds[-1])
    # AND the model is xgboost-model at the root of the model directory, loadable by the library
    booster = xgboost.Booster()
    booster.load_model(bytearray((tmp_path / "model" / MODEL_FILE).read_bytes()))
    assert booster.num_boosted_rounds() == 4
    assert sorted(path.name for path in (tmp_path / "model").iterdir()) == [MODEL_FILE]


def test_sagemakers_metric_definitions_read_the_lines_as_cloudwatch_stores_them() -> None:
    line = "[9]\ttrain-rmse:0.12345\tvalidation-rmse:0.23456\tvalidation-auc:0.9".replace("\t", "#011")

    values = {name: m[1] for name, regex in METRIC_DEFINITIONS if (m := re.search(regex, line))}

    assert values == {"train:rmse": "0.12345", "validation:rmse": "0.23456", "validation:auc": "0.9"}


def test_a_bad_hyperparameter_fails_the_job_as_the_container_reports_it(tmp_path: Path) -> None:
    environment = job_layout(tmp_path, {"num_round": "5", "eta": "2"}, {"train": CSV_CHANNEL})
    write_classes(tmp_path / "input" / "data" / "train" / "part-0.csv", 20, seed=0)

    result = run_train(tmp_path, environment, "--image-version", "1.7-1")

    assert result.returncode == 1
    failure = (tmp_path / "output" / "failure").read_text()
    assert failure.startswith("AlgorithmError: framework error: \nTraceback (most recent call last):\n")
    assert failure.endswith(
        "UserError: Hyperparameter eta: 2.0 is not in [0, 1]\n\nHyperparameter eta: 2.0 is not in [0, 1]"
    )
    assert f"local xgboost {'.'.join(xgboost.__version__.split('.')[:2])} stands in for 1.7-1" in result.stdout


@pytest.mark.parametrize(
    ("library", "image", "note"),
    [
        ("3.2.0", "1.7-1", "local xgboost 3.2 stands in for 1.7-1"),
        ("3.0.5", "3.0-5", None),
        ("3.2.0", None, None),
    ],
)
def test_the_version_note_names_both_versions_when_they_differ(
    library: str, image: str | None, note: str | None
) -> None:
    assert version_note(library, image) == note
