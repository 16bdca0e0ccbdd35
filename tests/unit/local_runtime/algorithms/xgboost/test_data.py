"""Built-in XGBoost's channels and files: content types as the container matches them, CSV and libsvm records."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from local_runtime.algorithms.xgboost import UserError
from local_runtime.algorithms.xgboost.data import CSV, LIBSVM, read_channel, validate_channels


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"train": {"ContentType": "text/csv"}}, CSV),
        ({"train": {"ContentType": "csv"}, "validation": {"ContentType": "csv"}}, CSV),
        ({"train": {"ContentType": "text/libsvm"}}, LIBSVM),
        ({"train": {"ContentType": "text/x-libsvm"}}, LIBSVM),
        ({"train": {}}, LIBSVM),  # the algorithm's default content type
    ],
)
def test_the_train_channels_content_type_picks_the_format(config: dict[str, dict[str, str]], expected: str) -> None:
    assert validate_channels(config) == expected


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"validation": {"ContentType": "text/csv"}}, "Missing required channel: train"),
        ({"train": {"ContentType": "text/csv"}, "test": {}}, "Extraneous channel found: test"),
        ({"train": {"ContentType": "application/json"}}, "Channel configuration for 'train' channel is not supported"),
        ({"train": {"ContentType": "text/csv; label_size=1"}}, "Channel configuration for 'train' channel"),
        ({"train": {"ContentType": "application/x-parquet"}}, "content type application/x-parquet is not supported"),
    ],
)
def test_a_bad_channel_is_a_user_error_naming_it(config: dict[str, dict[str, str]], message: str) -> None:
    with pytest.raises(UserError, match=message.replace("(", r"\(")):
        validate_channels(config)


@pytest.mark.parametrize(
    ("content_type", "message"),
    [("text/csv", "Pipe mode for CSV is no longer supported. Please use Fast File mode"), ("text/libsvm", "Pipe mode")],
)
def test_a_pipe_channel_is_refused_as_the_container_refuses_csv_from_a_pipe(content_type: str, message: str) -> None:
    config = {"train": {"ContentType": content_type, "TrainingInputMode": "Pipe"}}

    with pytest.raises(UserError, match=message):
        validate_channels(config)


def test_csv_reads_the_label_first_and_empty_cells_as_missing(tmp_path: Path) -> None:
    # GIVEN two files, one nested, and a file the container skips
    (tmp_path / "day=1").mkdir()
    (tmp_path / "a.csv").write_text("1,0.5,2\n0,,3\n")
    (tmp_path / "day=1" / "b.csv").write_text("1,1.5,4\n")
    (tmp_path / "_SUCCESS").write_text("")

    matrix = read_channel(tmp_path, "train", CSV)

    assert matrix.labels.tolist() == [1.0, 0.0, 1.0]
    assert matrix.features.shape == (3, 2)
    assert math.isnan(matrix.features[1, 0])
    assert matrix.weights is None


def test_csv_weights_take_the_second_column(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("1,0.2,5,6\n0,0.8,7,8\n")

    matrix = read_channel(tmp_path, "train", CSV, csv_weights=True)

    assert matrix.weights is not None
    assert matrix.weights.tolist() == [0.2, 0.8]
    assert matrix.features.tolist() == [[5.0, 6.0], [7.0, 8.0]]


def test_libsvm_reads_sparse_zero_based_indices_and_weights(tmp_path: Path) -> None:
    (tmp_path / "a.libsvm").write_text("1:2.0 0:1.5 3:2\n0 1:4\n")

    matrix = read_channel(tmp_path, "train", LIBSVM)

    assert matrix.labels.tolist() == [1.0, 0.0]
    assert np.asarray(matrix.features.todense()).tolist() == [[1.5, 0.0, 0.0, 2.0], [0.0, 4.0, 0.0, 0.0]]
    assert matrix.weights is not None
    assert matrix.weights.tolist() == [2.0, 1.0]


@pytest.mark.parametrize(
    ("name", "body", "data_format", "message"),
    [
        ("a.csv", "1,2\n0,x\n", CSV, "channel train, a.csv line 2, column 2: 'x' is not a number"),
        ("a.csv", "1,2\n0,1,2\n", CSV, "channel train, a.csv: rows have different numbers of columns"),
        ("a.libsvm", "1 0:1\n1 two\n", LIBSVM, "channel train, a.libsvm line 2: 'two' is not <index>:<value>"),
    ],
)
def test_a_bad_record_names_the_file_and_the_line(
    tmp_path: Path, name: str, body: str, data_format: str, message: str
) -> None:
    (tmp_path / name).write_text(body)

    with pytest.raises(UserError) as raised:
        read_channel(tmp_path, "train", data_format)

    assert str(raised.value).startswith(message)


def test_an_empty_channel_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="No data in validation channel path"):
        read_channel(tmp_path, "validation", CSV)
