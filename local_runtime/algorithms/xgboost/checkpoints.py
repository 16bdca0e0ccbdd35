"""Built-in XGBoost's checkpoints for Managed Spot training: one file a round, resumed from the newest.

Source: aws/sagemaker-xgboost-container. training.py reads the CheckpointConfig from SM_CHECKPOINT_CONFIG_FILE
(the image sets it to $SM_INPUT/config/checkpointconfig.json) and algorithm_mode/train.py takes its LocalPath;
checkpointing.py saves the booster after each round as `xgboost-checkpoint.<round>`, keeps the 5 newest, and
`load_checkpoint` resumes from the newest: round N's file means N + 1 rounds are done, and training continues with
`num_boost_round = num_round - (N + 1)` and that file as `xgb_model`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONFIG_FILE = "checkpointconfig.json"
CHECKPOINT_FILENAME = "xgboost-checkpoint"
MAX_TO_KEEP = 5
_CHECKPOINT = re.compile(rf"^{re.escape(CHECKPOINT_FILENAME)}\.([0-9]+)$")


def checkpoint_folder(config_dir: Path) -> Path | None:
    """The job's checkpoint folder (CheckpointConfig.LocalPath), None when the job keeps no checkpoints."""
    try:
        config = json.loads((config_dir / CONFIG_FILE).read_text())
    except FileNotFoundError:
        return None
    local_path = config.get("LocalPath") if isinstance(config, dict) else None
    return Path(local_path) if local_path else None


@dataclass(frozen=True)
class Resume:
    """Where training starts: the newest checkpoint (None: from scratch) and how many rounds it holds."""

    model: Path | None
    rounds_done: int


FROM_SCRATCH = Resume(None, 0)


def latest(folder: Path | None) -> Resume:
    """The newest `xgboost-checkpoint.<round>` in the folder, as load_checkpoint finds it."""
    if folder is None or not folder.is_dir():
        return FROM_SCRATCH
    rounds = sorted(int(match[1]) for path in folder.iterdir() if (match := _CHECKPOINT.match(path.name)))
    if not rounds:
        return Resume(None, 0)
    return Resume(folder / f"{CHECKPOINT_FILENAME}.{rounds[-1]}", rounds[-1] + 1)


def saving_callback(folder: Path) -> Any:
    """An xgboost callback that saves the booster after each round and deletes all but the newest 5."""
    import xgboost

    class SaveCheckpoint(xgboost.callback.TrainingCallback):  # type: ignore[misc]
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            # The round of the whole job: xgb.train counts `epoch` from 0 again when it resumes from a checkpoint.
            done = model.num_boosted_rounds() - 1
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{CHECKPOINT_FILENAME}.{done}").write_bytes(bytes(model.save_raw("ubj")))
            stale = folder / f"{CHECKPOINT_FILENAME}.{done - MAX_TO_KEEP}"
            stale.unlink(missing_ok=True)
            return False

    return SaveCheckpoint()
