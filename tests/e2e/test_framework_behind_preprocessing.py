"""A framework's script (scikit-learn Script Mode) behind the preprocessing, through the local runtime.

examples/churn-xgboost with its built-in XGBoost swapped for a scikit-learn script of the user's own
(tests/e2e/models/churn_features/train.py): the run fits the preprocessing, trains the script on its output, gates
on the metric the script prints, and deploys preprocess -> the script's model -> postprocess, each container with
its own code: raw records in, labels out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from demo.churn_data import sample_records
from stacks.paths import PROJECT_ROOT
from tests.e2e.churn_pipeline import FIRST_END, ChurnPipeline, deployed_churn, synthesize_example

pytestmark = pytest.mark.e2e

NAME = "churn-features"
STACK = f"SageMakerRetraining-{NAME}"
SOURCE_DIR = "tests/e2e/models/churn_features"
GATE_METRIC = "validation:auc"


@pytest.fixture(scope="module")
def churn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChurnPipeline]:
    document = json.loads((PROJECT_ROOT / "examples/churn-xgboost/pipelines.json").read_text())
    (pipeline,) = document["pipelines"]
    pipeline.update(
        name=NAME,
        data_prefix=f"data/{NAME}",
        algorithm={
            "framework": "sklearn",
            "version": "1.2-1",
            "entry_point": "train.py",
            "source_dir": SOURCE_DIR,
            "metric_definitions": [{"Name": GATE_METRIC, "Regex": "validation:auc=([0-9.]+)"}],
        },
        hyperparameters={"C": 0.5},
        quality_gate={"metric": GATE_METRIC, "direction": "maximize", "threshold": 0.7},
        endpoint={**pipeline["endpoint"], "name": NAME},
    )
    pipeline.pop("batch_transform", None)
    pipeline.pop("evaluation", None)  # the example's evaluate.py loads XGBoost's model; this script's is sklearn's
    document.pop("$schema", None)
    config = tmp_path_factory.mktemp("config") / "pipelines.json"
    config.write_text(json.dumps(document))
    with deployed_churn(NAME, synthesize_example(str(config), STACK), STACK) as churn:
        yield churn


@pytest.fixture(scope="module")
def first_run(churn: ChurnPipeline) -> dict[str, Any]:
    return churn.run(FIRST_END)


def test_the_script_trains_on_the_preprocessing_output_and_the_gate_reads_its_metric(
    churn: ChurnPipeline, first_run: dict[str, Any]
) -> None:
    # GIVEN the first run on seven days of raw records (WHEN: the fixture)
    training = churn.client("sagemaker").describe_training_job(TrainingJobName=first_run["training"]["job_name"])

    # THEN the job ran the scikit-learn image with the script's Script Mode hyperparameters
    assert "/sagemaker-scikit-learn:1.2-1" in training["AlgorithmSpecification"]["TrainingImage"]
    assert training["HyperParameters"]["sagemaker_program"] == '"train.py"'
    assert training["HyperParameters"]["C"] == "0.5"
    # ... on the preprocessing's output, not the raw files
    (channel,) = training["InputDataConfig"]
    assert channel["DataSource"]["S3DataSource"]["S3Uri"] == first_run["preprocessing"]["training_data_uri"]
    # ... and the gate judged the AUC the script printed, read by the pipeline's metric definition
    final = {metric["MetricName"]: metric["Value"] for metric in training["FinalMetricDataList"]}
    assert final[GATE_METRIC] > 0.7
    assert (first_run["evaluation"]["metric"], first_run["evaluation"]["passed"]) == (GATE_METRIC, True)
    assert first_run["evaluation"]["value"] == pytest.approx(final[GATE_METRIC])


def test_each_container_serves_its_own_code(churn: ChurnPipeline, first_run: dict[str, Any], tmp_path: Path) -> None:
    # GIVEN the deployed model
    model_name = first_run["deployment"]["model_name"]
    model = churn.client("sagemaker").describe_model(ModelName=model_name)
    training = churn.client("sagemaker").describe_training_job(TrainingJobName=first_run["training"]["job_name"])

    # THEN the middle container is the script's: its image, its artifact, and its code from the job's
    # sourcedir.tar.gz, while the outer two load the preprocessing's code from their artifact
    hostnames = [container["ContainerHostname"] for container in model["Containers"]]
    assert hostnames == ["preprocess", "model", "postprocess"]
    preprocess, script, postprocess = (container["Environment"] for container in model["Containers"])
    assert model["Containers"][1]["ModelDataUrl"] == first_run["training"]["model_artifact"]
    assert script["SAGEMAKER_PROGRAM"] == "train.py"
    assert script["SAGEMAKER_SUBMIT_DIRECTORY"] == json.loads(training["HyperParameters"]["sagemaker_submit_directory"])
    assert script["SAGEMAKER_SUBMIT_DIRECTORY"].startswith("s3://")  # the asset, a gzipped tar
    assert (preprocess["SAGEMAKER_PROGRAM"], postprocess["SAGEMAKER_PROGRAM"]) == ("preprocess.py", "postprocess.py")
    assert preprocess["SAGEMAKER_SUBMIT_DIRECTORY"] == postprocess["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    # ... and the script's own model_fn and output_fn answer the preprocessing's features: one probability a line
    features, features_type = churn.serving_container(model_name, 0, tmp_path / "preprocess").invoke(
        b"plus,north,ios,35.50,12\nbasic,south,,,3\n", "text/csv", "*/*"
    )
    scores, scores_type = churn.serving_container(model_name, 1, tmp_path / "script").invoke(
        features, features_type, "*/*"
    )
    assert scores_type == "text/csv"
    assert all(0.0 <= float(line) <= 1.0 for line in scores.decode().splitlines())
    assert len(scores.decode().splitlines()) == 2


def test_raw_records_in_labels_out_better_than_the_majority_label(
    churn: ChurnPipeline, first_run: dict[str, Any]
) -> None:
    # GIVEN raw records the model never saw
    records = sample_records(200)

    # WHEN they are sent to the endpoint as they are
    answers = [json.loads(line) for line in churn.invoke("".join(r.csv() + "\n" for r in records)).splitlines()]

    # THEN each gets a label of the training data's, and the script's model learned the rule behind the data
    assert {answer["label"] for answer in answers} == {"churns", "stays"}
    correct = sum(answer["label"] == record.churn for answer, record in zip(answers, records, strict=True))
    majority = max(sum(record.churn == label for record in records) for label in ("churns", "stays"))
    assert correct > majority
