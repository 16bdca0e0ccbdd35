"""The pipeline's schedule as the template declares it: an EventBridge Scheduler schedule in its time zone, with a
retry policy, a dead-letter queue and its alarm, and the scheduled time in the run input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template

from tests.unit.stacks.synth import pipeline, pipeline_template


@pytest.fixture(scope="module")
def default() -> Template:
    return pipeline_template(pipeline(name="churn"))


@pytest.fixture(scope="module")
def berlin() -> Template:
    return pipeline_template(
        pipeline(
            name="churn",
            schedule="cron(0 5 * * ? *)",
            schedule_timezone="Europe/Berlin",
            schedule_retry={"maximum_retry_attempts": 3, "maximum_event_age_seconds": 3600},
            alerts={"email": ["ops@example.com"]},
        )
    )


def schedule_properties(template: Template) -> dict[str, Any]:
    [schedule] = template.find_resources("AWS::Scheduler::Schedule").values()
    properties: dict[str, Any] = schedule["Properties"]
    return properties


def logical_id(template: Template, kind: str) -> str:
    [found] = template.find_resources(kind)
    return found


def test_the_pipeline_is_scheduled_by_eventbridge_scheduler_not_a_rule(default: Template) -> None:
    rules = default.find_resources("AWS::Events::Rule")

    assert [r for r in rules.values() if "ScheduleExpression" in r["Properties"]] == []
    default.resource_count_is("AWS::Scheduler::Schedule", 1)


def test_by_default_the_schedule_runs_daily_in_utc_with_schedulers_own_retry_defaults(default: Template) -> None:
    properties = schedule_properties(default)

    assert properties["ScheduleExpression"] == "rate(1 day)"
    assert properties["ScheduleExpressionTimezone"] == "UTC"
    assert properties["State"] == "ENABLED"
    assert properties["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert properties["Target"]["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}


def test_the_schedule_reads_its_cron_in_the_configured_time_zone_and_retries_as_configured(berlin: Template) -> None:
    properties = schedule_properties(berlin)

    assert properties["ScheduleExpression"] == "cron(0 5 * * ? *)"
    assert properties["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert properties["Target"]["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600}


def test_the_run_input_carries_schedulers_scheduled_time(default: Template) -> None:
    target = schedule_properties(default)["Target"]

    assert target["Arn"] == {"Ref": logical_id(default, "AWS::StepFunctions::StateMachine")}
    assert json.loads(target["Input"]) == {"trigger": "schedule", "scheduled_time": "<aws.scheduler.scheduled-time>"}


def test_undelivered_ticks_go_to_an_encrypted_ssl_only_queue(default: Template) -> None:
    queue = logical_id(default, "AWS::SQS::Queue")
    key = logical_id(default, "AWS::KMS::Key")

    assert schedule_properties(default)["Target"]["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue, "Arn"]}}
    default.has_resource_properties("AWS::SQS::Queue", {"KmsMasterKeyId": {"Fn::GetAtt": [key, "Arn"]}})
    [policy] = default.find_resources("AWS::SQS::QueuePolicy").values()
    [deny] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_schedules_role_may_start_the_workflow_and_write_to_the_encrypted_queue(default: Template) -> None:
    role_arn = schedule_properties(default)["Target"]["RoleArn"]
    role = role_arn["Fn::GetAtt"][0]
    [trust] = default.to_json()["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    statements = [
        s
        for p in default.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}

    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert {"states:StartExecution", "sqs:SendMessage", "kms:GenerateDataKey", "kms:Decrypt"} <= actions


def test_a_message_in_the_dead_letter_queue_raises_an_alarm_that_emails_like_the_others(berlin: Template) -> None:
    queue = logical_id(berlin, "AWS::SQS::Queue")
    [alarm] = [
        a["Properties"]
        for a in berlin.find_resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("AlarmName") == "churn-schedule-dead-letters"
    ]
    [topic] = berlin.find_resources("AWS::SNS::Topic")

    assert alarm["Namespace"] == "AWS/SQS"
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}]
    assert alarm["Threshold"] == 1
    assert alarm["AlarmActions"] == [{"Ref": topic}]
    assert "(schedule cron(0 5 * * ? *), Europe/Berlin)" in json.dumps(alarm["AlarmDescription"])
