"""A scikit-learn Script Mode model behind the churn preprocessing: the framework's script in the middle container.

Training reads the preprocessing's output under SM_CHANNEL_TRAIN (CSV, no header, the label 0 or 1 first, then the
features), prints `validation:auc=...` from seeded cross-validation (the pipeline's metric definition reads it)
and saves a logistic regression to SM_MODEL_DIR. Serving takes the preprocessing's features as CSV and answers one
probability of class 1 a line, as built-in XGBoost with binary:logistic does, which the postprocessing reads.
"""

from __future__ import annotations

import argparse
import io
import os
from pathlib import Path

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

MODEL_FILE = "model.joblib"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-C", "--C", type=float, default=1.0)  # the toolkit passes a one-letter name as -C
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"))
    args = parser.parse_args()
    rows = np.vstack([np.loadtxt(path, delimiter=",", ndmin=2) for path in sorted(Path(args.train).glob("*.csv"))])
    labels, features = rows[:, 0].astype(int), rows[:, 1:]
    model = LogisticRegression(C=args.C, max_iter=1000)
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    scores = cross_val_predict(model, features, labels, cv=folds, method="predict_proba")[:, 1]
    print(f"validation:auc={roc_auc_score(labels, scores):.4f}", flush=True)
    joblib.dump(model.fit(features, labels), Path(args.model_dir) / MODEL_FILE)


def model_fn(model_dir: str) -> LogisticRegression:
    return joblib.load(Path(model_dir) / MODEL_FILE)


def input_fn(body: bytes | str, content_type: str) -> np.ndarray:
    if content_type.split(";")[0].strip().lower() != "text/csv":
        raise ValueError(f"send the preprocessing's features as text/csv, not {content_type}")
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    return np.loadtxt(io.StringIO(text), delimiter=",", ndmin=2)


def predict_fn(features: np.ndarray, model: LogisticRegression) -> np.ndarray:
    return model.predict_proba(features)[:, 1]


def output_fn(scores: np.ndarray, accept: str) -> tuple[str, str]:
    return "".join(f"{score:.6f}\n" for score in scores), "text/csv"


if __name__ == "__main__":
    main()
