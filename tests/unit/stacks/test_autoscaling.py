"""An autoscaled endpoint: the scaling settings reach the steps that update or register the endpoint, whose roles may
register, deregister and describe only SageMaker variants' instance counts; no CloudFormation scalable target."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Template

from lambdas.common import env
from tests.unit.stacks.synth import environment, flatten, function_statements, pipeline, pipeline_template

SCALING = {"min": 2, "max": 6, "target_invocations_per_instance": 150}
STEPS = ("DeployModel", "GetStatus", "SmokeTest")
CHANGES = (
    "application-autoscaling:RegisterScalableTarget",
    "application-autoscaling:DeregisterScalableTarget",
    "application-autoscaling:PutScalingPolicy",
    "application-autoscaling:DeleteScalingPolicy",
)


@pytest.fixture(scope="module")
def template() -> Template:
    return pipeline_template(pipeline(name="churn", endpoint={"autoscaling": SCALING}))


@pytest.fixture(scope="module")
def fixed() -> Template:
    return pipeline_template(pipeline(name="churn"))


@pytest.mark.parametrize("step", STEPS)
def test_the_steps_that_update_or_register_the_endpoint_get_the_scaling_settings(template: Template, step: str) -> None:
    settings = json.loads(environment(template, step)[env.ENDPOINT_AUTOSCALING])

    assert settings == {**SCALING, "scale_in_cooldown_seconds": 300, "scale_out_cooldown_seconds": 60}


def test_the_endpoint_starts_with_the_minimum_when_no_count_is_given(template: Template) -> None:
    assert environment(template, "DeployModel")[env.ENDPOINT_INSTANCE_COUNT] == "2"


@pytest.mark.parametrize("step", STEPS)
def test_a_fixed_endpoint_gets_no_scaling_settings_and_no_scaling_permission(fixed: Template, step: str) -> None:
    assert env.ENDPOINT_AUTOSCALING not in environment(fixed, step)
    actions = {action for s in function_statements(fixed, step) for action in s["Action"]}
    assert not any(action.startswith("application-autoscaling:") for action in actions)


@pytest.mark.parametrize("step", STEPS)
def test_scaling_changes_are_allowed_on_sagemaker_variant_counts_only(template: Template, step: str) -> None:
    statements = [s for s in function_statements(template, step) if set(CHANGES) <= set(s["Action"])]

    assert len(statements) == 1
    assert flatten(statements[0]["Resource"]).endswith(":scalable-target/*")
    assert statements[0]["Condition"] == {
        "StringEquals": {
            "application-autoscaling:service-namespace": "sagemaker",
            "application-autoscaling:scalable-dimension": "sagemaker:variant:DesiredInstanceCount",
        }
    }


@pytest.mark.parametrize("step", STEPS)
def test_only_applications_auto_scalings_sagemaker_service_linked_role_may_be_created(
    template: Template, step: str
) -> None:
    statements = [s for s in function_statements(template, step) if "iam:CreateServiceLinkedRole" in s["Action"]]

    assert len(statements) == 1
    assert flatten(statements[0]["Resource"]).endswith(
        ":role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
        "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
    )
    assert statements[0]["Condition"] == {
        "StringLike": {"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"}
    }


def test_target_tracking_alarms_are_allowed_for_the_endpoints_variant_only(template: Template) -> None:
    statements = [s for s in function_statements(template, "GetStatus") if "cloudwatch:PutMetricAlarm" in s["Action"]]

    assert [flatten(s["Resource"]).rsplit(":alarm:", 1)[1] for s in statements] == [
        "TargetTracking-endpoint/churn/variant/AllTraffic-*"
    ]


def test_cloudformation_registers_no_scalable_target(template: Template) -> None:
    # The workflow registers the variant once the endpoint exists (stacks/constructs/endpoint_scaling.py).
    template.resource_count_is("AWS::ApplicationAutoScaling::ScalableTarget", 0)
    template.resource_count_is("AWS::ApplicationAutoScaling::ScalingPolicy", 0)


def test_the_dashboard_charts_the_instances_between_the_minimum_and_the_maximum(template: Template) -> None:
    [dashboard] = template.find_resources("AWS::CloudWatch::Dashboard").values()
    body = flatten(dashboard["Properties"]["DashboardBody"])

    assert "Endpoint churn: instances (autoscaling 2 to 6)" in body
    assert '"expression":"invocations / per_instance"' in body
    assert '{"value":6,"label":"autoscaling.max"' in body
    assert '"EndpointInstances","pipeline","churn","service","get_status"' in body


def test_an_alarm_fires_when_the_endpoint_serves_at_its_maximum(template: Template) -> None:
    alarms = template.find_resources(
        "AWS::CloudWatch::Alarm", {"Properties": {"AlarmName": "churn-endpoint-at-max-instances"}}
    )

    [alarm] = alarms.values()
    expressions = [m.get("Expression") for m in alarm["Properties"]["Metrics"]]
    assert "IF(instances >= 6, 1, 0)" in expressions
    assert "invocations / per_instance" in expressions
    names = {m["MetricStat"]["Metric"]["MetricName"] for m in alarm["Properties"]["Metrics"] if "MetricStat" in m}
    assert names == {"Invocations", "InvocationsPerInstance"}


def test_a_fixed_endpoint_has_neither_the_chart_nor_the_alarm(fixed: Template) -> None:
    [dashboard] = fixed.find_resources("AWS::CloudWatch::Dashboard").values()

    assert "invocations / per_instance" not in flatten(dashboard["Properties"]["DashboardBody"])
    assert not fixed.find_resources(
        "AWS::CloudWatch::Alarm", {"Properties": {"AlarmName": "churn-endpoint-at-max-instances"}}
    )
