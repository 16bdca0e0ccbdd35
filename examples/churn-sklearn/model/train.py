"""Churn, trained and served by your own scikit-learn script (SageMaker Script Mode).

Training (the scikit-learn container runs `python train.py --C 1.0 --class_weight balanced ...`):
- reads every CSV file under SM_CHANNEL_TRAIN as `python -m demo.churn_data` writes them: a header row
  `churn,plan,region,device,monthly_spend,tenure_months`, the label `churns` or `stays` first, categories as text,
  gaps as empty fields; any other label or header fails the job, naming the file and line;
- scores one-hot encoding, imputation, scaling and a logistic regression by `cv_folds`-fold cross-validation
  (stratified, seeded: steadier than one small hold-out, so the quality gate judges the model, not the split) and
  prints `validation:f1=...` (churns as the positive class) and `validation:accuracy=...`, the lines the
  pipeline's metric_definitions read from the job's log;
- fits the same on every row, prints `train:accuracy=...` and saves the fitted pipeline to
  SM_MODEL_DIR/model.joblib.

Serving (the same file: SAGEMAKER_PROGRAM names it): model_fn loads model.joblib; input_fn takes raw records as
CSV (no header, no label: plan,region,device,monthly_spend,tenure_months), JSON ({"instances": [...]} or a list)
or JSON Lines, each record a list of those fields or an object naming them; the answer is one
`{"predicted_label": "churns", "score": <probability of that label>}` per record, as JSON {"predictions": [...]}
(the default), JSON Lines or CSV (`label,score`).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

LABEL = "churn"
FIELDS = ("plan", "region", "device", "monthly_spend", "tenure_months")
CATEGORIES, NUMBERS = (0, 1, 2), (3, 4)  # FIELDS' positions
LABELS = ("churns", "stays")
POSITIVE = "churns"
MODEL_FILE = "model.joblib"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The hyperparameters, as the training toolkit passes them: `--name value`, `-C value` for a one-letter name."""
    parser = argparse.ArgumentParser()
    parser.add_argument("-C", "--C", type=float, default=1.0, help="inverse regularization strength")
    parser.add_argument("--class_weight", choices=("none", "balanced"), default="none")
    parser.add_argument("--cv_folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"))
    return parser.parse_args(argv)


def read_channel(channel: Path) -> tuple[np.ndarray, np.ndarray]:
    """Every CSV file under `channel`, header checked: the fields (text) and the labels. Raises ValueError naming
    the file and line of a bad header, a short row or an unknown label."""
    rows: list[list[str]] = []
    labels: list[str] = []
    files = sorted(path for path in channel.rglob("*") if path.is_file())
    if not files:
        raise ValueError(f"no data files in {channel}")
    for path in files:
        with path.open(newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header != [LABEL, *FIELDS]:
                raise ValueError(f"{path.name} line 1: expected the header {','.join([LABEL, *FIELDS])}, got {header}")
            for line, row in enumerate(reader, start=2):
                if len(row) != len(FIELDS) + 1:
                    raise ValueError(f"{path.name} line {line}: {len(row)} fields, expected {len(FIELDS) + 1}")
                if row[0] not in LABELS:
                    raise ValueError(f"{path.name} line {line}: label {row[0]!r} is neither churns nor stays")
                labels.append(row[0])
                rows.append(row[1:])
    return np.array(rows, dtype=object), np.array(labels)


def build_model(args: argparse.Namespace) -> Pipeline:
    categories = make_pipeline(
        SimpleImputer(missing_values="", strategy="constant", fill_value="missing"),
        OneHotEncoder(handle_unknown="ignore"),
    )
    numbers = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    features = ColumnTransformer([("categories", categories, list(CATEGORIES)), ("numbers", numbers, list(NUMBERS))])
    weight = None if args.class_weight == "none" else args.class_weight
    return make_pipeline(features, LogisticRegression(C=args.C, class_weight=weight, max_iter=1000))


def as_features(rows: np.ndarray) -> np.ndarray:
    """Text fields as the model takes them: numbers as floats (an empty one as NaN, imputed), categories as text."""
    features = np.array(rows, dtype=object).reshape(-1, len(FIELDS))
    for column in NUMBERS:
        features[:, column] = [float(value) if value not in ("", None) else np.nan for value in features[:, column]]
    return features


def train(args: argparse.Namespace) -> None:
    if not args.train or not args.model_dir:
        raise ValueError("SM_CHANNEL_TRAIN and SM_MODEL_DIR must be set (or --train and --model-dir given)")
    rows, labels = read_channel(Path(args.train))
    features = as_features(rows)
    print(f"read {len(labels)} records, {int((labels == POSITIVE).sum())} churned", flush=True)
    folds = StratifiedKFold(n_splits=args.cv_folds, shuffle=True, random_state=args.seed)
    predicted = cross_val_predict(build_model(args), features, labels, cv=folds)
    model = build_model(args).fit(features, labels)
    # The metric_definitions of pipelines.json read these lines from the job's log.
    print(f"validation:accuracy={accuracy_score(labels, predicted):.4f}", flush=True)
    print(f"validation:f1={f1_score(labels, predicted, pos_label=POSITIVE):.4f}", flush=True)
    print(f"train:accuracy={accuracy_score(labels, model.predict(features)):.4f}", flush=True)
    joblib.dump(model, Path(args.model_dir) / MODEL_FILE)


# Serving: the SageMaker inference toolkit's handlers.


def model_fn(model_dir: str) -> Pipeline:
    return joblib.load(Path(model_dir) / MODEL_FILE)


def input_fn(body: str | bytes, content_type: str) -> np.ndarray:
    kind = content_type.split(";")[0].strip().lower()
    if kind not in ("text/csv", "application/json", "application/jsonlines"):
        raise ValueError(f"content type {content_type} is not supported: send text/csv, application/json or jsonlines")
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    if kind == "text/csv":
        records: list[Any] = [row for row in csv.reader(io.StringIO(text)) if row]
    elif kind == "application/json":
        document = json.loads(text)
        records = document["instances"] if isinstance(document, dict) else document
    else:
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
    rows = [_fields(record, number) for number, record in enumerate(records, start=1)]
    if not rows:
        raise ValueError("the request holds no records")
    return as_features(np.array(rows, dtype=object))


def _fields(record: Any, number: int) -> list[str]:
    values = [record.get(name, "") for name in FIELDS] if isinstance(record, dict) else list(record)
    if len(values) != len(FIELDS):
        raise ValueError(f"record {number} has {len(values)} fields, expected {len(FIELDS)}: {','.join(FIELDS)}")
    return ["" if value is None else str(value) for value in values]


def predict_fn(features: np.ndarray, model: Pipeline) -> list[dict[str, Any]]:
    probabilities = model.predict_proba(features)
    classes = list(model.classes_)
    return [
        {"predicted_label": classes[int(best)], "score": round(float(row[best]), 4)}
        for row, best in zip(probabilities, probabilities.argmax(axis=1), strict=True)
    ]


def output_fn(predictions: list[dict[str, Any]], accept: str) -> tuple[str, str]:
    kind = accept.split(";")[0].strip().lower()
    if kind == "application/jsonlines":
        return "".join(json.dumps(item) + "\n" for item in predictions), kind
    if kind == "text/csv":
        return "".join(f"{item['predicted_label']},{item['score']}\n" for item in predictions), kind
    return json.dumps({"predictions": predictions}), "application/json"


if __name__ == "__main__":
    train(parse_args(sys.argv[1:]))
