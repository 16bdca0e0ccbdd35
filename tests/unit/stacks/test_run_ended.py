"""RunEnded in the template: the rule that hears every end of the pipeline's runs, the function, its few grants."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template

from tests.unit.stacks.synth import (
    environment,
    flatten,
    function_id,
    function_properties,
    function_statements,
    pipeline,
    pipeline_template,
    resources_for,
)

# What every function's role holds: its log group, tracing, the data key (through S3 only).
BASELINE = {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}


@pytest.fixture(scope="module")
def template() -> Template:
    # With alerts.email, every alarm has the topic as its action
    return pipeline_template(pipeline(name="churn", alerts={"email": ["ml-ops@example.com"]}))


def state_machine_id(template: Template) -> str:
    (machine,) = template.find_resources("AWS::StepFunctions::StateMachine")
    return machine


def status_change_rule(template: Template) -> dict[str, Any]:
    rules = template.find_resources("AWS::Events::Rule", {"Properties": {"EventPattern": {"source": ["aws.states"]}}})
    assert len(rules) == 1, sorted(rules)
    properties: dict[str, Any] = next(iter(rules.values()))["Properties"]
    return properties


def test_every_end_of_this_state_machines_executions_reaches_run_ended(template: Template) -> None:
    rule = status_change_rule(template)

    assert rule["EventPattern"] == {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {
            "stateMachineArn": [{"Ref": state_machine_id(template)}],
            "status": ["ABORTED", "FAILED", "SUCCEEDED", "TIMED_OUT"],
        },
    }
    assert rule["State"] == "ENABLED"
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [function_id(template, "RunEnded"), "Arn"]}
    # the function reads the event itself
    assert "Input" not in target
    assert "InputTransformer" not in target
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1


def test_eventbridge_may_invoke_the_function_from_this_rule_only(template: Template) -> None:
    rule_id = next(
        iter(template.find_resources("AWS::Events::Rule", {"Properties": {"EventPattern": {"source": ["aws.states"]}}}))
    )
    permissions = [
        p["Properties"]
        for p in template.find_resources("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [function_id(template, "RunEnded"), "Arn"]}
    ]

    assert permissions == [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Fn::GetAtt": [function_id(template, "RunEnded"), "Arn"]},
            "Principal": "events.amazonaws.com",
            "SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]},
        }
    ]


def test_the_function_knows_the_lease_and_the_two_functions_it_invokes(template: Template) -> None:
    variables = environment(template, "RunEnded")

    assert variables["PIPELINE_NAME"] == "churn"
    assert variables["WAKE_PREFIX"] == "waits/churn"  # the lease is <wake prefix>/run.lease, as CheckData takes it
    assert variables["WAKE_PREFIX"] == environment(template, "CheckData")["WAKE_PREFIX"]
    assert variables["DATA_BUCKET"] == environment(template, "CheckData")["DATA_BUCKET"]
    assert variables["CLEAN_UP_FUNCTION"] == {"Fn::GetAtt": [function_id(template, "CleanUp"), "Arn"]}
    assert variables["NOTIFY_SLACK_FUNCTION"] == {"Fn::GetAtt": [function_id(template, "NotifySlack"), "Arn"]}


def test_the_function_waits_longer_than_the_two_functions_it_invokes(template: Template) -> None:
    timeout = function_properties(template, "RunEnded")["Timeout"]

    assert (
        timeout
        > function_properties(template, "CleanUp")["Timeout"] + function_properties(template, "NotifySlack")["Timeout"]
    )


def test_the_function_may_do_only_what_it_needs(template: Template) -> None:
    statements = function_statements(template, "RunEnded")

    allowed = {action for statement in statements for action in statement["Action"]} - BASELINE - {"kms:Decrypt"}
    assert allowed == {
        "s3:GetObject",
        "s3:DeleteObject",
        "s3:ListBucket",
        "lambda:InvokeFunction",
        "states:GetExecutionHistory",
        "ssm:GetParameter",  # the watermark: had the run deployed and recorded its model?
    }
    assert all(statement["Effect"] == "Allow" for statement in statements)


def test_the_function_reads_and_deletes_the_lease_object_only(template: Template) -> None:
    statements = function_statements(template, "RunEnded")
    data_bucket = environment(template, "RunEnded")["DATA_BUCKET"]["Ref"]

    for action in ("s3:GetObject", "s3:DeleteObject"):
        assert [flatten(arn) for arn in resources_for(statements, action)] == [
            f"<{data_bucket}.Arn>/waits/churn/run.lease"
        ]
    (listing,) = [statement for statement in statements if "s3:ListBucket" in statement["Action"]]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["waits/churn/run.lease", "waits/churn/run.lease/*"]}}
    assert resources_for(statements, "s3:PutObject") == []


def test_the_function_invokes_exactly_clean_up_and_notify_slack(template: Template) -> None:
    statements = function_statements(template, "RunEnded")

    invoked = resources_for(statements, "lambda:InvokeFunction")
    assert sorted(flatten(arn) for arn in invoked) == sorted(
        f"<{function_id(template, step)}.Arn>" for step in ("CleanUp", "NotifySlack")
    )


def test_the_function_reads_the_history_of_this_machines_executions_only(template: Template) -> None:
    statements = function_statements(template, "RunEnded")

    assert [flatten(arn) for arn in resources_for(statements, "states:GetExecutionHistory")] == [
        "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:sagemaker-retraining-churn:*"
    ]
    # The machine's name in the grant is the name the machine is given
    machine = template.to_json()["Resources"][state_machine_id(template)]["Properties"]
    assert machine["StateMachineName"] == "sagemaker-retraining-churn"


def test_an_error_of_the_function_raises_an_alarm(template: Template) -> None:
    alarms = [
        alarm["Properties"]
        for alarm in template.find_resources("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("Dimensions")
        == [{"Name": "FunctionName", "Value": {"Ref": function_id(template, "RunEnded")}}]
    ]

    assert len(alarms) == 1
    (alarm,) = alarms
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Threshold"]) == ("AWS/Lambda", "Errors", 1)
    assert alarm["AlarmName"] == "churn-RunEnded-errors"
    (topic,) = template.find_resources("AWS::SNS::Topic")
    assert alarm["AlarmActions"] == [{"Ref": topic}]  # someone is told when a run's end could not be handled
