"""The Slack delivery alarm seen to fire and clear, as an operator next to `serve` would see it.

Slack's token is refused through the faults API over plain HTTP; NotifySlack's `SlackNotificationFailed` (an EMF
line on its stdout) reaches the local CloudWatch, whose alarm clock puts the stack's `<pipeline>-slack-delivery-failed`
alarm in ALARM; with the fault cleared, the next run's messages are delivered and the alarm goes back to OK once
the failure's (5-minute, 5 s locally) period is over.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from local_runtime.deploy import DeployedPipeline, ExecutionRecord, run_execution
from local_runtime.runtime import QUIET_FUNCTIONS, LocalRuntime, SlackTarget
from local_runtime.slack_api import LocalSlackApi
from tests.e2e.quiet_pipeline import CHANNEL, PIPELINE, STACK, TOKEN, template

pytestmark = pytest.mark.e2e

ALARM = f"{PIPELINE}-slack-delivery-failed"
DIMENSIONS = [{"Name": "service", "Value": "notify_slack"}, {"Name": "pipeline", "Value": PIPELINE}]
ALARM_WAIT_SECONDS = 15  # the clock ticks every second; a 5 s period clears 5 s after the last failure


@pytest.fixture(scope="module")
def bench() -> Iterator[tuple[LocalRuntime, DeployedPipeline, LocalSlackApi]]:
    with LocalSlackApi(valid_token=TOKEN, channels=(CHANNEL,)) as slack, LocalRuntime() as runtime:
        pipeline = runtime.deploy_template(
            template(),
            stack_name=STACK,
            slack=SlackTarget(api_url=slack.base_url, token=TOKEN, local_server=slack),
            function_environment=QUIET_FUNCTIONS,
        )
        yield runtime, pipeline, slack


def faults_api(runtime: LocalRuntime, method: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """A request to the faults API with nothing but the standard library, as from a terminal next to `serve`."""
    request = urllib.request.Request(
        f"{runtime.endpoint_url}/_local/faults",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def cloudwatch(runtime: LocalRuntime) -> Any:
    """A plain boto3 client against the runtime, as an operator's would be."""
    return boto3.client(
        "cloudwatch",
        endpoint_url=runtime.endpoint_url,
        region_name=runtime.region,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def run_without_new_data(runtime: LocalRuntime, pipeline: DeployedPipeline) -> ExecutionRecord:
    """A short run: no data, so CheckData finds nothing new and NotifySlack tells the channel so."""
    return run_execution(
        runtime.aws, pipeline, name=f"slack-{uuid.uuid4().hex[:8]}", execution_input={"trigger": "manual"}
    )


def wait_for_alarm(client: Any, state: str) -> dict[str, Any]:
    deadline = time.monotonic() + ALARM_WAIT_SECONDS
    while True:
        alarm: dict[str, Any] = client.describe_alarms(AlarmNames=[ALARM])["MetricAlarms"][0]
        if alarm["StateValue"] == state or time.monotonic() > deadline:
            return alarm
        time.sleep(0.2)


def notification_sum(client: Any, metric: str, since: datetime) -> float:
    statistics = client.get_metric_statistics(
        Namespace="SageMakerRetraining",
        MetricName=metric,
        Dimensions=DIMENSIONS,
        StartTime=since,
        EndTime=datetime.now(UTC) + timedelta(minutes=1),
        Period=3600,
        Statistics=["Sum"],
    )
    return float(sum(point["Sum"] for point in statistics["Datapoints"]))


def test_a_refused_token_fires_the_delivery_alarm_and_it_clears_once_slack_takes_messages(
    bench: tuple[LocalRuntime, DeployedPipeline, LocalSlackApi],
) -> None:
    runtime, pipeline, slack = bench
    client = cloudwatch(runtime)
    started = datetime.now(UTC) - timedelta(seconds=1)

    # GIVEN Slack refusing the bot token, armed over HTTP
    armed_status, armed = faults_api(runtime, "POST", {"fault": "reject_token", "times": None})

    # WHEN a run notifies Slack, which refuses the message
    refused_run = run_without_new_data(runtime, pipeline)
    firing = wait_for_alarm(client, "ALARM")

    # THEN the run went on, nothing was delivered, the failure reached CloudWatch and the alarm fired
    assert (armed_status, armed["description"]) == (201, "Slack refuses the token (invalid_auth)")
    assert refused_run.status == "SUCCEEDED", refused_run.cause
    assert slack.messages == []
    assert notification_sum(client, "SlackNotificationFailed", started) >= 1
    assert firing["StateValue"] == "ALARM", firing
    assert "Threshold Crossed" in firing["StateReason"]

    # WHEN the fault is cleared over HTTP and the next run's message is delivered
    cleared_status, cleared = faults_api(runtime, "DELETE")
    delivered_run = run_without_new_data(runtime, pipeline)
    clear = wait_for_alarm(client, "OK")

    # THEN the fault had fired, Slack took the message, its success was counted, and the alarm is OK again
    assert (cleared_status, cleared) == (200, {"faults": []})
    assert delivered_run.status == "SUCCEEDED", delivered_run.cause
    assert len(slack.messages) == 1
    assert notification_sum(client, "SlackNotificationSent", started) == 1
    assert clear["StateValue"] == "OK", clear
