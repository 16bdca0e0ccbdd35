"""The churn example's preprocessing: raw records parsed the same way at training and at serving."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from tests.unit.examples.churn.scripts import load

preprocess = load("preprocess")

RAW = (
    "plan,region,device,monthly_spend,tenure_months,churn\n"
    "basic,north,ios,20.5,3,yes\n"
    "premium,south,android,80,24,no\n"
    "basic,,web,,12,no\n"
    "premium,north,ios,75.25,36,yes\n"
)


def test_a_record_becomes_categories_as_text_and_numbers_as_floats() -> None:
    row = preprocess.parse_record(
        {"plan": " basic ", "region": "", "device": None, "monthly_spend": "20.5", "tenure_months": 3}, "record 1"
    )

    assert row[:4] == ["basic", preprocess.MISSING, preprocess.MISSING, 20.5]
    assert row[4] == 3.0


def test_a_missing_number_is_left_for_the_imputer() -> None:
    row = preprocess.parse_record({"plan": "basic", "monthly_spend": " ", "tenure_months": None}, "record 1")

    assert math.isnan(row[3])
    assert math.isnan(row[4])


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"monthly_spend": "twenty"}, "data.csv line 7: monthly_spend must be a number, got 'twenty'"),
        ({"monthly_spend": "1", "tenure_months": "3 months"}, "data.csv line 7: tenure_months must be a number"),
    ],
)
def test_a_bad_number_names_the_field_and_where_it_is(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        preprocess.parse_record(values, "data.csv line 7")


def test_csv_requests_skip_a_header_row_and_keep_the_fields_order() -> None:
    body = "plan,region,device,monthly_spend,tenure_months\nbasic,north,ios,20.5,3\npremium,south,web,,1\n"

    records = preprocess.input_fn(body.encode(), "text/csv; charset=utf-8")

    assert [r[:3] for r in records] == [["basic", "north", "ios"], ["premium", "south", "web"]]
    assert records[0][3:] == [20.5, 3.0]
    assert math.isnan(records[1][3])


def test_a_csv_record_with_the_wrong_number_of_fields_is_named() -> None:
    with pytest.raises(ValueError, match="record 2 has 4 fields, expected 5: plan, region, device"):
        preprocess.input_fn("basic,north,ios,20.5,3\nbasic,north,ios,20.5\n", "text/csv")


def test_a_bad_value_in_a_request_names_the_record() -> None:
    with pytest.raises(ValueError, match="record 2: monthly_spend must be a number, got 'lots'"):
        preprocess.input_fn("basic,north,ios,20.5,3\nbasic,north,ios,lots,3\n", "text/csv")


RECORDS = [
    {"plan": "basic", "region": "north", "device": "ios", "monthly_spend": 20.5, "tenure_months": 3},
    {"plan": "premium", "region": "south", "device": "web", "monthly_spend": None, "tenure_months": 1},
]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (json.dumps(RECORDS), "application/json"),
        ("\n".join(json.dumps(record) for record in RECORDS) + "\n\n", "application/jsonlines"),
        ("\n".join(json.dumps(record) for record in RECORDS), "application/json"),
    ],
    ids=["json-list", "json-lines", "json-lines-as-json"],
)
def test_json_requests_are_a_list_or_one_object_per_line(body: str, content_type: str) -> None:
    records = preprocess.input_fn(body, content_type)

    assert records[0][:4] == ["basic", "north", "ios", 20.5]
    assert records[1][:3] == ["premium", "south", "web"]
    assert math.isnan(records[1][3])
    assert len(records) == 2


def test_other_content_types_are_refused() -> None:
    with pytest.raises(ValueError, match="content type 'text/plain' is not supported"):
        preprocess.input_fn("basic", "text/plain")


def test_the_training_data_and_a_served_request_get_the_same_features(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a window's raw file, fitted by the processing job's script
    raw, training, model = tmp_path / "raw", tmp_path / "train", tmp_path / "model"
    raw.mkdir()
    (raw / "2026-11-21.csv").write_text(RAW)
    for name, path in (("RAW_DATA_DIR", raw), ("TRAINING_DATA_DIR", training), ("MODEL_DIR", model)):
        monkeypatch.setenv(name, str(path))
    preprocess.main()

    # WHEN the endpoint's container transforms the same raw rows
    fitted = preprocess.model_fn(str(model))
    body = "".join(line.rsplit(",", 1)[0] + "\n" for line in RAW.splitlines())  # the header too, as a day's export
    served, content_type = preprocess.output_fn(
        preprocess.predict_fn(preprocess.input_fn(body, "text/csv"), fitted), "text/csv"
    )

    # THEN the features match the training rows after their label (yes/no numbered by the sorted classes)
    rows = (training / "train.csv").read_text().splitlines()
    assert [row.split(",", 1)[0] for row in rows] == ["1.0", "0.0", "0.0", "1.0"]
    assert served.splitlines() == [row.split(",", 1)[1] for row in rows]
    assert content_type == "text/csv"
    assert fitted["classes"] == ["no", "yes"]


def test_a_window_whose_label_is_empty_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "day.csv").write_text(RAW.replace("36,yes", "36,"))

    with pytest.raises(ValueError, match=re.escape("day.csv line 5: the churn column is empty")):
        preprocess.read_training_files(tmp_path)
