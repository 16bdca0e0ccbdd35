"""The user's own evaluate.py through the local runtime: one processing job scores the new and the production model
on the run's holdout, and the gate reads what it reported.

Built-in XGBoost (regression) trains on generated data; the script (tests/e2e/models/evaluate_xgboost) loads both
models' `xgboost-model` and writes RMSE and MAE in Model Monitor's groups. A window made noisy yields a worse model,
which the gate keeps off the endpoint; a broken script fails the run naming itself and its error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest

from local_runtime.deploy import DeployedPipeline, ExecutionRecord, wait_for_execution
from local_runtime.runtime import QUIET_FUNCTIONS, LocalRuntime, synthesize
from stacks.constructs.watermark import INITIAL_WATERMARK

pytestmark = pytest.mark.e2e

GOOD, BROKEN = "evalscript", "evalbroken"
SCRIPTS = {GOOD: "tests/e2e/models/evaluate_xgboost", BROKEN: "tests/e2e/models/evaluate_broken"}
METRIC = "rmse"  # one the script reports
FIRST_DAY = date(2026, 6, 1)


def rows(seed: int, noise: float, n: int = 120) -> bytes:
    """Label first: y = 3 x1 - 2 x2 + 1 plus noise."""
    generator = np.random.default_rng(seed)
    features = generator.normal(size=(n, 2))
    labels = 3 * features[:, 0] - 2 * features[:, 1] + 1 + generator.normal(scale=noise, size=n)
    return "".join(f"{y:.6f},{a:.6f},{b:.6f}\n" for y, (a, b) in zip(labels, features, strict=True)).encode()


def pipeline_config(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "data_prefix": f"data/{name}",
        "window_days": 2,
        "algorithm": {"builtin": "xgboost", "version": "1.7-1"},
        "hyperparameters": {"objective": "reg:squarederror", "num_round": 30, "max_depth": 3},
        "evaluation": {"script": {"source_dir": SCRIPTS[name]}},
        "quality_gate": {"metric": METRIC, "direction": "minimize", "max_regression_percent": 50},
        "polling": {"interval_seconds": 1, "max_training_wait_seconds": 600, "max_deployment_wait_seconds": 300},
    }


class Evaluated:
    """One deployed pipeline of the runtime; adds days of data and runs the workflow on them."""

    def __init__(self, runtime: LocalRuntime, pipeline: DeployedPipeline, name: str) -> None:
        self.runtime, self.pipeline, self.name = runtime, pipeline, name
        self.newest = FIRST_DAY - timedelta(days=1)
        self.runs = 0

    @property
    def bucket(self) -> str:
        return str(self.pipeline.stack.outputs["DataBucketName"])

    def add_day(self, noise: float = 0.05) -> None:
        self.newest += timedelta(days=1)
        self.runtime.client("s3").put_object(
            Bucket=self.bucket, Key=f"data/{self.name}/{self.newest.isoformat()}.csv", Body=rows(self.newest.day, noise)
        )

    def run(self) -> ExecutionRecord:
        self.runs += 1
        arn = self.runtime.client("stepfunctions").start_execution(
            stateMachineArn=self.pipeline.state_machine_arn,
            name=f"{self.name}-{self.runs}",
            input=json.dumps({"end_date": self.newest.isoformat()}),
        )["executionArn"]
        return wait_for_execution(self.runtime.aws, arn, region=self.runtime.region, timeout_seconds=180)

    def serving_config(self) -> str:
        return str(self.runtime.client("sagemaker").describe_endpoint(EndpointName=self.name)["EndpointConfigName"])

    def read_json(self, uri: str) -> Any:
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        return json.loads(self.runtime.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


@pytest.fixture(scope="module")
def deployed() -> Iterator[dict[str, Evaluated]]:
    templates = synthesize({"pipelines": [pipeline_config(GOOD), pipeline_config(BROKEN)]})
    with LocalRuntime() as runtime:
        pipelines = {}
        for name in (GOOD, BROKEN):
            stack = f"SageMakerRetraining-{name}"
            pipeline = runtime.deploy_template(templates[stack], stack_name=stack, function_environment=QUIET_FUNCTIONS)
            pipelines[name] = Evaluated(runtime, pipeline, name)
        yield pipelines


@pytest.mark.reliability(
    "input",
    "A retrained model worse than production on the same held-out day, judged by the team's own evaluate.py",
    "Not deployed: the script's processing job scores both models on the holdout, the gate reads its metric and "
    "rejects the new model; the registry version carries the script's numbers as its model-quality statistics",
)
def test_the_script_scores_both_models_and_the_gate_reads_its_metric(deployed: dict[str, Evaluated]) -> None:
    evaluated = deployed[GOOD]
    sagemaker = evaluated.runtime.client("sagemaker")
    # GIVEN a first model trained on a clean day, judged by the script on the next, and serving
    evaluated.add_day()
    evaluated.add_day()
    first = evaluated.run()
    assert first.status == "SUCCEEDED", first.cause
    assert first.states_entered()[-1] == "Deployed"
    holdout = first.output["holdout_evaluation"]
    assert (holdout["kind"], holdout["script"], holdout["production_model"]) == ("processing", "evaluate.py", None)
    job = sagemaker.describe_processing_job(ProcessingJobName=holdout["candidate_job"])
    assert job["ProcessingJobStatus"] == "Completed"
    assert "PRODUCTION_MODEL_DIR" not in job["Environment"]  # nothing served yet: the candidate alone
    serving = evaluated.serving_config()

    # WHEN the next run trains on a noisy day and is judged on a clean one, with the production model
    evaluated.add_day(noise=4.0)
    evaluated.add_day()
    rejected = evaluated.run()

    # THEN one processing job got the holdout and both models' artifacts and ran the script
    assert rejected.status == "SUCCEEDED", rejected.cause
    holdout = rejected.output["holdout_evaluation"]
    job = sagemaker.describe_processing_job(ProcessingJobName=holdout["candidate_job"])
    inputs = {i["InputName"]: i["S3Input"] for i in job["ProcessingInputs"]}
    evaluation = rejected.output["evaluation"]
    assert inputs["holdout"]["S3Uri"] == evaluation["holdout_manifest"]
    assert inputs["holdout"]["S3DataType"] == "ManifestFile"
    assert inputs["candidate-model"]["S3Uri"] == rejected.output["training"]["model_artifact"]
    production_model = sagemaker.describe_model(ModelName=serving)
    assert inputs["production-model"]["S3Uri"] == production_model["PrimaryContainer"]["ModelDataUrl"]
    assert job["Environment"]["PRODUCTION_MODEL_NAME"] == serving
    # ... the gate read the script's RMSE of both models on the same held-out day: the new one far worse
    assert evaluation["production_model"] == serving
    assert evaluation["value"] == evaluation["candidate_metrics"][METRIC]
    assert evaluation["production_value"] == evaluation["production_metrics"][METRIC]
    assert evaluation["value"] > 1.5 * evaluation["production_value"]
    assert evaluation["holdout_records"] == 120
    assert evaluation["holdout"] == [f"s3://{evaluated.bucket}/data/{GOOD}/{evaluated.newest.isoformat()}.csv"]
    script_output = evaluated.read_json(f"{holdout['candidate_output_uri']}/evaluation.json")
    assert script_output["candidate"]["regression_metrics"]["rmse"]["value"] == evaluation["value"]
    # ... so the new model was rejected and production still serves
    assert rejected.states_entered()[-1] == "ModelRejected"
    assert evaluated.serving_config() == serving
    # ... and its registry version carries the script's statistics as its model quality
    version = sagemaker.describe_model_package(ModelPackageName=evaluation["model_package_arn"])
    assert version["ModelApprovalStatus"] == "Rejected"
    statistics = evaluated.read_json(version["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"])
    assert statistics["regression_metrics"] == script_output["candidate"]["regression_metrics"]
    assert statistics["dataset"]["item_count"] == 120
    assert version["CustomerMetadataProperties"]["holdout:mae"] == repr(evaluation["candidate_metrics"]["mae"])

    # WHEN the noisy day has left the window and the next run trains on a clean day
    evaluated.add_day()
    better = evaluated.run()

    # THEN the script finds it about as good as production on the new held-out day: deployed
    assert better.status == "SUCCEEDED", better.cause
    assert better.states_entered()[-1] == "Deployed"
    assert better.output["evaluation"]["production_model"] == serving
    assert evaluated.serving_config() == better.output["training"]["job_name"]


@pytest.mark.reliability(
    "input",
    "The team's evaluate.py raises",
    "The run fails at EvaluationFailed naming the script, its processing job and the last lines of its stderr; "
    "nothing is registered or deployed and the watermark does not move",
)
def test_a_script_that_raises_fails_the_run_naming_itself_and_its_error(deployed: dict[str, Evaluated]) -> None:
    # GIVEN a pipeline whose evaluate.py raises on every holdout, and two days of data
    broken = deployed[BROKEN]
    broken.add_day()
    broken.add_day()

    # WHEN it runs
    record = broken.run()

    # THEN the run failed at the evaluation, naming the script, its job and the error it raised
    assert record.status == "FAILED"
    entered = record.states_entered()
    assert "EvaluationFailed" in entered
    assert "EvaluateModel" not in entered
    assert "DeployModel" not in entered
    sagemaker = broken.runtime.client("sagemaker")
    [summary] = [
        job
        for job in sagemaker.list_processing_jobs()["ProcessingJobSummaries"]
        if job["ProcessingJobName"].startswith(BROKEN) and job["ProcessingJobName"].endswith("-eval")
    ]
    assert record.cause is not None
    assert f"evaluation script evaluate.py (processing job {summary['ProcessingJobName']})" in record.cause
    assert "KeyError: \"expected a header row with a 'target' column\"" in record.cause
    # ... the job's ExitMessage holds the script's stderr, its traceback's end included
    job = sagemaker.describe_processing_job(ProcessingJobName=summary["ProcessingJobName"])
    assert job["ProcessingJobStatus"] == "Failed"
    assert job["ExitMessage"].startswith("evaluate.py exited with status 1:")
    assert "found held-out files" in job["ExitMessage"]
    # ... and nothing moved: no version registered, no endpoint, no watermark
    groups = sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"]
    assert f"{BROKEN}-models" not in [g["ModelPackageGroupName"] for g in groups]
    name = broken.pipeline.stack.outputs["WatermarkParameterName"]
    watermark = json.loads(broken.runtime.client("ssm").get_parameter(Name=name)["Parameter"]["Value"])
    assert watermark == INITIAL_WATERMARK
