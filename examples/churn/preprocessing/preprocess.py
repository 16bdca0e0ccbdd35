"""Churn example: the preprocessing fitted on each run's raw data, and the first container of the endpoint.

In the run's SageMaker Processing job this file runs as a script: it reads the window's raw CSV files (header
row, label column `churn`), fits the transformation (categories one-hot encoded, unknown ones ignored; missing
numbers imputed with the median, then scaled), writes the transformed training data for the algorithm (label
first, no header) and saves the fitted transformation. Behind the endpoint the same file answers requests
(SageMaker's model_fn, input_fn, predict_fn, output_fn): raw records in, the algorithm's features out. Both
paths call `features()`, so training and serving cannot transform a record differently.

Paths come from the environment the workflow sets: RAW_DATA_DIR, TRAINING_DATA_DIR and MODEL_DIR.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

LABEL = "churn"
CATEGORICAL = ("plan", "region", "device")
NUMERIC = ("monthly_spend", "tenure_months")
FIELDS = (*CATEGORICAL, *NUMERIC)  # a raw CSV request's columns, in this order (no label, no header)
MISSING = "(missing)"  # the category of an empty categorical field
MODEL_FILE = "model.joblib"


def parse_record(values: dict[str, Any], where: str) -> list[Any]:
    """One raw record as the transformer's row: categories as text, numbers as floats (NaN when missing)."""
    row: list[Any] = []
    for name in CATEGORICAL:
        text = str(values.get(name) or "").strip()
        row.append(text or MISSING)
    for name in NUMERIC:
        value = values.get(name)
        text = "" if value is None else str(value).strip()
        try:
            row.append(float(text) if text else float("nan"))
        except ValueError:
            raise ValueError(f"{where}: {name} must be a number, got {text!r}") from None
    return row


def fit(records: list[list[Any]], labels: list[str]) -> dict[str, Any]:
    """Fit the transformation and the label's classes on a window's records."""
    categorical = list(range(len(CATEGORICAL)))
    numeric = list(range(len(CATEGORICAL), len(FIELDS)))
    transformer = ColumnTransformer(
        [
            ("categories", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical),
            ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ]
    )
    transformer.fit(np.array(records, dtype=object))
    # Both binary classifiers (Linear Learner's binary_classifier, XGBoost's binary:logistic) learn labels 0 and 1:
    # the classes, sorted, give each label its number.
    classes = sorted(set(labels))
    if len(classes) != 2:
        raise ValueError(f"the {LABEL} column must hold exactly two values, found {classes}")
    return {"transformer": transformer, "classes": classes}


def features(model: dict[str, Any], records: list[list[Any]]) -> np.ndarray:
    """The algorithm's input for raw records: the one transformation, at training and at serving."""
    return np.asarray(model["transformer"].transform(np.array(records, dtype=object)), dtype=np.float64)


def format_rows(rows: Any) -> str:
    """CSV of numbers in their shortest exact text: what training reads and what the endpoint passes on."""
    return "".join(",".join(repr(float(value)) for value in row) + "\n" for row in rows)


def read_training_files(raw_dir: Path) -> tuple[list[list[Any]], list[str]]:
    records, labels = [], []
    for path in sorted(p for p in raw_dir.rglob("*") if p.is_file()):
        with path.open(newline="") as file:
            for line, values in enumerate(csv.DictReader(file), start=2):
                where = f"{path.relative_to(raw_dir)} line {line}"
                label = (values.get(LABEL) or "").strip()
                if not label:
                    raise ValueError(f"{where}: the {LABEL} column is empty")
                records.append(parse_record(values, where))
                labels.append(label)
    if not records:
        raise ValueError(f"no records under {raw_dir}")
    return records, labels


def main() -> None:
    raw_dir = Path(os.environ["RAW_DATA_DIR"])
    training_dir = Path(os.environ["TRAINING_DATA_DIR"])
    model_dir = Path(os.environ["MODEL_DIR"])
    records, labels = read_training_files(raw_dir)
    model = fit(records, labels)
    label_numbers = np.array([[model["classes"].index(label)] for label in labels], dtype=np.float64)
    training_dir.mkdir(parents=True, exist_ok=True)
    (training_dir / "train.csv").write_text(format_rows(np.hstack([label_numbers, features(model, records)])))
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, model_dir / MODEL_FILE)
    width = features(model, records[:1]).shape[1]
    print(f"fitted on {len(records)} records: {width} features, classes {model['classes']}")


# --- serving: SageMaker's inference toolkit calls these ------------------------------------------------------


def model_fn(model_dir: str) -> dict[str, Any]:
    return joblib.load(Path(model_dir) / MODEL_FILE)


def input_fn(body: bytes | str, content_type: str) -> list[list[Any]]:
    """Raw records: CSV rows in FIELDS order, or JSON (a list of objects, or one object per line)."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    kind = content_type.split(";")[0].strip().lower()
    if kind == "text/csv":
        # A header row (a day's export sent to batch transform) is not a record.
        rows = [row for row in csv.reader(io.StringIO(text)) if row and tuple(row) != FIELDS]
        for number, row in enumerate(rows, start=1):
            if len(row) != len(FIELDS):
                raise ValueError(f"record {number} has {len(row)} fields, expected {len(FIELDS)}: {', '.join(FIELDS)}")
        return [
            parse_record(dict(zip(FIELDS, row, strict=True)), f"record {number}") for number, row in enumerate(rows, 1)
        ]
    if kind in ("application/json", "application/jsonlines"):
        stripped = text.strip()
        objects = (
            json.loads(stripped)
            if stripped.startswith("[")
            else [json.loads(line) for line in stripped.splitlines() if line.strip()]
        )
        return [parse_record(values, f"record {number}") for number, values in enumerate(objects, 1)]
    raise ValueError(f"content type {content_type!r} is not supported: send text/csv or application/jsonlines")


def predict_fn(records: list[list[Any]], model: dict[str, Any]) -> np.ndarray:
    return features(model, records)


def output_fn(rows: np.ndarray, accept: str) -> tuple[str, str]:
    return format_rows(rows), "text/csv"


if __name__ == "__main__":
    main()
