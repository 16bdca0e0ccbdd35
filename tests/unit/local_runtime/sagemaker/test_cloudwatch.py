"""The local alarm evaluation: CloudWatch's rules applied to the datapoints moto stores."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from local_runtime.sagemaker.cloudwatch import AlarmSpec, can_evaluate, evaluate_alarm

NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
ERRORS = AlarmSpec(
    name="churn-rollout-5xx-errors",
    namespace="AWS/SageMaker",
    metric_name="Invocation5XXErrors",
    dimensions=(("EndpointName", "churn"), ("VariantName", "AllTraffic")),
    statistic="Sum",
    period_seconds=60,
    threshold=0,
    comparison="GreaterThanThreshold",
    evaluation_periods=1,
    datapoints_to_alarm=1,
    treat_missing_data="notBreaching",
)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def test_an_error_within_the_period_puts_the_alarm_in_alarm() -> None:
    state = evaluate_alarm(ERRORS, [(ago(30), 0.0), (ago(20), 1.0)], now=NOW, time_scale=1.0)

    assert state.value == "ALARM"
    assert "[1]" in state.reason
    assert "greater than the threshold (0)" in state.reason


def test_errors_older_than_the_evaluated_periods_do_not_count() -> None:
    state = evaluate_alarm(ERRORS, [(ago(61), 5.0), (ago(10), 0.0)], now=NOW, time_scale=1.0)

    assert state.value == "OK"


def test_the_period_runs_on_the_local_time_scale() -> None:
    # GIVEN a minute-long period on a scale of a minute per second: an error 2 s ago is 2 "minutes" old
    points = [(ago(2), 1.0)]

    assert evaluate_alarm(ERRORS, points, now=NOW, time_scale=1 / 60).value == "OK"
    assert evaluate_alarm(ERRORS, points, now=NOW, time_scale=1.0).value == "ALARM"


@pytest.mark.parametrize(("missing", "expected"), [("notBreaching", "OK"), ("breaching", "ALARM")])
def test_a_period_without_data_follows_treat_missing_data(missing: str, expected: str) -> None:
    state = evaluate_alarm(replace(ERRORS, treat_missing_data=missing), [], now=NOW, time_scale=1.0)

    assert state.value == expected


def test_datapoints_to_alarm_needs_that_many_breaching_periods() -> None:
    # GIVEN an average-latency alarm over 3 periods of which 2 must breach 500 ms
    latency = replace(ERRORS, statistic="Average", threshold=500_000, evaluation_periods=3, datapoints_to_alarm=2)
    one_slow = [(ago(150), 900_000.0), (ago(90), 100_000.0), (ago(30), 100_000.0)]
    two_slow = [(ago(150), 900_000.0), (ago(90), 100_000.0), (ago(30), 700_000.0), (ago(20), 500_000.0)]

    assert evaluate_alarm(latency, one_slow, now=NOW, time_scale=1.0).value == "OK"
    assert evaluate_alarm(latency, two_slow, now=NOW, time_scale=1.0).value == "ALARM"


@pytest.mark.parametrize(
    ("changes", "evaluable"),
    [
        ({}, True),
        ({"metric_name": None}, False),  # metric math
        ({"statistic": None}, False),  # a percentile (ExtendedStatistic)
        ({"comparison_operator": "LessThanLowerOrGreaterThanUpperThreshold"}, False),  # anomaly detection
    ],
)
def test_only_alarms_the_evaluation_computes_are_evaluable(changes: dict[str, object], evaluable: bool) -> None:
    alarm = SimpleNamespace(
        **{"metric_name": "Errors", "statistic": "Sum", "comparison_operator": "GreaterThanThreshold", **changes}
    )

    assert can_evaluate(alarm) is evaluable
