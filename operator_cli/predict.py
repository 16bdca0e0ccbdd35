"""Predictions from the command line: records read from CSV or JSON, sent in batches, one answer per record.

Pure functions over the records (reading, encoding, batching, answer parsing, formatting) and two calls that take
the clients as arguments (`check_endpoint`, `invoke_batches`). The CLI is a thin layer over them: an endpoint
that takes raw records and answers labels (a serial inference pipeline) needs nothing else from it.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeGuard

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from types_boto3_sagemaker import SageMakerClient
    from types_boto3_sagemaker_runtime import SageMakerRuntimeClient


# InvokeEndpoint's request Body (and the answer's) is at most 6291456 bytes (botocore's service model; the
# SageMaker docs give it as 6 MB).
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
DEFAULT_BATCH_SIZE = 500
CSV, JSON, JSONLINES = "text/csv", "application/json", "application/jsonlines"
_JSONLINES_ALIASES = (JSONLINES, "application/x-jsonlines", "application/json-lines", "application/jsonl")
# An endpoint being updated (a retrain rolling out) still answers on its current configuration.
SERVING_STATUSES = ("InService", "Updating", "SystemUpdating")
RECORD_WIDTH = 48


class PredictInputError(Exception):
    """The records cannot be read or sent as asked; the message names the source and the line or record."""


class PredictError(Exception):
    """The endpoint cannot answer: it does not exist, is not in service, or the model answered an error."""


@dataclass(frozen=True)
class InputRecord:
    """One record to predict: its number (from 1), the line it starts on, and its fields or JSON value."""

    number: int
    line: int
    value: list[Any] | dict[str, Any]

    def shown(self, width: int = RECORD_WIDTH) -> str:
        """The record on one line, cut to `width` characters."""
        text = _csv_line(self.value) if _is_csv_row(self.value) else json.dumps(self.value, separators=(",", ":"))
        return text if len(text) <= width else text[: width - 1] + "…"


def read_csv_records(text: str, source: str) -> list[InputRecord]:
    """CSV rows, one record each (blank lines skipped); raise PredictInputError when a row's width differs."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    records: list[InputRecord] = []
    first_line, width = 0, 0
    line = 1
    try:
        for fields in reader:
            if fields and any(field.strip() for field in fields):
                if not records:
                    first_line, width = line, len(fields)
                elif len(fields) != width:
                    raise PredictInputError(
                        f"{source} line {line}: {_count(len(fields), 'field')}, line {first_line} has {width}"
                    )
                records.append(InputRecord(number=len(records) + 1, line=line, value=fields))
            line = reader.line_num + 1
    except csv.Error as error:
        raise PredictInputError(f"{source} line {reader.line_num}: {error}") from None
    if not records:
        raise PredictInputError(f"{source}: no records (the file has no rows)")
    return records


def read_json_records(text: str, source: str) -> list[InputRecord]:
    """A JSON list of objects or arrays, one object, or JSON Lines; raise PredictInputError naming the place."""
    text = text.removeprefix("\ufeff")
    stripped = text.strip()
    if not stripped:
        raise PredictInputError(f"{source}: no records (the file is empty)")
    try:
        document = json.loads(stripped)
    except json.JSONDecodeError as error:
        # A first complete value followed by more: JSON Lines, read line by line to name the bad line.
        if error.msg == "Extra data" and "\n" in stripped:
            return _json_lines(text, source)
        line = error.lineno + text[: len(text) - len(text.lstrip())].count("\n")
        raise PredictInputError(f"{source} line {line}: not valid JSON: {error.msg}") from None
    if isinstance(document, list):
        if not document:
            raise PredictInputError(f"{source}: no records (the list is empty)")
        return [_json_record(item, i, 0, f"{source} item {i}") for i, item in enumerate(document, 1)]
    return [_json_record(document, 1, 1, source)]


def _json_lines(text: str, source: str) -> list[InputRecord]:
    records: list[InputRecord] = []
    for line, content in enumerate(text.splitlines(), 1):
        if not content.strip():
            continue
        try:
            value = json.loads(content)
        except json.JSONDecodeError as error:
            raise PredictInputError(f"{source} line {line}: not valid JSON: {error.msg}") from None
        records.append(_json_record(value, len(records) + 1, line, f"{source} line {line}"))
    return records


def _json_record(value: Any, number: int, line: int, where: str) -> InputRecord:
    if not isinstance(value, dict | list):
        raise PredictInputError(f"{where}: a record is a JSON object or array, got {_json_kind(value)}")
    return InputRecord(number=number, line=line, value=value)


@dataclass(frozen=True)
class Encoding:
    """How records become an InvokeEndpoint body of one content type: a prefix, fragments joined, a suffix."""

    content_type: str
    prefix: bytes = b""
    separator: bytes = b""
    suffix: bytes = b""

    @classmethod
    def for_content_type(cls, content_type: str) -> Encoding:
        """The encoding for a content type; raise PredictInputError for one the CLI cannot write."""
        kind = media_type(content_type)
        if kind == CSV:
            return cls(content_type)
        if kind in _JSONLINES_ALIASES:
            return cls(content_type)
        if kind == JSON:
            # The built-in algorithms' JSON request: {"instances": [{"features": [...]}, ...]}.
            return cls(content_type, prefix=b'{"instances": [', separator=b", ", suffix=b"]}")
        raise PredictInputError(
            f"--content-type {content_type}: the CLI writes {CSV}, {JSON} or {JSONLINES} request bodies"
        )

    def fragment(self, record: InputRecord) -> bytes:
        """The record's part of a request body; raise PredictInputError when this content type cannot carry it."""
        kind = media_type(self.content_type)
        if kind == CSV:
            if isinstance(record.value, dict):
                raise PredictInputError(
                    f"record {record.number} is a JSON object: {CSV} takes arrays "
                    f"(send objects as {JSON} or {JSONLINES})"
                )
            return (_csv_line(record.value, record.number) + "\n").encode()
        value = _typed_fields(record.value) if _is_csv_row(record.value) else record.value
        if kind == JSON and isinstance(value, list):
            value = {"features": value}
        return json.dumps(value, separators=(",", ":")).encode() + (b"\n" if kind != JSON else b"")

    def body(self, fragments: Sequence[bytes]) -> bytes:
        return self.prefix + self.separator.join(fragments) + self.suffix

    def size(self, fragment_sizes: Sequence[int]) -> int:
        separators = len(self.separator) * max(len(fragment_sizes) - 1, 0)
        return len(self.prefix) + len(self.suffix) + sum(fragment_sizes) + separators


def plan_batches(
    fragment_sizes: Sequence[int], encoding: Encoding, *, batch_size: int, max_bytes: int = MAX_PAYLOAD_BYTES
) -> list[range]:
    """Consecutive index ranges, each at most `batch_size` records and `max_bytes` encoded; raise for one too big."""
    if batch_size < 1:
        raise PredictInputError(f"--batch-size must be at least 1, got {batch_size}")
    batches: list[range] = []
    start, size = 0, 0
    for index, fragment_size in enumerate(fragment_sizes):
        alone = encoding.size([fragment_size])
        if alone > max_bytes:
            raise PredictInputError(
                f"record {index + 1} alone is {alone} bytes encoded, over InvokeEndpoint's limit of {max_bytes}"
            )
        grown = size + fragment_size + (len(encoding.separator) if index > start else 0)
        if index > start and (index - start >= batch_size or encoding.size([grown]) > max_bytes):
            batches.append(range(start, index))
            start, grown = index, fragment_size
        size = grown
    if fragment_sizes:
        batches.append(range(start, len(fragment_sizes)))
    return batches


@dataclass(frozen=True)
class Prediction:
    """One record's answer: the prediction (a label, a score, or the item itself) and the item as returned."""

    value: Any
    answer: Any

    @classmethod
    def from_item(cls, item: Any) -> Prediction:
        if isinstance(item, dict):
            for key in ("predicted_label", "score"):
                if key in item:
                    return cls(item[key], item)
        return cls(item, item)

    def shown(self) -> str:
        score = self.answer.get("score") if isinstance(self.answer, dict) else None
        text = self.value if isinstance(self.value, str) else json.dumps(self.value)
        if score is not None and "predicted_label" in self.answer:
            return f"{text} (score {json.dumps(score)})"
        return text


def parse_answer(body: bytes, content_type: str, count: int) -> list[Prediction] | None:
    """One prediction per record from a JSON, JSON Lines or CSV answer; None when it cannot be split so."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    kind = media_type(content_type)
    items: list[Any] | None = None
    try:
        if kind == JSON:
            document = json.loads(text)
            if isinstance(document, dict) and isinstance(document.get("predictions"), list):
                items = document["predictions"]
            elif isinstance(document, list):
                items = document
        elif kind in _JSONLINES_ALIASES:
            items = [json.loads(line) for line in text.splitlines() if line.strip()]
        elif kind == CSV:
            items = [_csv_answer(row) for row in csv.reader(io.StringIO(text)) if row]
    except (json.JSONDecodeError, csv.Error):
        return None
    if items is None or len(items) != count:
        return None
    return [Prediction.from_item(item) for item in items]


@dataclass(frozen=True)
class BatchResult:
    """A batch of records and the endpoint's answer: split into predictions, or None to print it as returned."""

    records: list[InputRecord]
    content_type: str
    body: bytes
    predictions: list[Prediction] | None

    def raw_text(self) -> str:
        return self.body.decode("utf-8", "replace").strip()


def check_endpoint(sagemaker: SageMakerClient, endpoint: str, where: str) -> None:
    """Raise PredictError when the endpoint does not exist in `where` or is not serving."""
    try:
        described = sagemaker.describe_endpoint(EndpointName=endpoint)
    except ClientError as error:
        message = str(error.response["Error"].get("Message") or "")
        if error.response["Error"].get("Code") in ("ValidationException", "ValidationError") and (
            "not find" in message or "not found" in message
        ):
            raise PredictError(
                f"endpoint {endpoint} does not exist in {where}: no run has deployed a model yet"
            ) from None
        raise
    status = described.get("EndpointStatus")
    if status not in SERVING_STATUSES:
        reason = described.get("FailureReason")
        raise PredictError(
            f"endpoint {endpoint} is {status}, not InService: it answers no predictions"
            + (f" ({reason})" if reason else "")
        )


def invoke_batches(
    runtime: SageMakerRuntimeClient,
    endpoint: str,
    records: Sequence[InputRecord],
    encoding: Encoding,
    *,
    accept: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_bytes: int = MAX_PAYLOAD_BYTES,
    on_batch: Callable[[BatchResult], None] | None = None,
) -> list[BatchResult]:
    """InvokeEndpoint once per batch; raise PredictInputError for records that cannot be sent, PredictError when
    the endpoint answers an error (the model's message, with the records of the batch)."""
    fragments = [encoding.fragment(record) for record in records]
    results: list[BatchResult] = []
    for batch in plan_batches([len(f) for f in fragments], encoding, batch_size=batch_size, max_bytes=max_bytes):
        chosen = [records[i] for i in batch]
        request: dict[str, Any] = {
            "EndpointName": endpoint,
            "ContentType": encoding.content_type,
            "Body": encoding.body([fragments[i] for i in batch]),
        }
        if accept:
            request["Accept"] = accept
        try:
            answer = runtime.invoke_endpoint(**request)
        except ClientError as error:
            raise PredictError(_invoke_error(error, endpoint, chosen)) from None
        body = answer["Body"].read()
        content_type = str(answer.get("ContentType") or "")
        result = BatchResult(chosen, content_type, body, parse_answer(body, content_type, len(chosen)))
        if on_batch is not None:
            on_batch(result)
        results.append(result)
    return results


def _invoke_error(error: ClientError, endpoint: str, records: Sequence[InputRecord]) -> str:
    code = error.response["Error"].get("Code")
    message = error.response["Error"].get("Message") or code
    span = _span(records)
    if code == "ModelError":
        return f"endpoint {endpoint} answered an error for {span}: {message}"
    return f"endpoint {endpoint}: InvokeEndpoint for {span} failed ({code}): {message}"


def render_table(results: Sequence[BatchResult], width: int = RECORD_WIDTH) -> str:
    """`#  record  prediction`, one line per record; an answer that cannot be split is printed as returned."""
    lines = [f"{'#':>5}  {'record':<{width}}  prediction"]
    for result in results:
        for i, record in enumerate(result.records):
            shown = result.predictions[i].shown() if result.predictions is not None else "(see below)"
            lines.append(f"{record.number:>5}  {record.shown(width):<{width}}  {shown}")
        if result.predictions is None:
            lines.append(f"{_span(result.records)}, answered as {result.content_type or 'no content type'}:")
            lines.append(result.raw_text())
    return "\n".join(lines)


def results_to_json(endpoint: str, results: Sequence[BatchResult]) -> dict[str, Any]:
    """`{"endpoint", "predictions": [{record, input, prediction, answer}], "unsplit_answers": [...]}`."""
    rows: list[dict[str, Any]] = []
    unsplit: list[dict[str, Any]] = []
    for result in results:
        for i, record in enumerate(result.records):
            prediction = result.predictions[i] if result.predictions is not None else None
            rows.append(
                {
                    "record": record.number,
                    "input": record.value,
                    "prediction": prediction.value if prediction else None,
                    "answer": prediction.answer if prediction else None,
                }
            )
        if result.predictions is None:
            unsplit.append(
                {
                    "records": [result.records[0].number, result.records[-1].number],
                    "content_type": result.content_type,
                    "body": result.raw_text(),
                }
            )
    return {"endpoint": endpoint, "predictions": rows, "unsplit_answers": unsplit}


def media_type(header: str) -> str:
    """`text/csv; charset=utf-8` → `text/csv`."""
    return header.split(";", 1)[0].strip().lower()


def _span(records: Sequence[InputRecord]) -> str:
    first, last = records[0].number, records[-1].number
    return f"record {first}" if first == last else f"records {first}-{last}"


def _is_csv_row(value: list[Any] | dict[str, Any]) -> TypeGuard[list[str]]:
    return isinstance(value, list) and all(isinstance(field, str) for field in value)


def _typed_fields(fields: list[Any]) -> list[Any]:
    """A CSV row for a JSON body: numbers as numbers, empty fields as null, anything else as text."""
    typed: list[Any] = []
    for field in fields:
        stripped = field.strip()
        number = _number(stripped)
        typed.append(None if not stripped else number if number is not None else field)
    return typed


def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _csv_line(fields: list[Any], number: int | None = None) -> str:
    out = io.StringIO()
    cells: list[str] = []
    for i, field in enumerate(fields, 1):
        if isinstance(field, dict | list):
            where = f"record {number}, field {i}" if number else f"field {i}"
            raise PredictInputError(f"{where}: a nested {_json_kind(field)} cannot be a CSV field")
        cells.append("" if field is None else field if isinstance(field, str) else json.dumps(field))
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()


def _csv_answer(row: list[str]) -> Any:
    values = [_number(field.strip()) if _number(field.strip()) is not None else field for field in row]
    return values[0] if len(values) == 1 else values


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", str: "a string", int: "a number", float: "a number", dict: "an object"}.get(
        type(value), "an array"
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
