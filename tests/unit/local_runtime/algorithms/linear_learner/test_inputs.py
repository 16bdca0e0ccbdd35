"""The job's inputs: hyperparameters and channels, and the ClientErrors that name the file and line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from local_runtime.algorithms.linear_learner.inputs import ClientError, Hyperparameters, channel_source, read_channel

# --- hyperparameters ---


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "hyperparameter predictor_type is required"),
        ({"predictor_type": "ranker"}, "predictor_type must be one of binary_classifier, multiclass_classifier"),
        ({"predictor_type": "multiclass_classifier"}, "not supported by the local linear-learner"),
        ({"predictor_type": "regressor", "epochs": "0"}, "hyperparameter epochs must be an integer >= 1"),
        ({"predictor_type": "regressor", "epochs": "ten"}, "hyperparameter epochs must be an integer"),
        ({"predictor_type": "regressor", "wd": "-1"}, "hyperparameter wd must be a number >= 0.0"),
        ({"predictor_type": "regressor", "normalize_data": "yes"}, "normalize_data must be true, false or auto"),
        ({"predictor_type": "regressor", "loss": "hinge_loss"}, "loss 'hinge_loss' is not supported"),
        ({"predictor_type": "regressor", "colour": "blue"}, "unknown hyperparameters for linear-learner: colour"),
    ],
)
def test_invalid_hyperparameters_are_client_errors(values: dict[str, str], message: str) -> None:
    with pytest.raises(ClientError, match=message):
        Hyperparameters.from_dict(values)


def test_auto_and_numbers_are_parsed() -> None:
    parsed = Hyperparameters.from_dict(
        {
            "predictor_type": "binary_classifier",
            "feature_dim": "4",
            "epochs": "3",
            "l1": "auto",
            "wd": "0.01",
            "learning_rate": "0.1",
            "mini_batch_size": "100",
            "_tuning_objective_metric": "validation:mse",
        }
    )

    assert (parsed.feature_dim, parsed.epochs, parsed.l1, parsed.wd, parsed.learning_rate) == (4, 3, 0.0, 0.01, 0.1)


# --- reading a channel ---


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("1,2,3\n4,5,6\n7,8\n", "data/2026-11-20.csv line 3: expected 3 columns, got 2"),
        ("1,2,3\n4,abc,6\n", "data/2026-11-20.csv line 2, column 2: 'abc' is not a number"),
        ("label,a,b\n1,2,3\n", "data/2026-11-20.csv line 1, column 1: 'label' is not a number"),
        ("1,2,3\n4,nan,6\n", "data/2026-11-20.csv line 2, column 2: 'nan' is not a finite number"),
        ("1\n", "data/2026-11-20.csv line 1: expected a label and at least one feature, got 1 column"),
        ("\n\n", "channel train has no records: data/2026-11-20.csv hold no CSV rows"),
    ],
)
def test_bad_data_names_the_file_and_the_line(tmp_path: Path, rows: str, message: str) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "2026-11-20.csv").write_text(rows)

    with pytest.raises(ClientError) as raised:
        read_channel(tmp_path, "train")

    assert str(raised.value) == message


def test_rows_must_have_the_same_width_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("1,2,3\n")
    (tmp_path / "b.csv").write_text("1,2,3\n1,2\n")

    with pytest.raises(ClientError, match=f"^{re.escape('b.csv line 2: expected 3 columns, got 2')}"):
        read_channel(tmp_path, "train")


def test_feature_dim_must_match_the_data(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("1,2,3\n")

    with pytest.raises(ClientError, match=re.escape("a.csv line 1: feature_dim is 5 but the row has 2 features")):
        read_channel(tmp_path, "train", feature_dim=5)


def test_binary_labels_must_be_zero_or_one(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("1,2,3\n2,2,3\n")

    with pytest.raises(ClientError, match=re.escape("a.csv line 2: binary_classifier labels must be 0 or 1, got 2")):
        read_channel(tmp_path, "train", binary=True)


def test_a_validation_file_is_named_with_its_channel(tmp_path: Path) -> None:
    (tmp_path / "v.csv").write_text("1,2\n")

    with pytest.raises(
        ClientError, match=f"^{re.escape('channel validation, v.csv line 1: expected 3 columns, got 2')}"
    ):
        read_channel(tmp_path, "validation", columns=3)


def test_an_empty_channel_is_a_client_error(tmp_path: Path) -> None:
    with pytest.raises(ClientError, match="channel train is empty: no files"):
        read_channel(tmp_path, "train")


def test_a_pipe_channel_is_read_from_its_first_epochs_stream(tmp_path: Path) -> None:
    # GIVEN inputdataconfig.json saying the train channel is a pipe, and the stream SageMaker writes into train_0
    (tmp_path / "train_0").write_text("1,2,3\n4,5,6\n7,8,9\n")
    config = {"train": {"TrainingInputMode": "Pipe"}, "validation": {"TrainingInputMode": "File"}}

    source = channel_source(tmp_path, tmp_path / "train", config, "train")
    dataset = read_channel(source, "train")

    # THEN the rows are the stream's, the validation channel still its folder
    assert source == tmp_path / "train_0"
    assert dataset.labels.tolist() == [1.0, 4.0, 7.0]
    assert channel_source(tmp_path, tmp_path / "validation", config, "validation") == tmp_path / "validation"


def test_a_bad_row_in_a_pipes_stream_names_the_pipe(tmp_path: Path) -> None:
    (tmp_path / "train_0").write_text("1,2,3\n4,5\n")

    with pytest.raises(ClientError, match=r"^train_0 line 2: expected 3 columns, got 2"):
        read_channel(tmp_path / "train_0", "train")
