"""A Script Mode linear regression that survives spot interruptions: one checkpoint an epoch, resumed from the last.

SageMaker restores the job's checkpoint folder into the container when an interrupted spot job restarts; the folder
is CheckpointConfig.LocalPath (/opt/ml/checkpoints), which checkpointconfig.json in the input config directory
names. Each epoch's weights go there; a restarted job prints where it resumes and carries on. Serving takes CSV
features and answers one prediction a line.
"""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import numpy as np

EPOCHS = 6
STEPS_PER_EPOCH, LEARNING_RATE = 100, 0.1  # gradient descent on the squared error
EPOCH_SECONDS = 0.4  # slow enough that an interruption lands between two checkpoints
MODEL_FILE = "weights.npy"


def checkpoint_folder() -> Path:
    config = Path(os.environ.get("SM_INPUT_CONFIG_DIR", "/opt/ml/input/config"), "checkpointconfig.json")
    local_path = json.loads(config.read_text())["LocalPath"] if config.exists() else "/opt/ml/checkpoints"
    folder = Path(local_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def main() -> None:
    rows = np.vstack(
        [np.loadtxt(path, delimiter=",", ndmin=2) for path in sorted(Path(os.environ["SM_CHANNEL_TRAIN"]).glob("*"))]
    )
    labels, features = rows[:, 0], np.column_stack([np.ones(len(rows)), rows[:, 1:]])
    folder = checkpoint_folder()
    done = sorted(int(path.stem.split("-")[1]) for path in folder.glob("epoch-*.npy"))
    start = done[-1] + 1 if done else 0
    weights = np.load(folder / f"epoch-{done[-1]}.npy") if done else np.zeros(features.shape[1])
    print(f"resuming at epoch {start}", flush=True)
    for epoch in range(start, EPOCHS):
        for _ in range(STEPS_PER_EPOCH):
            weights = weights - LEARNING_RATE * features.T @ (features @ weights - labels) / len(labels)
        np.save(folder / f"epoch-{epoch}.npy", weights)
        print(f"epoch {epoch} checkpointed", flush=True)
        time.sleep(EPOCH_SECONDS)
    np.save(Path(os.environ["SM_MODEL_DIR"]) / MODEL_FILE, weights)
    (Path(os.environ["SM_MODEL_DIR"]) / "resumed_at.txt").write_text(str(start))


def model_fn(model_dir: str) -> np.ndarray:
    return np.load(Path(model_dir) / MODEL_FILE)


def input_fn(body: bytes | str, content_type: str) -> np.ndarray:
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    return np.loadtxt(io.StringIO(text), delimiter=",", ndmin=2)


def predict_fn(features: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones(len(features)), features]) @ weights


def output_fn(predictions: np.ndarray, accept: str) -> tuple[str, str]:
    return "".join(f"{value:.6f}\n" for value in predictions), "text/csv"


if __name__ == "__main__":
    main()
