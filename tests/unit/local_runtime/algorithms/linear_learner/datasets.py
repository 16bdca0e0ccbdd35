"""Synthetic data the Linear Learner tests fit: a noisy linear function and separable classes."""

from __future__ import annotations

from pathlib import Path

import numpy as np


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
