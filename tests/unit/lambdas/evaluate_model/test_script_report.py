"""The evaluation script's evaluation.json against moto's S3: read and checked, each model's metrics taken from it
(plain numbers, objects with a value, or Model Monitor's groups), and the run's reports written beside it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest

from lambdas.check_data.core import DataFile, write_manifest
from lambdas.common.evaluation import EvaluationScript, EvaluationSettings
from lambdas.common.models import HoldoutEvaluationState
from lambdas.evaluate_model.holdout import EvaluationOutputError
from lambdas.evaluate_model.script_report import MAX_REPORT_BYTES, flatten_metrics, read_script_scores

NOW = datetime(2026, 11, 22, 7, 30, 0, tzinfo=UTC)
STAMP = "2026-11-22T07:30:00.000Z"
BUCKET = "data"
RUN = "churn-20261122060000-1a2b3c4d"
PRODUCTION = "churn-20261121060000-0badc0de"
BASE = f"s3://{BUCKET}/evaluation/churn/{RUN}"
OUTPUT = f"{BASE}/script/evaluation.json"
HELD_OUT = ("2026-11-20.csv", "dt=2026-11-21/part-0.csv")
SETTINGS = EvaluationSettings(
    kind="script",
    task="regression",
    instance_type="ml.m5.large",
    output_prefix="evaluation/churn",
    max_wait_seconds=3600,
    script=EvaluationScript(
        code_uri="s3://assets/0f3c9a.tar.gz", entry_point="evaluate.py", image="i", volume_size_gb=30
    ),
)
NO_TASK = EvaluationSettings(
    kind="script",
    task=None,
    instance_type=SETTINGS.instance_type,
    output_prefix=SETTINGS.output_prefix,
    max_wait_seconds=SETTINGS.max_wait_seconds,
    script=SETTINGS.script,
)
CONFUSION_MATRIX = {"0": {"0": 40, "1": 3}, "1": {"0": 5, "1": 52}}


@pytest.fixture
def s3(aws: None) -> Any:
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def manifest(s3: Any) -> str:
    """The holdout manifest CheckData wrote of two held-out files."""
    listed = [DataFile(key=f"daily/churn/{key}", day=date(2026, 11, 21), size=10) for key in HELD_OUT]
    return write_manifest(s3, BUCKET, f"manifests/churn/{RUN}.holdout.manifest", "daily/churn", listed)


def evaluation(manifest: str, *, production: str | None = PRODUCTION) -> HoldoutEvaluationState:
    return HoldoutEvaluationState(
        holdout_uri=manifest,
        candidate_model=RUN,
        candidate_job=f"{RUN}-eval",
        candidate_output_uri=f"{BASE}/script",
        production_model=production,
        production_job=None,
        production_output_uri=None,
        job_name=f"{RUN}-eval",
        status="Completed",
        failure_reason=None,
        started_at="2026-11-22T07:00:00.000Z",
        waited_seconds=600,
        wait_exceeded=False,
        poll_seconds=60,
        kind="processing",
        script="evaluate.py",
    )


def written(s3: Any, document: Any) -> None:
    """What the script wrote to EVALUATION_DIR, uploaded to the job's output."""
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    s3.put_object(Bucket=BUCKET, Key=OUTPUT.removeprefix(f"s3://{BUCKET}/"), Body=body)


def read_json(s3: Any, uri: str) -> Any:
    return json.loads(s3.get_object(Bucket=BUCKET, Key=uri.removeprefix(f"s3://{BUCKET}/"))["Body"].read())


@pytest.mark.parametrize(
    "candidate",
    [{"rmse": 0.41, "mae": 3}, {"rmse": {"value": 0.41, "standard_deviation": 0.02}, "mae": {"value": 3}}],
    ids=["plain-numbers", "value-objects"],
)
def test_each_models_metrics_are_read_as_numbers(s3: Any, manifest: str, candidate: dict[str, Any]) -> None:
    # GIVEN the script's report of both models on 120 records
    written(s3, {"candidate": candidate, "production": {"rmse": 0.5, "mae": 4.5}, "records": 120})

    # WHEN it is read
    scores = read_script_scores(s3, evaluation(manifest), SETTINGS, now=NOW)

    # THEN both models' metrics are numbers, beside the holdout the script was given
    assert scores.candidate == {"rmse": 0.41, "mae": 3.0}
    assert scores.production == {"rmse": 0.5, "mae": 4.5}
    assert (scores.task, scores.records) == ("regression", 120)
    assert scores.files == [f"s3://{BUCKET}/daily/churn/{key}" for key in HELD_OUT]


def test_model_monitor_groups_give_their_metrics_and_keep_the_rest_in_the_statistics(s3: Any, manifest: str) -> None:
    # GIVEN a classifier's report grouped as Model Monitor groups it, a confusion matrix among the metrics
    group = {
        "accuracy": {"value": 0.92, "standard_deviation": 0.01},
        "f1": {"value": 0.93},
        "confusion_matrix": CONFUSION_MATRIX,
    }
    written(s3, {"candidate": {"binary_classification_metrics": group}, "production": None})

    scores = read_script_scores(s3, evaluation(manifest, production=None), NO_TASK, now=NOW)

    # THEN the metrics are read, the confusion matrix is not one
    assert scores.candidate == {"accuracy": 0.92, "f1": 0.93}
    # AND the model-quality statistics keep the group as it was written
    statistics = read_json(s3, scores.candidate_statistics_uri)
    assert statistics == {
        "version": 0.0,
        "dataset": {"item_count": None, "evaluation_time": STAMP},
        "binary_classification_metrics": group,
    }


@pytest.mark.parametrize(
    ("settings", "section"), [(SETTINGS, "regression_metrics"), (NO_TASK, "custom_metrics")], ids=["task", "no-task"]
)
def test_the_reports_are_written_beside_the_scripts_output(
    s3: Any, manifest: str, settings: EvaluationSettings, section: str
) -> None:
    # GIVEN plain metrics for both models
    written(s3, {"candidate": {"rmse": 0.41}, "production": {"rmse": {"value": 0.5, "standard_deviation": 0.1}}})

    scores = read_script_scores(s3, evaluation(manifest), settings, now=NOW)

    # THEN each model's statistics group them under the task's section (custom_metrics when the task is unknown)
    assert scores.candidate_statistics_uri == f"{BASE}/candidate-statistics.json"
    for role, metric in (("candidate", {"value": 0.41}), ("production", {"value": 0.5, "standard_deviation": 0.1})):
        assert read_json(s3, f"{BASE}/{role}-statistics.json") == {
            "version": 0.0,
            "dataset": {"item_count": None, "evaluation_time": STAMP},
            section: {"rmse": metric},
        }
    # AND the run's evaluation.json names the script, its output and both models' metrics
    assert scores.report_uri == f"{BASE}/evaluation.json"
    assert read_json(s3, scores.report_uri) == {
        "task": settings.task,
        "script": "evaluate.py",
        "holdout": manifest,
        "records": None,
        "evaluated_at": STAMP,
        "script_output": OUTPUT,
        "candidate": {"model": RUN, "metrics": {"rmse": 0.41}},
        "production": {"model": PRODUCTION, "metrics": {"rmse": 0.5}},
    }


@pytest.mark.parametrize("document", [{"candidate": {"rmse": 0.4}, "production": None}, {"candidate": {"rmse": 0.4}}])
def test_without_a_production_model_production_may_be_null_or_absent(
    s3: Any, manifest: str, document: dict[str, Any]
) -> None:
    written(s3, document)

    scores = read_script_scores(s3, evaluation(manifest, production=None), SETTINGS, now=NOW)

    assert (scores.candidate, scores.production) == ({"rmse": 0.4}, None)
    assert read_json(s3, scores.report_uri)["production"] is None
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"evaluation/churn/{RUN}/production")


def test_production_metrics_are_ignored_when_no_production_model_was_given(s3: Any, manifest: str) -> None:
    written(s3, {"candidate": {"rmse": 0.4}, "production": {"rmse": 0.5}})

    scores = read_script_scores(s3, evaluation(manifest, production=None), SETTINGS, now=NOW)

    assert scores.production is None


@pytest.mark.parametrize("document", [{"candidate": {"rmse": 0.4}, "production": None}, {"candidate": {"rmse": 0.4}}])
def test_production_metrics_are_required_when_the_script_was_given_production(
    s3: Any, manifest: str, document: dict[str, Any]
) -> None:
    written(s3, document)

    with pytest.raises(EvaluationOutputError, match=f"{PRODUCTION} \\(PRODUCTION_MODEL_DIR\\)") as raised:
        read_script_scores(s3, evaluation(manifest), SETTINGS, now=NOW)
    assert f"evaluate.py's {OUTPUT}" in str(raised.value)


def test_a_missing_evaluation_json_names_the_script_and_where_it_was_expected(s3: Any, manifest: str) -> None:
    with pytest.raises(EvaluationOutputError, match=f"evaluate.py wrote no evaluation.json: {OUTPUT} does not exist"):
        read_script_scores(s3, evaluation(manifest), SETTINGS, now=NOW)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"{not json", "is not valid JSON"),
        (b"\xff\xfe", "is not valid JSON"),
        ([{"rmse": 0.4}], "must be a JSON object with 'candidate' and 'production', got list"),
        ({"production": {"rmse": 0.4}}, "has no 'candidate' object"),
        ({"candidate": [0.4]}, "'candidate' must be an object of metrics"),
        ({"candidate": {"rmse": 0.4}, "production": 0.5}, "'production' must be an object of metrics"),
        ({"candidate": {}, "production": {"rmse": 0.5}}, "candidate: no metric reported"),
        (b" " * (MAX_REPORT_BYTES + 1), f"larger than {MAX_REPORT_BYTES} bytes"),
    ],
    ids=[
        "invalid-json",
        "not-utf8",
        "not-an-object",
        "no-candidate",
        "candidate-not-an-object",
        "production-not-an-object",
        "no-metric",
        "too-large",
    ],
)
def test_a_malformed_evaluation_json_is_refused_naming_the_script_and_file(
    s3: Any, manifest: str, document: Any, message: str
) -> None:
    written(s3, document)

    with pytest.raises(EvaluationOutputError, match=message) as raised:
        read_script_scores(s3, evaluation(manifest), SETTINGS, now=NOW)
    assert f"evaluate.py's {OUTPUT}" in str(raised.value)


@pytest.mark.parametrize("records", [-1, True, 2.5, "120"], ids=["negative", "bool", "fraction", "text"])
def test_a_records_count_that_is_not_a_whole_number_is_refused(s3: Any, manifest: str, records: Any) -> None:
    written(s3, {"candidate": {"rmse": 0.4}, "production": {"rmse": 0.5}, "records": records})

    with pytest.raises(EvaluationOutputError, match="'records' must be a whole number"):
        read_script_scores(s3, evaluation(manifest), SETTINGS, now=NOW)


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"rmse": True}, "rmse"),
        ({"rmse": "0.41"}, "rmse"),
        ({"rmse": None}, "rmse"),
        ({"rmse": [0.41]}, "rmse"),
        # An object with a `value` that is no number is a bad metric, not a group, even beside good metrics.
        ({"mae": 3, "rmse": {"value": "0.4"}}, "rmse"),
        ({"mae": 3, "rmse": {"value": True}}, "rmse"),
        # A group's member that is no object must be a metric: a number in text is not silently dropped.
        ({"regression_metrics": {"mae": 3, "rmse": "0.4"}}, "'regression_metrics'.'rmse'"),
    ],
    ids=["bool", "text", "null", "list", "text-value", "bool-value", "text-in-group"],
)
def test_a_value_that_is_no_metric_is_refused_naming_its_key(section: dict[str, Any], key: str) -> None:
    quoted = key if key.startswith("'") else f"'{key}'"
    with pytest.raises(EvaluationOutputError, match=f"^where: {quoted} must be a number or an object with a numeric"):
        flatten_metrics(section, "where", "regression")


def test_an_empty_group_is_refused_naming_it() -> None:
    with pytest.raises(EvaluationOutputError, match=r"^where: 'regression_metrics' is an empty object"):
        flatten_metrics({"mae": 3, "regression_metrics": {}}, "where", "regression")


@pytest.mark.parametrize(
    "section",
    [
        {"regression_metrics": {"rmse": {"value": 0.4}}, "custom_metrics": {"rmse": 0.5}},
        {"regression_metrics": {"rmse": 0.4}, "rmse": 0.5},  # the plain one after the group
        {"rmse": 0.5, "regression_metrics": {"rmse": 0.4}},  # the plain one before the group
    ],
    ids=["two-groups", "plain-after-group", "plain-before-group"],
)
def test_a_metric_reported_twice_is_refused_naming_it(section: dict[str, Any]) -> None:
    with pytest.raises(EvaluationOutputError, match="the metric 'rmse' is reported twice"):
        flatten_metrics(section, "where", "regression")


def test_a_plain_metric_and_a_group_of_the_tasks_section_are_both_kept_in_the_statistics() -> None:
    flat, grouped = flatten_metrics({"mse": 0.2, "regression_metrics": {"rmse": {"value": 0.4}}}, "where", "regression")

    assert flat == {"mse": 0.2, "rmse": 0.4}
    assert grouped == {"regression_metrics": {"mse": {"value": 0.2}, "rmse": {"value": 0.4}}}


@pytest.mark.parametrize(
    ("task", "section"),
    [
        ("regression", "regression_metrics"),
        ("binary", "binary_classification_metrics"),
        ("multiclass", "multiclass_classification_metrics"),
        (None, "custom_metrics"),
    ],
)
def test_plain_metrics_are_grouped_under_the_tasks_section(task: str | None, section: str) -> None:
    flat, grouped = flatten_metrics({"loss": 0.2, "hit_rate": {"value": 0.7, "n": 10}}, "where", task)

    assert flat == {"loss": 0.2, "hit_rate": 0.7}
    assert grouped == {section: {"loss": {"value": 0.2}, "hit_rate": {"value": 0.7, "n": 10}}}


def test_plain_and_grouped_metrics_are_read_together() -> None:
    flat, grouped = flatten_metrics(
        {"custom_metrics": {"lift": 1.5}, "mae": 3, "regression_metrics": {"rmse": {"value": 0.4}}},
        "where",
        None,
    )

    assert flat == {"lift": 1.5, "mae": 3.0, "rmse": 0.4}
    assert grouped == {
        "custom_metrics": {"lift": {"value": 1.5}, "mae": {"value": 3}},
        "regression_metrics": {"rmse": {"value": 0.4}},
    }
