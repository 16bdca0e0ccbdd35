"""Built-in XGBoost's channels and data files: CSV (label first, no header) and libsvm, into XGBoost matrices.

Sources: aws/sagemaker-xgboost-container, `algorithm_mode/channel_validation.py` and the toolkit's
`channel_validation.py` (channels `train`, required, and `validation`; their content types, matched exactly; libsvm
when none is given), `data_utils.py` (files starting with `.` or `_` skipped, nested folders read, the CSV delimiter
sniffed from the first line, `csv_weights` taking the second column as instance weights). Parquet and
recordio-protobuf, which the container also reads, are refused here by name.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from local_runtime.algorithms.xgboost.hyperparameters import UserError

CSV, LIBSVM = "csv", "libsvm"
_CSV_TYPES = ("csv", "text/csv")
_LIBSVM_TYPES = ("libsvm", "text/libsvm", "text/x-libsvm")
_NOT_LOCAL = ("parquet", "recordio-protobuf", "application/x-parquet", "application/x-recordio-protobuf")
VALID_CONTENT_TYPES = (*_CSV_TYPES, *_LIBSVM_TYPES, *_NOT_LOCAL)
CHANNELS = {"train": True, "validation": False, "code": False}  # name: required
DEFAULT_CONTENT_TYPE = "text/libsvm"
_MAX_DEPTH = 3  # the container reads files at most this many folders below the channel

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Matrix:
    """A channel's records: features (NaN where missing), labels and optional instance weights."""

    features: Any  # a dense FloatArray (CSV) or a scipy CSR matrix (libsvm)
    labels: FloatArray
    weights: FloatArray | None = None

    @property
    def rows(self) -> int:
        return int(self.labels.shape[0])


def validate_channels(config: Mapping[str, Any]) -> str:
    """Check inputdataconfig.json's channels as the container does; return the data format (csv or libsvm).

    Raises UserError for a missing `train`, an unknown channel, an unsupported content type or a Pipe channel.
    """
    for name, required in CHANNELS.items():
        if required and name not in config:
            raise UserError(f"Missing required channel: {name}")
    for name, settings in config.items():
        if name not in CHANNELS:
            raise UserError(f"Extraneous channel found: {name}")
        content_type = settings.get("ContentType", DEFAULT_CONTENT_TYPE) if isinstance(settings, dict) else None
        if name != "code" and content_type not in VALID_CONTENT_TYPES:
            shown = {**settings, "ContentType": content_type} if isinstance(settings, dict) else settings
            raise UserError(f"Channel configuration for '{name}' channel is not supported: {shown}")
    content_type = config["train"].get("ContentType", DEFAULT_CONTENT_TYPE)
    piped = sorted(
        name
        for name, settings in config.items()
        if isinstance(settings, dict) and settings.get("TrainingInputMode") == "Pipe"
    )
    if piped:
        # The container's data_utils.py since it dropped MLIO (aws/sagemaker-xgboost-container #478); older images
        # read CSV from a pipe through MLIO, which the local runtime does not emulate.
        if content_type in _CSV_TYPES:
            raise UserError(
                "Pipe mode for CSV is no longer supported. Please use Fast File mode (default) instead. "
                f"Set input_mode='File' in your SageMaker Estimator or TrainingInput. (channels {', '.join(piped)})"
            )
        raise UserError(f"Pipe mode is not supported by the local runtime's XGBoost (channels {', '.join(piped)})")
    if content_type in _NOT_LOCAL:
        raise UserError(
            f"content type {content_type} is not supported by the local runtime's XGBoost (text/csv or text/libsvm)"
        )
    return CSV if content_type in _CSV_TYPES else LIBSVM


def data_files(directory: Path) -> list[Path]:
    """The channel's data files, sorted: nested up to three folders deep, none starting with `.` or `_`."""
    found = []
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if not path.is_file() or len(relative.parts) > _MAX_DEPTH + 1:
            continue
        if any(part.startswith((".", "_")) for part in relative.parts):
            continue
        found.append(path)
    return found


def read_channel(directory: Path, channel: str, data_format: str, *, csv_weights: bool = False) -> Matrix:
    """Read every data file of a channel; raise UserError naming the file and line of a bad record."""
    if not directory.is_dir():
        raise UserError(f"{directory} is not a valid path!")
    files = data_files(directory)
    if not files:
        raise UserError(f"No data in {channel} channel path {directory}")
    parts = [
        _read_csv(path, _display(path, directory, channel), csv_weights)
        if data_format == CSV
        else _read_libsvm(path, _display(path, directory, channel))
        for path in files
    ]
    labels = np.concatenate([part.labels for part in parts])
    if labels.size == 0:
        raise UserError(f"No data in {channel} channel path {directory}")
    weights = np.concatenate([p.weights for p in parts]) if all(p.weights is not None for p in parts) else None
    if weights is not None and data_format == LIBSVM and bool(np.all(weights == 1.0)):
        weights = None  # no `<label>:<weight>` anywhere
    if data_format == CSV:
        widths = {part.features.shape[1] for part in parts if part.rows}
        if len(widths) > 1:
            raise UserError(f"channel {channel}: files have different numbers of columns ({sorted(widths)})")
        return Matrix(np.vstack([part.features for part in parts if part.rows]), labels, weights)
    from scipy import sparse

    width = max(part.features.shape[1] for part in parts)
    blocks = [part.features.tocsr() for part in parts]
    stacked = sparse.vstack([sparse.csr_matrix(block, shape=(block.shape[0], width)) for block in blocks])
    return Matrix(stacked.tocsr(), labels, weights)


def _display(path: Path, directory: Path, channel: str) -> str:
    return f"channel {channel}, {path.relative_to(directory).as_posix()}"


def _read_csv(path: Path, name: str, csv_weights: bool) -> Matrix:
    text = _text(path, name, "CSV")
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        return Matrix(np.zeros((0, 0)), np.zeros(0), np.zeros(0) if csv_weights else None)
    try:
        delimiter = csv.Sniffer().sniff(lines[0][1][:512], delimiters=",;\t| ").delimiter
    except csv.Error as error:
        # The container's message: it names the line whose delimiter cannot be determined.
        raise UserError(f"Could not determine delimiter on line {lines[0][1][:50]}:\n{error}") from None
    first = 2 if csv_weights else 1
    rows = []
    for number, line in lines:
        cells = line.split(delimiter)
        if len(cells) <= first:
            expected = "a label, a weight and features" if csv_weights else "a label and features"
            raise UserError(f"{name} line {number}: expected {expected}, got {len(cells)} column(s)")
        rows.append([_number(cell, name, number, column) for column, cell in enumerate(cells, start=1)])
    widths = {len(row) for row in rows}
    if len(widths) > 1:
        raise UserError(f"{name}: rows have different numbers of columns ({sorted(widths)})")
    matrix = np.asarray(rows, dtype=np.float64)
    return Matrix(matrix[:, first:], matrix[:, 0], matrix[:, 1] if csv_weights else None)


def _read_libsvm(path: Path, name: str) -> Matrix:
    """`<label>[:<weight>] <index>:<value> ...`; indices as written (XGBoost reads libsvm zero-based)."""
    from scipy import sparse

    text = _text(path, name, "LIBSVM")
    labels, weights, rows, columns, values = [], [], [], [], []
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = line.split()
        if not tokens:
            continue
        label, _, weight = tokens[0].partition(":")
        labels.append(_number(label, name, number, 1))
        weights.append(_number(weight, name, number, 1) if weight else 1.0)
        for token in tokens[1:]:
            index, colon, value = token.partition(":")
            if not colon or not index.isdigit():
                raise UserError(f"{name} line {number}: {token!r} is not <index>:<value> (expected LIBSVM)")
            rows.append(len(labels) - 1)
            columns.append(int(index))
            values.append(_number(value, name, number, len(columns)))
    width = max(columns, default=-1) + 1
    features = sparse.csr_matrix((values, (rows, columns)), shape=(len(labels), width), dtype=np.float64)
    return Matrix(features, np.asarray(labels, dtype=np.float64), np.asarray(weights, dtype=np.float64))


def _text(path: Path, name: str, kind: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{name}: not UTF-8 text (expected {kind})") from None


def _number(cell: str, name: str, line: int, column: int) -> float:
    if not cell.strip():
        return math.nan  # an empty CSV cell is a missing value, as XGBoost reads it
    try:
        return float(cell)
    except ValueError:
        raise UserError(f"{name} line {line}, column {column}: {cell.strip()!r} is not a number") from None
