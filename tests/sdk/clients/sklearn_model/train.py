"""A Script Mode training script as the SageMaker scikit-learn container runs it, with its `model_fn` for serving."""

from __future__ import annotations

import argparse
import os
from typing import Any

import joblib
import numpy as np
from sklearn.linear_model import LinearRegression


def model_fn(model_dir: str) -> Any:
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fit-intercept", type=int, default=1)
    arguments = parser.parse_args()
    data = np.loadtxt(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv"), delimiter=",", ndmin=2)
    model = LinearRegression(fit_intercept=bool(arguments.fit_intercept)).fit(data[:, 1:], data[:, 0])
    print(f"train_r2={model.score(data[:, 1:], data[:, 0]):.4f}")
    joblib.dump(model, os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))


if __name__ == "__main__":
    main()
