"""The demo's daily files: scikit-learn's diabetes data, split by day, label first, no header."""

from __future__ import annotations

from datetime import date

import pytest

from demo.data import HELD_OUT_ROWS, DemoDataset, demo_dataset

END = date(2026, 11, 22)
DIABETES_ROWS, DIABETES_FEATURES = 442, 10


@pytest.fixture(scope="module")
def dataset() -> DemoDataset:
    return demo_dataset(days=7, end=END, prefix="data/demo")


def rows(body: bytes) -> list[list[float]]:
    return [[float(value) for value in line.split(",")] for line in body.decode().splitlines()]


def test_one_file_per_day_for_the_days_ending_on_the_end_date(dataset: DemoDataset) -> None:
    assert [f.key for f in dataset.files] == [f"data/demo/2026-11-{day}.csv" for day in range(16, 23)]
    assert [f.day for f in dataset.files] == [date(2026, 11, day) for day in range(16, 23)]


def test_every_row_but_the_held_out_ones_is_in_exactly_one_file(dataset: DemoDataset) -> None:
    all_rows = [tuple(row) for f in dataset.files for row in rows(f.body)]

    assert len(all_rows) == DIABETES_ROWS - HELD_OUT_ROWS == sum(f.rows for f in dataset.files)
    assert len(set(all_rows)) == len(all_rows)
    assert all(f.rows == len(rows(f.body)) for f in dataset.files)
    assert {f.rows for f in dataset.files} == {62, 63}  # 437 rows dealt as evenly as they go
    held_out = {(row.label, *row.features) for row in dataset.held_out}
    assert len(held_out) == HELD_OUT_ROWS
    assert not held_out & set(all_rows)


def test_rows_are_label_first_without_a_header(dataset: DemoDataset) -> None:
    first_line = dataset.files[0].body.decode().splitlines()[0]

    values = [float(value) for value in first_line.split(",")]  # a header would not parse

    assert len(values) == 1 + DIABETES_FEATURES
    # The diabetes target is a disease progression score from 25 to 346; the features are scaled near 0.
    labels = [row[0] for f in dataset.files for row in rows(f.body)]
    assert min(labels) >= 25
    assert max(labels) <= 346
    assert all(abs(value) < 1 for f in dataset.files for row in rows(f.body) for value in row[1:])


def test_the_split_is_the_same_every_time() -> None:
    first = demo_dataset(days=7, end=END, prefix="data/demo")
    second = demo_dataset(days=7, end=END, prefix="data/demo/")

    assert first == second


def test_one_more_day_is_the_newest_file_and_the_first_days_are_the_others(dataset: DemoDataset) -> None:
    assert dataset.one_more_day.day == END
    assert dataset.first_days == dataset.files[:-1]
    assert max(f.day for f in dataset.first_days) == date(2026, 11, 21)


def test_a_held_out_row_is_sent_as_its_features_only(dataset: DemoDataset) -> None:
    row = dataset.held_out[0]

    values = [float(value) for value in row.csv().split(",")]

    assert tuple(values) == row.features
    assert len(values) == DIABETES_FEATURES


@pytest.mark.parametrize("days", [1, 0, DIABETES_ROWS])
def test_a_day_count_that_cannot_be_split_is_refused(days: int) -> None:
    with pytest.raises(ValueError, match="days must be between 2 and 437"):
        demo_dataset(days=days, end=END, prefix="data/demo")
