"""Churn with built-in XGBoost: the held-out evaluation of the new model and the one in production.

The pipeline runs this file in a SageMaker Processing job after training (`evaluation.script`). Each model is the
serial pipeline the endpoint serves: the fitted preprocessing (`preprocess/`: model.joblib and its code) and
XGBoost (`model/xgboost-model`). Both score the run's held-out raw records through the preprocessing's own
`features()`, the one transformation training and serving use, so the numbers are what the endpoint would answer.

Directories come from the environment the workflow sets: HOLDOUT_DIR, CANDIDATE_MODEL_DIR, PRODUCTION_MODEL_DIR
(only when the endpoint serves a model) and EVALUATION_DIR, where evaluation.json goes.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import joblib
import numpy as np
import xgboost
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score


def preprocessing_code(model_dir: Path, role: str) -> ModuleType:
    """The preprocessing's module as this model was fitted with (each model brings its own code)."""
    spec = importlib.util.spec_from_file_location(
        f"preprocess_{role}", model_dir / "preprocess" / "code" / "preprocess.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def score(model_dir: Path, role: str, holdout: Path) -> tuple[dict[str, Any], int]:
    """The model's binary classification metrics on the held-out records, and how many records there were."""
    code = preprocessing_code(model_dir, role)
    fitted = joblib.load(model_dir / "preprocess" / code.MODEL_FILE)
    records, labels = code.read_training_files(holdout)
    actual = np.array([fitted["classes"].index(label) for label in labels])
    booster = xgboost.Booster(model_file=str(model_dir / "model" / "xgboost-model"))
    probabilities = booster.predict(xgboost.DMatrix(code.features(fitted, records)))
    predicted = (probabilities > 0.5).astype(int)
    metrics = {
        "auc": roc_auc_score(actual, probabilities),
        "accuracy": accuracy_score(actual, predicted),
        "f1": f1_score(actual, predicted),
        "logloss": log_loss(actual, probabilities, labels=[0, 1]),
    }
    grouped = {"binary_classification_metrics": {name: {"value": float(value)} for name, value in metrics.items()}}
    return grouped, len(labels)


def main() -> None:
    holdout = Path(os.environ["HOLDOUT_DIR"])
    candidate, records = score(Path(os.environ["CANDIDATE_MODEL_DIR"]), "candidate", holdout)
    production_dir = os.environ.get("PRODUCTION_MODEL_DIR")
    production = score(Path(production_dir), "production", holdout)[0] if production_dir else None
    report = {"candidate": candidate, "production": production, "records": records}
    output = Path(os.environ["EVALUATION_DIR"])
    output.mkdir(parents=True, exist_ok=True)
    (output / "evaluation.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
