"""The serving worker in-process: the container contract, Linear Learner's formats, script mode, start failures."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_runtime.algorithms.linear_learner import LinearLearnerModel
from local_runtime.sagemaker import serving
from local_runtime.sagemaker.script_serving import ScriptServer
from local_runtime.sagemaker.serving import (
    LinearLearnerServer,
    RequestError,
    WorkerStartError,
    load_server,
    make_http_server,
)

LINEAR_LEARNER_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
MODEL = LinearLearnerModel(
    predictor_type="regressor", weights=[1.0, 2.0], bias=0.5, feature_means=[0.0, 0.0], feature_scales=[1.0, 1.0]
)


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    MODEL.save(tmp_path / "model")
    return tmp_path / "model"


def write_script(model_dir: Path, source: str, name: str = "inference.py") -> None:
    (model_dir / "code").mkdir(parents=True, exist_ok=True)
    (model_dir / "code" / name).write_text(source)


@pytest.mark.parametrize(
    "image",
    [
        LINEAR_LEARNER_IMAGE,
        "390948362332.dkr.ecr.cn-north-1.amazonaws.com.cn/linear-learner:1",
        "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner@sha256:" + "a" * 64,
        "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner",
    ],
)
def test_the_built_in_linear_learner_image_serves_the_local_model(model_dir: Path, image: str) -> None:
    # WHEN a worker loads a model for a Linear Learner image of any region, tag or digest
    server = load_server(model_dir, image, {})

    # THEN it serves the saved Linear Learner model
    assert isinstance(server, LinearLearnerServer)
    assert server.model == MODEL


@pytest.mark.parametrize(
    ("body", "content_type", "rows"),
    [
        (b"1,2\n\n3,4\n", "text/csv", [[1.0, 2.0], [3.0, 4.0]]),
        (b"1,2", "text/csv; charset=utf-8", [[1.0, 2.0]]),
        (b'{"instances": [{"features": [1, 2]}]}', "application/json", [[1.0, 2.0]]),
        (b'{"features": [1, 2]}', "application/json", [[1.0, 2.0]]),
        (b'{"instances": [{"data": {"features": {"values": [1, 2]}}}]}', "application/json", [[1.0, 2.0]]),
    ],
    ids=["csv-with-blank-line", "csv-charset", "json-instances", "json-single", "json-sdk-form"],
)
def test_linear_learner_reads_csv_and_json_rows(body: bytes, content_type: str, rows: list[list[float]]) -> None:
    # WHEN a request body is parsed
    # THEN it gives the rows of features
    assert LinearLearnerServer(MODEL).parse(body, content_type) == rows


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        (b"1,2\n3,abc\n", "text/csv", 400, "row 2, column 2: 'abc' is not a number"),
        (b"1,2\n3,nan\n", "text/csv", 400, "row 2, column 2: 'nan' is not a finite number"),
        (b"1,2,3\n", "text/csv", 400, "row 1 has 3 features, the model expects 2 (no label column)"),
        (b"\n\n", "text/csv", 400, "the request has no rows to predict"),
        (
            b'{"instances": [{"features": [1, 2]}, {"features": [1, "x"]}]}',
            "application/json",
            400,
            "instances[1], feature 2: 'x'",
        ),
        (b'{"instances": [[1, 2]]}', "application/json", 400, 'instances[0] must be {"features": [number, ...]}'),
        (b"[1, 2]", "application/json", 400, 'a JSON request must be {"instances"'),
        (b"{", "application/json", 400, "the request body is not valid JSON"),
        (
            b"1,2",
            "application/x-recordio-protobuf",
            415,
            "content type 'application/x-recordio-protobuf' is not supported",
        ),
    ],
    ids=[
        "not-a-number",
        "nan",
        "long-row",
        "no-rows",
        "json-not-a-number",
        "json-bare-list",
        "json-no-instances",
        "bad-json",
        "protobuf",
    ],
)
def test_linear_learner_rejects_a_bad_request_naming_the_row(
    body: bytes, content_type: str, status: int, message: str
) -> None:
    # WHEN a bad request body is parsed
    with pytest.raises(RequestError) as raised:
        LinearLearnerServer(MODEL).parse(body, content_type)

    # THEN the error is a 4xx that says what and where
    assert raised.value.status == status
    assert message in raised.value.message


def test_linear_learner_answers_predictions_as_json_with_integer_labels() -> None:
    # GIVEN a binary classifier
    classifier = LinearLearnerModel(
        predictor_type="binary_classifier", weights=[10.0], bias=0.0, feature_means=[0.0], feature_scales=[1.0]
    )

    # WHEN two rows are invoked
    body, content_type = LinearLearnerServer(classifier).invoke(b"1\n-1\n", "text/csv", "application/json")

    # THEN the answer is Linear Learner's JSON, with the predicted label an integer as in its documented format
    predictions = json.loads(body)["predictions"]
    assert content_type == "application/json"
    assert [p["predicted_label"] for p in predictions] == [1, 0]
    assert all(isinstance(p["predicted_label"], int) for p in predictions)
    assert predictions[0]["score"] == pytest.approx(1.0, abs=1e-4)


def test_linear_learner_refuses_an_accept_type_it_cannot_produce() -> None:
    # WHEN a client asks for CSV answers
    with pytest.raises(RequestError) as raised:
        LinearLearnerServer(MODEL).invoke(b"1,2", "text/csv", "text/csv")

    # THEN the worker answers 406 with the types it offers
    assert raised.value.status == 406
    assert "application/json, application/jsonlines" in raised.value.message


def test_an_image_without_inference_code_cannot_be_served(model_dir: Path) -> None:
    # WHEN a worker starts for a custom image with no code/inference.py
    with pytest.raises(WorkerStartError) as raised:
        load_server(model_dir, "me/custom:1", {})

    # THEN it names the image and what it needs
    assert "image me/custom:1 is not one the local runtime can serve" in str(raised.value)


@pytest.mark.parametrize(
    ("source", "environ", "message"),
    [
        ("def predict_fn(data, model):\n    return data\n", {}, "code/inference.py defines no model_fn"),
        ("import not_a_module_anywhere\n", {}, "importing code/inference.py failed: ModuleNotFoundError"),
        (
            "def model_fn(model_dir):\n    raise RuntimeError('no weights')\n",
            {},
            "model_fn in code/inference.py failed: RuntimeError: no weights",
        ),
        (
            "def model_fn(model_dir):\n    return 1\n",
            {"SAGEMAKER_PROGRAM": "serve.py"},
            "SAGEMAKER_PROGRAM is 'serve.py' but the model has no code/serve.py",
        ),
    ],
    ids=["no-model-fn", "import-error", "model-fn-raises", "missing-program"],
)
def test_a_script_that_cannot_load_the_model_stops_the_worker(
    model_dir: Path, source: str, environ: dict[str, str], message: str
) -> None:
    # GIVEN inference code that cannot load the model
    write_script(model_dir, source)

    # WHEN a worker starts for a custom image
    with pytest.raises(WorkerStartError) as raised:
        load_server(model_dir, "me/custom:1", environ)

    # THEN the reason names the script and the failure
    assert message in str(raised.value)


def test_script_mode_follows_sagemaker_program_and_the_users_output_fn(model_dir: Path) -> None:
    # GIVEN a script named by SAGEMAKER_PROGRAM with model_fn, input_fn, predict_fn and output_fn
    write_script(
        model_dir,
        "def model_fn(model_dir):\n    return 10\n"
        "def input_fn(body, content_type):\n    return int(body)\n"
        "def predict_fn(data, model):\n    return data * model\n"
        "def output_fn(prediction, accept):\n    return f'<{prediction}>', 'text/plain'\n",
        name="serve.py",
    )
    server = load_server(model_dir, "me/custom:1", {"SAGEMAKER_PROGRAM": "serve.py"})

    # WHEN it is invoked
    answer = server.invoke(b"4", "text/plain", "*/*")

    # THEN every user function ran
    assert answer == (b"<40>", "text/plain")


def test_script_mode_prefers_transform_fn(model_dir: Path) -> None:
    # GIVEN a script with transform_fn
    write_script(
        model_dir,
        "def model_fn(model_dir):\n    return 'm'\n"
        "def transform_fn(model, body, content_type, accept):\n    return model.encode() + body, accept\n",
    )
    server = load_server(model_dir, "me/custom:1", {})
    assert isinstance(server, ScriptServer)

    # WHEN it is invoked
    # THEN transform_fn answered alone
    assert server.invoke(b"!", "text/plain", "text/plain") == (b"m!", "text/plain")


def test_script_mode_defaults_decode_csv_and_encode_csv(model_dir: Path) -> None:
    # GIVEN a script with only model_fn, returning a model with a predict method
    write_script(
        model_dir,
        "class Doubler:\n    def predict(self, data):\n        return data * 2\n"
        "def model_fn(model_dir):\n    return Doubler()\n",
    )
    server = load_server(model_dir, "me/custom:1", {})

    # WHEN it is invoked with CSV, asking for CSV
    answer = server.invoke(b"1,2\n3,4\n", "text/csv", "text/csv")

    # THEN the toolkit's defaults decoded, called model.predict and encoded
    assert answer == (b"2.0,4.0\n6.0,8.0\n", "text/csv")


@pytest.fixture
def running(model_dir: Path) -> Iterator[int]:
    server = make_http_server(load_server(model_dir, LINEAR_LEARNER_IMAGE, {}), 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def request(port: int, method: str, path: str, body: bytes = b"", **headers: str) -> tuple[int, bytes, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read(), response.getheader("Content-Type", "")
    finally:
        connection.close()


def test_the_worker_answers_ping_and_invocations(running: int) -> None:
    # WHEN the container contract's two routes are called
    ping = request(running, "GET", "/ping")
    invocation = request(running, "POST", "/invocations", b"1,1", **{"Content-Type": "text/csv"})
    other = request(running, "GET", "/health")

    # THEN /ping is healthy, /invocations predicts, anything else is 404
    assert ping[0] == 200
    assert invocation[0] == 200
    assert invocation[2] == "application/json"
    assert json.loads(invocation[1]) == {"predictions": [{"score": 3.5}]}
    assert other[0] == 404


def test_the_worker_answers_a_bad_request_with_its_status_and_message(running: int) -> None:
    # WHEN a bad row is invoked
    status, body, _ = request(running, "POST", "/invocations", b"1,1\n1", **{"Content-Type": "text/csv"})

    # THEN the status is 400 and the body says which row
    assert status == 400
    assert body.decode() == "row 2 has 1 feature, the model expects 2 (no label column)"


def test_a_worker_whose_model_cannot_load_exits_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # WHEN the worker starts on a directory with no model
    code = serving.main(["--model-dir", str(tmp_path), "--image", LINEAR_LEARNER_IMAGE, "--port", "0"])

    # THEN it exits EXIT_LOAD_FAILED with the reason as the last line on stderr
    assert code == serving.EXIT_LOAD_FAILED
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("no linear_learner_model.json in ")
