"""The container's training entry point: SageMaker's layout in, Linear Learner's log lines and the model out."""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TextIO

from local_runtime.algorithms.container import ContainerPaths, fail
from local_runtime.algorithms.linear_learner.fit import evaluate, fit
from local_runtime.algorithms.linear_learner.inputs import (
    ClientError,
    Hyperparameters,
    channel_source,
    check_content_types,
    read_channel,
    read_json_object,
)
from local_runtime.algorithms.linear_learner.model import BINARY_CLASSIFIER, MODEL_FILE, REGRESSOR, LinearLearnerModel

HOST = "algo-1"
CHANNELS = ("train", "validation", "test")  # Linear Learner's
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
_OBJECTIVE_NAMES = {REGRESSOR: "square_loss_objective", BINARY_CLASSIFIER: "logistic_loss_objective"}


def train(environ: Mapping[str, str], out: TextIO) -> LinearLearnerModel:
    """Run a training job in the SageMaker layout the environment describes; raise ClientError on bad input."""
    paths = ContainerPaths.from_environ(environ)
    hyperparameters = Hyperparameters.from_dict(read_json_object(paths.config / "hyperparameters.json"))
    channels = read_json_object(paths.config / "inputdataconfig.json", missing_ok=True)
    check_content_types(channels)
    log = _Log(out)
    binary = hyperparameters.predictor_type == BINARY_CLASSIFIER
    started = time.monotonic()
    sources = {name: channel_source(paths.data, paths.channel(name), channels, name) for name in CHANNELS}
    train_data = read_channel(sources["train"], "train", feature_dim=hyperparameters.feature_dim, binary=binary)
    columns = train_data.features.shape[1] + 1
    extra = {
        channel: read_channel(sources[channel], channel, columns=columns, binary=binary)
        for channel in ("validation", "test")
        if sources[channel].exists()
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
        print(f"usage: python -m {__package__} train", file=sys.stderr)
        return 2
    paths = ContainerPaths.from_environ(os.environ)
    try:
        train(os.environ, sys.stdout)
    except ClientError as error:
        return fail(paths, f"ClientError: {error}")
    except Exception as error:  # the failure file must name any crash, as SageMaker's algorithms do
        traceback.print_exc()
        return fail(paths, f"AlgorithmError: {type(error).__name__}: {error}")
    return 0


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
