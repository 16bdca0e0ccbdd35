"""Built-in XGBoost behind the preprocessing, through the local runtime: examples/churn-xgboost end to end.

The same raw churn data and the same preprocessing as examples/churn, with SageMaker's built-in XGBoost
(binary:logistic, eval_metric auc) in place of Linear Learner: the run fits the preprocessing, trains XGBoost on
its output, scores the new and the production model on the held-out newest day with the example's own evaluate.py
(raw records through each model's preprocessing and XGBoost), gates on that AUC, deploys preprocess -> XGBoost ->
postprocess, and transforms the newest day; a new day retrains while the endpoint keeps answering.
"""

from __future__ import annotations

import csv
import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from demo.churn_data import sample_records
from tests.e2e.churn_pipeline import (
    FIRST_END,
    NEW_DAY,
    ChurnPipeline,
    calling_application,
    deployed_churn,
    synthesize_example,
)

pytestmark = pytest.mark.e2e

CONFIG_FILE = "examples/churn-xgboost/pipelines.json"
NAME = "churn-xgboost"
STACK = f"SageMakerRetraining-{NAME}"
GATE_METRIC = "auc"  # the example evaluate.py's, on the held-out day


@pytest.fixture(scope="module")
def churn() -> Iterator[ChurnPipeline]:
    with deployed_churn(NAME, synthesize_example(CONFIG_FILE, STACK), STACK) as churn:
        yield churn


@pytest.fixture(scope="module")
def first_run(churn: ChurnPipeline) -> dict[str, Any]:
    return churn.run(FIRST_END)


def test_the_run_trains_built_in_xgboost_on_the_preprocessed_data_and_gates_on_its_auc(
    churn: ChurnPipeline, first_run: dict[str, Any]
) -> None:
    # GIVEN the first run of the example on seven days of raw records (WHEN: the fixture)
    sagemaker = churn.client("sagemaker")
    training = sagemaker.describe_training_job(TrainingJobName=first_run["training"]["job_name"])

    # THEN the job ran SageMaker's XGBoost 1.7-1 image with the example's hyperparameters
    assert training["AlgorithmSpecification"]["TrainingImage"].endswith("/sagemaker-xgboost:1.7-1")
    assert training["HyperParameters"]["objective"] == "binary:logistic"
    assert training["HyperParameters"]["eval_metric"] == "auc"
    # ... on the preprocessing's output (label first, CSV), its one channel being train
    (channel,) = training["InputDataConfig"]
    source = channel["DataSource"]["S3DataSource"]
    assert (channel["ChannelName"], channel["ContentType"]) == ("train", "text/csv")
    assert source["S3Uri"] == first_run["preprocessing"]["training_data_uri"]
    # ... it reported the training AUC under SageMaker's name (no validation channel: the preprocessing's output is
    # the job's one input)
    final = {metric["MetricName"]: metric["Value"] for metric in training["FinalMetricDataList"]}
    assert final["train:auc"] > 0.7
    assert not any(name.startswith("validation:") for name in final)
    # ... and the gate judged the model on the AUC the example's evaluate.py found on the held-out newest day, raw
    # records through the model's own preprocessing (the first run: no production model to compare with)
    evaluation = first_run["evaluation"]
    assert (evaluation["metric"], evaluation["passed"]) == (GATE_METRIC, True)
    assert evaluation["value"] == evaluation["candidate_metrics"][GATE_METRIC] > 0.7
    assert evaluation["holdout"] == [f"s3://{churn.bucket}/{churn.prefix}/{FIRST_END.isoformat()}.csv"]
    assert evaluation["production_model"] is None
    assert first_run["holdout_evaluation"]["script"] == "evaluate.py"
    assert first_run["run"]["file_count"] == 6  # the seven days less the held-out one
    # ... and the artifact is the algorithm's: xgboost-model in model.tar.gz
    bucket, key = first_run["training"]["model_artifact"].removeprefix("s3://").split("/", 1)
    body = churn.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
        assert archive.getnames() == ["xgboost-model"]


def test_the_endpoint_serves_preprocess_then_xgboost_then_postprocess(
    churn: ChurnPipeline, first_run: dict[str, Any], tmp_path: Path
) -> None:
    # GIVEN the deployed model
    model_name = first_run["deployment"]["model_name"]
    model = churn.client("sagemaker").describe_model(ModelName=model_name)
    training = churn.client("sagemaker").describe_training_job(TrainingJobName=first_run["training"]["job_name"])

    # THEN it is a serial pipeline of the fitted preprocessing, the XGBoost image the job trained with, and the
    # postprocessing
    assert [c["ContainerHostname"] for c in model["Containers"]] == ["preprocess", "model", "postprocess"]
    assert model["InferenceExecutionConfig"] == {"Mode": "Serial"}
    xgboost = model["Containers"][1]
    assert xgboost["Image"] == training["AlgorithmSpecification"]["TrainingImage"]
    assert xgboost["ModelDataUrl"] == first_run["training"]["model_artifact"]
    assert model["Containers"][0]["Environment"]["SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"] == "text/csv"
    # ... each container takes what the one before answers: features as CSV in, one probability a line out
    record = "plus,north,ios,35.50,12\nbasic,south,,,3\n"
    preprocess = churn.serving_container(model_name, 0, tmp_path / "preprocess")
    features, features_type = preprocess.invoke(record.encode(), "text/csv", "*/*")
    scorer = churn.serving_container(model_name, 1, tmp_path / "xgboost")
    scores, scores_type = scorer.invoke(features, features_type, "*/*")
    assert (features_type, scores_type) == ("text/csv", "text/csv")
    probabilities = [float(line) for line in scores.decode().splitlines()]
    assert len(probabilities) == 2
    assert all(0.0 <= p <= 1.0 for p in probabilities)
    # ... so the endpoint's answer is the postprocessing's reading of those probabilities (of class 1, the second
    # of the classes the preprocessing fitted)
    class_one = preprocess.model["classes"][1]
    answers = [json.loads(line) for line in churn.invoke(record).splitlines()]
    expected = [p if answer["label"] == class_one else 1 - p for p, answer in zip(probabilities, answers, strict=True)]
    assert [answer["probability"] for answer in answers] == [round(p, 4) for p in expected]
    assert [answer["label"] == class_one for answer in answers] == [p > 0.5 for p in probabilities]


def test_raw_records_in_labels_out_better_than_the_majority_label(
    churn: ChurnPipeline, first_run: dict[str, Any]
) -> None:
    # GIVEN raw records the model never saw, one with fields missing, as CSV and as JSON lines
    records = sample_records(200)

    # WHEN they are sent to the endpoint as they are
    csv_answer = churn.invoke("\n".join([*(r.csv() for r in records), "plus,north,,,12"]) + "\n")
    json_answer = churn.invoke("".join(json.dumps(r.json()) + "\n" for r in records[:3]), "application/jsonlines")

    # THEN every record gets a label of the training data's with its probability, the same for either format
    answers = [json.loads(line) for line in csv_answer.splitlines()]
    assert len(answers) == len(records) + 1
    assert {a["label"] for a in answers} == {"churns", "stays"}
    assert all(0.5 <= a["probability"] <= 1 for a in answers)
    assert [json.loads(line) for line in json_answer.splitlines()] == answers[:3]
    # ... and XGBoost learned the rule behind the data
    correct = sum(a["label"] == r.churn for a, r in zip(answers, records, strict=False))
    majority = max(sum(r.churn == label for r in records) for label in ("churns", "stays"))
    assert correct > majority


def test_the_batch_transform_answers_the_newest_day_as_the_endpoint_does(
    churn: ChurnPipeline, first_run: dict[str, Any]
) -> None:
    # GIVEN the run's batch transform over the window's newest raw file
    job = churn.client("sagemaker").describe_transform_job(TransformJobName=first_run["batch_transform"]["job_name"])
    day_key = f"{churn.prefix}/{FIRST_END.isoformat()}.csv"
    s3 = churn.client("s3")

    # THEN it ran the pipeline model, and each of its lines is the endpoint's answer for that raw record
    assert (job["TransformJobStatus"], job["ModelName"]) == ("Completed", first_run["deployment"]["model_name"])
    out = s3.get_object(Bucket=churn.bucket, Key=f"predictions/{day_key}.out")["Body"].read().decode()
    raw = s3.get_object(Bucket=churn.bucket, Key=day_key)["Body"].read().decode()
    body = io.StringIO()
    csv.writer(body, lineterminator="\n").writerows(row[1:] for row in list(csv.reader(io.StringIO(raw)))[1:])
    expected = [json.loads(line) for line in churn.invoke(body.getvalue()).splitlines()]
    assert [json.loads(line) for line in out.splitlines()] == expected


def test_a_new_day_retrains_xgboost_and_the_endpoint_switches_with_zero_downtime(
    churn: ChurnPipeline, first_run: dict[str, Any]
) -> None:
    # GIVEN a new day of raw data
    churn.put_days(1, NEW_DAY)
    old_model = first_run["deployment"]["model_name"]

    # WHEN the next run retrains while an application keeps sending raw records
    with calling_application(churn, "plus,north,android,35.50,12\npro,west,web,120.00,48\n") as application:
        second = churn.run(NEW_DAY)

    # THEN no request failed while the endpoint switched to the new pipeline model
    assert application.failures == []
    assert application.answered > 0
    assert second["deployment"]["model_name"] != old_model
    endpoint = churn.client("sagemaker").describe_endpoint(EndpointName=churn.endpoint)
    assert endpoint["EndpointConfigName"] == second["deployment"]["endpoint_config_name"]
    # ... the gate compared the new model's AUC with production's, both on the new held-out day
    evaluation = second["evaluation"]
    assert evaluation["passed"] is True
    assert evaluation["production_model"] == old_model
    assert evaluation["production_value"] == evaluation["production_metrics"][GATE_METRIC]
    assert evaluation["holdout"] == [f"s3://{churn.bucket}/{churn.prefix}/{NEW_DAY.isoformat()}.csv"]
    # ... and the new endpoint answers labels
    assert {json.loads(line)["label"] for line in churn.invoke("pro,west,web,120.00,48\n").splitlines()} <= {
        "churns",
        "stays",
    }
