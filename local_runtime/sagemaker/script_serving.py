"""Serving a Script Mode model as the SageMaker inference toolkit does: the user's handlers, else the defaults.

From sagemaker_inference/transformer.py: `model_fn` loads the model once; a request runs `transform_fn`, or
`input_fn` → `predict_fn` → `output_fn` with the defaults standing in for the missing ones (a module may not define
transform_fn together with any of those three); a handler may take one more argument, the request context (None
here); a JSON or CSV body reaches the handlers as text, any other as bytes; a missing or `*/*` Accept is the
container's default accept; a `(body, content type)` answer sets the response's type, any other answer has the
Accept type. The scikit-learn image's defaults (sagemaker_sklearn_container/serving.py) decode JSON, CSV and NPY into
numpy (JSON and CSV as float32), call `model.predict`, and encode the prediction as the Accept type asks.
"""

from __future__ import annotations

import csv
import importlib.util
import inspect
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from local_runtime.sagemaker.frameworks import SKLEARN, FrameworkImage
from local_runtime.sagemaker.serving import (
    CSV,
    JSON,
    NPY,
    PROGRAM_ENV,
    RequestError,
    WorkerStartError,
    choose_accept,
    media_type,
)

_TEXT_TYPES = (JSON, CSV)  # the inference toolkit's UTF8_TYPES


class ScriptServer:
    """A user's serving script, imported from the code directory, with its model loaded."""

    def __init__(self, module: ModuleType, model: Any, *, float32: bool = False) -> None:
        self.module, self.model, self._float32 = module, model, float32

    @classmethod
    def load(
        cls, model_dir: Path, program: str, *, code_dir: Path | None = None, image: FrameworkImage | None = None
    ) -> ScriptServer:
        """Import `program` from `code_dir` (the model's code/ by default) and call its model_fn.

        Raises WorkerStartError naming what failed: a missing script, an import error, transform_fn beside
        input_fn/predict_fn/output_fn, a missing or failing model_fn.
        """
        code_dir = code_dir or model_dir / "code"
        where = f"code/{program}" if code_dir == model_dir / "code" else f"{program} (SAGEMAKER_SUBMIT_DIRECTORY)"
        path = code_dir / program
        if not path.is_file():
            raise WorkerStartError(f"{PROGRAM_ENV} is {program!r} but the model has no {where}")
        sys.path.insert(0, str(code_dir))  # the script imports its sibling modules, as in the toolkit
        spec = importlib.util.spec_from_file_location(Path(program).stem, path)
        if spec is None or spec.loader is None:
            raise WorkerStartError(f"{where} cannot be imported as a Python module")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as error:
            raise WorkerStartError(f"importing {where} failed: {_describe(error)}") from error
        if callable(getattr(module, "transform_fn", None)) and any(
            callable(getattr(module, name, None)) for name in ("input_fn", "predict_fn", "output_fn")
        ):
            raise WorkerStartError(
                f"{where}: Cannot use transform_fn implementation in conjunction with input_fn, predict_fn, and/or "
                "output_fn implementation"
            )
        model_fn = getattr(module, "model_fn", None)
        if not callable(model_fn):
            raise WorkerStartError(f"{where} defines no model_fn(model_dir): nothing loads the model")
        try:
            model = _call(model_fn, str(model_dir))
        except Exception as error:
            raise WorkerStartError(f"model_fn in {where} failed: {_describe(error)}") from error
        return cls(module, model, float32=image is not None and image.framework == SKLEARN)

    def invoke(self, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
        data: bytes | str = body
        if media_type(content_type) in _TEXT_TYPES:
            try:
                data = body.decode("utf-8")
            except UnicodeDecodeError as error:
                raise RequestError(400, f"the {media_type(content_type)} body is not UTF-8: {error}") from None
        transform_fn = getattr(self.module, "transform_fn", None)
        if callable(transform_fn):
            return _encoded(_call(transform_fn, self.model, data, content_type, accept), accept)
        input_fn: Callable[..., Any] = getattr(self.module, "input_fn", self._default_input_fn)
        predict_fn: Callable[..., Any] = getattr(self.module, "predict_fn", default_predict_fn)
        output_fn: Callable[..., Any] | None = getattr(self.module, "output_fn", None)
        prediction = _call(predict_fn, _call(input_fn, data, content_type), self.model)
        if output_fn is None:
            return default_output_fn(prediction, accept)
        return _encoded(_call(output_fn, prediction, accept), accept)

    def _default_input_fn(self, data: bytes | str, content_type: str) -> Any:
        array = default_input_fn(data, content_type)
        # The scikit-learn container casts what JSON and CSV decode to float32.
        return array.astype("float32") if self._float32 and media_type(content_type) in _TEXT_TYPES else array


def default_input_fn(data: bytes | str, content_type: str) -> Any:
    """Decode JSON, CSV or NPY into a numpy array, as the toolkits' decoders do (a one-row CSV is squeezed to 1-D)."""
    import numpy as np

    kind = media_type(content_type)
    text = data.decode("utf-8") if isinstance(data, bytes) and kind in _TEXT_TYPES else data
    try:
        if kind == JSON:
            return np.array(json.loads(text))
        if kind == CSV:
            assert isinstance(text, str)
            return np.array(list(csv.reader(io.StringIO(text)))).squeeze().astype(np.float64)
        if kind == NPY:
            raw = data.encode() if isinstance(data, str) else data
            return np.load(io.BytesIO(raw), allow_pickle=False)
    except (ValueError, UnicodeDecodeError) as error:
        raise RequestError(400, f"cannot decode the {kind} request body: {error}") from None
    raise RequestError(415, f"Content type {content_type} is not supported by this framework.")


def default_predict_fn(data: Any, model: Any) -> Any:
    predict = getattr(model, "predict", None)
    if callable(predict):
        return predict(data)
    if callable(model):
        return model(data)
    raise TypeError(f"the model ({type(model).__name__}) has no predict method: define predict_fn in the script")


def default_output_fn(prediction: Any, accept: str) -> tuple[bytes, str]:
    """Encode a prediction as JSON (the default), CSV (one row per line, a 1-D array as a column) or NPY."""
    import numpy as np

    answer_type = choose_accept(accept, (JSON, CSV, NPY), JSON)
    if answer_type == CSV:
        array = np.array(prediction)
        rows = array.reshape(-1, 1) if array.ndim == 1 else np.atleast_2d(array)
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows.tolist())
        return out.getvalue().encode(), CSV
    if answer_type == NPY:
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(prediction), allow_pickle=False)
        return buffer.getvalue(), NPY
    return json.dumps(prediction, default=_jsonable).encode(), JSON


def _call(function: Callable[..., Any], *arguments: Any) -> Any:
    """Call a handler with its arguments, plus the request context when it takes one more (None locally)."""
    try:
        parameters = len(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        parameters = len(arguments)
    return function(*arguments, None) if parameters == len(arguments) + 1 else function(*arguments)


def _jsonable(value: Any) -> Any:
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars
    if callable(tolist):
        return tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _encoded(result: Any, accept: str) -> tuple[bytes, str]:
    """What a user's output_fn or transform_fn returned: a body, or (body, content type)."""
    content_type = accept if accept and "*" not in accept else JSON
    if isinstance(result, tuple) and len(result) == 2:
        result, content_type = result
    if isinstance(result, str):
        return result.encode(), str(content_type)
    if isinstance(result, bytes | bytearray):
        return bytes(result), str(content_type)
    return default_output_fn(result, accept)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
