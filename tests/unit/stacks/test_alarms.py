"""The pipeline's operational alarms and the optional email topic, as the template declares them."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template

from contract.metrics import METRICS_NAMESPACE
from tests.unit.stacks.synth import STEP_HANDLERS, flatten, pipeline, pipeline_template

SLACK = {"channel": "#ml-alerts", "token_secret_name": "slack/ml-bot"}
EMAILS = ["ops@example.com", "ml-team@example.com"]
EXECUTION_ALARMS = {
    "churn-runs-failed": "ExecutionsFailed",
    "churn-runs-timed-out": "ExecutionsTimedOut",
    "churn-runs-aborted": "ExecutionsAborted",
}


@pytest.fixture(scope="module")
def plain() -> Template:
    """No Slack, no alert emails, automatic approval."""
    return pipeline_template(pipeline(name="churn"))


@pytest.fixture(scope="module")
def alerted() -> Template:
    """Slack, two alert emails, manual approval (so the approval listener exists), a new-data trigger (so TriggerRun
    exists) and a guarded rollout."""
    return pipeline_template(
        pipeline(
            name="churn",
            slack=SLACK,
            alerts={"email": EMAILS},
            registry={"approval": "manual"},
            rollout={"strategy": "all_at_once"},
            triggers={"new_data": {}},
        )
    )


def alarms_by_name(template: Template) -> dict[str, dict[str, Any]]:
    """The properties of the pipeline's own alarms (not the rollout's), by alarm name."""
    found = template.find_resources("AWS::CloudWatch::Alarm")
    return {
        p["AlarmName"]: p
        for p in (alarm["Properties"] for alarm in found.values())
        if p.get("Namespace") != "AWS/SageMaker"
    }


def state_machine_id(template: Template) -> str:
    [machine] = template.find_resources("AWS::StepFunctions::StateMachine")
    return machine


def function_ids(template: Template) -> set[str]:
    return set(template.find_resources("AWS::Lambda::Function"))


@pytest.mark.parametrize(("name", "metric"), sorted(EXECUTION_ALARMS.items()))
def test_executions_that_end_badly_raise_an_alarm_at_the_first_one(plain: Template, name: str, metric: str) -> None:
    properties = alarms_by_name(plain)[name]

    assert (properties["Namespace"], properties["MetricName"]) == ("AWS/States", metric)
    assert properties["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": state_machine_id(plain)}}]
    assert (properties["Statistic"], properties["Period"]) == ("Sum", 300)
    assert (properties["ComparisonOperator"], properties["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
    assert (properties["EvaluationPeriods"], properties["DatapointsToAlarm"]) == (1, 1)
    assert properties["TreatMissingData"] == "notBreaching"  # no run in five minutes is the normal case


def test_every_function_of_the_pipeline_has_one_errors_alarm_named_after_its_step(alerted: Template) -> None:
    errors = {n: p for n, p in alarms_by_name(alerted).items() if p["MetricName"] == "Errors"}

    assert set(errors) == {
        f"churn-{step}-errors"
        for step in [*STEP_HANDLERS, "StatusChangeListener", "RunEnded", "ApprovalListener", "TriggerRun"]
    }
    watched = [p["Dimensions"] for p in errors.values()]
    assert sorted(d[0]["Value"]["Ref"] for d in watched) == sorted(function_ids(alerted))
    for properties in errors.values():
        assert properties["Namespace"] == "AWS/Lambda"
        assert (properties["Statistic"], properties["Period"], properties["Threshold"]) == ("Sum", 300, 1)
        assert properties["TreatMissingData"] == "notBreaching"


def test_slack_delivery_failures_are_watched_on_notify_slacks_metric_for_this_pipeline(alerted: Template) -> None:
    properties = alarms_by_name(alerted)["churn-slack-delivery-failed"]

    assert (properties["Namespace"], properties["MetricName"]) == (METRICS_NAMESPACE, "SlackNotificationFailed")
    assert properties["Dimensions"] == [
        {"Name": "pipeline", "Value": "churn"},
        {"Name": "service", "Value": "notify_slack"},
    ]
    assert (properties["Statistic"], properties["Threshold"], properties["TreatMissingData"]) == (
        "Sum",
        1,
        "notBreaching",
    )
    assert "slack/ml-bot" in properties["AlarmDescription"]  # where to look: the token's secret


def test_without_slack_there_is_no_delivery_alarm(plain: Template) -> None:
    assert "churn-slack-delivery-failed" not in alarms_by_name(plain)


def test_descriptions_tell_the_operator_what_to_do(alerted: Template) -> None:
    for name, properties in alarms_by_name(alerted).items():
        description = flatten(properties["AlarmDescription"])
        assert "churn" in description, name
        assert len(description) <= 1024, name  # CloudWatch's limit


def test_without_alert_emails_there_is_no_topic_and_no_action(plain: Template) -> None:
    plain.resource_count_is("AWS::SNS::Topic", 0)
    plain.resource_count_is("AWS::SNS::Subscription", 0)
    for name, properties in alarms_by_name(plain).items():
        assert "AlarmActions" not in properties, name
        assert "OKActions" not in properties, name


def test_alert_emails_subscribe_to_an_encrypted_topic(alerted: Template) -> None:
    [(topic_id, topic)] = alerted.find_resources("AWS::SNS::Topic").items()
    [key_id] = alerted.find_resources("AWS::KMS::Key")

    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    subscriptions = alerted.find_resources("AWS::SNS::Subscription").values()
    assert sorted((s["Properties"]["Protocol"], s["Properties"]["Endpoint"]) for s in subscriptions) == sorted(
        ("email", address) for address in EMAILS
    )
    assert {s["Properties"]["TopicArn"]["Ref"] for s in subscriptions} == {topic_id}


def test_every_alarm_of_the_pipeline_notifies_the_topic_when_it_fires_and_when_it_clears(alerted: Template) -> None:
    [topic_id] = alerted.find_resources("AWS::SNS::Topic")

    alarms = alarms_by_name(alerted)
    assert len(alarms) == 3 + 1 + 1 + len(STEP_HANDLERS) + 4  # executions, Slack, schedule, every function
    for name, properties in alarms.items():
        assert properties["AlarmActions"] == [{"Ref": topic_id}], name
        assert properties["OKActions"] == [{"Ref": topic_id}], name


def test_the_rollout_alarms_keep_sagemaker_as_their_only_consumer(alerted: Template) -> None:
    rollout = alerted.find_resources("AWS::CloudWatch::Alarm", {"Properties": {"Namespace": "AWS/SageMaker"}})

    assert rollout
    assert all("AlarmActions" not in alarm["Properties"] for alarm in rollout.values())


def test_the_topic_takes_tls_only_and_this_pipelines_alarms(alerted: Template) -> None:
    [policy] = alerted.find_resources("AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]

    [deny] = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    [allow] = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert allow["Action"] == "sns:Publish"
    assert flatten(allow["Condition"]["ArnLike"]["aws:SourceArn"]).endswith(":alarm:churn-*")
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}


def test_cloudwatch_may_use_the_key_for_this_pipelines_alarms_only(alerted: Template, plain: Template) -> None:
    def cloudwatch_statements(template: Template) -> list[dict[str, Any]]:
        [key] = template.find_resources("AWS::KMS::Key").values()
        return [
            s
            for s in key["Properties"]["KeyPolicy"]["Statement"]
            if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
        ]

    [statement] = cloudwatch_statements(alerted)
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert flatten(statement["Condition"]["ArnLike"]["aws:SourceArn"]).endswith(":alarm:churn-*")
    assert cloudwatch_statements(plain) == []
