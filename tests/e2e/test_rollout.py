"""Guarded rollouts in the local runtime: a canary whose model answers 5xx is rolled back, a healthy one completes.

Traffic is sent to the endpoint while the rollout bakes, so the alarms fire (or not) on real invocations: the
hosting service publishes each one's metrics to the local CloudWatch and evaluates the rollout's alarms.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local_runtime.deploy import DeployedPipeline, ExecutionRecord, run_execution, wait_for_execution
from local_runtime.runtime import LocalRuntime, SlackTarget, synthesize
from tests.e2e.test_local_runtime import day, rows
from tests.fakes.slack_api import FakeSlackApi

pytestmark = pytest.mark.e2e

PIPELINE = "guarded"
STACK = f"SageMakerRetraining-{PIPELINE}"
TOKEN, CHANNEL, SECRET = "xoxb-rollout-e2e", "#ml-alerts", "guarded/slack-bot"
ERRORS_ALARM = f"{PIPELINE}-rollout-5xx-errors"
PROBE = [1.0, 1.0]
# A 5-minute canary bake of half the traffic: 5 s on the local time scale (LOCAL_TIME_SCALE, a minute a second).
# The latency alarm's bound sits above what a loaded 2-core CI machine adds to a healthy model's answers (a minute
# averaged 1.02 s once against the default 1 s and rolled the healthy canary back); the 5xx alarm does the judging.
ROLLOUT = {
    "strategy": "canary",
    "canary_percent": 50,
    "wait_seconds": 300,
    "alarms": {"max_model_latency_ms": 5_000},
}
_names = count(1)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    context = {
        "pipelines": [
            {
                "name": PIPELINE,
                "data_prefix": f"data/{PIPELINE}",
                "window_days": 3,
                "hyperparameters": {"predictor_type": "regressor"},
                "polling": {
                    "interval_seconds": 1,
                    "max_training_wait_seconds": 600,
                    "max_deployment_wait_seconds": 900,
                },
                "slack": {"channel": CHANNEL, "token_secret_name": SECRET},
                "rollout": ROLLOUT,
            }
        ]
    }
    return synthesize(context)[STACK]


@pytest.fixture
def slack() -> Iterator[FakeSlackApi]:
    with FakeSlackApi(valid_token=TOKEN, channels=(CHANNEL,)) as server:
        yield server


@pytest.fixture
def runtime(aws_env: None) -> Iterator[LocalRuntime]:
    with LocalRuntime() as local:
        yield local


@pytest.fixture
def pipeline(runtime: LocalRuntime, template: dict[str, Any], slack: FakeSlackApi) -> DeployedPipeline:
    """The pipeline deployed, and a first run that created the endpoint (CreateEndpoint has no guardrails)."""
    deployed = runtime.deploy_template(
        template, stack_name=STACK, slack=SlackTarget(api_url=slack.base_url, token=TOKEN)
    )
    upload(runtime, deployed, [2, 1])
    first = run_execution(runtime.aws, deployed, name=f"first-{next(_names)}", timeout_seconds=120)
    assert first.status == "SUCCEEDED", first.cause
    return deployed


def upload(runtime: LocalRuntime, pipeline: DeployedPipeline, offsets: list[int]) -> None:
    for offset in offsets:
        runtime.client("s3").put_object(
            Bucket=pipeline.stack.outputs["DataBucketName"],
            Key=f"data/{PIPELINE}/{day(offset)}.csv",
            Body=rows(offset),
        )


def watermark(runtime: LocalRuntime, pipeline: DeployedPipeline) -> dict[str, Any]:
    name = pipeline.stack.outputs["WatermarkParameterName"]
    value: dict[str, Any] = json.loads(runtime.client("ssm").get_parameter(Name=name)["Parameter"]["Value"])
    return value


def predict(runtime: LocalRuntime, client: Any = None) -> float:
    response = (client or runtime.client("sagemaker-runtime")).invoke_endpoint(
        EndpointName=PIPELINE, ContentType="text/csv", Body=",".join(map(str, PROBE)).encode()
    )
    score: float = json.loads(response["Body"].read())["predictions"][0]["score"]
    return score


@dataclass
class Traffic:
    """What the endpoint answered while a rollout was in progress."""

    predictions: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    statuses: set[str] = field(default_factory=set)


def run_with_traffic(runtime: LocalRuntime, pipeline: DeployedPipeline) -> tuple[ExecutionRecord, Traffic]:
    """Start a run and invoke the endpoint throughout its rollout (Updating until it ends), as clients would."""
    sfn, sagemaker = runtime.client("stepfunctions"), runtime.client("sagemaker")
    arn = sfn.start_execution(stateMachineArn=pipeline.state_machine_arn, name=f"guarded-{next(_names)}", input="{}")[
        "executionArn"
    ]
    # Clients that record every answer, each request once: boto3's default retries a 5xx answer up to four times with
    # backoff, so a canary's error took a second and the short baking window saw two requests, both possibly the
    # canary's (a coin toss each at 50% of traffic).
    once = boto3.client(
        "sagemaker-runtime",
        endpoint_url=runtime.endpoint_url,
        region_name=runtime.region,
        config=Config(retries={"total_max_attempts": 1}),
    )
    traffic = Traffic()
    deadline = time.monotonic() + 180
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING" and time.monotonic() < deadline:
        endpoint = sagemaker.describe_endpoint(EndpointName=PIPELINE)
        traffic.statuses.add(endpoint["EndpointStatus"])
        if endpoint["EndpointStatus"] not in ("Updating", "RollingBack"):
            time.sleep(0.2)
            continue
        # A burst between status checks: each request goes to the canary or the old fleet by a weighted coin toss,
        # and the canary's first 5xx may end the baking period within the alarm's one (local) second.
        burst_end = time.monotonic() + 0.5
        while time.monotonic() < burst_end:
            try:
                traffic.predictions.append(predict(runtime, once))
            except ClientError as error:
                traffic.errors.append(str(error))
    return wait_for_execution(runtime.aws, arn, region=runtime.region, timeout_seconds=30), traffic


@pytest.mark.reliability(
    "fault",
    "A canary rollout whose new model answers 5xx to real traffic during the baking period",
    (
        "The 5xx alarm fires, SageMaker (emulated) rolls back, the old model answers every other request with its "
        "unchanged prediction throughout and after; the run fails as DeploymentFailed with an alert naming the "
        "rollback and the alarm; the watermark stays"
    ),
)
def test_a_canary_whose_model_answers_5xx_is_rolled_back_and_the_old_model_keeps_serving(
    runtime: LocalRuntime, pipeline: DeployedPipeline, slack: FakeSlackApi
) -> None:
    # GIVEN the endpoint serving the first model, and the next deployment's model answering 5xx
    served_before = watermark(runtime, pipeline)
    old_prediction = predict(runtime)
    fault = runtime.faults.fail_invocations()
    upload(runtime, pipeline, [0])

    # WHEN the run rolls the new model out as a canary while clients keep calling the endpoint
    record, traffic = run_with_traffic(runtime, pipeline)

    # THEN the canary's errors fired the alarm, which rolled the update back
    assert fault.fired == 1
    assert traffic.errors, "no request reached the canary"
    assert all("ModelError" in error and "(500)" in error for error in traffic.errors)
    alarm = runtime.client("cloudwatch").describe_alarms(AlarmNames=[ERRORS_ALARM])["MetricAlarms"][0]
    assert alarm["StateValue"] == "ALARM"
    # AND the old model answered everything else, unchanged, before, during and after the rollback
    assert traffic.predictions
    assert set(traffic.predictions) == {old_prediction}
    assert predict(runtime) == old_prediction
    endpoint = runtime.client("sagemaker").describe_endpoint(EndpointName=PIPELINE)
    assert (endpoint["EndpointStatus"], endpoint["EndpointConfigName"]) == (
        "InService",
        served_before["endpoint_config_name"],
    )
    assert "rolled back" in endpoint["FailureReason"]
    assert ERRORS_ALARM in endpoint["FailureReason"]
    assert endpoint["LastDeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"] == "CANARY"
    # AND the run ends as a failed deployment, alerting with the rollback, and the watermark does not move
    assert (record.status, record.error) == ("FAILED", "DeploymentFailed")
    assert record.cause is not None
    assert "rolled back" in record.cause
    assert ERRORS_ALARM in record.cause
    assert record.states_entered()[-3:] == ["CleanUp", "NotifyFailure", "RunFailed"]
    assert watermark(runtime, pipeline) == served_before
    alert = slack.messages[-1].block_text
    assert "DeploymentFailed" in alert
    assert "rolled back" in alert
    assert ERRORS_ALARM in alert


def test_a_canary_of_a_healthy_model_completes(
    runtime: LocalRuntime, pipeline: DeployedPipeline, slack: FakeSlackApi
) -> None:
    # GIVEN the endpoint serving the first model and a new day of good data
    upload(runtime, pipeline, [0])

    # WHEN the run rolls the new model out as a canary under traffic
    started = time.monotonic()
    record, traffic = run_with_traffic(runtime, pipeline)

    # THEN nothing failed, both bakes were waited (2 x 5 s locally), and the new model serves
    assert record.status == "SUCCEEDED", record.cause
    assert time.monotonic() - started >= 10
    assert traffic.errors == []
    assert len(traffic.predictions) > 10
    assert "Updating" in traffic.statuses
    assert "RollingBack" not in traffic.statuses
    alarms = runtime.client("cloudwatch").describe_alarms(AlarmNamePrefix=f"{PIPELINE}-rollout-")["MetricAlarms"]
    assert {a["AlarmName"]: a["StateValue"] for a in alarms} == {
        ERRORS_ALARM: "OK",
        f"{PIPELINE}-rollout-model-latency": "OK",
    }
    job_name = record.output["training"]["job_name"]
    endpoint = runtime.client("sagemaker").describe_endpoint(EndpointName=PIPELINE)
    assert (endpoint["EndpointStatus"], endpoint["EndpointConfigName"]) == ("InService", job_name)
    assert "FailureReason" not in endpoint
    assert watermark(runtime, pipeline)["training_job_name"] == job_name
