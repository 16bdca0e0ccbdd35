"""The churn example's postprocessing: Linear Learner's class numbers and XGBoost's scores back to the labels."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import pytest

from tests.unit.examples.churn.scripts import load

postprocess = load("postprocess")
CLASSES = ["no", "yes"]
ANSWER = {"predictions": [{"predicted_label": 1, "score": 0.875}, {"predicted_label": 0, "score": 0.25}]}


def test_the_classes_come_from_the_fitted_artifact(tmp_path: Path) -> None:
    joblib.dump({"transformer": None, "classes": CLASSES}, tmp_path / "model.joblib")

    assert postprocess.model_fn(str(tmp_path)) == CLASSES


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (json.dumps(ANSWER), "application/json"),
        ("".join(json.dumps(p) + "\n" for p in ANSWER["predictions"]), "application/jsonlines; charset=utf-8"),
        ("0.875\n0.25\n", "text/csv"),  # built-in XGBoost, binary:logistic: the probability of class 1 a line
        (json.dumps({"predictions": [{"score": 0.875}, {"score": 0.25}]}), "application/json"),  # XGBoost's JSON
    ],
)
def test_numbers_map_to_labels_with_the_probability_of_that_label(body: str, content_type: str) -> None:
    predictions = postprocess.input_fn(body.encode(), content_type)

    answers = postprocess.predict_fn(predictions, CLASSES)

    assert answers == [{"label": "yes", "probability": 0.875}, {"label": "no", "probability": 0.75}]


@pytest.mark.parametrize(
    ("accept", "body", "content_type"),
    [
        ("text/csv", "yes\nno\n", "text/csv"),
        ("application/json", json.dumps({"predictions": [{"label": "yes"}, {"label": "no"}]}), "application/json"),
        ("*/*", '{"label": "yes"}\n{"label": "no"}\n', "application/jsonlines"),
    ],
)
def test_the_answer_is_written_as_asked(accept: str, body: str, content_type: str) -> None:
    assert postprocess.output_fn([{"label": "yes"}, {"label": "no"}], accept) == (body, content_type)


def test_xgboost_scores_above_one_half_are_class_one() -> None:
    answers = postprocess.predict_fn(postprocess.input_fn(b"0.5\n0.5001\n", "text/csv"), CLASSES)

    assert [answer["label"] for answer in answers] == ["no", "yes"]


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        ("1\n", "application/x-recordio-protobuf", "neither Linear Learner's JSON nor XGBoost's CSV answer"),
        ("0.2,0.8\n", "text/csv", "expected one score per line"),  # multi:softprob's class probabilities
        ("2.5\n", "text/csv", "score 2.5 is not a probability"),  # reg:squarederror or binary:logitraw
    ],
)
def test_an_answer_that_is_not_a_binary_classifiers_is_refused(body: str, content_type: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        postprocess.predict_fn(postprocess.input_fn(body, content_type), CLASSES)
