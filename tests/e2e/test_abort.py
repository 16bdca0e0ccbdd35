"""Runs that end outside the workflow, through the local runtime: a run stopped by hand is reaped by RunEnded (its
training stopped, what the endpoint serves kept, its lease released, Slack told), and the run lease blocks a second run
only while its holder runs.

One pipeline per module; its first run deploys a model, so that what the reaper must leave alone exists.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest

from local_runtime.deploy import DeployedPipeline, ExecutionRecord, wait_for_execution
from local_runtime.runtime import LocalRuntime, SlackTarget, synthesize
from local_runtime.slack_api import LocalSlackApi, ReceivedMessage

pytestmark = pytest.mark.e2e

PIPELINE = "abort"
STACK = f"SageMakerRetraining-{PIPELINE}"
TOKEN, CHANNEL, SECRET = "xoxb-abort-e2e", "#ml-alerts", "abort/slack-bot"
FIRST_DAY = date(2026, 4, 1)
LEASE_KEY = f"waits/{PIPELINE}/run.lease"
REAPED_WITHIN_SECONDS = 30.0


def rows(seed: int, n: int = 30) -> bytes:
    """Label first: y = 3 x1 - 2 x2 + 1, with a little noise that differs per day."""
    generator = np.random.default_rng(seed)
    features = generator.normal(size=(n, 2))
    labels = 3 * features[:, 0] - 2 * features[:, 1] + 1 + generator.normal(scale=0.05, size=n)
    return "".join(f"{y:.6f},{a:.6f},{b:.6f}\n" for y, (a, b) in zip(labels, features, strict=True)).encode()


class Bench:
    """The pipeline deployed, serving the model of its first run; a day of data per run."""

    def __init__(self, runtime: LocalRuntime, pipeline: DeployedPipeline, slack: LocalSlackApi) -> None:
        self.runtime, self.pipeline, self.slack = runtime, pipeline, slack
        self.newest = FIRST_DAY - timedelta(days=1)
        self.runs = 0

    @property
    def bucket(self) -> str:
        return str(self.pipeline.stack.outputs["DataBucketName"])

    def client(self, service: str) -> Any:
        return self.runtime.client(service)

    def add_day(self) -> None:
        self.newest += timedelta(days=1)
        self.client("s3").put_object(
            Bucket=self.bucket, Key=f"data/{PIPELINE}/{self.newest.isoformat()}.csv", Body=rows(self.newest.toordinal())
        )

    def start(self) -> str:
        self.runs += 1
        arn: str = self.client("stepfunctions").start_execution(
            stateMachineArn=self.pipeline.state_machine_arn,
            name=f"run-{self.runs}",
            input=json.dumps({"end_date": self.newest.isoformat(), "trigger": "abort-suite"}),
        )["executionArn"]
        return arn

    def wait(self, arn: str) -> ExecutionRecord:
        return wait_for_execution(self.runtime.aws, arn, region=self.runtime.region, timeout_seconds=120)

    def watermark(self) -> dict[str, Any]:
        name = self.pipeline.stack.outputs["WatermarkParameterName"]
        value: dict[str, Any] = json.loads(self.client("ssm").get_parameter(Name=name)["Parameter"]["Value"])
        return value

    def lease(self) -> dict[str, Any] | None:
        s3 = self.client("s3")
        try:
            body = s3.get_object(Bucket=self.bucket, Key=LEASE_KEY)["Body"].read()
        except s3.exceptions.NoSuchKey:
            return None
        lease: dict[str, Any] = json.loads(body)
        return lease

    def serving(self) -> tuple[str, list[str]]:
        """The endpoint's config and the models it serves."""
        sagemaker = self.client("sagemaker")
        config = sagemaker.describe_endpoint(EndpointName=PIPELINE)["EndpointConfigName"]
        variants = sagemaker.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"]
        return config, [variant["ModelName"] for variant in variants]

    def training_job_of(self, arn: str) -> dict[str, Any] | None:
        """The run's training job, found by the execution its tags name."""
        sagemaker = self.client("sagemaker")
        for summary in sagemaker.list_training_jobs(MaxResults=100)["TrainingJobSummaries"]:
            job = sagemaker.describe_training_job(TrainingJobName=summary["TrainingJobName"])
            tags = sagemaker.list_tags(ResourceArn=job["TrainingJobArn"])["Tags"]
            if any(tag["Value"] == arn for tag in tags):
                described: dict[str, Any] = job
                return described
        return None

    def alerts_about(self, name: str) -> list[ReceivedMessage]:
        return [m for m in self.slack.messages if name in f"{m.text} {m.block_text}"]


def eventually(check: Callable[[], Any], what: str, timeout: float = REAPED_WITHIN_SECONDS) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def slack() -> Iterator[LocalSlackApi]:
    with LocalSlackApi(valid_token=TOKEN, channels=(CHANNEL,)) as server:
        yield server


@pytest.fixture(scope="module")
def bench(slack: LocalSlackApi) -> Iterator[Bench]:
    context = {
        "pipelines": [
            {
                "name": PIPELINE,
                "data_prefix": f"data/{PIPELINE}",
                "window_days": 2,
                "hyperparameters": {"predictor_type": "regressor"},
                "evaluation": {"score_models": False},
                "polling": {
                    "interval_seconds": 1,
                    "max_training_wait_seconds": 600,
                    "max_deployment_wait_seconds": 300,
                },
                "slack": {"channel": CHANNEL, "token_secret_name": SECRET},
            }
        ]
    }
    template = synthesize(context)[STACK]
    with LocalRuntime() as runtime:
        pipeline = runtime.deploy_template(
            template, stack_name=STACK, slack=SlackTarget(api_url=slack.base_url, token=TOKEN, local_server=slack)
        )
        bench = Bench(runtime, pipeline, slack)
        bench.add_day()
        bench.add_day()
        first = bench.wait(bench.start())
        assert first.status == "SUCCEEDED", first.cause
        assert "Deployed" in first.states_entered()
        yield bench


@pytest.mark.reliability(
    "fault",
    "A run stopped by hand (StopExecution) while its training job runs",
    "The execution ends ABORTED with an ExecutionAborted event holding the stop's error and cause; RunEnded stops "
    "the training job, removes nothing the endpoint serves, releases the run lease and alerts Slack with how the run "
    "ended and the state it was in; the watermark does not move; the next run trains and deploys",
)
def test_a_run_stopped_during_training_is_reaped_and_the_next_run_trains(bench: Bench) -> None:
    # GIVEN a model serving, new data, and a run whose training job hangs
    serving = bench.serving()
    watermark = bench.watermark()
    bench.add_day()
    bench.runtime.faults.stall_training_job(pipeline=PIPELINE)
    arn = bench.start()
    eventually(lambda: (job := bench.training_job_of(arn)) and job["TrainingJobStatus"] == "InProgress", "training")
    assert (bench.lease() or {}).get("execution") == arn

    # ... a second run started meanwhile is blocked by the lease
    blocked = bench.wait(bench.start())
    assert blocked.status == "SUCCEEDED", blocked.cause
    assert blocked.states_entered()[-1] == "AnotherRunInProgress"
    assert blocked.output["run"]["blocked_by"] == arn

    # WHEN an operator stops the run
    sfn = bench.client("stepfunctions")
    sfn.stop_execution(executionArn=arn, error="Operator", cause="wrong window")

    # THEN it ends ABORTED with the stop's error and cause
    stopped = bench.wait(arn)
    assert (stopped.status, stopped.error, stopped.cause) == ("ABORTED", "Operator", "wrong window")
    last = stopped.history[-1]
    assert last["type"] == "ExecutionAborted"
    assert last["executionAbortedEventDetails"] == {"error": "Operator", "cause": "wrong window"}
    state = stopped.states_entered()[-1]
    # ... RunEnded stopped its training job
    eventually(lambda: (bench.training_job_of(arn) or {}).get("TrainingJobStatus") == "Stopped", "the job stopped")
    # ... released the lease
    eventually(lambda: bench.lease() is None, "the lease released")
    # ... told Slack how the run ended and where
    [alert] = eventually(lambda: bench.alerts_about("stopped by hand"), "the Slack alert")
    for said in (f"while in {state}", "Operator; wrong window", "the watermark did not move"):
        assert said in alert.block_text
    assert arn in json.dumps(alert.blocks)  # the link to the execution
    # ... and left what the endpoint serves, and the watermark, alone
    assert bench.serving() == serving
    for model in serving[1]:
        bench.client("sagemaker").describe_model(ModelName=model)
    assert bench.watermark() == watermark
    assert [d for d in bench.runtime.aws.events.deliveries if not d.delivered] == []

    # WHEN the next run starts, the fault cleared
    bench.runtime.faults.clear()
    after = bench.wait(bench.start())

    # THEN it trains and deploys
    assert after.status == "SUCCEEDED", after.cause
    assert "StartTrainingJob" in after.states_entered()
    assert after.states_entered()[-1] == "Deployed"
    assert bench.watermark()["newest_data_date"] == bench.newest.isoformat()
    assert bench.lease() is None


@pytest.mark.reliability(
    "fault",
    "The run lease left behind by a run that ended without releasing it",
    "The next run asks Step Functions whether the holder still runs, takes the lease over and trains; RunEnded "
    "releases it when that run ends",
)
def test_a_lease_left_by_a_finished_run_does_not_block_the_next(bench: Bench) -> None:
    # GIVEN the lease names a run that has finished (its end event lost)
    finished = bench.wait(bench.start())
    assert finished.status == "SUCCEEDED", finished.cause
    eventually(lambda: bench.lease() is None, "the finished run's lease released")
    bench.client("s3").put_object(
        Bucket=bench.bucket, Key=LEASE_KEY, Body=json.dumps({"execution": finished.arn}).encode()
    )
    bench.add_day()

    # WHEN the next run starts
    record = bench.wait(bench.start())

    # THEN it trains and deploys, and its own end releases the lease
    assert record.status == "SUCCEEDED", record.cause
    assert record.states_entered()[-1] == "Deployed"
    eventually(lambda: bench.lease() is None, "the lease released")
