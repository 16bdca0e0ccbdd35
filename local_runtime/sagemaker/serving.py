"""The serving worker: one model behind SageMaker's inference container contract (GET /ping, POST /invocations).

Run as `python -m local_runtime.sagemaker.serving --model-dir D --image URI --port P`. The model is loaded before
the port opens, so a worker that answers /ping has its model in memory; a model that cannot be loaded ends the
process with EXIT_LOAD_FAILED and the reason as the last line on stderr, which the hosting service reports as
the endpoint's FailureReason.
"""

from __future__ import annotations

import argparse
import csv
import errno
import io
import json
import math
import os
import re
import sys
import threading
import traceback
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from local_runtime.algorithms.linear_learner import LinearLearnerModel

EXIT_LOAD_FAILED = 2
EXIT_PORT_IN_USE = 3
# The built-in Linear Learner image in any region and partition, by tag or digest.
LINEAR_LEARNER_IMAGE = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/linear-learner([:@][^/]+)?$")
# Built-in XGBoost's image: with SAGEMAKER_PROGRAM it serves a script instead (the framework's script mode).
XGBOOST_IMAGE = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/sagemaker-xgboost([:@][^/]+)?$")
DEFAULT_PROGRAM = "inference.py"  # what the SageMaker inference toolkit imports when SAGEMAKER_PROGRAM is unset
PROGRAM_ENV = "SAGEMAKER_PROGRAM"
# The answer's type when a request accepts anything, as the SageMaker inference toolkit reads it: what a container
# inside a serial inference pipeline sets, since its answer is the next container's request.
DEFAULT_ACCEPT_ENV = "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"
# Set by the hosting service when a fault is scripted (local_runtime.faults.fail_invocations): every invocation
# is answered with this HTTP status, while /ping stays healthy, as a model that loads but cannot predict would.
INVOCATION_FAULT_ENV = "LOCAL_RUNTIME_INVOCATION_FAULT_STATUS"
JSON, JSONLINES, CSV, NPY = "application/json", "application/jsonlines", "text/csv", "application/x-npy"


class WorkerStartError(Exception):
    """The model cannot be served: the message is what the endpoint's FailureReason shows."""


class RequestError(Exception):
    """A request the model cannot answer: answered with `status` (4xx, or a scripted 5xx) and the message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class ModelServer(Protocol):
    """A loaded model that turns an invocation's body into a response body and its content type."""

    def invoke(self, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
        """Answer one invocation; raise RequestError for a bad request."""
        ...


def media_type(header: str) -> str:
    """`text/csv; charset=utf-8` → `text/csv`."""
    return header.split(";", 1)[0].strip().lower()


def choose_accept(accept: str, supported: Sequence[str], default: str) -> str:
    """The first supported type the Accept header names; `*/*` or no header picks `default`.

    Raises RequestError 406 when the header names only unsupported types.
    """
    wanted = [media_type(part) for part in accept.split(",") if part.strip()]
    if not wanted:
        return default
    for candidate in wanted:
        if candidate in ("*/*", "application/*") or candidate == default:
            return default
        if candidate in supported:
            return candidate
    raise RequestError(406, f"accept type {accept!r} is not supported; use one of {', '.join(supported)}")


class LinearLearnerServer:
    """Linear Learner's inference contract: text/csv or application/json rows in, `{"predictions": [...]}` out."""

    CONTENT_TYPES = (CSV, JSON)
    ACCEPT_TYPES = (JSON, JSONLINES)

    def __init__(self, model: LinearLearnerModel) -> None:
        self.model = model

    @classmethod
    def load(cls, model_dir: Path) -> LinearLearnerServer:
        """Load the model; raise WorkerStartError when the directory holds none."""
        from local_runtime.algorithms.linear_learner import LinearLearnerModel, ModelLoadError

        try:
            return cls(LinearLearnerModel.load(model_dir))
        except ModelLoadError as error:
            raise WorkerStartError(str(error)) from None

    def invoke(self, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
        import numpy as np

        answer_type = choose_accept(accept, self.ACCEPT_TYPES, JSON)
        rows = self.parse(body, content_type)
        predictions = [_label_as_int(record) for record in self.model.predict(np.asarray(rows, dtype=np.float64))]
        if answer_type == JSONLINES:
            return "".join(json.dumps(record) + "\n" for record in predictions).encode(), JSONLINES
        return json.dumps({"predictions": predictions}).encode(), JSON

    def parse(self, body: bytes, content_type: str) -> list[list[float]]:
        """The request's rows of features; raise RequestError naming the first bad row."""
        kind = media_type(content_type)
        if kind not in self.CONTENT_TYPES:
            raise RequestError(
                415, f"content type {content_type!r} is not supported; use one of {', '.join(self.CONTENT_TYPES)}"
            )
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise RequestError(400, f"the request body is not UTF-8 text: {error}") from None
        rows = self._csv_rows(text) if kind == CSV else self._json_rows(text)
        if not rows:
            raise RequestError(400, "the request has no rows to predict")
        return rows

    def _csv_rows(self, text: str) -> list[list[float]]:
        rows: list[list[float]] = []
        reader = csv.reader(io.StringIO(text))
        for fields in reader:
            if not fields or all(not field.strip() for field in fields):
                continue
            where = f"row {reader.line_num}"
            rows.append(
                self._features([_csv_number(field, f"{where}, column {i}") for i, field in enumerate(fields, 1)], where)
            )
        return rows

    def _json_rows(self, text: str) -> list[list[float]]:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise RequestError(400, f"the request body is not valid JSON: {error}") from None
        if (
            isinstance(document, dict)
            and "instances" not in document
            and ("features" in document or "data" in document)
        ):
            document = {"instances": [document]}
        if not isinstance(document, dict) or not isinstance(document.get("instances"), list):
            raise RequestError(400, 'a JSON request must be {"instances": [{"features": [...]}, ...]}')
        return [
            self._features(_json_features(instance, f"instances[{i}]"), f"instances[{i}]")
            for i, instance in enumerate(document["instances"])
        ]

    def _features(self, values: list[float], where: str) -> list[float]:
        if len(values) != self.model.feature_dim:
            raise RequestError(
                400,
                f"{where} has {_count(len(values), 'feature')}, the model expects {self.model.feature_dim} "
                "(no label column)",
            )
        return values


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _csv_number(field: str, where: str) -> float:
    try:
        value = float(field)
    except ValueError:
        raise RequestError(400, f"{where}: {field.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise RequestError(400, f"{where}: {field.strip()!r} is not a finite number")
    return value


def _json_features(instance: Any, where: str) -> list[float]:
    """`{"features": [...]}`, or the SDK's `{"data": {"features": {"values": [...]}}}`."""
    values: Any = None
    if isinstance(instance, dict):
        values = instance.get("features")
        data = instance.get("data")
        if values is None and isinstance(data, dict) and isinstance(data.get("features"), dict):
            values = data["features"].get("values")
    if not isinstance(values, list):
        raise RequestError(400, f'{where} must be {{"features": [number, ...]}}')
    for i, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise RequestError(400, f"{where}, feature {i + 1}: {value!r} is not a finite number")
    return [float(value) for value in values]


def _label_as_int(record: dict[str, float]) -> dict[str, float | int]:
    """Linear Learner's JSON answers the predicted label as an integer (`"predicted_label": 0`)."""
    label = record.get("predicted_label")
    if label is None or not float(label).is_integer():
        return dict(record)
    return {**record, "predicted_label": int(label)}


class FailingServer:
    """A loaded model whose every invocation fails with a scripted status (a fault of the local runtime)."""

    def __init__(self, model: ModelServer, status: int) -> None:
        self.model, self.status = model, status

    def invoke(self, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
        raise RequestError(
            self.status, f"the model failed to predict (HTTP {self.status} injected by the local runtime)"
        )


def load_server(model_dir: Path, image: str, environ: Mapping[str, str], code_dir: Path | None = None) -> ModelServer:
    """Pick the serving code for the image and load the model; raise WorkerStartError when it cannot serve.

    `code_dir` holds a script's code when SAGEMAKER_SUBMIT_DIRECTORY named an S3 sourcedir.tar.gz (the hosting
    service downloaded it there); otherwise the code is the model's code/ (SAGEMAKER_SUBMIT_DIRECTORY
    /opt/ml/model/code).
    """
    model = _load_model_server(model_dir, image, environ, code_dir)
    fault = environ.get(INVOCATION_FAULT_ENV)
    return FailingServer(model, int(fault)) if fault else model


def _load_model_server(model_dir: Path, image: str, environ: Mapping[str, str], code_dir: Path | None) -> ModelServer:
    if not model_dir.is_dir():
        raise WorkerStartError(f"model directory {model_dir} does not exist")
    if LINEAR_LEARNER_IMAGE.match(image):
        return LinearLearnerServer.load(model_dir)
    program = environ.get(PROGRAM_ENV)
    if XGBOOST_IMAGE.match(image) and not program:
        from local_runtime.algorithms.xgboost.serve import XGBoostServer

        return XGBoostServer.load(model_dir, environ)
    if program or (model_dir / "code" / DEFAULT_PROGRAM).is_file():
        from local_runtime.sagemaker import frameworks
        from local_runtime.sagemaker.script_serving import ScriptServer

        framework = frameworks.framework_image(image)
        if framework is not None:
            if not frameworks.importable(framework.framework, sys.path):
                raise WorkerStartError(frameworks.missing_message(framework))
            note = frameworks.version_note(framework, frameworks.installed_version(framework.framework, sys.path))
            if note is not None:
                print(note, file=sys.stderr, flush=True)
        return ScriptServer.load(model_dir, program or DEFAULT_PROGRAM, code_dir=code_dir, image=framework)
    raise WorkerStartError(
        f"image {image} is not one the local runtime can serve: use the built-in Linear Learner or XGBoost image, or "
        f"package code/{DEFAULT_PROGRAM} (model_fn, input_fn, predict_fn, output_fn) in model.tar.gz"
    )


class _Handler(BaseHTTPRequestHandler):
    model: ModelServer  # set on the subclass make_http_server builds
    default_accept: str = "*/*"

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == "/ping":
            self._answer(200, b"", "text/plain")
        else:
            self._answer(404, f"no route {self.path}".encode(), "text/plain")

    def do_POST(self) -> None:
        if self.path.split("?", 1)[0] != "/invocations":
            self._answer(404, f"no route {self.path}".encode(), "text/plain")
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        content_type = self.headers.get("Content-Type") or "application/octet-stream"
        accept = self.headers.get("Accept") or "*/*"
        if media_type(accept) == "*/*":
            accept = self.default_accept
        try:
            answer, answer_type = self.model.invoke(body, content_type, accept)
        except RequestError as error:
            self._answer(error.status, error.message.encode(), "text/plain")
        except Exception as error:
            traceback.print_exc()
            self._answer(500, _describe(error).encode(), "text/plain")
        else:
            self._answer(200, answer, answer_type)

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Access logs stay quiet (the hosting service pings often); errors are printed where they happen."""


def make_http_server(
    model: ModelServer, port: int, host: str = "127.0.0.1", default_accept: str | None = None
) -> ThreadingHTTPServer:
    """A threaded HTTP server answering the container contract for `model`; raise OSError when the port is taken.

    `default_accept` stands in for a missing or `*/*` Accept header.
    """
    handler = type("ModelHandler", (_Handler,), {"model": model, "default_accept": default_accept or "*/*"})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _exit_when_parent_goes() -> None:
    """The hosting service holds our stdin open: EOF means it stopped or died, so no worker outlives it."""
    # os.read, not sys.stdin: a daemon thread blocked in a buffered read aborts the interpreter's shutdown.
    while os.read(0, 4096):
        pass
    os._exit(0)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model-dir", required=True, type=Path)
    parser.add_argument("--image", required=True)
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--code-dir", type=Path, help="the script's code, when not the model's code/")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--watch-stdin", action="store_true", help="exit when stdin closes (set by the hosting service)"
    )
    args = parser.parse_args(argv)
    if args.watch_stdin:
        threading.Thread(target=_exit_when_parent_goes, name="parent-watch", daemon=True).start()
    try:
        model = load_server(args.model_dir, args.image, os.environ, args.code_dir)
    except WorkerStartError as error:
        print(error, file=sys.stderr)
        return EXIT_LOAD_FAILED
    except Exception as error:
        traceback.print_exc()
        print(f"loading the model failed: {_describe(error)}", file=sys.stderr)
        return EXIT_LOAD_FAILED
    try:
        server = make_http_server(model, args.port, args.host, os.environ.get(DEFAULT_ACCEPT_ENV))
    except OSError as error:
        print(f"cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return EXIT_PORT_IN_USE if error.errno == errno.EADDRINUSE else EXIT_LOAD_FAILED
    print(f"serving {args.model_dir} ({args.image}) on http://{args.host}:{args.port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    # Run main() of the module as imported by name, not of this __main__ copy: script_serving imports it by name,
    # and the errors it raises must be the classes main() and the handler catch.
    from local_runtime.sagemaker import serving

    sys.exit(serving.main())
