"""The held-out evaluation's numbers: each model's answers over the holdout beside the holdout's labels.

The transform jobs wrote one answer line per record, in the records' order, to `<output>/<key>.out` for each
holdout file (`<key>` below the manifest's prefix); the labels are the files' first column. Both models are scored
on exactly these records, so their metrics compare. The reports go beside the answers: each model's in SageMaker's
model-quality statistics format, and `evaluation.json` with both.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from contract.evaluation import CANDIDATE, PRODUCTION
from lambdas.common.data_files import GZIP_SUFFIX
from lambdas.common.errors import RetrainingError
from lambdas.common.evaluation import EvaluationSettings
from lambdas.common.events import format_timestamp
from lambdas.common.gzip_stream import gunzip_lines
from lambdas.common.models import HoldoutEvaluationState
from lambdas.common.transform import split_s3_uri
from lambdas.evaluate_model import scoring

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

# How many held-out files the run's state names (the manifest names them all).
MAX_LISTED_FILES = 20
STATISTICS_CONTENT_TYPE = "application/json"


class EvaluationOutputError(RetrainingError):
    """A transform job's answers are missing, or do not line up with the held-out records."""


@dataclass(frozen=True)
class HoldoutScores:
    """Both models' metrics on the same held-out records, and where the reports are."""

    task: str | None
    records: int | None  # None: an evaluation script that did not say
    files: list[str]
    candidate: dict[str, float]
    production: dict[str, float] | None
    report_uri: str
    candidate_statistics_uri: str


def score_holdout(
    s3: S3Client, evaluation: HoldoutEvaluationState, settings: EvaluationSettings, *, now: datetime
) -> HoldoutScores:
    """Score both models' answers against the holdout's labels; write the reports. Raises EvaluationOutputError
    naming the file when an answer file is missing or holds another number of answers than records."""
    bucket, prefix, keys = read_manifest(s3, evaluation.holdout_uri)
    labels_of = {key: list(_labels(s3, bucket, f"{prefix}{key}")) for key in keys}
    labels = [label for key in keys for label in labels_of[key]]
    outputs = {CANDIDATE: evaluation.candidate_output_uri, PRODUCTION: evaluation.production_output_uri}
    metrics: dict[str, dict[str, float]] = {}
    statistics_uris: dict[str, str] = {}
    base = evaluation.candidate_output_uri.rstrip("/").rsplit("/", 1)[0]
    stamp = format_timestamp(now)
    for role, output_uri in outputs.items():
        if output_uri is None:
            continue
        lines: list[str] = []
        written = _answer_keys(s3, output_uri)
        for key in keys:
            answers = _answers(s3, output_uri, written, key, role)
            if len(answers) != len(labels_of[key]):
                raise EvaluationOutputError(
                    f"the {role} model answered {len(answers)} of the {len(labels_of[key])} records of the held-out "
                    f"file {key} (answers under {output_uri}): one answer per record is needed to compare the models"
                )
            lines += answers
        predictions = scoring.read_predictions(
            lines,
            algorithm=settings.algorithm,
            hyperparameters=settings.hyperparameters,
            source=f"the {role} model's answers under {output_uri}",
        )
        scored = scoring.evaluate(cast("scoring.Task", settings.task), labels, predictions, evaluation_time=stamp)
        metrics[role] = scored.metrics
        statistics_uris[role] = put_json(s3, f"{base}/{role}-statistics.json", scored.statistics)
    report = {
        "task": settings.task,
        "holdout": evaluation.holdout_uri,
        "records": len(labels),
        "evaluated_at": stamp,
        CANDIDATE: {"model": evaluation.candidate_model, "metrics": metrics[CANDIDATE]},
        PRODUCTION: {"model": evaluation.production_model, "metrics": metrics[PRODUCTION]}
        if PRODUCTION in metrics
        else None,
    }
    return HoldoutScores(
        task=settings.task,
        records=len(labels),
        files=[f"s3://{bucket}/{prefix}{key}" for key in keys[:MAX_LISTED_FILES]],
        candidate=metrics[CANDIDATE],
        production=metrics.get(PRODUCTION),
        report_uri=put_json(s3, f"{base}/evaluation.json", report),
        candidate_statistics_uri=statistics_uris[CANDIDATE],
    )


def read_manifest(s3: S3Client, uri: str) -> tuple[str, str, list[str]]:
    """The holdout manifest as CheckData wrote it: (bucket, key prefix, relative keys)."""
    bucket, key = split_s3_uri(uri)
    entries = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    data_bucket, prefix = split_s3_uri(str(entries[0]["prefix"]))
    return data_bucket, prefix, [str(entry) for entry in entries[1:]]


def _labels(s3: S3Client, bucket: str, key: str) -> Iterator[float]:
    """The first column of each record (a non-empty line) of a held-out file: what the data check accepted.

    A `.csv.gz` file is read as it decompresses, as the transform jobs read it (CompressionType Gzip).
    """
    lines = _gzip_lines(s3, bucket, key) if key.endswith(GZIP_SUFFIX) else _lines(s3, bucket, key)
    for number, line in enumerate(lines, start=1):
        try:
            yield float(line.split(",", 1)[0])
        except ValueError:
            raise EvaluationOutputError(
                f"s3://{bucket}/{key} line {number}: the label {line.split(',', 1)[0][:50]!r} is not a number"
            ) from None


def _answer_keys(s3: S3Client, output_uri: str) -> list[str]:
    """Every answer file a transform job wrote under its output."""
    bucket, prefix = split_s3_uri(output_uri)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", []) if item["Key"].endswith(".out")]


def answer_key(output_prefix: str, written: list[str], key: str) -> str | None:
    """The answer file of the held-out file `key` (relative to the manifest's prefix) among those `written`.

    SageMaker names it `<output>/<key>.out` for an S3Prefix input below the data's folder (the local runtime names
    a manifest's files so too); its documentation does not say how it names a ManifestFile input's, so a file is
    also found by its key's tail or, when that is unambiguous, by its file name alone.
    """
    exact = f"{output_prefix}{key}.out"
    if exact in written:
        return exact
    for suffix in (f"/{key}.out", f"/{key.rsplit('/', 1)[-1]}.out"):
        found = [candidate for candidate in written if candidate.endswith(suffix)]
        if len(found) == 1:
            return found[0]
    return None


def _answers(s3: S3Client, output_uri: str, written: list[str], key: str, role: str) -> list[str]:
    bucket, prefix = split_s3_uri(output_uri)
    found = answer_key(prefix, written, key)
    if found is None:
        raise EvaluationOutputError(
            f"the {role} model's answers for {key} are missing (no s3://{bucket}/{prefix}{key}.out among the "
            f"{len(written)} answer file(s) under {output_uri}): its transform job completed without them"
        )
    return list(_lines(s3, bucket, found))


def _lines(s3: S3Client, bucket: str, key: str) -> Iterator[str]:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    for raw in body.iter_lines():
        line = raw.decode("utf-8").strip()
        if line:
            yield line


def _gzip_lines(s3: S3Client, bucket: str, key: str) -> Iterator[str]:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    try:
        for raw in gunzip_lines(body.iter_chunks()):
            line = raw.decode("utf-8").strip()
            if line:
                yield line
    except (zlib.error, EOFError) as error:
        raise EvaluationOutputError(f"s3://{bucket}/{key} cannot be decompressed: {error}") from None


def put_json(s3: S3Client, uri: str, document: Mapping[str, Any]) -> str:
    bucket, key = split_s3_uri(uri)
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(document, indent=2).encode(), ContentType="application/json")
    return uri
