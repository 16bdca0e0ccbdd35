"""Built-in XGBoost's inference contract: text/csv or text/libsvm rows in, one prediction per line out.

Sources: aws/sagemaker-xgboost-container, `algorithm_mode/serve.py` (an empty body answers nothing; a body that does
not parse is 415, one that cannot be predicted 400, an Accept outside SUPPORTED_ACCEPTS 406; no Accept or `*/*`
means SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT, else text/csv; in a batch transform, SAGEMAKER_BATCH, one
`str(prediction)` per line whatever the Accept; otherwise JSON is the container's own encoding and any other type goes
to sagemaker-containers' encoders, which know only CSV, JSON and NPY: application/jsonlines and recordio-protobuf,
though accepted, end in an unhandled UnsupportedFormatError, a 500) and `algorithm_mode/serve_utils.py` (every file
of the model directory is a booster, several are an ensemble unless SAGEMAKER_INFERENCE_ENSEMBLE is false; libsvm
indices as written, as the 1.5-1 to 3.0-5 images read them; JSON answers `{"predictions": [{"score": p}, ...]}`).
The container's text/csv answer is numpy's `savetxt(fmt="%s")` of the predictions: one per line, or one row of class
probabilities per line. Pickled models, which the container also loads, are not unpickled here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from local_runtime.algorithms.xgboost.entry_point import MODEL_FILE
from local_runtime.sagemaker.serving import CSV, JSON, RequestError, WorkerStartError, media_type

LIBSVM_TYPES = ("libsvm", "text/libsvm", "text/x-libsvm")
CSV_TYPES = ("csv", CSV)
JSONLINES, RECORDIO_PROTOBUF = "application/jsonlines", "application/x-recordio-protobuf"
SUPPORTED_ACCEPTS = [JSON, JSONLINES, RECORDIO_PROTOBUF, CSV]  # serve.py's list, in its order
_VOTING_OBJECTIVES = ("multi:softmax", "binary:hinge")  # an ensemble of these votes; others average


class XGBoostServer:
    """A loaded booster (or an ensemble of them) answering InvokeEndpoint as the built-in container does."""

    def __init__(self, boosters: list[Any], objective: str, *, batch: bool = False, default_accept: str = CSV) -> None:
        self.boosters, self.objective, self.batch, self.default_accept = boosters, objective, batch, default_accept

    @classmethod
    def load(cls, model_dir: Path, environ: Mapping[str, str]) -> XGBoostServer:
        """Load every model file (not starting with `.`); raise WorkerStartError when there is none or it is bad."""
        import xgboost

        files = sorted(path for path in model_dir.iterdir() if path.is_file() and not path.name.startswith("."))
        if not files:
            raise WorkerStartError(f"no model file in {model_dir}: built-in XGBoost writes {MODEL_FILE}")
        if environ.get("SAGEMAKER_INFERENCE_ENSEMBLE", "true") != "true":
            files = files[:1]
        boosters = []
        for path in files:
            booster = xgboost.Booster()
            try:
                booster.load_model(bytearray(path.read_bytes()))
            except xgboost.core.XGBoostError as error:
                raise WorkerStartError(f"Model {path.name} cannot be loaded: {error}") from None
            booster.set_param("nthread", "1")
            boosters.append(booster)
        objective = str(json.loads(boosters[0].save_config())["learner"]["objective"]["name"])
        default_accept = environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or CSV
        return cls(boosters, objective, batch=bool(environ.get("SAGEMAKER_BATCH")), default_accept=default_accept)

    def invoke(self, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
        """Answer one invocation; raise RequestError with the container's status for a bad request."""
        if not body:
            return b"", media_type(accept) if "*" not in accept else CSV
        features = parse_request(body, content_type)
        try:
            predictions = self.predict(features)
        except Exception as error:
            raise RequestError(400, f"Unable to evaluate payload provided: {error}") from None
        answer_type = media_type(accept).lower()
        if answer_type in ("", "*/*"):
            answer_type = self.default_accept
        elif answer_type not in SUPPORTED_ACCEPTS:
            raise RequestError(
                406, f"Accept type {accept} is not supported. Please use supported accept types: {SUPPORTED_ACCEPTS}."
            )
        values = predictions.tolist()
        if self.batch:
            return ("\n".join(map(str, values)) + "\n").encode(), answer_type
        if answer_type == JSON:
            return json.dumps({"predictions": [{"score": value} for value in values]}).encode(), JSON
        if answer_type == CSV:
            return encode_csv(values).encode(), CSV
        raise RequestError(500, f"Content type {answer_type} is not supported by this framework (an unhandled error)")

    def predict(self, features: Any) -> Any:
        """The boosters' predictions; an ensemble averages them, or votes for multi:softmax and binary:hinge."""
        import xgboost

        matrix = xgboost.DMatrix(features)
        results = [booster.predict(matrix, validate_features=False) for booster in self.boosters]
        if len(results) == 1:
            return results[0]
        if self.objective in _VOTING_OBJECTIVES:
            from scipy import stats

            return stats.mode(np.asarray(results), axis=0, keepdims=False).mode
        return np.mean(results, axis=0)


def parse_request(body: bytes, content_type: str) -> Any:
    """The request's feature rows (dense for CSV, CSR for libsvm); raise RequestError 415 as the container does."""
    kind = media_type(content_type)
    try:
        text = body.strip().decode("utf-8")
        if kind in CSV_TYPES:
            _check_label_size(content_type)
            return _csv_rows(text)
        if kind in LIBSVM_TYPES:
            return _libsvm_rows(text)
    except RequestError:
        raise
    except Exception as error:
        label = "csv" if kind in CSV_TYPES else "libsvm"
        raise RequestError(
            415,
            f"Loading {label} data failed with Exception, please ensure data is in {label} format:\n"
            f" {type(error)}\n {error}",
        ) from None
    raise RequestError(415, f"Content-type {content_type} is not supported.")


def encode_csv(values: list[Any]) -> str:
    """numpy's savetxt(delimiter=",", fmt="%s"), which the container answers with: one row per line."""
    return "".join((",".join(map(str, row)) if isinstance(row, list) else str(row)) + "\n" for row in values)


def _check_label_size(content_type: str) -> None:
    for parameter in content_type.lower().split(";")[1:]:
        key, _, value = parameter.partition("=")
        if key.strip() == "label_size" and value.strip() != "1":
            raise RequestError(
                415,
                f"{content_type} is not an accepted csv ContentType. Optional parameter label_size must be equal to 1",
            )


def _csv_rows(text: str) -> Any:
    # Empty cells are missing values ("nan"), as the container's csv_to_dmatrix reads them.
    rows = [[math.nan if cell == "" else float(cell) for cell in line.split(",")] for line in text.split("\n")]
    return np.asarray(rows, dtype=np.float64)


def _libsvm_rows(text: str) -> Any:
    from scipy import sparse

    rows, columns, values = [], [], []
    for row, line in enumerate(text.split("\n")):
        for item in line.split(" "):
            if ":" in item:
                index, value = item.split(":")[:2]
                rows.append(row)
                columns.append(int(index))
                values.append(float(value))
    return sparse.csr_matrix((values, (rows, columns)))
