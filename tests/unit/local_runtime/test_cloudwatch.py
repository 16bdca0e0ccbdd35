"""The functions' EMF metrics reach the local CloudWatch, and the alarm clock evaluates the alarms on them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_runtime.cloudwatch import AlarmClock, publish_metrics
from local_runtime.emf import ExtractedMetric

REGION, ACCOUNT = "us-east-1", "123456789012"
NAMESPACE = "SageMakerRetraining"
DIMENSIONS = (("service", "notify_slack"), ("pipeline", "ops"))
ALARM = "ops-slack-delivery-failed"
# One "minute" of AWS time per second: the alarm's 5-minute period lasts 5 s, the clock ticks every second.
TIME_SCALE = 1 / 60


@pytest.fixture
def cloudwatch(aws_env: None) -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("cloudwatch", region_name=REGION)


def failed(value: float = 1.0) -> list[ExtractedMetric]:
    return [ExtractedMetric(NAMESPACE, "SlackNotificationFailed", "Count", DIMENSIONS, (value,), datetime.now(UTC))]


def put_alarm(cloudwatch: Any, name: str = ALARM, **changes: Any) -> None:
    """The stack's Slack delivery alarm (stacks/constructs/alarms.py), with `changes` (None drops a property)."""
    properties: dict[str, Any] = {
        "AlarmName": name,
        "Namespace": NAMESPACE,
        "MetricName": "SlackNotificationFailed",
        "Dimensions": [{"Name": key, "Value": value} for key, value in DIMENSIONS],
        "Statistic": "Sum",
        "Period": 300,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        **changes,
    }
    cloudwatch.put_metric_alarm(**{key: value for key, value in properties.items() if value is not None})


def state(cloudwatch: Any, name: str = ALARM) -> str:
    return str(cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"])


def test_published_metrics_are_what_get_metric_statistics_reads(cloudwatch: Any) -> None:
    # WHEN two failures are published as their EMF lines would be
    publish_metrics(ACCOUNT, REGION, failed())
    publish_metrics(ACCOUNT, REGION, failed())

    # THEN CloudWatch holds them under the metric's namespace, name and dimensions
    statistics = cloudwatch.get_metric_statistics(
        Namespace=NAMESPACE,
        MetricName="SlackNotificationFailed",
        Dimensions=[{"Name": key, "Value": value} for key, value in DIMENSIONS],
        StartTime=datetime(2000, 1, 1),
        EndTime=datetime(2100, 1, 1),
        Period=3600,
        Statistics=["Sum"],
    )
    assert [point["Sum"] for point in statistics["Datapoints"]] == [2.0]


@pytest.mark.compatibility("cloudwatch:alarms")
def test_a_failure_puts_the_alarm_in_alarm_until_its_period_has_passed(cloudwatch: Any) -> None:
    # GIVEN the Slack delivery alarm, OK, and a failed delivery
    put_alarm(cloudwatch)
    clock = AlarmClock(time_scale=TIME_SCALE)
    quiet = clock.evaluate()
    publish_metrics(ACCOUNT, REGION, failed())

    # WHEN the clock evaluates it at once, then once its (scaled) period has passed
    during = clock.evaluate()
    observed = state(cloudwatch)
    time.sleep(300 * TIME_SCALE + 0.2)
    after = clock.evaluate()

    # THEN ALARM while the failure is within the period, OK after, and DescribeAlarms showed it
    assert [(s.name, s.value) for s in quiet] == [(ALARM, "OK")]
    assert [(s.name, s.value) for s in during] == [(ALARM, "ALARM")]
    assert observed == "ALARM"
    assert [(s.name, s.value) for s in after] == [(ALARM, "OK")]
    assert state(cloudwatch) == "OK"


def test_another_pipelines_failure_does_not_trip_the_alarm(cloudwatch: Any) -> None:
    put_alarm(cloudwatch)
    other = ExtractedMetric(
        NAMESPACE,
        "SlackNotificationFailed",
        "Count",
        (("service", "notify_slack"), ("pipeline", "b")),
        (1.0,),
        datetime.now(UTC),
    )
    publish_metrics(ACCOUNT, REGION, [other])

    AlarmClock(time_scale=TIME_SCALE).evaluate()

    assert state(cloudwatch) == "OK"


@pytest.mark.parametrize(
    ("name", "changes"),
    [
        ("runs-failed", {"Namespace": "AWS/States", "MetricName": "ExecutionsFailed", "Dimensions": []}),
        ("p99", {"Statistic": None, "ExtendedStatistic": "p99"}),
    ],
)
def test_alarms_on_aws_metrics_or_that_it_cannot_compute_are_left_alone(
    cloudwatch: Any, name: str, changes: dict[str, Any]
) -> None:
    # GIVEN an alarm on a metric AWS services publish (never locally), or on a percentile, set to ALARM by hand
    put_alarm(cloudwatch, name, **changes)
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="by hand")

    # WHEN the clock evaluates
    states = AlarmClock(time_scale=TIME_SCALE).evaluate()

    # THEN it did not read the missing data as OK
    assert states == []
    assert state(cloudwatch, name) == "ALARM"


def test_the_clock_evaluates_once_a_minute_of_local_time(cloudwatch: Any) -> None:
    # GIVEN the alarm and a failure, and the clock running on a minute per second
    put_alarm(cloudwatch)
    publish_metrics(ACCOUNT, REGION, failed())
    clock = AlarmClock(time_scale=TIME_SCALE).start()

    # WHEN a little over a "minute" passes
    try:
        time.sleep(1.5)
        observed = state(cloudwatch)
    finally:
        clock.stop()

    # THEN the alarm went to ALARM without anyone asking
    assert clock.interval_seconds == pytest.approx(1.0)
    assert observed == "ALARM"


def test_a_time_scale_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError, match="time_scale must be positive, got 0"):
        AlarmClock(time_scale=0)
