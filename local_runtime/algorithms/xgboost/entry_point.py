"""Built-in XGBoost's training entry point, run with the real `xgboost` library in SageMaker's layout.

Source: aws/sagemaker-xgboost-container, `algorithm_mode/train.py` (validate the hyperparameters, then the channels;
one DMatrix per channel; `xgb.train` with XGBoost's EvaluationMonitor printing `[n]<TAB>train-rmse:...` each round,
early stopping on the last eval metric of the validation channel, the container's own metrics as a custom eval
function; XGBoost errors the caller caused become UserErrors; the booster saved as `xgboost-model`) and the training
toolkit's trainer (any exception is written to the failure file as `framework error: <traceback> <message>`, which
SageMaker reports as `AlgorithmError: framework error: ...`).
"""

from __future__ import annotations

import json
import os
import re
import sys
import traceback
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from local_runtime.algorithms.container import ContainerPaths, fail
from local_runtime.algorithms.xgboost import checkpoints, data, metrics
from local_runtime.algorithms.xgboost.hyperparameters import UserError, validate
from local_runtime.algorithms.xgboost.metrics import MAXIMIZE_METRICS

MODEL_FILE = "xgboost-model"  # at the root of the model directory, hence of model.tar.gz
# XGBoost's own messages for errors the caller caused (xgb_constants.CUSTOMER_ERRORS): they fail as UserErrors.
CUSTOMER_ERRORS = (
    "label must be in [0,1] for logistic regression",
    "label must be in [0, num_class)",
    "Target is multiclass but average='binary'",
    "feature_names mismatch",
    "Check failed: preds.size() == info.labels_.size()",
    "Check failed: !auc_error AUC: the dataset only contains pos or neg samples",
    "Check failed: base_score > 0.0f && base_score < 1.0f base_score must be in (0,1) for logistic loss",
    "Check failed: label_correct PoissonRegression: label must be nonnegative",
    "Check failed: label_correct TweedieRegression: label must be nonnegative",
    "Parameter reg_lambda should be greater equal to 0",
)
# What the container consumes itself rather than passing to xgb.train.
_CONTAINER_ONLY = (
    "num_round", "csv_weights", "early_stopping_rounds", "save_model_on_termination", "_tuning_objective_metric",
    "eval_metric", "use_dask_gpu_training", "_kfold", "_num_cv_round",
)  # fmt: skip


class AlgorithmError(Exception):
    """The toolkit's AlgorithmError: XGBoost failed for a reason the caller's input does not explain."""


def train(environ: Mapping[str, str], out: TextIO, *, image_version: str | None = None) -> Any:
    """Run a training job in the SageMaker layout the environment describes; return the booster.

    Raises UserError for bad hyperparameters, channels or data, AlgorithmError when XGBoost fails otherwise.
    """
    import xgboost

    paths = ContainerPaths.from_environ(environ)
    log = _Log(out)
    note = version_note(xgboost.__version__, image_version)
    if note:
        log.info(note)
    hyperparameters = validate(_json_object(paths.config / "hyperparameters.json"))
    config = _json_object(paths.config / "inputdataconfig.json")
    data_format = data.validate_channels(config)
    for name in ("_kfold", "use_dask_gpu_training"):
        if name in hyperparameters and hyperparameters[name] != "false":
            raise UserError(f"hyperparameter {name} is not supported by the local runtime's XGBoost")
    weighted = hyperparameters.get("csv_weights", 0) == 1
    train_data = data.read_channel(paths.channel("train"), "train", data_format, csv_weights=weighted)
    evals = [(_dmatrix(train_data), "train")]
    if "validation" in config:
        validation = data.read_channel(paths.channel("validation"), "validation", data_format, csv_weights=weighted)
        evals.append((_dmatrix(validation), "validation"))
    log.info("Single node training.")
    log.info(f"Train matrix has {train_data.rows} rows and {evals[0][0].num_col()} columns")
    if len(evals) > 1:
        log.info(f"Validation matrix has {evals[1][0].num_row()} rows")
    folder = checkpoints.checkpoint_folder(paths.config)
    resume = checkpoints.latest(folder)
    if resume.model is not None:
        log.info(f"Checkpoint loaded from {resume.model}")
        log.info(f"Resuming from iteration {resume.rounds_done}")
    booster = _fit(hyperparameters, evals, out, folder=folder, resume=resume)
    paths.model.mkdir(parents=True, exist_ok=True)
    # save_raw("ubj") is what save_model writes to a path without extension, without its format warning.
    (paths.model / MODEL_FILE).write_bytes(bytes(booster.save_raw("ubj")))
    log.info(f"Stored trained model at {paths.model / MODEL_FILE}")
    return booster


def _fit(
    hyperparameters: Mapping[str, Any],
    evals: list[tuple[Any, str]],
    out: TextIO,
    *,
    folder: Path | None = None,
    resume: checkpoints.Resume = checkpoints.FROM_SCRATCH,
) -> Any:
    import xgboost

    native, custom = metrics.split_metrics(
        hyperparameters.get("eval_metric"), hyperparameters.get("_tuning_objective_metric")
    )
    params = _train_params(hyperparameters, native)

    def print_line(message: str) -> None:
        out.write(message.strip() + "\n")
        out.flush()

    callbacks: list[Any] = [xgboost.callback.EvaluationMonitor(logger=print_line)]
    if folder is not None:
        callbacks.append(checkpoints.saving_callback(folder))
    rounds = hyperparameters.get("early_stopping_rounds")
    tuning = hyperparameters.get("_tuning_objective_metric")
    stopping_metric = tuning.split(":", 1)[1] if tuning else (hyperparameters.get("eval_metric") or [None])[-1]
    if rounds and stopping_metric and len(evals) > 1:
        callbacks.append(
            xgboost.callback.EarlyStopping(
                rounds=rounds,
                data_name="validation",
                metric_name=stopping_metric,
                maximize=stopping_metric in MAXIMIZE_METRICS,
                save_best=True,
            )
        )
    try:
        return xgboost.train(
            params,
            evals[0][0],
            num_boost_round=max(hyperparameters["num_round"] - resume.rounds_done, 0),
            xgb_model=str(resume.model) if resume.model is not None else None,
            evals=evals,
            custom_metric=metrics.custom_feval(custom, str(params.get("objective", "reg:squarederror")))
            if custom
            else None,
            callbacks=callbacks,
            verbose_eval=False,
        )
    except Exception as error:
        if any(message in str(error) for message in CUSTOMER_ERRORS):
            raise UserError(str(error)) from error
        raise AlgorithmError(f"XGB train call failed with exception:\n {error}") from error


def _train_params(hyperparameters: Mapping[str, Any], eval_metric: Sequence[str]) -> dict[str, Any]:
    params: dict[str, Any] = {k: v for k, v in hyperparameters.items() if k not in _CONTAINER_ONLY}
    if "updater" in params:
        params["updater"] = ",".join(params["updater"])
    for name in ("monotone_constraints", "interaction_constraints"):
        if name in params:
            params[name] = str(params[name]).replace(" ", "")
    if eval_metric:
        params["eval_metric"] = list(eval_metric)
    return params


def _dmatrix(matrix: data.Matrix) -> Any:
    import xgboost

    return xgboost.DMatrix(matrix.features, label=matrix.labels, weight=matrix.weights, missing=float("nan"))


def version_note(library_version: str, image_version: str | None) -> str | None:
    """One line when the local library's major.minor differs from the image's (`1.7-1` is XGBoost 1.7)."""
    local = re.match(r"(\d+)\.(\d+)", library_version)
    image = re.match(r"(\d+)\.(\d+)", image_version or "")
    if local is None or image is None or local.groups() == image.groups():
        return None
    return f"local xgboost {local[1]}.{local[2]} stands in for {image_version}"


def main(argv: Sequence[str] | None = None) -> int:
    """The container's entry point: `train [--image-version V]`; write the failure file and exit 1 on an error."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    with_version = len(arguments) == 3 and arguments[:2] == ["train", "--image-version"]
    if arguments != ["train"] and not with_version:
        print(f"usage: python -m {__package__} train [--image-version VERSION]", file=sys.stderr)
        return 2
    paths = ContainerPaths.from_environ(os.environ)
    try:
        train(os.environ, sys.stdout, image_version=arguments[2] if with_version else None)
    except Exception as error:  # the toolkit's trainer reports every exception the same way
        return fail(paths, failure_reason(error))
    return 0


def failure_reason(error: BaseException) -> str:
    """What SageMaker shows for the container's failure: the innermost frame, the exception and its message."""
    trace = "".join(traceback.format_exception(error, limit=-1))
    return f"AlgorithmError: framework error: \n{trace}\n{error}"


def _json_object(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    if not isinstance(document, dict):
        raise UserError(f"{path.name} must hold a JSON object")
    return document


class _Log:
    """The container's log line format: `[YYYY-mm-dd:HH:MM:SS:INFO] message`, flushed line by line."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def info(self, message: str) -> None:
        self._out.write(f"[{datetime.now(UTC).strftime('%Y-%m-%d:%H:%M:%S')}:INFO] {message}\n")
        self._out.flush()
