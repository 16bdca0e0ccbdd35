"""The evaluation script's numbers: the evaluation.json it wrote, read, checked and turned into the run's reports.

The script writes `{"candidate": {...}, "production": {...} or null, "records": N (optional)}`; each model's
metrics are plain numbers (`{"rmse": 0.41}`), objects with a `value` (`{"rmse": {"value": 0.41,
"standard_deviation": 0.02}}`), or grouped as Model Monitor groups them (`{"regression_metrics": {"rmse": {"value":
0.41}}}`, as SageMaker Pipelines' templates write it). Grouped metrics go to the model-quality statistics as they
are; plain ones under the group of the model's task (`custom_metrics` when the task is not known).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from contract.evaluation import CANDIDATE, PRODUCTION
from lambdas.common.evaluation import EvaluationSettings
from lambdas.common.events import format_timestamp
from lambdas.common.models import HoldoutEvaluationState
from lambdas.common.transform import split_s3_uri
from lambdas.evaluate_model.holdout import (
    MAX_LISTED_FILES,
    EvaluationOutputError,
    HoldoutScores,
    put_json,
    read_manifest,
)
from lambdas.evaluate_model.scoring import STATISTICS_SECTIONS, STATISTICS_VERSION

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

EVALUATION_FILE = "evaluation.json"
CUSTOM_SECTION = "custom_metrics"
# The largest evaluation.json read: a report of metrics, not data.
MAX_REPORT_BYTES = 1024 * 1024


def read_script_scores(
    s3: S3Client, evaluation: HoldoutEvaluationState, settings: EvaluationSettings, *, now: datetime
) -> HoldoutScores:
    """Both models' metrics as the script reported them; the reports written beside its output. Raises
    EvaluationOutputError naming the script and the file when evaluation.json is missing or malformed."""
    script = evaluation.script or "the evaluation script"
    uri = f"{evaluation.candidate_output_uri.rstrip('/')}/{EVALUATION_FILE}"
    document = _read_report(s3, uri, script)
    where = f"{script}'s {uri}"
    candidate = _model_section(document, CANDIDATE, where)
    if candidate is None:
        raise EvaluationOutputError(f"{where} has no {CANDIDATE!r} object: the new model's metrics are needed")
    production = _model_section(document, PRODUCTION, where) if evaluation.production_model else None
    if evaluation.production_model and production is None:
        raise EvaluationOutputError(
            f"{where} has no {PRODUCTION!r} metrics, though the script was given production's model "
            f"{evaluation.production_model} (PRODUCTION_MODEL_DIR): both are needed to compare them"
        )
    records = document.get("records")
    if records is not None and (isinstance(records, bool) or not isinstance(records, int) or records < 0):
        raise EvaluationOutputError(f"{where}: 'records' must be a whole number of held-out records, got {records!r}")
    stamp = format_timestamp(now)
    base = evaluation.candidate_output_uri.rstrip("/").rsplit("/", 1)[0]
    sections = {CANDIDATE: candidate, PRODUCTION: production}
    metrics: dict[str, dict[str, float]] = {}
    statistics_uris: dict[str, str] = {}
    for role, section in sections.items():
        if section is None:
            continue
        flat, grouped = flatten_metrics(section, f"{where} {role}", settings.task)
        metrics[role] = flat
        statistics = {
            "version": STATISTICS_VERSION,
            "dataset": {"item_count": records, "evaluation_time": stamp},
            **grouped,
        }
        statistics_uris[role] = put_json(s3, f"{base}/{role}-statistics.json", statistics)
    bucket, prefix, keys = read_manifest(s3, evaluation.holdout_uri)
    report = {
        "task": settings.task,
        "script": evaluation.script,
        "holdout": evaluation.holdout_uri,
        "records": records,
        "evaluated_at": stamp,
        "script_output": uri,
        CANDIDATE: {"model": evaluation.candidate_model, "metrics": metrics[CANDIDATE]},
        PRODUCTION: {"model": evaluation.production_model, "metrics": metrics[PRODUCTION]}
        if PRODUCTION in metrics
        else None,
    }
    return HoldoutScores(
        task=settings.task,
        records=records,
        files=[f"s3://{bucket}/{prefix}{key}" for key in keys[:MAX_LISTED_FILES]],
        candidate=metrics[CANDIDATE],
        production=metrics.get(PRODUCTION),
        report_uri=put_json(s3, f"{base}/evaluation.json", report),
        candidate_statistics_uri=statistics_uris[CANDIDATE],
    )


def flatten_metrics(
    section: Mapping[str, Any], where: str, task: str | None
) -> tuple[dict[str, float], dict[str, dict[str, Any]]]:
    """(metric name -> value, the statistics' groups) of one model's metrics; EvaluationOutputError naming the key
    whose value is neither a number, an object with a numeric `value`, nor a group of those, or a metric reported
    twice. A group's members that are objects without a `value` (a confusion_matrix) are kept, not read."""
    flat: dict[str, float] = {}
    grouped: dict[str, dict[str, Any]] = {}
    plain = STATISTICS_SECTIONS.get(task or "", CUSTOM_SECTION)

    def add(name: str, value: Any, group: str, key: str) -> None:
        number = _metric_value(value)
        if number is None:
            raise EvaluationOutputError(
                f"{where}: {key} must be a number or an object with a numeric 'value', got {json.dumps(value)[:80]}"
            )
        if name in flat:
            raise EvaluationOutputError(f"{where}: the metric {name!r} is reported twice ({key} again)")
        flat[name] = number
        grouped.setdefault(group, {})[name] = value if isinstance(value, Mapping) else {"value": value}

    for name, value in section.items():
        if not isinstance(value, Mapping) or "value" in value:
            add(name, value, plain, repr(name))
            continue
        if not value:
            raise EvaluationOutputError(f"{where}: {name!r} is an empty object: a metric or a group of them is needed")
        for inner, member in value.items():
            if isinstance(member, Mapping) and "value" not in member:
                grouped.setdefault(name, {})[inner] = member  # Model Monitor's non-metric content of a group
            else:
                add(inner, member, name, f"{name!r}.{inner!r}")
    if not flat:
        raise EvaluationOutputError(f"{where}: no metric reported (a number per metric name is needed)")
    return flat, grouped


def _metric_value(value: Any) -> float | None:
    """A metric's number: a plain number, or an object's numeric `value`; None for anything else."""
    if isinstance(value, Mapping) and "value" in value:
        value = value["value"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)  # NaN and infinities too: the gate rejects a metric that is not finite


def _model_section(document: Mapping[str, Any], role: str, where: str) -> Mapping[str, Any] | None:
    section = document.get(role)
    if section is None:
        return None
    if not isinstance(section, Mapping):
        raise EvaluationOutputError(f"{where}: {role!r} must be an object of metrics, got {json.dumps(section)[:80]}")
    return section


def _read_report(s3: S3Client, uri: str, script: str) -> Mapping[str, Any]:
    bucket, key = split_s3_uri(uri)
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
            raise EvaluationOutputError(
                f"{script} wrote no {EVALUATION_FILE}: {uri} does not exist (the script must write it to "
                "EVALUATION_DIR)"
            ) from None
        raise
    body = response["Body"].read(MAX_REPORT_BYTES + 1)
    if len(body) > MAX_REPORT_BYTES:
        raise EvaluationOutputError(f"{script}'s {uri} is larger than {MAX_REPORT_BYTES} bytes: not a metrics report")
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EvaluationOutputError(f"{script}'s {uri} is not valid JSON: {error}") from None
    if not isinstance(document, Mapping):
        raise EvaluationOutputError(
            f"{script}'s {uri} must be a JSON object with 'candidate' and 'production', got {type(document).__name__}"
        )
    return document
