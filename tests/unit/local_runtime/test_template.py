"""Reading a template: EventBridge rules (patterns, schedules and targets, their intrinsic functions resolved) and the
state machine's role."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from local_runtime.template import EventRule, read_stack

REGION, ACCOUNT = "eu-west-1", "123456789012"
PATTERN = {"source": ["aws.sagemaker"], "detail-type": ["SageMaker Model Package State Change"]}


def template(**rules: dict[str, Any]) -> dict[str, Any]:
    resources: dict[str, Any] = {
        "Listener": {"Type": "AWS::Lambda::Function", "Properties": {"Handler": "pkg.handler.main"}},
        "Machine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"DefinitionString": "{}"}},
        "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "registry"}},
    }
    resources.update({name: {"Type": "AWS::Events::Rule", "Properties": props} for name, props in rules.items()})
    return {"Resources": resources}


def test_a_pattern_rule_is_read_with_its_targets_resolved() -> None:
    # GIVEN a rule with a pattern, a Lambda target taking the detail and a state machine target with a constant
    rule = {
        "EventPattern": PATTERN,
        "State": "ENABLED",
        "Targets": [
            {"Id": "listener", "Arn": {"Fn::GetAtt": ["Listener", "Arn"]}, "InputPath": "$.detail"},
            {
                "Id": "machine",
                "Arn": {"Ref": "Machine"},
                "RoleArn": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/events"},
                "Input": json.dumps({"trigger": "approval"}),
            },
        ],
    }

    # WHEN the template is read
    stack = read_stack(template(OnApproval=rule), stack_name="s", region=REGION, account=ACCOUNT)

    # THEN the rule has the stack's name for it, the pattern, and targets as PutTargets takes them
    assert stack.rules == {
        "OnApproval": EventRule(
            name="s-OnApproval",
            event_pattern=PATTERN,
            targets=[
                {
                    "Id": "listener",
                    "Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:s-Listener",
                    "InputPath": "$.detail",
                },
                {
                    "Id": "machine",
                    "Arn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:s-Machine",
                    "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/events",
                    "Input": '{"trigger": "approval"}',
                },
            ],
        )
    }
    assert stack.schedules == {}


@pytest.mark.parametrize("bus", [{"Ref": "Bus"}, {"Fn::GetAtt": ["Bus", "Arn"]}])
def test_a_rule_on_a_custom_bus_names_the_bus(bus: dict[str, Any]) -> None:
    # GIVEN a rule on the stack's own bus, as a name or as an ARN, with its pattern as JSON text and a name
    rule = {"Name": "approvals", "EventBusName": bus, "EventPattern": json.dumps(PATTERN), "State": "DISABLED"}

    # WHEN the template is read
    (read,) = read_stack(template(OnApproval=rule), stack_name="s", region=REGION).rules.values()

    # THEN the rule is on that bus under its own name, with its pattern and state
    assert (read.name, read.event_bus_name, read.event_pattern, read.state) == (
        "approvals",
        "registry",
        PATTERN,
        "DISABLED",
    )


def test_a_scheduled_rule_is_a_rule_like_any_other() -> None:
    # GIVEN a scheduled rule
    rule = {"ScheduleExpression": "cron(0 6 * * ? *)", "Targets": [{"Id": "m", "Arn": {"Ref": "Machine"}}]}

    # WHEN the template is read
    stack = read_stack(template(Nightly=rule), stack_name="s", region=REGION)

    # THEN deploy puts it like any rule; the pipeline's schedule is a Scheduler schedule, not this
    assert stack.rules["Nightly"].schedule_expression == "cron(0 6 * * ? *)"
    assert stack.schedules == {}


def test_a_scheduler_schedule_is_read_as_create_schedule_takes_it_with_its_queue() -> None:
    # GIVEN a Scheduler schedule as the pipeline stack declares it, and its dead-letter queue
    resources = template()["Resources"]
    resources["DeadLetters"] = {"Type": "AWS::SQS::Queue", "Properties": {}}
    resources["Role"] = {"Type": "AWS::IAM::Role", "Properties": {}}
    resources["Schedule"] = {
        "Type": "AWS::Scheduler::Schedule",
        "Properties": {
            "ScheduleExpression": "cron(0 5 * * ? *)",
            "ScheduleExpressionTimezone": "Europe/Berlin",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": "ENABLED",
            "Target": {
                "Arn": {"Ref": "Machine"},
                "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                "Input": '{"scheduled_time":"<aws.scheduler.scheduled-time>"}',
                "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600},
                "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["DeadLetters", "Arn"]}},
            },
        },
    }

    # WHEN the template is read
    stack = read_stack({"Resources": resources}, stack_name="s", region=REGION)

    # THEN the schedule has its name, its time zone and its target with every reference resolved
    assert stack.queues == ["s-DeadLetters"]
    assert stack.schedules["Schedule"] == {
        "Name": "s-Schedule",
        "ScheduleExpression": "cron(0 5 * * ? *)",
        "ScheduleExpressionTimezone": "Europe/Berlin",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "ENABLED",
        "Target": {
            "Arn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:s-Machine",
            "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/s-Role",
            "Input": '{"scheduled_time":"<aws.scheduler.scheduled-time>"}',
            "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600},
            "DeadLetterConfig": {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:s-DeadLetters"},
        },
    }


def test_buckets_sending_events_to_eventbridge_and_schedule_groups_are_read() -> None:
    resources = {
        "Data": {
            "Type": "AWS::S3::Bucket",
            "Properties": {"NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}},
        },
        "Logs": {"Type": "AWS::S3::Bucket", "Properties": {}},
        "Group": {"Type": "AWS::Scheduler::ScheduleGroup", "Properties": {"Name": "sagemaker-retraining-churn"}},
        "Trigger": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"Handler": "pkg.handler.main", "Environment": {"Variables": {"GROUP": {"Ref": "Group"}}}},
        },
    }

    stack = read_stack({"Resources": resources}, stack_name="s", region=REGION, account=ACCOUNT)

    assert stack.buckets == ["s-data", "s-logs"]
    assert stack.eventbridge_buckets == ["s-data"]
    assert stack.schedule_groups == ["sagemaker-retraining-churn"]
    assert stack.functions["Trigger"].environment == {"GROUP": "sagemaker-retraining-churn"}


def test_a_state_machines_role_is_the_templates_role_resolved() -> None:
    # GIVEN a state machine whose RoleArn is its role's ARN, by Fn::GetAtt
    resources = template()["Resources"]
    resources["MachineRole"] = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}}
    resources["Machine"]["Properties"]["RoleArn"] = {"Fn::GetAtt": ["MachineRole", "Arn"]}

    # WHEN the stack is read
    stack = read_stack({"Resources": resources}, stack_name="Pipeline", region=REGION, account=ACCOUNT)

    # THEN the state machine runs as that role, named as the local runtime names it
    assert stack.state_machine_roles == {"Machine": f"arn:aws:iam::{ACCOUNT}:role/Pipeline-MachineRole"}


def test_a_kms_key_gets_a_key_arn_and_the_bucket_it_encrypts_names_it() -> None:
    key_arn = {"Fn::GetAtt": ["Key", "Arn"]}
    by_default = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}
    resources = {
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"Description": "data", "KeyPolicy": {"Statement": []}}},
        "Data": {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": by_default, "BucketKeyEnabled": True}
                    ]
                }
            },
        },
        "DataPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": "Data"},
                "PolicyDocument": {"Statement": [{"Effect": "Deny", "Sid": {"Ref": "AWS::NoValue"}}]},
            },
        },
        "Reader": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"Handler": "h.main", "Environment": {"Variables": {"KEY": {"Ref": "Key"}}}},
        },
    }

    stack = read_stack({"Resources": resources}, stack_name="s", region=REGION, account=ACCOUNT)
    again = read_stack({"Resources": resources}, stack_name="s", region=REGION, account=ACCOUNT)

    key = stack.kms_keys["Key"]
    assert re.fullmatch(rf"arn:aws:kms:{REGION}:{ACCOUNT}:key/[0-9a-f-]{{36}}", key.arn)
    assert key.arn == f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key.key_id}" == again.kms_keys["Key"].arn
    assert stack.functions["Reader"].environment == {"KEY": key.key_id}  # Ref of a key is its id
    assert stack.bucket_encryption == {
        "s-data": {
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key.arn},
                    "BucketKeyEnabled": True,
                }
            ]
        }
    }
    assert stack.bucket_policies == {"s-data": {"Statement": [{"Effect": "Deny"}]}}
