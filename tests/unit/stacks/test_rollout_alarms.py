"""The rollout's CloudWatch alarms, and DeployModel's environment and permissions to use them."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from lambdas.common import env
from tests.unit.stacks.synth import (
    environment,
    flatten,
    function_statements,
    pipeline,
    pipeline_template,
    resources_for,
)

ROLLOUT = {
    "strategy": "linear",
    "linear_step_percent": 25,
    "wait_seconds": 120,
    "termination_wait_seconds": 60,
    "max_execution_seconds": 1_800,
    "alarms": {"max_5xx_errors": 2, "max_model_latency_ms": 250, "evaluation_periods": 3},
}


@pytest.fixture(scope="module")
def guarded() -> Template:
    return pipeline_template(pipeline(name="churn", endpoint={"name": "churn-live"}, rollout=ROLLOUT))


@pytest.fixture(scope="module")
def plain() -> Template:
    return pipeline_template(pipeline(name="churn"))


def rollout_alarms(template: Template) -> dict[str, Any]:
    """The alarms on the endpoint's metrics, by logical id (the pipeline's operational alarms are elsewhere)."""
    found: dict[str, Any] = template.find_resources(
        "AWS::CloudWatch::Alarm", {"Properties": {"Namespace": "AWS/SageMaker"}}
    )
    return found


def alarm(template: Template, metric: str) -> dict[str, Any]:
    found = template.find_resources("AWS::CloudWatch::Alarm", {"Properties": {"MetricName": metric}})
    assert len(found) == 1, sorted(found)
    properties: dict[str, Any] = next(iter(found.values()))["Properties"]
    return properties


def test_the_5xx_alarm_counts_the_endpoints_errors_per_minute(guarded: Template) -> None:
    properties = alarm(guarded, "Invocation5XXErrors")

    assert properties["AlarmName"] == "churn-rollout-5xx-errors"
    assert properties["Namespace"] == "AWS/SageMaker"
    assert properties["Dimensions"] == [
        {"Name": "EndpointName", "Value": "churn-live"},
        {"Name": "VariantName", "Value": "AllTraffic"},
    ]
    assert (properties["Statistic"], properties["Period"]) == ("Sum", 60)
    assert (properties["ComparisonOperator"], properties["Threshold"]) == ("GreaterThanThreshold", 2)
    assert (properties["EvaluationPeriods"], properties["DatapointsToAlarm"]) == (3, 3)
    assert properties["TreatMissingData"] == "notBreaching"


def test_the_latency_alarm_compares_the_average_in_microseconds(guarded: Template) -> None:
    properties = alarm(guarded, "ModelLatency")

    assert properties["AlarmName"] == "churn-rollout-model-latency"
    assert (properties["Statistic"], properties["Threshold"]) == ("Average", 250_000)
    assert properties["TreatMissingData"] == "notBreaching"


def test_a_null_latency_threshold_creates_the_5xx_alarm_only() -> None:
    template = pipeline_template(
        pipeline(name="churn", rollout={"strategy": "all_at_once", "alarms": {"max_model_latency_ms": None}})
    )

    alarms = rollout_alarms(template)
    assert [a["Properties"]["MetricName"] for a in alarms.values()] == ["Invocation5XXErrors"]


def test_deploy_model_is_told_the_rollout_and_the_alarms_by_reference(guarded: Template) -> None:
    variables = environment(guarded, "DeployModel")

    assert {k: v for k, v in variables.items() if k.startswith("ROLLOUT_") and k != env.ROLLOUT_ALARM_NAMES} == {
        env.ROLLOUT_STRATEGY: "linear",
        env.ROLLOUT_STEP_PERCENT: "25",
        env.ROLLOUT_WAIT_SECONDS: "120",
        env.ROLLOUT_TERMINATION_WAIT_SECONDS: "60",
        env.ROLLOUT_MAX_EXECUTION_SECONDS: "1800",
    }
    alarm_ids = sorted(rollout_alarms(guarded))
    assert sorted(flatten(variables[env.ROLLOUT_ALARM_NAMES]).split(",")) == [f"<{i}>" for i in alarm_ids]


def test_deploy_model_may_describe_exactly_the_rollout_alarms(guarded: Template) -> None:
    resources = resources_for(function_statements(guarded, "DeployModel"), "cloudwatch:DescribeAlarms")

    alarm_ids = sorted(rollout_alarms(guarded))
    assert sorted(flatten(resource) for resource in resources) == [f"<{i}.Arn>" for i in alarm_ids]


def test_without_a_rollout_there_are_no_alarms_and_no_rollout_settings(plain: Template) -> None:
    assert rollout_alarms(plain) == {}
    assert not [k for k in environment(plain, "DeployModel") if k.startswith("ROLLOUT_")]
    assert resources_for(function_statements(plain, "DeployModel"), "cloudwatch:DescribeAlarms") == []


def test_the_sagemaker_role_may_describe_the_rollout_alarms_too(guarded: Template) -> None:
    guarded.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Action": "cloudwatch:DescribeAlarms", "Effect": "Allow"})]
                )
            },
            "Roles": [{"Ref": Match.string_like_regexp("^SageMakerRole")}],
        },
    )
