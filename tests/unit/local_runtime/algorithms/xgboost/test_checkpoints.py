"""Built-in XGBoost's checkpoints: written each round into the folder checkpointconfig.json names, resumed from."""

from __future__ import annotations

import json
import re
from pathlib import Path

import xgboost

from local_runtime.algorithms.xgboost import MODEL_FILE
from local_runtime.algorithms.xgboost.checkpoints import latest
from tests.unit.local_runtime.algorithms.xgboost.test_entry_point import (
    CSV_CHANNEL,
    job_layout,
    run_train,
    write_classes,
)

HYPERPARAMETERS = {"num_round": "8", "objective": "binary:logistic"}


def spot_job(root: Path) -> tuple[dict[str, str], Path]:
    environment = job_layout(root, HYPERPARAMETERS, {"train": CSV_CHANNEL})
    write_classes(root / "input" / "data" / "train" / "part-0.csv", 200, seed=0)
    folder = root / "checkpoints"
    config = {"LocalPath": str(folder), "S3Uri": "s3://bucket/models/job/checkpoints/"}
    (root / "input" / "config" / "checkpointconfig.json").write_text(json.dumps(config))
    return environment, folder


def test_a_job_with_a_checkpoint_folder_saves_each_round_keeping_the_newest_five(tmp_path: Path) -> None:
    environment, folder = spot_job(tmp_path)

    result = run_train(tmp_path, environment)

    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in folder.iterdir()) == [f"xgboost-checkpoint.{n}" for n in range(3, 8)]


def test_a_restarted_job_resumes_after_the_newest_checkpoint(tmp_path: Path) -> None:
    # GIVEN a job interrupted after round 4 (of 8): its restored folder holds rounds 3 and 4
    environment, folder = spot_job(tmp_path)
    run_train(tmp_path, {**environment, "SM_MODEL_DIR": str(tmp_path / "first")})
    for path in folder.iterdir():
        if int(path.name.rsplit(".", 1)[1]) > 4:
            path.unlink()

    # WHEN it runs again
    result = run_train(tmp_path, environment)

    # THEN it says where it resumes, trains only the remaining rounds (XGBoost's monitor numbers them from 0, as
    # in the container, which uses the same EvaluationMonitor), checkpoints them, and its model has all eight
    assert result.returncode == 0, result.stderr
    assert "Resuming from iteration 5" in result.stdout
    assert len(re.findall(r"^\[\d+\]\t", result.stdout, re.MULTILINE)) == 3
    assert sorted(path.name for path in folder.iterdir()) == [f"xgboost-checkpoint.{n}" for n in range(3, 8)]
    booster = xgboost.Booster()
    booster.load_model(bytearray((tmp_path / "model" / MODEL_FILE).read_bytes()))
    assert booster.num_boosted_rounds() == 8


def test_without_checkpointconfig_json_there_is_no_checkpoint_folder(tmp_path: Path) -> None:
    environment = job_layout(tmp_path, HYPERPARAMETERS, {"train": CSV_CHANNEL})
    write_classes(tmp_path / "input" / "data" / "train" / "part-0.csv", 50, seed=0)

    assert run_train(tmp_path, environment).returncode == 0
    assert not (tmp_path / "checkpoints").exists()
    assert latest(None).model is None
