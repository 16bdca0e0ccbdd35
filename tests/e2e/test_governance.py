"""Model governance through the local runtime: the quality gate and the model registry.

One pipeline trains real models on generated data; a window made noisy yields a measurably worse model,
which the gate must keep off the endpoint while the registry records it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest

from local_runtime.deploy import DeployedPipeline, ExecutionRecord, wait_for_execution
from local_runtime.runtime import LocalRuntime, SlackTarget, synthesize
from local_runtime.slack_api import LocalSlackApi
from operator_cli.cli import main

pytestmark = pytest.mark.e2e

PIPELINE = "gov"
STACK = f"SageMakerRetraining-{PIPELINE}"
TOKEN, CHANNEL, SECRET = "xoxb-gov-e2e", "#ml-alerts", "gov/slack-bot"
METRIC = "rmse"  # the held-out evaluation's: both models scored on the run's newest day
FIRST_DAY = date(2026, 5, 1)
PROBE = [1.0, 1.0]


def rows(seed: int, noise: float, n: int = 40) -> bytes:
    """Label first: y = 3 x1 - 2 x2 + 1 plus noise; noisy days make any model's loss much higher."""
    generator = np.random.default_rng(seed)
    features = generator.normal(size=(n, 2))
    labels = 3 * features[:, 0] - 2 * features[:, 1] + 1 + generator.normal(scale=noise, size=n)
    return "".join(f"{y:.6f},{a:.6f},{b:.6f}\n" for y, (a, b) in zip(labels, features, strict=True)).encode()


class Governed:
    """A runtime with the gated pipeline deployed; adds days of data and runs the workflow on them."""

    def __init__(
        self, runtime: LocalRuntime, pipeline: DeployedPipeline, slack: LocalSlackApi, *, name: str = PIPELINE
    ) -> None:
        self.runtime, self.pipeline, self.slack, self.name = runtime, pipeline, slack, name
        self.newest = FIRST_DAY - timedelta(days=1)
        self.runs = 0

    def add_day(self, noise: float = 0.05) -> None:
        self.newest += timedelta(days=1)
        self.runtime.client("s3").put_object(
            Bucket=self.pipeline.stack.outputs["DataBucketName"],
            Key=f"data/{self.name}/{self.newest.isoformat()}.csv",
            Body=rows(self.newest.toordinal(), noise),
        )

    def run(self) -> ExecutionRecord:
        return self.wait(self.start())

    def start(self) -> str:
        self.runs += 1
        arn: str = self.runtime.client("stepfunctions").start_execution(
            stateMachineArn=self.pipeline.state_machine_arn,
            name=f"{self.name}-{self.runs}",
            input=json.dumps({"end_date": self.newest.isoformat()}),
        )["executionArn"]
        return arn

    def wait(self, arn: str) -> ExecutionRecord:
        return wait_for_execution(self.runtime.aws, arn, region=self.runtime.region, timeout_seconds=120)

    def watermark(self) -> dict[str, Any]:
        name = self.pipeline.stack.outputs["WatermarkParameterName"]
        value: dict[str, Any] = json.loads(self.runtime.client("ssm").get_parameter(Name=name)["Parameter"]["Value"])
        return value

    def predict(self) -> float:
        response = self.runtime.client("sagemaker-runtime").invoke_endpoint(
            EndpointName=self.name, ContentType="text/csv", Body=",".join(map(str, PROBE)).encode()
        )
        score: float = json.loads(response["Body"].read())["predictions"][0]["score"]
        return score

    def serving_config(self) -> str:
        endpoint = self.runtime.client("sagemaker").describe_endpoint(EndpointName=self.name)
        return str(endpoint["EndpointConfigName"])

    def versions(self) -> list[dict[str, Any]]:
        """The registry's versions of the pipeline, oldest first, described."""
        sagemaker = self.runtime.client("sagemaker")
        summaries = sagemaker.list_model_packages(ModelPackageGroupName=f"{self.name}-models", SortBy="CreationTime")[
            "ModelPackageSummaryList"
        ]
        return [sagemaker.describe_model_package(ModelPackageName=s["ModelPackageArn"]) for s in summaries]


@pytest.fixture(scope="module")
def slack() -> Iterator[LocalSlackApi]:
    with LocalSlackApi(valid_token=TOKEN, channels=(CHANNEL,)) as server:
        yield server


def pipeline_template(name: str, **governance: Any) -> dict[str, Any]:
    """The synthesized stack of a small regression pipeline with the given governance settings."""
    pipeline = {
        "name": name,
        "data_prefix": f"data/{name}",
        "window_days": 2,
        "hyperparameters": {"predictor_type": "regressor"},
        "polling": {"interval_seconds": 1, "max_training_wait_seconds": 600, "max_deployment_wait_seconds": 300},
        "slack": {"channel": CHANNEL, "token_secret_name": SECRET},
        **governance,
    }
    template: dict[str, Any] = synthesize({"pipelines": [pipeline]})[f"SageMakerRetraining-{name}"]
    return template


@pytest.fixture(scope="module")
def governed(slack: LocalSlackApi) -> Iterator[Governed]:
    template = pipeline_template(
        PIPELINE, quality_gate={"metric": METRIC, "direction": "minimize", "max_regression_percent": 50}
    )
    with LocalRuntime() as runtime:
        pipeline = runtime.deploy_template(
            template, stack_name=STACK, slack=SlackTarget(api_url=slack.base_url, token=TOKEN)
        )
        yield Governed(runtime, pipeline, slack)


@pytest.mark.reliability(
    "input",
    "A retrained model worse than production on the same held-out day",
    "Not deployed: the old model keeps answering unchanged; the version is registered Rejected; Slack shows both "
    "models' metric on the same held-out records; the watermark records the judged data (outcome rejected), so the "
    "window is not retrained daily",
)
def test_the_gate_keeps_a_worse_model_off_the_endpoint_and_passes_a_better_one(governed: Governed) -> None:
    # GIVEN a first model trained on a clean day, judged on the next, and serving
    governed.add_day()
    governed.add_day()
    first = governed.run()
    assert first.status == "SUCCEEDED", first.cause
    serving, prediction = governed.serving_config(), governed.predict()
    [version_1] = governed.versions()
    assert version_1["ModelApprovalStatus"] == "Approved"
    assert first.output["evaluation"]["production_model"] is None  # nothing served yet: the threshold alone

    # WHEN the next run trains on a noisy day and is judged on a clean one, with the production model
    governed.add_day(noise=3.0)
    governed.add_day()
    rejected = governed.run()

    # THEN both models were scored on the same held-out day, and the new one is far worse there
    evaluation = rejected.output["evaluation"]
    holdout = [f"s3://{governed.pipeline.stack.outputs['DataBucketName']}/data/{PIPELINE}/{governed.newest}.csv"]
    assert evaluation["holdout"] == holdout
    assert evaluation["production_model"] == serving
    assert evaluation["value"] == evaluation["candidate_metrics"][METRIC]
    assert evaluation["production_value"] == evaluation["production_metrics"][METRIC]
    assert evaluation["value"] > 1.5 * evaluation["production_value"]
    jobs = [rejected.output["holdout_evaluation"][key] for key in ("candidate_job", "production_job")]
    sagemaker = governed.runtime.client("sagemaker")
    for job in jobs:
        described = sagemaker.describe_transform_job(TransformJobName=job)
        assert described["TransformJobStatus"] == "Completed"
        assert described["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] == evaluation["holdout_manifest"]
        assert described["DataProcessing"]["InputFilter"] == "$[1:]"
    # ... the run ends rejected, the endpoint still serves the first model, and the registry says why
    assert rejected.status == "SUCCEEDED", rejected.cause
    assert rejected.states_entered()[-1] == "ModelRejected"
    assert "DeployModel" not in rejected.states_entered()
    assert governed.serving_config() == serving
    assert governed.predict() == prediction
    version_2 = governed.versions()[1]
    assert version_2["ModelApprovalStatus"] == "Rejected"
    assert "worse than production" in version_2["ModelPackageDescription"]
    # ... its model quality report, in Model Monitor's format, is the version's ModelMetrics
    statistics = version_2["ModelMetrics"]["ModelQuality"]["Statistics"]
    bucket, key = statistics["S3Uri"].removeprefix("s3://").split("/", 1)
    document = json.loads(governed.runtime.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    assert document["regression_metrics"]["rmse"]["value"] == pytest.approx(evaluation["value"])
    assert document["dataset"]["item_count"] == evaluation["holdout_records"] == 40
    # ... and the run's record says the same: both values, the held-out files, the report
    bucket, key = rejected.output["lineage"]["run_record"].removeprefix("s3://").split("/", 1)
    record = json.loads(governed.runtime.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    assert record["evaluation"] == {
        "metric": METRIC,
        "direction": "minimize",
        "holdout": holdout,
        "candidate": evaluation["value"],
        "production": evaluation["production_value"],
        "production_model": serving,
        "report": evaluation["report"],
    }
    watermark = governed.watermark()
    assert (watermark["outcome"], watermark["newest_data_date"]) == ("rejected", governed.newest.isoformat())
    assert watermark["endpoint_config_name"] == serving
    [alert] = [m for m in governed.slack.messages if "rejected" in m.text and f"{PIPELINE}-2" in json.dumps(m.blocks)]
    assert f"current {_six(evaluation['production_value'])}" in json.dumps(alert.blocks)
    assert "both on the same 40 held-out records" in json.dumps(alert.blocks)

    # WHEN the noisy day has moved out of the window (window_days 2) and the next run trains on a clean day
    governed.add_day()
    better = governed.run()

    # THEN the new model is about as good as production on the new held-out day: it passes and is deployed
    assert better.status == "SUCCEEDED", better.cause
    assert better.states_entered()[-1] == "Deployed"
    assert better.output["evaluation"]["passed"] is True
    assert better.output["evaluation"]["production_model"] == serving
    assert governed.serving_config() == better.output["training"]["job_name"]
    assert [v["ModelApprovalStatus"] for v in governed.versions()] == ["Approved", "Rejected", "Approved"]
    manifest = governed.versions()[2]["CustomerMetadataProperties"]["manifest_uri"]
    assert manifest == better.output["run"]["manifest_uri"]


def _six(value: float) -> str:
    return f"{value:.6g}"


REVIEWED = "review"
APPROVAL_TIMEOUT_SECONDS = 6  # local: the template's hours would hold the test for hours


@pytest.fixture(scope="module")
def reviewed(slack: LocalSlackApi) -> Iterator[Governed]:
    """A pipeline whose models wait for a person's approval, deployed in a runtime of its own."""
    template = pipeline_template(REVIEWED, registry={"approval": "manual", "approval_timeout_hours": 24})
    with LocalRuntime() as runtime:
        pipeline = runtime.deploy_template(
            template,
            stack_name=f"SageMakerRetraining-{REVIEWED}",
            slack=SlackTarget(api_url=slack.base_url, token=TOKEN),
            function_environment={"APPROVAL_TIMEOUT_SECONDS": str(APPROVAL_TIMEOUT_SECONDS)},
        )
        yield Governed(runtime, pipeline, slack, name=REVIEWED)


def wait_until_waiting_for_approval(governed: Governed, arn: str) -> None:
    sfn = governed.runtime.client("stepfunctions")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        # The poll loops' waits are callback tasks too: the token must be the one WaitForApproval handed out.
        entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
        if entered and entered[-1] == "WaitForApproval" and history[-1]["type"] == "TaskSubmitted":
            return
        assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
        time.sleep(0.2)
    raise AssertionError("the run never reached WaitForApproval")


def cli(governed: Governed, *args: str) -> int:
    return main([*args, "--pipeline", governed.name, "--endpoint-url", governed.runtime.endpoint_url])


@pytest.mark.reliability(
    "input",
    "Manual approval: a person approves, rejects, or never answers",
    "Approved: the run resumes from the registry's event and deploys; rejected: the old model keeps serving and "
    "the version says why; no answer: the version is rejected at the timeout, nothing deploys, the watermark stays",
)
def test_a_person_approves_rejects_or_lets_the_approval_time_out(reviewed: Governed) -> None:
    # GIVEN a trained model waiting for approval
    reviewed.add_day()
    reviewed.add_day()
    first = reviewed.start()
    wait_until_waiting_for_approval(reviewed, first)
    assert reviewed.versions()[0]["ModelApprovalStatus"] == "PendingManualApproval"
    assert any("waits for approval" in (m.text or "") for m in reviewed.slack.messages)

    # WHEN a person approves it with the CLI, THEN the run resumes and deploys it
    assert cli(reviewed, "approve", "--reason", "looks right") == 0
    approved = reviewed.wait(first)
    assert approved.status == "SUCCEEDED", approved.cause
    assert approved.states_entered()[-1] == "Deployed"
    assert approved.output["approval"]["status"] == "Approved"
    serving, prediction = reviewed.serving_config(), reviewed.predict()

    # WHEN the next model is rejected in review, THEN it never serves and the reason is recorded
    reviewed.add_day()
    second = reviewed.start()
    wait_until_waiting_for_approval(reviewed, second)
    assert cli(reviewed, "reject", "--reason", "bias check failed") == 0
    rejected = reviewed.wait(second)
    assert rejected.status == "SUCCEEDED", rejected.cause
    assert rejected.states_entered()[-1] == "ModelRejected"
    assert (reviewed.serving_config(), reviewed.predict()) == (serving, prediction)
    assert reviewed.versions()[1]["ApprovalDescription"] == "bias check failed"
    assert reviewed.watermark()["outcome"] == "rejected"
    watermark_before = reviewed.watermark()["newest_data_date"]

    # WHEN nobody answers within the timeout, THEN the version is rejected and the run ends without deploying
    reviewed.add_day()
    third = reviewed.start()
    timed_out = reviewed.wait(third)
    assert timed_out.status == "SUCCEEDED", timed_out.cause
    assert timed_out.states_entered()[-1] == "ApprovalTimedOut"
    assert "DeployModel" not in timed_out.states_entered()
    version_3 = reviewed.versions()[2]
    assert version_3["ModelApprovalStatus"] == "Rejected"
    assert "approval timeout" in version_3["ApprovalDescription"]
    assert reviewed.watermark()["newest_data_date"] == watermark_before
    assert (reviewed.serving_config(), reviewed.predict()) == (serving, prediction)
    # A decision after the timeout resumes nothing and changes nothing: the registry says no (exit 1).
    assert cli(reviewed, "approve", "--version", "3") == 1
