"""Churn example: the last container of the endpoint, turning Linear Learner's class numbers back into labels.

It loads the same fitted artifact as the first container (the classes were fitted with the transformation), so
the label a number stands for is the one it stood for in that run's training data.
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
    """Linear Learner's answer: {"predictions": [{"predicted_label": 0 or 1, "score": p}, ...]} or JSON lines."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        return list(json.loads(text)["predictions"])
    if kind == "application/jsonlines":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    raise ValueError(f"content type {content_type!r} is not Linear Learner's JSON answer")


def predict_fn(predictions: list[dict[str, Any]], classes: list[str]) -> list[dict[str, Any]]:
    answers = []
    for prediction in predictions:
        number = int(prediction["predicted_label"])
        score = float(prediction["score"])  # the probability of class 1
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
