"""The held-out evaluation's numbers against moto's S3: a holdout manifest as CheckData writes it, the held-out files
(label first), each model's answers where its transform job writes them, and the reports beside them."""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest

from lambdas.check_data.core import DataFile, write_manifest
from lambdas.common.evaluation import EvaluationSettings
from lambdas.common.models import HoldoutEvaluationState
from lambdas.evaluate_model.holdout import EvaluationOutputError, answer_key, score_holdout

NOW = datetime(2026, 11, 22, 7, 30, 0, tzinfo=UTC)
BUCKET = "data"
RUN = "churn-20261122060000-1a2b3c4d"
BASE = f"s3://{BUCKET}/evaluation/churn/{RUN}"
# Two held-out files in both layouts CheckData reads, listed relative to the data prefix; label first.
FLAT, HIVE = "2026-11-20.csv", "dt=2026-11-21/part-0.csv"
HELD_OUT = {FLAT: b"1,basic,12\n0,premium,3\n1,basic,7\n", HIVE: b"0,premium,1\n1,basic,30\n"}
BINARY = EvaluationSettings(
    task="binary",
    algorithm="linear-learner",
    hyperparameters={"predictor_type": "binary_classifier"},
    accept="application/jsonlines",
    instance_type="ml.m5.large",
    output_prefix="evaluation/churn",
    max_wait_seconds=3600,
)
REGRESSION = replace(BINARY, task="regression", algorithm="xgboost", hyperparameters={}, accept="text/csv")


@pytest.fixture
def s3(aws: None) -> Any:
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def holdout(s3: Any, files: dict[str, bytes] = HELD_OUT) -> str:
    """The held-out files under the data prefix and the manifest CheckData writes of them; its URI."""
    for key, body in files.items():
        s3.put_object(Bucket=BUCKET, Key=f"daily/churn/{key}", Body=body)
    listed = [DataFile(key=f"daily/churn/{key}", day=date(2026, 11, 21), size=10) for key in files]
    return write_manifest(s3, BUCKET, f"manifests/churn/{RUN}.holdout.manifest", "daily/churn", listed)


def answer(s3: Any, role: str, key: str, *lines: str) -> None:
    """A model's answers to one held-out file, where its transform job writes them: `<output>/<key>.out`."""
    s3.put_object(Bucket=BUCKET, Key=f"evaluation/churn/{RUN}/{role}/{key}.out", Body="\n".join(lines) + "\n")


def evaluation(manifest: str, *, production: bool = True) -> HoldoutEvaluationState:
    return HoldoutEvaluationState(
        holdout_uri=manifest,
        candidate_model=RUN,
        candidate_job=f"{RUN}-new",
        candidate_output_uri=f"{BASE}/candidate/",
        production_model="churn-20261121060000-0badc0de" if production else None,
        production_job=f"{RUN}-prod" if production else None,
        production_output_uri=f"{BASE}/production/" if production else None,
        job_name=f"{RUN}-new",
        status="Completed",
        failure_reason=None,
        started_at="2026-11-22T07:00:00.000Z",
        waited_seconds=600,
        wait_exceeded=False,
        poll_seconds=60,
    )


def read_json(s3: Any, uri: str) -> Any:
    return json.loads(s3.get_object(Bucket=BUCKET, Key=uri.removeprefix(f"s3://{BUCKET}/"))["Body"].read())


def linear_learner(*answers: tuple[float, int]) -> list[str]:
    """Linear Learner's binary answers in JSON Lines: the probability of class 1 and the predicted class."""
    return [json.dumps({"score": score, "predicted_label": label}) for score, label in answers]


def answer_binary(s3: Any) -> None:
    """The new model right on every record (labels 1 0 1 | 0 1); production answering 1 at 0.7 to each."""
    answer(s3, "candidate", FLAT, *linear_learner((0.9, 1), (0.2, 0), (0.8, 1)))
    answer(s3, "candidate", HIVE, *linear_learner((0.1, 0), (0.6, 1)))
    answer(s3, "production", FLAT, *linear_learner((0.7, 1), (0.7, 1), (0.7, 1)))
    answer(s3, "production", HIVE, *linear_learner((0.7, 1), (0.7, 1)))


def test_gzip_held_out_files_are_read_decompressed_as_the_transform_jobs_read_them(s3: Any) -> None:
    # GIVEN the same holdout as .csv.gz files, and both models' answers named after them
    manifest = holdout(s3, {f"{key}.gz": gzip.compress(body) for key, body in HELD_OUT.items()})
    for role, answers in (("candidate", [(0.9, 1), (0.2, 0), (0.8, 1)]), ("production", [(0.7, 1)] * 3)):
        answer(s3, role, f"{FLAT}.gz", *linear_learner(*answers))
    for role, answers in (("candidate", [(0.1, 0), (0.6, 1)]), ("production", [(0.7, 1)] * 2)):
        answer(s3, role, f"{HIVE}.gz", *linear_learner(*answers))

    scores = score_holdout(s3, evaluation(manifest), BINARY, now=NOW)

    # THEN the labels are the decompressed files' first column: the scores are the plain holdout's
    assert scores.records == 5
    assert scores.candidate["accuracy"] == 1.0
    assert scores.production is not None
    assert scores.production["accuracy"] == pytest.approx(3 / 5)


def test_a_held_out_gzip_file_that_does_not_decompress_is_named(s3: Any) -> None:
    manifest = holdout(s3, {f"{FLAT}.gz": HELD_OUT[FLAT]})

    with pytest.raises(EvaluationOutputError, match=rf"daily/churn/{FLAT}\.gz cannot be decompressed"):
        score_holdout(s3, evaluation(manifest, production=False), BINARY, now=NOW)


def test_both_models_are_scored_on_the_same_held_out_records(s3: Any) -> None:
    # GIVEN a holdout of five records in two files, and both models' answers to them
    manifest = holdout(s3)
    answer_binary(s3)

    # WHEN the evaluation is scored
    scores = score_holdout(s3, evaluation(manifest), BINARY, now=NOW)

    # THEN each model's metrics come from its answers beside the same five labels
    assert (scores.task, scores.records) == ("binary", 5)
    assert scores.files == [f"s3://{BUCKET}/daily/churn/{FLAT}", f"s3://{BUCKET}/daily/churn/{HIVE}"]
    perfect = ("accuracy", "precision", "recall", "f1", "auc")
    assert {name: scores.candidate[name] for name in perfect} == dict.fromkeys(perfect, 1.0)
    assert scores.production is not None
    assert scores.production["accuracy"] == pytest.approx(3 / 5)
    assert scores.production["precision"] == pytest.approx(3 / 5)
    assert scores.production["recall"] == 1.0
    assert scores.production["f1"] == pytest.approx(2 * 3 / (2 * 3 + 2))
    assert scores.production["auc"] == 0.5  # one score for every record: no ranking at all
    assert scores.production["logloss"] == pytest.approx(-(3 * math.log(0.7) + 2 * math.log(0.3)) / 5)
    assert set(scores.candidate) == set(scores.production)


def test_the_reports_are_written_beside_the_answers(s3: Any) -> None:
    manifest = holdout(s3)
    answer_binary(s3)

    scores = score_holdout(s3, evaluation(manifest), BINARY, now=NOW)

    # THEN evaluation.json holds both models' metrics on the holdout
    assert scores.report_uri == f"{BASE}/evaluation.json"
    assert read_json(s3, scores.report_uri) == {
        "task": "binary",
        "holdout": manifest,
        "records": 5,
        "evaluated_at": "2026-11-22T07:30:00.000Z",
        "candidate": {"model": RUN, "metrics": scores.candidate},
        "production": {"model": "churn-20261121060000-0badc0de", "metrics": scores.production},
    }
    # AND each model's statistics are in Model Monitor's model-quality format, the new model's for its version
    assert scores.candidate_statistics_uri == f"{BASE}/candidate-statistics.json"
    for role, metrics in (("candidate", scores.candidate), ("production", scores.production or {})):
        statistics = read_json(s3, f"{BASE}/{role}-statistics.json")
        assert statistics["dataset"] == {"item_count": 5, "evaluation_time": "2026-11-22T07:30:00.000Z"}
        section = statistics["binary_classification_metrics"]
        assert {name: section[name]["value"] for name in metrics} == metrics
        assert section["confusion_matrix"]["0"]["1"] == (0 if role == "candidate" else 2)  # false positives


def test_xgboost_answers_a_value_a_line_and_without_production_only_the_new_model_is_scored(s3: Any) -> None:
    # GIVEN a regression holdout, an XGBoost model's answers (str(prediction) a line) and no production model
    manifest = holdout(s3, {FLAT: b"3.0,a\n5.0,b\n", HIVE: b"10.0,c\n"})
    answer(s3, "candidate", FLAT, "4.0", "5.0")
    answer(s3, "candidate", HIVE, "8.0")

    scores = score_holdout(s3, evaluation(manifest, production=False), REGRESSION, now=NOW)

    # THEN its errors are 1, 0 and 2
    assert scores.candidate["mae"] == pytest.approx(1.0)
    assert scores.candidate["mse"] == pytest.approx(5 / 3)
    assert scores.candidate["rmse"] == pytest.approx(math.sqrt(5 / 3))
    # AND the report says there was nothing to compare with, and no production statistics are written
    assert scores.production is None
    assert read_json(s3, scores.report_uri)["production"] is None
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"evaluation/churn/{RUN}/")["Contents"]]
    assert f"evaluation/churn/{RUN}/production-statistics.json" not in keys
    assert read_json(s3, scores.candidate_statistics_uri)["regression_metrics"]["mae"]["value"] == pytest.approx(1.0)


def test_a_missing_answer_file_names_it(s3: Any) -> None:
    # GIVEN production's job wrote the answers to one of the two held-out files only
    manifest = holdout(s3)
    answer_binary(s3)
    s3.delete_object(Bucket=BUCKET, Key=f"evaluation/churn/{RUN}/production/{HIVE}.out")

    with pytest.raises(EvaluationOutputError, match=f"production model's answers for {HIVE} are missing") as raised:
        score_holdout(s3, evaluation(manifest), BINARY, now=NOW)
    assert f"{BASE}/production/{HIVE}.out" in str(raised.value)


@pytest.mark.parametrize(
    ("answers", "count"),
    [(linear_learner((0.9, 1), (0.2, 0)), 2), (linear_learner((0.9, 1), (0.2, 0), (0.8, 1), (0.8, 1)), 4)],
    ids=["fewer", "more"],
)
def test_answers_that_do_not_line_up_with_a_files_records_name_the_file(
    s3: Any, answers: list[str], count: int
) -> None:
    # GIVEN the new model answered another number of lines than the file has records
    manifest = holdout(s3)
    answer_binary(s3)
    answer(s3, "candidate", FLAT, *answers)

    with pytest.raises(EvaluationOutputError, match=f"candidate model answered {count} of the 3 records") as raised:
        score_holdout(s3, evaluation(manifest), BINARY, now=NOW)
    assert f"held-out file {FLAT}" in str(raised.value)
    # AND no report claims a result
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"evaluation/churn/{RUN}/evaluation.json")


def test_a_label_that_is_not_a_number_names_the_file_and_line(s3: Any) -> None:
    manifest = holdout(s3, {FLAT: b"1,basic\nyes,premium\n"})
    answer(s3, "candidate", FLAT, *linear_learner((0.9, 1), (0.2, 0)))

    with pytest.raises(EvaluationOutputError, match=rf"s3://{BUCKET}/daily/churn/{FLAT} line 2: the label 'yes'"):
        score_holdout(s3, evaluation(manifest, production=False), BINARY, now=NOW)


@pytest.mark.parametrize(
    ("written", "key", "found"),
    [
        # as the local runtime (and SageMaker for an S3Prefix input) names it: the key below the manifest's prefix
        (["out/2026-11-21.csv.out", "out/2026-11-20.csv.out"], "2026-11-21.csv", "out/2026-11-21.csv.out"),
        (["out/dt=2026-11-21/part-0.csv.out"], "dt=2026-11-21/part-0.csv", "out/dt=2026-11-21/part-0.csv.out"),
        # under more folders: found by the key's tail
        (["out/data/churn/dt=2026-11-21/part-0.csv.out"], "dt=2026-11-21/part-0.csv",
         "out/data/churn/dt=2026-11-21/part-0.csv.out"),
        # by the file name alone, when only one answer file has it
        (["out/part-0.csv.out"], "dt=2026-11-21/part-0.csv", "out/part-0.csv.out"),
        # two days' part-0 by name alone would be a guess: not found
        (["out/a/part-0.csv.out", "out/b/part-0.csv.out"], "dt=2026-11-21/part-0.csv", None),
        ([], "2026-11-21.csv", None),
    ],
)  # fmt: skip
def test_an_answer_file_is_found_however_the_job_named_it_below_its_output(
    written: list[str], key: str, found: str | None
) -> None:
    assert answer_key("out/", written, key) == found
