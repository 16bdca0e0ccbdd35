"""An evaluation script as a team would write it for built-in XGBoost: both models scored on the run's holdout.

Run by the pipeline's evaluation processing job (`evaluation.script`): the holdout's CSV files (label first) are
under HOLDOUT_DIR, each model's unpacked artifact under <CANDIDATE|PRODUCTION>_MODEL_DIR/model/xgboost-model, and
the report goes to EVALUATION_DIR/evaluation.json in Model Monitor's groups, as SageMaker Pipelines' templates
write it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import xgboost


def read_holdout(directory: Path) -> tuple[np.ndarray, np.ndarray]:
    """Every record of the held-out files: (labels, features)."""
    rows = [
        [float(value) for value in line.split(",")]
        for path in sorted(p for p in directory.rglob("*") if p.is_file())
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    table = np.array(rows, dtype=np.float64)
    return table[:, 0], table[:, 1:]


def score(model_dir: str, labels: np.ndarray, features: np.ndarray) -> dict[str, Any]:
    booster = xgboost.Booster(model_file=str(Path(model_dir) / "model" / "xgboost-model"))
    errors = booster.predict(xgboost.DMatrix(features)) - labels
    squared = errors**2
    return {
        "regression_metrics": {
            "rmse": {"value": float(np.sqrt(squared.mean())), "standard_deviation": float(np.sqrt(squared).std())},
            "mae": {"value": float(np.abs(errors).mean()), "standard_deviation": float(np.abs(errors).std())},
        }
    }


def main() -> None:
    labels, features = read_holdout(Path(os.environ["HOLDOUT_DIR"]))
    production = os.environ.get("PRODUCTION_MODEL_DIR")
    report = {
        "candidate": score(os.environ["CANDIDATE_MODEL_DIR"], labels, features),
        "production": score(production, labels, features) if production else None,
        "records": len(labels),
    }
    output = Path(os.environ["EVALUATION_DIR"])
    output.mkdir(parents=True, exist_ok=True)
    (output / "evaluation.json").write_text(json.dumps(report, indent=2))
    print(f"scored on {len(labels)} held-out records: {json.dumps(report)}")


if __name__ == "__main__":
    main()
