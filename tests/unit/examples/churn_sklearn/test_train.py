"""The scikit-learn example's train.py on its own: the toolkit's arguments, its data checks, its metric lines as
the example's metric_definitions read them, and its serving handlers."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from demo.churn_data import churn_days, sample_records

EXAMPLE = Path(__file__).parents[4] / "examples" / "churn-sklearn"
RECORDS = sample_records(4)


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("churn_sklearn_train", EXAMPLE / "model" / "train.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


train = _load()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The script trained on a week of the generated data: its model directory and what it printed."""
    root = tmp_path_factory.mktemp("job")
    channel, model_dir = root / "train", root / "model"
    channel.mkdir()
    model_dir.mkdir()
    for day in churn_days(days=7, end=date(2026, 3, 7), prefix="data/churn-sklearn"):
        (channel / Path(day.key).name).write_bytes(day.body)
    hyperparameters = ["-C", "1.0", "--class_weight", "balanced", "--cv_folds", "5"]
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out):
        patch.setenv("SM_CHANNEL_TRAIN", str(channel))
        patch.setenv("SM_MODEL_DIR", str(model_dir))
        train.train(train.parse_args(hyperparameters))
    return model_dir, out.getvalue()


def test_the_printed_metrics_are_what_the_examples_metric_definitions_read(trained: tuple[Path, str]) -> None:
    # GIVEN the example's metric definitions and what the script printed while training
    pipeline = json.loads((EXAMPLE / "pipelines.json").read_text())["pipelines"][0]
    definitions = pipeline["algorithm"]["metric_definitions"]
    _, log = trained

    # WHEN each regex reads the log, as SageMaker does
    values = {d["Name"]: float(re.findall(d["Regex"], log)[-1]) for d in definitions}

    # THEN every metric is found, the gate's among them, and the model beats a coin
    assert pipeline["quality_gate"]["metric"] in values
    assert all(0.6 < value <= 1 for value in values.values())
    assert (trained[0] / "model.joblib").is_file()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda lines: ["plan,churn", *lines[1:]], "day.csv line 1: expected the header"),
        (lambda lines: [*lines[:3], "maybe,plus,north,ios,1.0,2"], "day.csv line 4: label 'maybe' is neither"),
        (lambda lines: [*lines[:2], "churns,plus,north"], "day.csv line 3: 3 fields, expected 6"),
    ],
)
def test_a_file_the_script_cannot_use_fails_naming_the_file_and_line(
    tmp_path: Path, edit: Callable[[list[str]], list[str]], message: str
) -> None:
    # GIVEN a day file with a bad header, label or row
    (day,) = churn_days(days=1, end=date(2026, 3, 7), prefix="p")
    lines = edit(day.body.decode().splitlines())
    (tmp_path / "day.csv").write_text("\n".join(lines) + "\n")

    # WHEN the script reads the channel THEN it raises, naming where
    with pytest.raises(ValueError, match=re.escape(message)):
        train.read_channel(tmp_path)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("\n".join(r.csv() for r in RECORDS) + "\n", "text/csv"),
        (json.dumps({"instances": [r.json() for r in RECORDS]}), "application/json"),
        (json.dumps([list(r.values) for r in RECORDS]), "application/json"),
        ("".join(json.dumps(r.json()) + "\n" for r in RECORDS), "application/jsonlines"),
    ],
)
def test_every_request_format_yields_the_same_features(body: str, content_type: str) -> None:
    features = train.input_fn(body, content_type)

    expected = train.as_features(np.array([list(r.values) for r in RECORDS], dtype=object))
    assert features.shape == (len(RECORDS), len(train.FIELDS))
    assert [list(map(str, row)) for row in features] == [list(map(str, row)) for row in expected]


def test_a_missing_number_becomes_nan_for_the_imputer() -> None:
    features = train.input_fn("basic,south,,,3\n", "text/csv")

    assert np.isnan(features[0, 3])
    assert features[0, 4] == 3.0


def test_an_unsupported_content_type_is_refused() -> None:
    with pytest.raises(ValueError, match="application/x-npy is not supported"):
        train.input_fn(b"\x93NUMPY", "application/x-npy")


def test_the_model_answers_each_record_in_the_format_asked(trained: tuple[Path, str]) -> None:
    model = train.model_fn(str(trained[0]))
    predictions = train.predict_fn(train.input_fn("plus,north,ios,35.50,12\n", "text/csv"), model)

    assert predictions[0]["predicted_label"] in ("churns", "stays")
    assert 0.5 <= predictions[0]["score"] <= 1
    assert json.loads(train.output_fn(predictions, "application/json")[0]) == {"predictions": predictions}
    assert train.output_fn(predictions, "application/jsonlines") == (
        json.dumps(predictions[0]) + "\n",
        "application/jsonlines",
    )
    label, score = predictions[0]["predicted_label"], predictions[0]["score"]
    assert train.output_fn(predictions, "text/csv") == (f"{label},{score}\n", "text/csv")
