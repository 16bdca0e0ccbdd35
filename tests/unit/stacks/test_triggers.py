"""The triggers in the template: the bucket's EventBridge setting, the new-data rule, TriggerRun, the Scheduler
group and role, and one rule per upstream event."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template

from lambdas.common import env
from stacks.constructs.triggers import TRIGGER_RUN_CONCURRENCY
from tests.unit.stacks.synth import flatten, pipeline, pipeline_template, resources_for, role_statements

TRIGGER_RUN_HANDLER = "lambdas.trigger_run.handler.lambda_handler"
FEATURES = {"source": ["my.etl"], "detail-type": ["Job State Change"], "detail": {"state": ["SUCCEEDED"]}}
TRIGGERS = {
    "new_data": {"quiet_seconds": 120, "max_delay_seconds": 900},
    "events": [
        {"name": "features-ready", "pattern": FEATURES},
        {"name": "labels", "pattern": {"source": ["my.labels"], "$or": [{"account": ["1"]}, {"region": ["x"]}]}},
    ],
}


@pytest.fixture(scope="module")
def triggered() -> Template:
    return pipeline_template(pipeline(name="churn", data_prefix="raw/churn", triggers=TRIGGERS))


@pytest.fixture(scope="module")
def existing_bucket() -> Template:
    return pipeline_template(pipeline(name="churn", data_bucket={"name": "team-data"}, triggers={"new_data": {}}))


def resources(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = template.find_resources(kind)
    return found


def trigger_run(template: Template) -> tuple[str, dict[str, Any]]:
    found = template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": TRIGGER_RUN_HANDLER}})
    assert len(found) == 1, sorted(found)
    ((logical_id, resource),) = found.items()
    return logical_id, resource["Properties"]


def rule_with_target(template: Template, fragment: str) -> dict[str, Any]:
    rules = [
        rule["Properties"]
        for rule in resources(template, "AWS::Events::Rule").values()
        if fragment in json.dumps(rule["Properties"].get("Targets", []))
        and "ScheduleExpression" not in rule["Properties"]
    ]
    assert len(rules) == 1, rules
    return rules[0]


def test_a_pipeline_without_triggers_has_none_of_their_resources(demo_template: Template) -> None:
    demo_template.resource_count_is("AWS::Scheduler::ScheduleGroup", 0)
    assert not demo_template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": TRIGGER_RUN_HANDLER}})
    (bucket,) = [
        props
        for props in (r["Properties"] for r in resources(demo_template, "AWS::S3::Bucket").values())
        if "LoggingConfiguration" in props
    ]
    assert "NotificationConfiguration" not in bucket
    # only the schedule starts runs, and no rule reacts to S3 or to upstream events
    schedules = resources(demo_template, "AWS::Scheduler::Schedule").values()
    assert [schedule["Properties"]["ScheduleExpression"] for schedule in schedules] == ["rate(1 day)"]
    rules = [rule["Properties"] for rule in resources(demo_template, "AWS::Events::Rule").values()]
    assert [rule for rule in rules if "ScheduleExpression" in rule] == []
    # (SageMaker's job and endpoint events wake the loops; Step Functions' tells RunEnded that a run ended)
    sources = {source for rule in rules for source in rule.get("EventPattern", {}).get("source", [])}
    assert sources == {"aws.sagemaker", "aws.states"}


def test_the_created_bucket_sends_its_object_events_to_eventbridge_without_a_custom_resource(
    triggered: Template,
) -> None:
    (bucket,) = [
        props
        for props in (r["Properties"] for r in resources(triggered, "AWS::S3::Bucket").values())
        if "LoggingConfiguration" in props
    ]

    assert bucket["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    assert not resources(triggered, "Custom::S3BucketNotifications")


def test_object_created_under_the_data_prefix_of_the_data_bucket_invokes_trigger_run(triggered: Template) -> None:
    function_id, _ = trigger_run(triggered)

    rule = rule_with_target(triggered, function_id)

    assert rule["EventPattern"]["source"] == ["aws.s3"]
    assert rule["EventPattern"]["detail-type"] == ["Object Created"]
    detail = rule["EventPattern"]["detail"]
    assert [flatten(name) for name in detail["bucket"]["name"]] == ["<DataBucketE6B0FAA8>"]
    # the trailing slash keeps raw/churn-archive/... out
    assert detail["object"]["key"] == [{"prefix": "raw/churn/"}]
    permissions = resources(triggered, "AWS::Lambda::Permission")
    assert any(
        p["Properties"]["Principal"] == "events.amazonaws.com"
        and p["Properties"]["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}
        for p in permissions.values()
    )


def test_an_existing_bucket_is_left_to_its_owner_and_still_gets_the_rule(existing_bucket: Template) -> None:
    assert not resources(existing_bucket, "AWS::S3::Bucket")
    function_id, _ = trigger_run(existing_bucket)
    rule = rule_with_target(existing_bucket, function_id)
    assert rule["EventPattern"]["detail"]["bucket"]["name"] == ["team-data"]


def test_trigger_run_knows_its_schedule_target_and_timing_and_has_a_small_reserved_concurrency(
    triggered: Template,
) -> None:
    _, properties = trigger_run(triggered)
    variables = properties["Environment"]["Variables"]

    assert properties["ReservedConcurrentExecutions"] == TRIGGER_RUN_CONCURRENCY
    assert variables[env.PIPELINE_NAME] == "churn"
    assert variables[env.QUIET_SECONDS] == "120"
    assert variables[env.MAX_DELAY_SECONDS] == "900"
    assert flatten(variables[env.STATE_MACHINE_ARN]) == "<WorkflowStateMachine8F1B1C15>"
    assert flatten(variables[env.SCHEDULE_GROUP]) == "<TriggersScheduleGroupA2769C73>"
    assert flatten(variables[env.SCHEDULER_ROLE_ARN]) == "<TriggersSchedulerRole7172ED8D.Arn>"
    assert flatten(variables[env.SCHEDULE_KMS_KEY_ARN]) == "<EncryptionKey3A692D6E.Arn>"


def test_the_schedule_group_is_named_after_the_pipeline(triggered: Template) -> None:
    triggered.has_resource_properties("AWS::Scheduler::ScheduleGroup", {"Name": "sagemaker-retraining-churn"})


def test_trigger_run_may_read_and_write_only_its_own_schedule_and_pass_only_the_scheduler_role(
    triggered: Template,
) -> None:
    _, properties = trigger_run(triggered)
    statements = role_statements(triggered, properties["Role"]["Fn::GetAtt"][0])

    schedule = "arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/<TriggersScheduleGroupA2769C73>"
    for action in ("scheduler:GetSchedule", "scheduler:CreateSchedule", "scheduler:UpdateSchedule"):
        assert [flatten(r) for r in resources_for(statements, action)] == [f"{schedule}/churn-new-data"]
    assert not resources_for(statements, "scheduler:DeleteSchedule")
    assert [flatten(r) for r in resources_for(statements, "iam:PassRole")] == ["<TriggersSchedulerRole7172ED8D.Arn>"]
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        assert [flatten(r) for r in resources_for(statements, action)] == ["<EncryptionKey3A692D6E.Arn>"]


def test_the_scheduler_role_is_for_this_accounts_schedules_and_may_only_start_the_workflow(
    triggered: Template,
) -> None:
    ((role_id, role),) = triggered.find_resources(
        "AWS::IAM::Role", {"Properties": {"Description": "Starts a run of pipeline churn once new data has been quiet"}}
    ).items()
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    statements = role_statements(triggered, role_id)

    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert sorted(action for statement in statements for action in statement["Action"]) == [
        "kms:Decrypt",
        "states:StartExecution",
    ]
    assert [flatten(r) for r in resources_for(statements, "states:StartExecution")] == [
        "<WorkflowStateMachine8F1B1C15>"
    ]


def test_each_upstream_event_starts_the_workflow_directly_with_its_trigger(triggered: Template) -> None:
    rules = [
        rule["Properties"]
        for rule in resources(triggered, "AWS::Events::Rule").values()
        if "upstream event" in rule["Properties"].get("Description", "")
    ]

    by_trigger = {json.loads(rule["Targets"][0]["Input"])["trigger"]: rule for rule in rules}
    assert sorted(by_trigger) == ["event:features-ready", "event:labels"]
    # the configured pattern, as written (fields the L2 pattern lacks, such as $or, included)
    assert by_trigger["event:features-ready"]["EventPattern"] == FEATURES
    assert by_trigger["event:labels"]["EventPattern"]["$or"] == [{"account": ["1"]}, {"region": ["x"]}]
    targets = [target for rule in rules for target in rule["Targets"]]
    assert [flatten(target["Arn"]) for target in targets] == ["<WorkflowStateMachine8F1B1C15>"] * 2
    # one role for both, which EventBridge assumes and which may start this workflow only
    ((role_id, _),) = {target["RoleArn"]["Fn::GetAtt"][0]: None for target in targets}.items()
    role = resources(triggered, "AWS::IAM::Role")[role_id]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "events.amazonaws.com"}
    statements = role_statements(triggered, role_id)
    assert sorted({action for statement in statements for action in statement["Action"]}) == ["states:StartExecution"]
    assert {flatten(r) for r in resources_for(statements, "states:StartExecution")} == {
        "<WorkflowStateMachine8F1B1C15>"
    }
