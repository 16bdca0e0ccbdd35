"""The job's inputs: its hyperparameters and its CSV channels, checked as Linear Learner checks them."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from local_runtime.algorithms.linear_learner.model import BINARY_CLASSIFIER, PREDICTOR_TYPES, REGRESSOR, FloatArray

# Hyperparameters Linear Learner accepts (it rejects any other name). The local trainer uses predictor_type,
# feature_dim, epochs, l1, wd, normalize_data, normalize_label, loss, f_beta, early_stopping_tolerance and
# early_stopping_patience; it validates learning_rate and accepts the others without effect: it fits one model by
# Newton's method (exact for a regressor), not num_models in parallel by SGD.
KNOWN_HYPERPARAMETERS = frozenset(
    {
        "predictor_type", "num_classes", "accuracy_top_k", "balance_multiclass_weights", "beta_1", "beta_2",
        "bias_lr_mult", "bias_wd_mult", "binary_classifier_model_selection_criteria", "early_stopping_patience",
        "early_stopping_tolerance", "epochs", "f_beta", "feature_dim", "huber_delta", "init_bias", "init_method",
        "init_scale", "init_sigma", "l1", "learning_rate", "loss", "loss_insensitivity", "lr_scheduler_factor",
        "lr_scheduler_minimum_lr", "lr_scheduler_step", "margin", "mini_batch_size", "momentum", "normalize_data",
        "normalize_label", "num_calibration_samples", "num_models", "num_point_for_scaler", "optimizer",
        "positive_example_weight_mult", "quantile", "target_precision", "target_recall", "unbias_data",
        "unbias_label", "use_bias", "use_lr_scheduler", "wd",
    }
)  # fmt: skip
_LOSSES = {REGRESSOR: ("auto", "squared_loss"), BINARY_CLASSIFIER: ("auto", "logistic")}
_AUTO_WD = 1e-4  # bounds the weights on separable classes; negligible on standardized features otherwise


class ClientError(Exception):
    """A problem with the caller's data or hyperparameters: SageMaker reports it as `ClientError: ...`."""


@dataclass(frozen=True)
class Hyperparameters:
    """The hyperparameters the local trainer uses, with Linear Learner's defaults ("auto" where it has one)."""

    predictor_type: str
    feature_dim: int | None = None
    epochs: int = 15
    learning_rate: float | None = None
    l1: float = 0.0
    wd: float = _AUTO_WD
    normalize_data: bool = True
    normalize_label: bool | None = None
    f_beta: float = 1.0
    early_stopping_tolerance: float = 0.001
    early_stopping_patience: int = 3

    @classmethod
    def from_dict(cls, values: Mapping[str, str]) -> Hyperparameters:
        """Parse hyperparameters.json's strings; raise ClientError naming the hyperparameter."""
        unknown = sorted(key for key in values if key not in KNOWN_HYPERPARAMETERS and not key.startswith("_"))
        if unknown:
            raise ClientError(f"unknown hyperparameters for linear-learner: {', '.join(unknown)}")
        predictor_type = values.get("predictor_type")
        if predictor_type is None:
            raise ClientError("hyperparameter predictor_type is required: regressor or binary_classifier")
        if predictor_type == "multiclass_classifier":
            raise ClientError("predictor_type multiclass_classifier is not supported by the local linear-learner")
        if predictor_type not in PREDICTOR_TYPES:
            raise ClientError(
                f"hyperparameter predictor_type must be one of binary_classifier, multiclass_classifier, "
                f"regressor, got {predictor_type!r}"
            )
        loss = values.get("loss", "auto")
        if loss not in _LOSSES[predictor_type]:
            raise ClientError(
                f"hyperparameter loss {loss!r} is not supported by the local linear-learner for {predictor_type} "
                f"(supported: {', '.join(_LOSSES[predictor_type])})"
            )
        return cls(
            predictor_type=predictor_type,
            feature_dim=_number(values, "feature_dim", int, minimum=1, auto=None),
            epochs=_number(values, "epochs", int, minimum=1, auto=15),
            learning_rate=_number(values, "learning_rate", float, minimum=0.0, auto=None, exclusive=True),
            l1=_number(values, "l1", float, minimum=0.0, auto=0.0),
            wd=_number(values, "wd", float, minimum=0.0, auto=_AUTO_WD),
            normalize_data=_boolean(values, "normalize_data", default=True) is not False,
            normalize_label=_boolean(values, "normalize_label", default=None),
            f_beta=_number(values, "f_beta", float, minimum=0.0, auto=1.0, exclusive=True),
            early_stopping_tolerance=_number(
                values, "early_stopping_tolerance", float, minimum=0.0, auto=0.001, exclusive=True
            ),
            early_stopping_patience=_number(values, "early_stopping_patience", int, minimum=1, auto=3),
        )


@dataclass(frozen=True)
class Dataset:
    features: FloatArray
    labels: FloatArray


def read_channel(
    directory: Path,
    channel: str,
    *,
    columns: int | None = None,
    feature_dim: int | None = None,
    binary: bool = False,
) -> Dataset:
    """Read every file of a channel as CSV without header, label first; raise ClientError naming file and line.

    `directory` is the channel's folder (File mode) or its pipe's stream (Pipe mode, see channel_source). `columns` is
    the number every row must have (the train channel's); `feature_dim` the configured one.
    """
    if directory.is_file():
        files = [directory]
    elif not directory.is_dir():
        raise ClientError(f"channel {channel} is missing: no directory {directory}")
    else:
        files = sorted(path for path in directory.rglob("*") if path.is_file())
    if not files:
        raise ClientError(f"channel {channel} is empty: no files")
    where = "" if channel == "train" else f"channel {channel}, "
    rows: list[list[float]] = []
    for path in files:
        name = f"{where}{path.name if path == directory else path.relative_to(directory).as_posix()}"
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ClientError(f"{name}: not UTF-8 text (expected CSV)") from None
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            cells = line.split(",")
            if columns is None:
                columns = len(cells)
                if columns < 2:
                    raise ClientError(f"{name} line {number}: expected a label and at least one feature, got 1 column")
                if feature_dim is not None and feature_dim != columns - 1:
                    raise ClientError(
                        f"{name} line {number}: feature_dim is {feature_dim} but the row has {columns - 1} features "
                        f"(the label is the first of {columns} columns)"
                    )
            elif len(cells) != columns:
                raise ClientError(f"{name} line {number}: expected {columns} columns, got {len(cells)}")
            row = [_cell(cell, name, number, column) for column, cell in enumerate(cells, start=1)]
            if binary and row[0] not in (0.0, 1.0):
                raise ClientError(f"{name} line {number}: binary_classifier labels must be 0 or 1, got {cells[0]}")
            rows.append(row)
    if not rows:
        names = ", ".join(path.relative_to(directory).as_posix() for path in files)
        raise ClientError(f"channel {channel} has no records: {names} hold no CSV rows")
    matrix = np.asarray(rows, dtype=np.float64)
    return Dataset(features=matrix[:, 1:], labels=matrix[:, 0])


def channel_source(data: Path, folder: Path, config: Mapping[str, Any], channel: str) -> Path:
    """Where a channel's records are: its `folder` in File mode, its pipe `<data>/<channel>_0` in Pipe mode (the
    first epoch's, which SageMaker decompresses when the channel is Gzip), as inputdataconfig.json says."""
    settings = config.get(channel)
    if isinstance(settings, Mapping) and settings.get("TrainingInputMode") == "Pipe":
        return data / f"{channel}_0"
    return folder


def check_content_types(config: Mapping[str, Any]) -> None:
    """Refuse a channel whose ContentType (inputdataconfig.json) is not CSV; raise ClientError naming it."""
    for channel, settings in config.items():
        content_type = settings.get("ContentType") if isinstance(settings, dict) else None
        if content_type and content_type.split(";")[0].strip().lower() not in ("text/csv", "csv"):
            raise ClientError(
                f"channel {channel}: content type {content_type} is not supported by the local linear-learner "
                "(text/csv only)"
            )


def read_json_object(path: Path, *, missing_ok: bool = False) -> dict[str, Any]:
    """A config file's JSON object ({} for a missing one when `missing_ok`); raise ClientError naming the file."""
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        if missing_ok:
            return {}
        raise ClientError(f"missing {path.name} in {path.parent}") from None
    except json.JSONDecodeError as error:
        raise ClientError(f"{path.name} is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise ClientError(f"{path.name} must hold a JSON object")
    return document


def _cell(cell: str, name: str, number: int, column: int) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise ClientError(f"{name} line {number}, column {column}: {cell.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise ClientError(f"{name} line {number}, column {column}: {cell.strip()!r} is not a finite number")
    return value


def _number(
    values: Mapping[str, str], name: str, kind: Any, *, minimum: float, auto: Any, exclusive: bool = False
) -> Any:
    raw = values.get(name)
    if raw is None or raw == "auto":
        return auto
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value < minimum or (exclusive and value == minimum):
        bound = f"> {minimum}" if exclusive else f">= {minimum}"
        kind_name = "an integer" if kind is int else "a number"
        raise ClientError(f"hyperparameter {name} must be {kind_name} {bound} or auto, got {raw!r}")
    return value


def _boolean(values: Mapping[str, str], name: str, *, default: bool | None) -> bool | None:
    raw = values.get(name)
    if raw is None or raw == "auto":
        return default
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise ClientError(f"hyperparameter {name} must be true, false or auto, got {raw!r}")
