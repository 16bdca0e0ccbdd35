"""Churn example: the last container of the endpoint, turning the algorithm's answer back into labels.

It loads the same fitted artifact as the first container (the classes were fitted with the transformation), so
the label a number stands for is the one it stood for in that run's training data. It reads either algorithm's
answer: Linear Learner's JSON (a predicted label and the probability of class 1) and built-in XGBoost's CSV (one
score a line: with objective binary:logistic, the probability of class 1).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import joblib

MODEL_FILE = "model.joblib"


def model_fn(model_dir: str) -> list[str]:
    return list(joblib.load(Path(model_dir) / MODEL_FILE)["classes"])


def input_fn(body: bytes | str, content_type: str) -> list[dict[str, Any]]:
    """The algorithm's answer, one dict per record: `score` (the probability of class 1), with Linear Learner also
    `predicted_label`.

    Linear Learner answers {"predictions": [{"predicted_label": 0 or 1, "score": p}, ...]} or JSON lines; built-in
    XGBoost answers text/csv, one score a line (or {"predictions": [{"score": p}, ...]} when asked for JSON).
    """
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        return list(json.loads(text)["predictions"])
    if kind == "application/jsonlines":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if kind == "text/csv":
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if any("," in line for line in lines):
            raise ValueError("expected one score per line (XGBoost with objective binary:logistic), got several")
        return [{"score": float(line)} for line in lines]
    raise ValueError(f"content type {content_type!r} is neither Linear Learner's JSON nor XGBoost's CSV answer")


def predict_fn(predictions: list[dict[str, Any]], classes: list[str]) -> list[dict[str, Any]]:
    answers = []
    for prediction in predictions:
        score = float(prediction["score"])  # the probability of class 1
        if not 0.0 <= score <= 1.0:
            raise ValueError(f"score {score} is not a probability: train a binary classifier (binary:logistic)")
        # XGBoost answers the probability alone; its own metrics count more than 0.5 as class 1.
        number = int(prediction["predicted_label"]) if "predicted_label" in prediction else int(score > 0.5)
        answers.append({"label": classes[number], "probability": round(score if number == 1 else 1 - score, 4)})
    return answers


def output_fn(answers: list[dict[str, Any]], accept: str) -> tuple[str, str]:
    """JSON lines by default (one answer per record); JSON or CSV (the label) when asked for."""
    kind = accept.split(";")[0].strip().lower()
    if kind == "application/json":
        return json.dumps({"predictions": answers}), "application/json"
    if kind == "text/csv":
        return "".join(f"{answer['label']}\n" for answer in answers), "text/csv"
    return "".join(json.dumps(answer) + "\n" for answer in answers), "application/jsonlines"
