"""The held-out evaluation's numbers: each model's answers over the holdout beside the holdout's labels.

The transform jobs wrote one answer line per record, in the records' order, to `<output>/<key>.out` for each
holdout file (`<key>` below the manifest's prefix); the labels are the files' first column. Both models are scored
on exactly these records, so their metrics compare. The reports go beside the answers: each model's in SageMaker's
model-quality statistics format, and `evaluation.json` with both.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from contract.evaluation import CANDIDATE, PRODUCTION
from lambdas.common.errors import RetrainingError
from lambdas.common.evaluation import EvaluationSettings
from lambdas.common.events import format_timestamp
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

    task: str
    records: int
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
    bucket, prefix, keys = _read_manifest(s3, evaluation.holdout_uri)
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
        for key in keys:
            answers = _answers(s3, output_uri, key, role)
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
        statistics_uris[role] = _put_json(s3, f"{base}/{role}-statistics.json", scored.statistics)
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
        report_uri=_put_json(s3, f"{base}/evaluation.json", report),
        candidate_statistics_uri=statistics_uris[CANDIDATE],
    )


def _read_manifest(s3: S3Client, uri: str) -> tuple[str, str, list[str]]:
    """The holdout manifest as CheckData wrote it: (bucket, key prefix, relative keys)."""
    bucket, key = split_s3_uri(uri)
    entries = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    data_bucket, prefix = split_s3_uri(str(entries[0]["prefix"]))
    return data_bucket, prefix, [str(entry) for entry in entries[1:]]


def _labels(s3: S3Client, bucket: str, key: str) -> Iterator[float]:
    """The first column of each record (a non-empty line) of a held-out file: what the data check accepted."""
    for number, line in enumerate(_lines(s3, bucket, key), start=1):
        try:
            yield float(line.split(",", 1)[0])
        except ValueError:
            raise EvaluationOutputError(
                f"s3://{bucket}/{key} line {number}: the label {line.split(',', 1)[0][:50]!r} is not a number"
            ) from None


def _answers(s3: S3Client, output_uri: str, key: str, role: str) -> list[str]:
    bucket, prefix = split_s3_uri(output_uri)
    answer_key = f"{prefix}{key}.out"
    try:
        return list(_lines(s3, bucket, answer_key))
    except s3.exceptions.NoSuchKey:
        raise EvaluationOutputError(
            f"the {role} model's answers for {key} are missing (s3://{bucket}/{answer_key}): its transform job "
            "completed without them"
        ) from None


def _lines(s3: S3Client, bucket: str, key: str) -> Iterator[str]:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    for raw in body.iter_lines():
        line = raw.decode("utf-8").strip()
        if line:
            yield line


def _put_json(s3: S3Client, uri: str, document: Mapping[str, Any]) -> str:
    bucket, key = split_s3_uri(uri)
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(document, indent=2).encode(), ContentType="application/json")
    return uri
