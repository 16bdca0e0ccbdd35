"""A local stand-in for SageMaker's Linear Learner: CSV in (label first), a linear model out, LL's metric names."""

from __future__ import annotations

import json
import math
import os
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import numpy.typing as npt

MODEL_FILE = "linear_learner_model.json"  # at the root of the model directory, hence of model.tar.gz
MODEL_FORMAT = "local-linear-learner/1"
REGRESSOR, BINARY_CLASSIFIER = "regressor", "binary_classifier"
PREDICTOR_TYPES = (REGRESSOR, BINARY_CLASSIFIER)

FloatArray = npt.NDArray[np.float64]

HOST = "algo-1"
# The metric definitions SageMaker attaches to Linear Learner jobs (the regexes it applies to the algorithm's log),
# as DescribeTrainingJob shows them for the linear-learner:1 image; this module prints lines they match.
_QUALITY = r"#quality_metric: host=\S+, "
METRIC_DEFINITIONS: tuple[tuple[str, str], ...] = (
    ("train:progress", r"#progress_metric: host=\S+, completed (\S+) %"),
    ("train:throughput", r"#throughput_metric: host=\S+, train throughput=(\S+) records/second"),
    ("train:objective_loss", _QUALITY + r"epoch=\S+, train \S+_objective <loss>=(\S+)"),
    ("train:objective_loss:final", _QUALITY + r"train \S+_objective <loss>=(\S+)"),
    ("validation:objective_loss", _QUALITY + r"epoch=\S+, validation \S+_objective <loss>=(\S+)"),
    ("validation:objective_loss:final", _QUALITY + r"validation \S+_objective <loss>=(\S+)"),
    ("test:objective_loss", _QUALITY + r"test \S+_objective <loss>=(\S+)"),
    *(
        (f"{channel}:{name}", _QUALITY + rf"{channel} {name} <loss>=(\S+)")
        for channel in ("train", "validation", "test")
        for name in ("mse", "absolute_loss")
    ),
    *(
        (f"{channel}:{name}", _QUALITY + rf"{channel} {pattern} <score>=(\S+)")
        for channel in ("train", "validation", "test")
        for name, pattern in (
            ("binary_classification_accuracy", "binary_classification_accuracy"),
            ("binary_f_beta", r"binary_f_\S+"),
            ("precision", "precision"),
            ("recall", "recall"),
        )
    ),
)


class ModelLoadError(Exception):
    """The model directory holds no readable Linear Learner model."""


@dataclass(frozen=True)
class LinearLearnerModel:
    """Weights in the standardized feature space: score = ((x - feature_means) / feature_scales) · weights + bias."""

    predictor_type: str
    weights: list[float]
    bias: float
    feature_means: list[float]
    feature_scales: list[float]

    def __post_init__(self) -> None:
        if self.predictor_type not in PREDICTOR_TYPES:
            raise ValueError(f"predictor_type must be one of {', '.join(PREDICTOR_TYPES)}, got {self.predictor_type!r}")
        sizes = {len(self.weights), len(self.feature_means), len(self.feature_scales)}
        if len(sizes) != 1:
            raise ValueError(
                f"weights, feature_means and feature_scales must have the same length, got "
                f"{len(self.weights)}, {len(self.feature_means)} and {len(self.feature_scales)}"
            )
        if any(scale == 0 for scale in self.feature_scales):
            raise ValueError("feature_scales must not contain 0")

    @property
    def feature_dim(self) -> int:
        return len(self.weights)

    def scores(self, rows: FloatArray) -> FloatArray:
        """The raw linear output of each row (the regression value, or the logit for a classifier)."""
        matrix = np.asarray(rows, dtype=np.float64)
        if matrix.ndim == 1:
            matrix = matrix.reshape(1, -1)
        if matrix.ndim != 2 or matrix.shape[1] != self.feature_dim:
            raise ValueError(f"expected rows of {self.feature_dim} features, got an array of shape {matrix.shape}")
        standardized = (matrix - np.asarray(self.feature_means)) / np.asarray(self.feature_scales)
        result: FloatArray = standardized @ np.asarray(self.weights, dtype=np.float64) + self.bias
        return result

    def predict(self, rows: FloatArray) -> list[dict[str, float]]:
        """Linear Learner's JSON response records, one per row; raise ValueError on a wrong number of features.

        A regressor answers `{"score": y}`; a binary classifier `{"score": p, "predicted_label": 0.0 or 1.0}`
        with p the probability of label 1 and the label thresholded at 0.5.
        """
        scores = self.scores(rows)
        if self.predictor_type == REGRESSOR:
            return [{"score": float(value)} for value in scores]
        probabilities = _sigmoid(scores)
        return [{"score": float(p), "predicted_label": 1.0 if p >= 0.5 else 0.0} for p in probabilities]

    def save(self, model_dir: Path) -> None:
        """Write MODEL_FILE into `model_dir` (created when missing)."""
        model_dir.mkdir(parents=True, exist_ok=True)
        document = {
            "format": MODEL_FORMAT,
            "predictor_type": self.predictor_type,
            "weights": self.weights,
            "bias": self.bias,
            "feature_means": self.feature_means,
            "feature_scales": self.feature_scales,
        }
        (model_dir / MODEL_FILE).write_text(json.dumps(document, indent=2) + "\n")

    @classmethod
    def load(cls, model_dir: Path) -> LinearLearnerModel:
        """Read MODEL_FILE from `model_dir`; raise ModelLoadError when it is missing or not a valid model."""
        path = model_dir / MODEL_FILE
        try:
            document: Any = json.loads(path.read_text())
        except FileNotFoundError:
            raise ModelLoadError(f"no {MODEL_FILE} in {model_dir}: not a model trained by linear-learner") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ModelLoadError(f"cannot read {path}: {error}") from error
        if not isinstance(document, dict) or document.get("format") != MODEL_FORMAT:
            raise ModelLoadError(f"{path} is not a {MODEL_FORMAT} model document")
        try:
            return cls(
                predictor_type=str(document["predictor_type"]),
                weights=_floats(document["weights"]),
                bias=_float(document["bias"]),
                feature_means=_floats(document["feature_means"]),
                feature_scales=_floats(document["feature_scales"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            detail = f"missing field {error}" if isinstance(error, KeyError) else str(error)
            raise ModelLoadError(f"{path} is not a valid model: {detail}") from error


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value!r}")
    return float(value)


def _floats(values: Any) -> list[float]:
    if not isinstance(values, list):
        raise ValueError(f"expected a list of numbers, got {type(values).__name__}")
    return [_float(value) for value in values]


def _sigmoid(values: FloatArray) -> FloatArray:
    result: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * values))  # tanh form: no overflow for large |x|
    return result


# --- Training: `python -m local_runtime.algorithms.linear_learner train` inside a job's directory layout ---

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
_OBJECTIVE_NAMES = {REGRESSOR: "square_loss_objective", BINARY_CLASSIFIER: "logistic_loss_objective"}
_AUTO_WD = 1e-4  # bounds the weights on separable classes; negligible on standardized features otherwise
_MIN_CURVATURE = 1e-6
_CONVERGED = 1e-10  # largest change of a parameter in an epoch below which fitting stops


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

    `columns` is the number every row must have (the train channel's); `feature_dim` the configured one.
    """
    if not directory.is_dir():
        raise ClientError(f"channel {channel} is missing: no directory {directory}")
    files = sorted(path for path in directory.rglob("*") if path.is_file())
    if not files:
        raise ClientError(f"channel {channel} is empty: no files")
    where = "" if channel == "train" else f"channel {channel}, "
    rows: list[list[float]] = []
    for path in files:
        name = f"{where}{path.relative_to(directory).as_posix()}"
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


def fit(
    data: Dataset,
    hyperparameters: Hyperparameters,
    *,
    on_epoch: Callable[[int, LinearLearnerModel], None] | None = None,
) -> LinearLearnerModel:
    """Fit by Newton's method (one step solves a regressor exactly) with the l1 (lasso) and wd (ridge) penalties.

    Features are standardized (normalize_data) and, for a regressor, the label too (normalize_label); penalties
    apply in that space, as in Linear Learner. `on_epoch(epoch, model)` is called after each epoch.
    """
    binary = hyperparameters.predictor_type == BINARY_CLASSIFIER
    features, labels = data.features, data.labels
    means = features.mean(axis=0) if hyperparameters.normalize_data else np.zeros(features.shape[1])
    scales = features.std(axis=0) if hyperparameters.normalize_data else np.ones(features.shape[1])
    scales = np.where(scales > 0, scales, 1.0)
    standardized = (features - means) / scales
    normalize_label = (not binary) if hyperparameters.normalize_label is None else hyperparameters.normalize_label
    label_mean = float(labels.mean()) if normalize_label and not binary else 0.0
    label_scale = float(labels.std()) if normalize_label and not binary else 1.0
    label_scale = label_scale if label_scale > 0 else 1.0
    target = (labels - label_mean) / label_scale

    weights = np.zeros(standardized.shape[1])
    share = float(np.clip(target.mean(), 1e-6, 1 - 1e-6)) if binary else float(target.mean())
    bias = math.log(share / (1 - share)) if binary else share
    model = _model(hyperparameters.predictor_type, weights, bias, means, scales, label_mean, label_scale)
    best_loss, stale = math.inf, 0
    for epoch in range(hyperparameters.epochs):
        linear = standardized @ weights + bias
        if binary:
            probabilities = _sigmoid(linear)
            curvature = np.maximum(probabilities * (1 - probabilities), _MIN_CURVATURE)
            working = linear + (target - probabilities) / curvature
        else:
            curvature, working = np.ones_like(target), target
        new_weights, new_bias = _weighted_elastic_net(
            standardized, working, curvature, l1=hyperparameters.l1, wd=hyperparameters.wd, start=weights
        )
        change = max(float(np.abs(new_weights - weights).max(initial=0.0)), abs(new_bias - bias))
        weights, bias = new_weights, new_bias
        model = _model(hyperparameters.predictor_type, weights, bias, means, scales, label_mean, label_scale)
        if on_epoch is not None:
            on_epoch(epoch, model)
        # Linear Learner's early stopping: no relative improvement of the loss for `patience` epochs.
        loss = evaluate(model, data)["objective_loss"]
        if loss < best_loss * (1 - hyperparameters.early_stopping_tolerance):
            best_loss, stale = loss, 0
        else:
            stale += 1
        if change < _CONVERGED or stale >= hyperparameters.early_stopping_patience:
            break
    return model


def evaluate(model: LinearLearnerModel, data: Dataset, *, f_beta: float = 1.0) -> dict[str, float]:
    """The metrics Linear Learner reports for a channel, by name without the channel prefix."""
    scores = model.scores(data.features)
    labels = data.labels
    if model.predictor_type == REGRESSOR:
        errors = scores - labels
        mse = float(np.mean(errors**2))
        return {"objective_loss": mse, "mse": mse, "absolute_loss": float(np.mean(np.abs(errors)))}
    probabilities = np.clip(_sigmoid(scores), 1e-12, 1 - 1e-12)
    predicted = probabilities >= 0.5
    actual = labels == 1.0
    true_positives = float(np.sum(predicted & actual))
    precision = true_positives / float(predicted.sum()) if predicted.any() else 0.0
    recall = true_positives / float(actual.sum()) if actual.any() else 0.0
    beta2 = f_beta**2
    denominator = beta2 * precision + recall
    return {
        "objective_loss": float(-np.mean(labels * np.log(probabilities) + (1 - labels) * np.log(1 - probabilities))),
        "binary_classification_accuracy": float(np.mean(predicted == actual)),
        "binary_f_beta": (1 + beta2) * precision * recall / denominator if denominator > 0 else 0.0,
        "precision": precision,
        "recall": recall,
    }


def train(environ: Mapping[str, str], out: TextIO) -> LinearLearnerModel:
    """Run a training job in the SageMaker layout the environment describes; raise ClientError on bad input."""
    paths = _Paths.from_environ(environ)
    hyperparameters = Hyperparameters.from_dict(_read_json_object(paths.config / "hyperparameters.json"))
    _check_content_types(_read_json_object(paths.config / "inputdataconfig.json", missing_ok=True))
    log = _Log(out)
    binary = hyperparameters.predictor_type == BINARY_CLASSIFIER
    started = time.monotonic()
    train_data = read_channel(paths.channel("train"), "train", feature_dim=hyperparameters.feature_dim, binary=binary)
    columns = train_data.features.shape[1] + 1
    extra = {
        channel: read_channel(paths.channel(channel), channel, columns=columns, binary=binary)
        for channel in ("validation", "test")
        if paths.channel(channel).is_dir()
    }
    log.info(
        f"{hyperparameters.predictor_type}: {train_data.features.shape[0]} records of "
        f"{train_data.features.shape[1]} features; channels: {', '.join(['train', *extra])}"
    )
    objective = _OBJECTIVE_NAMES[hyperparameters.predictor_type]

    per_epoch = [("train", train_data), *(("validation", extra[name]) for name in ("validation",) if name in extra)]

    def on_epoch(epoch: int, model: LinearLearnerModel) -> None:
        for channel, data in per_epoch:
            loss = evaluate(model, data, f_beta=hyperparameters.f_beta)["objective_loss"]
            log.info(f"#quality_metric: host={HOST}, epoch={epoch}, {channel} {objective} <loss>={loss!r}")
        log.info(f"#progress_metric: host={HOST}, completed {100.0 * (epoch + 1) / hyperparameters.epochs!r} %")

    model = fit(train_data, hyperparameters, on_epoch=on_epoch)
    elapsed = max(time.monotonic() - started, 1e-9)
    log.info(f"#progress_metric: host={HOST}, completed 100.0 %")
    log.info(
        f"#throughput_metric: host={HOST}, train throughput={train_data.features.shape[0] / elapsed!r} records/second"
    )
    for channel, data in (("train", train_data), *extra.items()):
        for name, value in evaluate(model, data, f_beta=hyperparameters.f_beta).items():
            log.info(_metric_line(channel, name, value, objective, hyperparameters.f_beta))
    model.save(paths.model)
    log.info(f"model saved to {paths.model / MODEL_FILE}")
    return model


def main(argv: Sequence[str] | None = None) -> int:
    """The container's entry point: `train`; write SageMaker's failure file and exit 1 on an error."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments != ["train"]:
        print(f"usage: python -m {__name__} train", file=sys.stderr)
        return 2
    paths = _Paths.from_environ(os.environ)
    try:
        train(os.environ, sys.stdout)
    except ClientError as error:
        return _fail(paths, f"ClientError: {error}")
    except Exception as error:  # the failure file must name any crash, as SageMaker's algorithms do
        traceback.print_exc()
        return _fail(paths, f"AlgorithmError: {type(error).__name__}: {error}")
    return 0


@dataclass(frozen=True)
class _Paths:
    """SageMaker's /opt/ml layout, from the SM_* environment or else relative to the working directory."""

    config: Path
    data: Path
    model: Path
    output: Path
    channels: Mapping[str, str]

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> _Paths:
        root = Path(".")
        input_dir = Path(environ.get("SM_INPUT_DIR", root / "input"))
        return cls(
            config=Path(environ.get("SM_INPUT_CONFIG_DIR", input_dir / "config")),
            data=input_dir / "data",
            model=Path(environ.get("SM_MODEL_DIR", root / "model")),
            output=Path(environ.get("SM_OUTPUT_DIR", root / "output")),
            channels={
                key[len("SM_CHANNEL_") :]: value for key, value in environ.items() if key.startswith("SM_CHANNEL_")
            },
        )

    def channel(self, name: str) -> Path:
        configured = self.channels.get(name.upper())
        return Path(configured) if configured else self.data / name


class _Log:
    """Linear Learner's log line format: `[date time INFO pid] message`, flushed line by line."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def info(self, message: str) -> None:
        stamp = datetime.now(UTC).strftime("%m/%d/%Y %H:%M:%S")
        self._out.write(f"[{stamp} INFO {os.getpid()}] {message}\n")
        self._out.flush()


def _metric_line(channel: str, name: str, value: float, objective: str, f_beta: float) -> str:
    if name == "objective_loss":
        return f"#quality_metric: host={HOST}, {channel} {objective} <loss>={value!r}"
    if name in ("mse", "absolute_loss"):
        return f"#quality_metric: host={HOST}, {channel} {name} <loss>={value!r}"
    label = f"binary_f_{f_beta:.3f}" if name == "binary_f_beta" else name
    return f"#quality_metric: host={HOST}, {channel} {label} <score>={value!r}"


def _fail(paths: _Paths, reason: str) -> int:
    print(reason, file=sys.stderr)
    paths.output.mkdir(parents=True, exist_ok=True)
    (paths.output / "failure").write_text(reason)
    return 1


def _model(
    predictor_type: str,
    weights: FloatArray,
    bias: float,
    means: FloatArray,
    scales: FloatArray,
    label_mean: float,
    label_scale: float,
) -> LinearLearnerModel:
    """Fold the label's normalization into the weights: the saved model predicts in the label's own units."""
    return LinearLearnerModel(
        predictor_type=predictor_type,
        weights=[float(w) * label_scale for w in weights],
        bias=float(bias) * label_scale + label_mean,
        feature_means=[float(m) for m in means],
        feature_scales=[float(s) for s in scales],
    )


def _weighted_elastic_net(
    features: FloatArray, target: FloatArray, weights: FloatArray, *, l1: float, wd: float, start: FloatArray
) -> tuple[FloatArray, float]:
    """Minimize Σ w_i (t_i - b - x_i·β)² / 2n + l1 |β|₁ + wd |β|² / 2, the bias unpenalized."""
    count = features.shape[0]
    total = float(weights.sum())
    feature_mean = (weights @ features) / total
    target_mean = float(weights @ target) / total
    centered = features - feature_mean
    gram = (centered.T * weights) @ centered / count
    correlation = (centered.T * weights) @ (target - target_mean) / count
    if l1 == 0.0:
        regularized = gram + (wd + 1e-12) * np.eye(gram.shape[0])
        beta: FloatArray = np.linalg.lstsq(regularized, correlation, rcond=None)[0]
    else:
        beta = start.copy()
        for _ in range(50):  # coordinate descent on the covariance form: cheap, d² per sweep
            previous = beta.copy()
            for j in range(beta.shape[0]):
                rho = correlation[j] - gram[j] @ beta + gram[j, j] * beta[j]
                beta[j] = (
                    math.copysign(max(abs(rho) - l1, 0.0), rho) / (gram[j, j] + wd) if gram[j, j] + wd > 0 else 0.0
                )
            if float(np.abs(beta - previous).max(initial=0.0)) < 1e-9:
                break
    return beta, target_mean - float(feature_mean @ beta)


def _check_content_types(config: Mapping[str, Any]) -> None:
    for channel, settings in config.items():
        content_type = settings.get("ContentType") if isinstance(settings, dict) else None
        if content_type and content_type.split(";")[0].strip().lower() not in ("text/csv", "csv"):
            raise ClientError(
                f"channel {channel}: content type {content_type} is not supported by the local linear-learner "
                "(text/csv only)"
            )


def _read_json_object(path: Path, *, missing_ok: bool = False) -> dict[str, Any]:
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


if __name__ == "__main__":
    sys.exit(main())
