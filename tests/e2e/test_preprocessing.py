"""A pipeline with preprocessing, through the local runtime: raw categorical records in, readable labels out.

The churn example (examples/churn) fits its scikit-learn preprocessing in each run's processing job, trains Linear
Learner on the transformed data and deploys preprocess → Linear Learner → postprocess as one endpoint.
"""

from __future__ import annotations

import csv
import io
import json
import shlex
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import joblib
import pytest

from demo import churn_data
from demo.churn_data import FIELDS, churn_days, sample_records
from local_runtime.runtime import QUIET_FUNCTIONS, LocalRuntime, SlackTarget
from local_runtime.slack_api import LocalSlackApi
from operator_cli import cli as operator
from tests.e2e.churn_pipeline import (
    CHANNEL,
    FIRST_END,
    NEW_DAY,
    TOKEN,
    ChurnPipeline,
    calling_application,
    deployed_churn,
    synthesize_example,
)

pytestmark = pytest.mark.e2e

CONFIG_FILE = "examples/churn/pipelines.json"
STACK = "SageMakerRetraining-churn"
PREFIX = "data/churn"


@pytest.fixture(scope="module")
def churn_template() -> dict[str, Any]:
    return synthesize_example(CONFIG_FILE, STACK)


@pytest.fixture(scope="module")
def churn(churn_template: dict[str, Any]) -> Iterator[ChurnPipeline]:
    with deployed_churn("churn", churn_template, STACK) as churn:
        yield churn


@pytest.fixture(scope="module")
def first_run(churn: ChurnPipeline) -> dict[str, Any]:
    return churn.run(FIRST_END)


def test_the_run_fits_the_preprocessing_and_deploys_a_three_container_pipeline(
    churn: ChurnPipeline, first_run: dict[str, Any]
) -> None:
    # GIVEN a run of the churn pipeline on seven days of raw records (WHEN: the fixture)
    preprocessing = first_run["preprocessing"]
    model = churn.client("sagemaker").describe_model(ModelName=first_run["deployment"]["model_name"])

    # THEN its processing job completed and wrote the transformed data and the fitted artifact of the run
    job = churn.client("sagemaker").describe_processing_job(ProcessingJobName=preprocessing["job_name"])
    assert job["ProcessingJobStatus"] == "Completed"
    assert preprocessing["model_artifact"].endswith(
        f"preprocessed/churn/{first_run['run']['run_id']}/model/model.tar.gz"
    )
    # ... the training job trained on the transformed data, not on the raw files
    training = churn.client("sagemaker").describe_training_job(TrainingJobName=first_run["training"]["job_name"])
    source = training["InputDataConfig"][0]["DataSource"]["S3DataSource"]
    assert (source["S3DataType"], source["S3Uri"]) == ("S3Prefix", preprocessing["training_data_uri"])
    # ... and the endpoint serves preprocess -> Linear Learner -> postprocess, in series
    assert [c["ContainerHostname"] for c in model["Containers"]] == ["preprocess", "model", "postprocess"]
    assert model["InferenceExecutionConfig"] == {"Mode": "Serial"}
    assert model["Containers"][0]["ModelDataUrl"] == preprocessing["model_artifact"]
    assert model["Containers"][1]["ModelDataUrl"] == first_run["training"]["model_artifact"]


def test_raw_categorical_records_in_readable_labels_out(churn: ChurnPipeline, first_run: dict[str, Any]) -> None:
    # GIVEN raw records the model never saw, one with a field missing, as CSV and as JSON lines
    records = sample_records(200)
    with_gap = "plus,north,,,12"

    # WHEN they are sent to the endpoint as they are
    csv_answer = churn.invoke("\n".join([*(r.csv() for r in records), with_gap]) + "\n")
    json_answer = churn.invoke("".join(json.dumps(r.json()) + "\n" for r in records[:3]), "application/jsonlines")

    # THEN every record gets a label of the training data's, with its probability
    answers = [json.loads(line) for line in csv_answer.splitlines()]
    assert len(answers) == len(records) + 1
    assert {a["label"] for a in answers} == {"churns", "stays"}
    assert all(0.5 <= a["probability"] <= 1 for a in answers)
    # ... the same records sent as JSON get the same answers
    assert [json.loads(line) for line in json_answer.splitlines()] == answers[:3]
    # ... and the model learned the rule behind the data: better than always answering the majority label
    correct = sum(a["label"] == r.churn for a, r in zip(answers, records, strict=False))
    majority = max(sum(r.churn == label for r in records) for label in ("churns", "stays"))
    assert correct > majority


def test_a_raw_row_yields_the_same_features_at_training_and_at_inference(
    churn: ChurnPipeline, first_run: dict[str, Any], tmp_path: Path
) -> None:
    # GIVEN the transformed training data the run's processing job wrote, and the raw rows it read (in file order:
    # with preprocessing every day of the window trains)
    preprocessing = first_run["preprocessing"]
    bucket, prefix = preprocessing["training_data_uri"].removeprefix("s3://").split("/", 1)
    s3 = churn.client("s3")
    trained = s3.get_object(Bucket=bucket, Key=f"{prefix}train.csv")["Body"].read().decode().splitlines()
    raw_rows = []
    for raw in churn_days(days=7, end=FIRST_END, prefix=PREFIX):
        body = s3.get_object(Bucket=churn.bucket, Key=raw.key)["Body"].read().decode()
        raw_rows += [row[1:] for row in list(csv.reader(io.StringIO(body)))[1:]]  # no header, no label

    # WHEN the same raw rows go through the deployed model's first container, as live requests do
    preprocess = churn.serving_container(first_run["deployment"]["model_name"], 0, tmp_path / "preprocess")
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(raw_rows)
    body, content_type = preprocess.invoke(out.getvalue().encode(), "text/csv", "text/csv")

    # THEN each row's features are exactly the ones training saw for it, label column aside
    served = body.decode().splitlines()
    assert content_type == "text/csv"
    assert len(served) == len(trained) == len(raw_rows)
    assert served == [line.split(",", 1)[1] for line in trained]


def test_after_deploying_the_run_transforms_the_newest_days_raw_file_with_the_pipeline_model(
    churn: ChurnPipeline, first_run: dict[str, Any]
) -> None:
    # GIVEN the run's batch transform (after the deployment) over the window's newest day
    transform = first_run["batch_transform"]
    job = churn.client("sagemaker").describe_transform_job(TransformJobName=transform["job_name"])
    day_key = f"{PREFIX}/{FIRST_END.isoformat()}.csv"

    # THEN it ran the deployed pipeline model over that day's raw file, as exported (header, label first)
    assert job["TransformJobStatus"] == "Completed"
    assert job["ModelName"] == first_run["deployment"]["model_name"]
    manifest_key = transform["input_uri"].removeprefix(f"s3://{churn.bucket}/")
    listed = json.loads(churn.client("s3").get_object(Bucket=churn.bucket, Key=manifest_key)["Body"].read())
    assert listed == [{"prefix": f"s3://{churn.bucket}/{PREFIX}/"}, day_key.removeprefix(f"{PREFIX}/")]
    # ... wrote the predictions beside it under the predictions prefix, never among the data
    assert transform["output_uri"] == f"s3://{churn.bucket}/predictions/{PREFIX}/"
    out = churn.client("s3").get_object(Bucket=churn.bucket, Key=f"predictions/{day_key}.out")["Body"].read()
    assert not churn.client("s3").list_objects_v2(Bucket=churn.bucket, Prefix=f"{PREFIX}/").get("KeyCount", 0) > 7
    # ... one answer per record, each the endpoint's answer for that raw record
    raw = churn.client("s3").get_object(Bucket=churn.bucket, Key=day_key)["Body"].read().decode()
    records = [row[1:] for row in list(csv.reader(io.StringIO(raw)))[1:]]
    body = io.StringIO()
    csv.writer(body, lineterminator="\n").writerows(records)
    expected = [json.loads(line) for line in churn.invoke(body.getvalue()).splitlines()]
    assert [json.loads(line) for line in out.decode().splitlines()] == expected
    # ... and the team heard of it in Slack, after the deployment: the message names the predictions
    texts = [message.block_text for message in churn.slack.messages]
    deployed = next(i for i, text in enumerate(texts) if "new model deployed" in text)
    written = next(i for i, text in enumerate(texts) if "predictions for the newest day written" in text)
    assert deployed < written
    assert f"s3://{churn.bucket}/predictions/{PREFIX}/" in texts[written]


def test_a_new_category_in_the_window_deploys_preprocessing_that_knows_it_with_zero_downtime(
    churn: ChurnPipeline, first_run: dict[str, Any], tmp_path: Path
) -> None:
    # GIVEN a new day of data in which a plan never seen before appears
    (new_day,) = churn_days(days=1, end=NEW_DAY, prefix=PREFIX, plans=("basic", "plus", "pro", "enterprise"))
    assert b"enterprise" in new_day.body
    churn.client("s3").put_object(Bucket=churn.bucket, Key=new_day.key, Body=new_day.body)
    old_model = first_run["deployment"]["model_name"]
    enterprise_row = "enterprise,west,ios,80.00,40"

    # WHEN the next run retrains while an application keeps sending raw records
    with calling_application(churn, "plus,north,android,35.50,12\n" + enterprise_row + "\n") as application:
        second = churn.run(NEW_DAY)

    # THEN no request failed while the endpoint switched to the new pipeline model
    assert application.failures == []
    assert application.answered > 0
    new_model = second["deployment"]["model_name"]
    assert new_model != old_model
    endpoint = churn.client("sagemaker").describe_endpoint(EndpointName=churn.endpoint)
    assert endpoint["EndpointConfigName"] == second["deployment"]["endpoint_config_name"]
    # ... the new run's preprocessing knows the new plan, the old one did not
    old = churn.serving_container(old_model, 0, tmp_path / "old")
    new = churn.serving_container(new_model, 0, tmp_path / "new")
    old_plans = old.model["transformer"].named_transformers_["categories"].categories_[0]
    new_plans = new.model["transformer"].named_transformers_["categories"].categories_[0]
    assert "enterprise" not in list(old_plans)
    assert "enterprise" in list(new_plans)
    # ... so the new endpoint encodes the new plan as its own feature, where the old one saw no plan at all
    old_features = [
        float(v) for v in old.invoke(enterprise_row.encode(), "text/csv", "text/csv")[0].decode().split(",")
    ]
    new_features = [
        float(v) for v in new.invoke(enterprise_row.encode(), "text/csv", "text/csv")[0].decode().split(",")
    ]
    assert sum(old_features[: len(old_plans)]) == 0.0
    assert new_features[list(new_plans).index("enterprise")] == 1.0
    assert len(new_features) == len(old_features) + 1
    # ... and the artifact on disk says the same as the loaded one
    fitted = joblib.load(tmp_path / "new" / "model" / "model.joblib")
    assert list(fitted["transformer"].named_transformers_["categories"].categories_[0]) == list(new_plans)
    assert FIELDS[0] == "plan"


def test_a_failed_batch_transform_is_reported_and_the_deployment_stands(churn: ChurnPipeline) -> None:
    # GIVEN a newest day whose data sits in both layouts, so which file to transform would be a guess
    (day,) = churn_days(days=1, end=date(2026, 3, 10), prefix=PREFIX)
    s3 = churn.client("s3")
    s3.put_object(Bucket=churn.bucket, Key=day.key, Body=day.body)
    s3.put_object(Bucket=churn.bucket, Key=f"{PREFIX}/dt=2026-03-10/part-0.csv", Body=day.body)
    sent = len(churn.slack.messages)

    # WHEN the next run trains on it and deploys
    record = churn.run_record(date(2026, 3, 10))

    # THEN the transform failed before any job started, and the run still ended Deployed
    output = record.output
    assert output["transform_error"]["Error"] == "TransformRequestError"
    assert "both layouts" in output["transform_error"]["Cause"]
    entered = record.states_entered()
    assert entered[-3:] == ["StartBatchTransform", "NotifyBatchTransformFailed", "Deployed"]
    # ... the model it trained serves, and the watermark moved to the new day: the deployment stands
    endpoint = churn.client("sagemaker").describe_endpoint(EndpointName=churn.endpoint)
    assert endpoint["EndpointConfigName"] == output["deployment"]["endpoint_config_name"]
    assert output["watermark"]["newest_data_date"] == "2026-03-10"
    # ... and Slack says what failed, after saying the model was deployed
    texts = [message.block_text for message in churn.slack.messages[sent:]]
    assert "new model deployed" in texts[-2]
    assert "batch transform failed, the new model serves regardless" in texts[-1]
    assert "TransformRequestError" in texts[-1]
    assert "both layouts" in texts[-1]


README = Path(__file__).parents[2] / "README.md"


def readme_example() -> list[str]:
    """The commands of the README's raw-records example, in order (without the `$ `)."""
    text = README.read_text()
    start = text.index("<!-- raw-records-example")
    block = text[text.index("```", start) + 3 : text.index("```", text.index("```", start) + 3)]
    return [line[2:] for line in block.splitlines() if line.startswith("$ ")]


def test_the_readme_raw_records_example_runs_as_written(
    churn_template: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN the README's commands, and a fresh churn pipeline served locally (what `make serve CONFIG=...` does)
    commands = readme_example()
    assert (
        commands[0]
        == "make serve CONFIG=examples/churn/pipelines.json          # terminal 1: the local AWS on 127.0.0.1:4566"
    )
    template = churn_template
    monkeypatch.chdir(tmp_path)
    with LocalSlackApi(valid_token=TOKEN, channels=(CHANNEL,)) as slack, LocalRuntime() as runtime:
        runtime.deploy_template(
            template,
            stack_name=STACK,
            slack=SlackTarget(api_url=slack.base_url, token=TOKEN),
            function_environment=QUIET_FUNCTIONS,
        )
        outputs = []
        # WHEN each later command runs as written, against this local AWS
        for command in commands[1:]:
            if command.startswith("printf "):
                subprocess.run(command, shell=True, check=True, cwd=tmp_path)
                continue
            args = shlex.split(command.replace("http://127.0.0.1:4566", runtime.endpoint_url))
            # The console script's entry point, or a module run with python -m: the same main() in-process.
            entries = {("python", "-m", "demo.churn_data"): churn_data.main, ("sagemaker-retraining",): operator.main}
            prefix = next((prefix for prefix in entries if tuple(args[: len(prefix)]) == prefix), None)
            assert prefix is not None, command
            code = entries[prefix](args[len(prefix) :])
            outputs.append(capsys.readouterr().out)
            # THEN every command succeeds
            assert code == 0, (command, outputs[-1])

    # ... the data went up, the run fitted the preprocessing, trained, deployed and transformed, and the endpoint
    # answered the raw records with labels
    uploaded, followed, predicted = outputs
    assert uploaded.startswith("uploaded 7 days (560 records")
    assert "✓ StartPreprocessing" in followed
    assert "SUCCEEDED: deployed" in followed
    assert "predictions in s3://" in followed
    rows = [line for line in predicted.splitlines() if line.strip()[:1].isdigit()]
    assert len(rows) == 3
    assert all('"label": "churns"' in row or '"label": "stays"' in row for row in rows)
