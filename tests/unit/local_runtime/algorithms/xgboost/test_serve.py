"""Built-in XGBoost's inference contract: CSV and libsvm rows in, predictions as the container formats them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xgboost

from local_runtime.algorithms.xgboost import MODEL_FILE
from local_runtime.algorithms.xgboost.serve import XGBoostServer
from local_runtime.sagemaker.serving import RequestError, WorkerStartError, load_server

XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A regressor on y = 2 x0 + x2, saved as the algorithm saves it."""
    rng = np.random.default_rng(0)
    features = rng.uniform(0, 1, size=(400, 3))
    labels = 2 * features[:, 0] + features[:, 2]
    booster = xgboost.train(
        {"objective": "reg:squarederror", "max_depth": 4}, xgboost.DMatrix(features, label=labels), 50
    )
    directory = tmp_path_factory.mktemp("model")
    (directory / MODEL_FILE).write_bytes(bytes(booster.save_raw("ubj")))
    return directory


@pytest.fixture
def server(model_dir: Path) -> XGBoostServer:
    loaded = load_server(model_dir, XGBOOST_IMAGE, {})
    assert isinstance(loaded, XGBoostServer)
    return loaded


def test_csv_rows_are_answered_one_prediction_per_line(server: XGBoostServer) -> None:
    body, content_type = server.invoke(b"0.5,0.1,0.5\n0.1,0.9,0.2\n", "text/csv", "*/*")

    assert content_type == "text/csv"
    lines = body.decode().split("\n")
    assert lines[-1] == ""
    assert [float(value) for value in lines[:-1]] == pytest.approx([1.5, 0.4], abs=0.1)
    assert lines[0] == repr(float(lines[0]))  # numpy's "%s" of each float: its shortest repr


def test_libsvm_rows_answer_the_same_predictions(server: XGBoostServer) -> None:
    csv_answer, _ = server.invoke(b"0.5,0.1,0.5\n0.1,0.9,0.2", "text/csv", "text/csv")

    libsvm_answer, content_type = server.invoke(b"0 0:0.5 1:0.1 2:0.5\n0 0:0.1 1:0.9 2:0.2", "text/libsvm", "text/csv")

    assert content_type == "text/csv"
    assert libsvm_answer == csv_answer


def test_json_and_batch_answers(model_dir: Path) -> None:
    server = XGBoostServer.load(model_dir, {})
    batch = XGBoostServer.load(model_dir, {"SAGEMAKER_BATCH": "true"})

    body, content_type = server.invoke(b"0.5,0.1,0.5", "text/csv", "application/json")
    batch_body, _ = batch.invoke(b"0.5,0.1,0.5\n0.1,0.9,0.2", "text/csv", "application/json")

    assert content_type == "application/json"
    assert body.decode().startswith('{"predictions": [{"score": 1.')
    assert len(batch_body.decode().splitlines()) == 2  # one str(prediction) per line, whatever the Accept


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "status"),
    [
        (b"0.5,abc,1", "text/csv", "text/csv", 415),
        (b"0.5,0.1,0.5", "application/x-npy", "text/csv", 415),
        (b"0.5,0.1,0.5", "text/csv; label_size=2", "text/csv", 415),
        (b"0.5,0.1,0.5,1,2", "text/csv", "text/csv", 400),
        (b"0.5,0.1,0.5", "text/csv", "application/x-npy", 406),
        # accepted by the container, then refused by sagemaker-containers' encoders outside a batch transform
        (b"0.5,0.1,0.5", "text/csv", "application/jsonlines", 500),
        (b"0.5,0.1,0.5", "text/csv", "application/x-recordio-protobuf", 500),
    ],
)
def test_a_bad_request_gets_the_containers_status(
    server: XGBoostServer, body: bytes, content_type: str, accept: str, status: int
) -> None:
    with pytest.raises(RequestError) as raised:
        server.invoke(body, content_type, accept)

    assert raised.value.status == status


def test_a_model_directory_without_a_booster_cannot_be_served(tmp_path: Path) -> None:
    (tmp_path / MODEL_FILE).write_text("not a model")

    with pytest.raises(WorkerStartError, match=f"Model {MODEL_FILE} cannot be loaded"):
        load_server(tmp_path, XGBOOST_IMAGE, {})


def test_a_batch_transform_asking_for_json_lines_gets_one_prediction_a_line(model_dir: Path) -> None:
    # GIVEN the server of a batch transform (SAGEMAKER_BATCH), whose default Accept a transform job leaves as is
    batch = XGBoostServer.load(model_dir, {"SAGEMAKER_BATCH": "true"})

    # WHEN two records are sent with Accept application/jsonlines (a transform job's default)
    body, content_type = batch.invoke(b"0.5,0.1,0.5\n0.1,0.9,0.2", "text/csv", "application/jsonlines")

    # THEN they are answered, one str(prediction) a line, under the type asked for
    assert content_type == "application/jsonlines"
    assert [float(line) for line in body.decode().splitlines()] == pytest.approx(
        [float(line) for line in batch.invoke(b"0.5,0.1,0.5\n0.1,0.9,0.2", "text/csv", "text/csv")[0].splitlines()]
    )


def test_no_accept_means_the_models_default_invocations_accept(model_dir: Path) -> None:
    server = XGBoostServer.load(model_dir, {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "application/json"})

    body, content_type = server.invoke(b"0.5,0.1,0.5", "text/csv", "*/*")

    assert content_type == "application/json"
    assert json.loads(body)["predictions"][0]["score"] > 0
