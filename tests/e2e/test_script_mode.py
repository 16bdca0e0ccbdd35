"""Your own scikit-learn script through the whole pipeline locally (examples/churn-sklearn): Script Mode.

The example's train.py reads the churn example's raw daily files (header, text categories, gaps) from
SM_CHANNEL_TRAIN, takes its hyperparameters as arguments, prints `validation:f1=...` for the pipeline's
metric_definitions and saves to SM_MODEL_DIR; the same file's model_fn/input_fn/predict_fn/output_fn serve the
endpoint from the S3 sourcedir.tar.gz, as the SageMaker Python SDK deploys a scikit-learn model.
"""

from __future__ import annotations

import io
import json
import shlex
import subprocess
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from demo import churn_data
from demo.churn_data import churn_days, sample_records
from local_runtime.deploy import DeployedPipeline, ExecutionRecord, wait_for_execution
from local_runtime.runtime import QUIET_FUNCTIONS, LocalRuntime, SlackTarget, synthesize
from local_runtime.slack_api import LocalSlackApi
from operator_cli import cli as operator

pytestmark = pytest.mark.e2e

CONFIG_FILE = "examples/churn-sklearn/pipelines.json"
NAME = "churn-sklearn"
STACK = f"SageMakerRetraining-{NAME}"
TOKEN, CHANNEL = "xoxb-churn-sklearn-e2e", "#ml-alerts"
FIRST_END, NEW_DAY, BAD_DAY = date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 9)
PREFIX = f"data/{NAME}"
METRIC = "validation:f1"


@dataclass
class Scripted:
    runtime: LocalRuntime
    pipeline: DeployedPipeline
    slack: LocalSlackApi

    @property
    def bucket(self) -> str:
        return self.pipeline.stack.outputs["DataBucketName"]

    def client(self, service: str) -> Any:
        return self.runtime.client(service)

    def put(self, key: str, body: bytes) -> None:
        self.client("s3").put_object(Bucket=self.bucket, Key=key, Body=body)

    def run(self, end: date) -> ExecutionRecord:
        arn = self.client("stepfunctions").start_execution(
            stateMachineArn=self.pipeline.state_machine_arn,
            name=f"{NAME}-{uuid.uuid4().hex[:8]}",
            input=json.dumps({"trigger": "manual", "end_date": end.isoformat()}),
        )["executionArn"]
        return wait_for_execution(self.runtime.aws, arn, region=self.runtime.region, timeout_seconds=240)

    def invoke(self, body: str, content_type: str = "text/csv", accept: str | None = None) -> tuple[str, str]:
        extra = {"Accept": accept} if accept else {}
        answer = self.client("sagemaker-runtime").invoke_endpoint(
            EndpointName=NAME, ContentType=content_type, Body=body.encode(), **extra
        )
        return answer["Body"].read().decode(), answer["ContentType"]

    def serving_config(self) -> str:
        return str(self.client("sagemaker").describe_endpoint(EndpointName=NAME)["EndpointConfigName"])


@pytest.fixture(scope="module")
def scripted() -> Iterator[Scripted]:
    template = synthesize({"config_file": CONFIG_FILE})[STACK]
    with LocalSlackApi(valid_token=TOKEN, channels=(CHANNEL,)) as slack, LocalRuntime() as runtime:
        pipeline = runtime.deploy_template(
            template,
            stack_name=STACK,
            slack=SlackTarget(api_url=slack.base_url, token=TOKEN),
            function_environment=QUIET_FUNCTIONS,
        )
        scripted = Scripted(runtime, pipeline, slack)
        for raw in churn_days(days=7, end=FIRST_END, prefix=PREFIX):
            scripted.put(raw.key, raw.body)
        yield scripted


@pytest.fixture(scope="module")
def first_run(scripted: Scripted) -> dict[str, Any]:
    record = scripted.run(FIRST_END)
    assert record.status == "SUCCEEDED", record.cause
    output: dict[str, Any] = record.output
    return output


def test_the_script_trains_with_its_arguments_and_its_logged_metric_passes_the_gate(
    scripted: Scripted, first_run: dict[str, Any]
) -> None:
    # GIVEN the first run of the example on seven days of raw records (WHEN: the fixture)
    sagemaker = scripted.client("sagemaker")
    job = sagemaker.describe_training_job(TrainingJobName=first_run["training"]["job_name"])

    # THEN the job ran the example's script from the packed source directory, its hyperparameters JSON-encoded
    hyperparameters = job["HyperParameters"]
    assert hyperparameters["sagemaker_program"] == '"train.py"'
    submit_directory = json.loads(hyperparameters["sagemaker_submit_directory"])
    assert submit_directory.startswith("s3://")
    assert submit_directory.endswith(".gz")
    assert hyperparameters["class_weight"] == '"balanced"'  # the script's argparse choices refuse the quoted form
    assert job["TrainingJobStatus"] == "Completed"
    # ... the script's log line became the metric its definition names, with the printed value
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert set(metrics) == {"validation:f1", "validation:accuracy", "train:accuracy"}
    assert 0.6 <= metrics[METRIC] <= 1
    # ... and EvaluateModel judged that metric and passed it: the gate's threshold is 0.6
    evaluation = first_run["evaluation"]
    assert (evaluation["metric"], evaluation["passed"]) == (METRIC, True)
    assert evaluation["value"] == pytest.approx(metrics[METRIC])
    # ... the artifact holds what the script saved, and the model serves it with the code from the sourcedir
    model = sagemaker.describe_model(ModelName=first_run["deployment"]["model_name"])
    environment = model["PrimaryContainer"]["Environment"]
    assert environment["SAGEMAKER_PROGRAM"] == "train.py"
    assert environment["SAGEMAKER_SUBMIT_DIRECTORY"] == submit_directory
    bucket, key = first_run["training"]["model_artifact"].removeprefix("s3://").split("/", 1)
    artifact = scripted.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(artifact), mode="r:gz") as archive:
        assert archive.getnames() == ["model.joblib"]


def test_the_endpoint_answers_raw_records_through_the_scripts_handlers(
    scripted: Scripted, first_run: dict[str, Any]
) -> None:
    # GIVEN raw records the model never saw, and one with the device and spend missing
    records = sample_records(200)
    csv_body = "\n".join([*(r.csv() for r in records), "basic,south,,,3"]) + "\n"

    # WHEN they are sent as CSV (the default answer), as JSON Lines and as JSON objects
    body, content_type = scripted.invoke(csv_body)
    lines, lines_type = scripted.invoke(
        "".join(json.dumps(r.json()) + "\n" for r in records[:3]), "application/jsonlines", "application/jsonlines"
    )
    document, _ = scripted.invoke(json.dumps({"instances": [r.json() for r in records[:3]]}), "application/json")

    # THEN input_fn read every record, predict_fn labelled it, output_fn wrote {"predictions": [...]}
    assert content_type == "application/json"
    predictions = json.loads(body)["predictions"]
    assert len(predictions) == len(records) + 1
    assert {p["predicted_label"] for p in predictions} == {"churns", "stays"}
    assert all(0.5 <= p["score"] <= 1 for p in predictions)
    # ... the same records get the same answers in the other formats
    assert lines_type == "application/jsonlines"
    assert [json.loads(line) for line in lines.splitlines()] == predictions[:3]
    assert json.loads(document)["predictions"] == predictions[:3]
    # ... and the model learned the rule behind the data: better than always answering the majority label
    correct = sum(p["predicted_label"] == r.churn for p, r in zip(predictions, records, strict=False))
    majority = max(sum(r.churn == label for r in records) for label in ("churns", "stays"))
    assert correct > majority


def test_a_new_day_retrains_and_deploys_with_zero_downtime(scripted: Scripted, first_run: dict[str, Any]) -> None:
    # GIVEN a new day of data
    (new_day,) = churn_days(days=1, end=NEW_DAY, prefix=PREFIX)
    scripted.put(new_day.key, new_day.body)
    row = "plus,north,android,35.50,12\n"

    # WHEN the next run retrains while an application keeps sending records
    failures: list[str] = []
    answered = 0
    stop = threading.Event()

    def application() -> None:
        nonlocal answered
        while not stop.is_set():
            try:
                scripted.invoke(row)
                answered += 1
            except Exception as error:  # any failed invocation is downtime
                failures.append(repr(error))
            time.sleep(0.02)

    thread = threading.Thread(target=application, daemon=True)
    thread.start()
    try:
        second = scripted.run(NEW_DAY)
    finally:
        stop.set()
        thread.join(timeout=10)

    # THEN the run passed the gate against production's metric and deployed the new model
    assert second.status == "SUCCEEDED", second.cause
    assert second.states_entered()[-1] == "Deployed"
    evaluation = second.output["evaluation"]
    assert evaluation["passed"] is True
    assert evaluation["production_value"] == pytest.approx(first_run["evaluation"]["value"])
    assert scripted.serving_config() == second.output["deployment"]["endpoint_config_name"]
    # ... and no request failed while the endpoint switched models
    assert failures == []
    assert answered > 0


def test_a_script_that_raises_fails_the_job_with_its_stderr_and_the_alert_carries_it(scripted: Scripted) -> None:
    # GIVEN a new day whose file holds a label the script refuses (data validation is off for a script), and the
    # day after it, which the run holds out
    (day, after) = churn_days(days=2, end=BAD_DAY + timedelta(days=1), prefix=PREFIX)
    lines = day.body.decode().splitlines()
    lines[5] = "maybe," + lines[5].split(",", 1)[1]
    scripted.put(day.key, ("\n".join(lines) + "\n").encode())
    scripted.put(after.key, after.body)
    serving = scripted.serving_config()
    sent = len(scripted.slack.messages)

    # WHEN the next run trains on it
    record = scripted.run(BAD_DAY + timedelta(days=1))

    # THEN the training job failed with the toolkit's reason: the error class and the script's last stderr lines
    assert (record.status, record.error) == ("FAILED", "TrainingJobFailed")
    [summary] = scripted.client("sagemaker").list_training_jobs(
        NameContains=NAME, StatusEquals="Failed", SortBy="CreationTime"
    )["TrainingJobSummaries"]
    job = scripted.client("sagemaker").describe_training_job(TrainingJobName=summary["TrainingJobName"])
    reason = job["FailureReason"]
    assert reason.startswith("AlgorithmError: ExecuteUserScriptError:\nExitCode 1\nErrorMessage ")
    expected = f"ValueError: {BAD_DAY.isoformat()}.csv line 6: label 'maybe' is neither churns nor stays"
    assert expected in reason
    # ... and the command the toolkit ran, the hyperparameters decoded from JSON into arguments
    assert reason.endswith('train.py -C 1.0 --class_weight balanced --cv_folds 5", exit code: 1')
    assert record.cause is not None
    assert expected in record.cause
    # ... the run's Slack alert carries that reason
    alert = scripted.slack.messages[sent:][-1].block_text
    assert "TrainingJobFailed" in alert
    assert expected in alert
    # ... and the previous model still serves
    assert scripted.serving_config() == serving
    body, _ = scripted.invoke("plus,north,android,35.50,12\n")
    assert len(json.loads(body)["predictions"]) == 1


README = Path(__file__).parents[2] / "README.md"


def readme_example() -> list[str]:
    """The commands of the README's Script Mode example, in order (without the `$ `)."""
    text = README.read_text()
    start = text.index("<!-- script-mode-example")
    opening = text.index("```", start) + 3
    block = text[opening : text.index("```", opening)]
    return [line[2:] for line in block.splitlines() if line.startswith("$ ")]


def test_the_readme_script_mode_example_runs_as_written(
    scripted: Scripted, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the README's commands; the first serves the example, as this module's runtime does
    commands = readme_example()
    assert commands[0].startswith(f"python -m local_runtime serve --config-file {CONFIG_FILE}")
    monkeypatch.chdir(tmp_path)
    entries = {("python", "-m", "demo.churn_data"): churn_data.main, ("sagemaker-retraining",): operator.main}
    outputs = []
    # WHEN each later command runs as written, against this local AWS (the data ends today, after the tests' days)
    for command in commands[1:]:
        if command.startswith("printf "):
            subprocess.run(command, shell=True, check=True, cwd=tmp_path)
            continue
        args = shlex.split(command.replace("http://127.0.0.1:4566", scripted.runtime.endpoint_url))
        prefix = next((prefix for prefix in entries if tuple(args[: len(prefix)]) == prefix), None)
        assert prefix is not None, command
        code = entries[prefix](args[len(prefix) :])
        outputs.append(capsys.readouterr().out)
        # THEN every command succeeds
        assert code == 0, (command, outputs[-1])

    # ... the run trained the script, judged its metric and deployed; the endpoint answered each record
    uploaded, followed, predicted = outputs
    assert uploaded.startswith("uploaded 7 days (560 records")
    assert f"{METRIC} " in followed
    assert "SUCCEEDED: deployed" in followed
    rows = [line for line in predicted.splitlines() if line.strip()[:1].isdigit()]
    assert len(rows) == 3
    assert all("churns (score" in row or "stays (score" in row for row in rows)
