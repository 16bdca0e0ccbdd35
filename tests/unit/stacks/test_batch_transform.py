"""A pipeline with a batch transform: its settings on the steps that use them, its job granted, watched and stopped."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template

from lambdas.common import env
from tests.unit.stacks.synth import (
    STEP_HANDLERS,
    environment,
    flatten,
    function_statements,
    pipeline,
    pipeline_template,
    resources_for,
    role_statements,
)
from tests.unit.stacks.test_pipeline_stack import sagemaker_role_id
from tests.unit.stacks.test_preprocessing import all_statements, state_machine_statements

TRANSFORM_JOBS = "arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:transform-job/churn-*"
MODELS = "arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:model/churn-*"
TRANSFORM_ACTIONS = (
    "sagemaker:CreateTransformJob",
    "sagemaker:DescribeTransformJob",
    "sagemaker:StopTransformJob",
)
TRANSFORM_EVENT = "SageMaker Transform Job State Change"


@pytest.fixture(scope="module")
def template() -> Template:
    return pipeline_template(
        pipeline(
            name="churn",
            data_prefix="daily/churn",
            batch_transform={"predictions_prefix": "scores/churn", "input_filter": None, "max_wait_seconds": 1_800},
        )
    )


@pytest.fixture(scope="module")
def plain() -> Template:
    # No held-out evaluation either: its transform jobs would need the same permissions.
    return pipeline_template(pipeline(name="churn", data_prefix="daily/churn", evaluation={"holdout": "none"}))


def normalized(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**s, "Action": s["Action"] if isinstance(s["Action"], list) else [s["Action"]]} for s in statements]


def test_the_transform_settings_reach_check_data_start_batch_transform_and_clean_up_only(template: Template) -> None:
    knowing = {step for step in STEP_HANDLERS if env.BATCH_TRANSFORM in environment(template, step)}

    # CleanUp stops the batch transform job of a run that ends (or is stopped) while it runs
    assert knowing == {"CheckData", "StartBatchTransform", "CleanUp"}
    assert "sagemaker:StopTransformJob" in {
        action for statement in function_statements(template, "CleanUp") for action in _actions(statement)
    }
    settings = json.loads(environment(template, "StartBatchTransform")[env.BATCH_TRANSFORM])
    # what StartBatchTransform reads; null input_filter sends whole records
    assert settings == {
        "predictions_prefix": "scores/churn",
        "instance_type": "ml.m5.large",
        "instance_count": 1,
        "content_type": "text/csv",
        "accept": "application/jsonlines",
        "input_filter": None,
        "max_payload_mb": 6,
    }
    assert (
        environment(template, "CheckData")[env.BATCH_TRANSFORM]
        == environment(template, "StartBatchTransform")[env.BATCH_TRANSFORM]
    )


def test_start_batch_transform_knows_where_the_data_is_and_how_often_to_poll(template: Template) -> None:
    variables = environment(template, "StartBatchTransform")

    assert variables[env.PIPELINE_NAME] == "churn"
    assert variables[env.DATA_PREFIX] == "daily/churn"
    assert flatten(variables[env.DATA_BUCKET]).startswith("<")
    assert int(variables[env.POLL_INTERVAL_SECONDS]) > 0


def test_get_status_stops_waiting_after_the_configured_wait(template: Template) -> None:
    assert environment(template, "GetStatus")[env.MAX_BATCH_TRANSFORM_WAIT_SECONDS] == "1800"
    assert env.BATCH_TRANSFORM not in environment(template, "GetStatus")


def test_start_batch_transform_may_start_only_the_pipelines_jobs_on_the_pipelines_models(template: Template) -> None:
    statements = function_statements(template, "StartBatchTransform")

    for action in ("sagemaker:DescribeTransformJob", "sagemaker:AddTags", "sagemaker:ListTags"):
        assert [flatten(arn) for arn in resources_for(statements, action)] == [TRANSFORM_JOBS], action
    assert sorted(flatten(arn) for arn in resources_for(statements, "sagemaker:CreateTransformJob")) == sorted(
        [TRANSFORM_JOBS, MODELS]
    )
    # a transform job takes no role: nothing to pass
    assert resources_for(statements, "iam:PassRole") == []


def test_start_batch_transform_lists_the_data_and_writes_and_reads_only_the_manifests(template: Template) -> None:
    statements = function_statements(template, "StartBatchTransform")

    (listing,) = [statement for statement in statements if "s3:ListBucket" in statement["Action"]]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["daily/churn", "daily/churn/*"]}}
    # the day's manifest, beside the run's (a retried attempt reads back the one it wrote)
    assert environment(template, "StartBatchTransform")[env.MANIFEST_PREFIX] == "manifests/churn"
    for action in ("s3:PutObject", "s3:GetObject"):
        assert [flatten(arn) for arn in resources_for(statements, action)] == [
            "<DataBucketE6B0FAA8.Arn>/manifests/churn/*"
        ], action


@pytest.mark.parametrize("step", ["GetStatus", "AwaitStatusChange"])
def test_the_loop_describes_the_pipelines_transform_jobs(template: Template, step: str) -> None:
    statements = function_statements(template, step)

    assert [flatten(arn) for arn in resources_for(statements, "sagemaker:DescribeTransformJob")] == [TRANSFORM_JOBS]


def test_transform_jobs_of_the_pipeline_that_ended_wake_the_listener(template: Template) -> None:
    rules = template.find_resources(
        "AWS::Events::Rule", {"Properties": {"EventPattern": {"detail-type": [TRANSFORM_EVENT]}}}
    )

    (rule,) = rules.values()
    assert rule["Properties"]["EventPattern"]["source"] == ["aws.sagemaker"]
    assert rule["Properties"]["EventPattern"]["detail"] == {
        "TransformJobName": [{"prefix": "churn-"}],
        "TransformJobStatus": ["Completed", "Failed", "Stopped"],
    }


def test_the_state_machine_may_stop_the_pipelines_transform_jobs(template: Template) -> None:
    statements = state_machine_statements(template)

    assert [flatten(arn) for arn in resources_for(statements, "sagemaker:StopTransformJob")] == [TRANSFORM_JOBS]


def test_the_sagemaker_role_writes_the_predictions_and_nothing_else_new(template: Template, plain: Template) -> None:
    statements = role_statements(template, sagemaker_role_id(template))
    before = role_statements(plain, sagemaker_role_id(plain))

    writable = [flatten(arn).split(".Arn>", 1)[-1] for arn in resources_for(statements, "s3:PutObject")]
    written_before = [flatten(arn).split(".Arn>", 1)[-1] for arn in resources_for(before, "s3:PutObject")]
    # the predictions mirror the data's keys under the predictions prefix: that prefix's copy of the data prefix
    assert "/scores/churn/daily/churn/*" in writable, writable
    assert "/scores/churn/daily/churn/*" not in written_before
    # the data itself stays read-only for SageMaker
    assert "/daily/churn/*" not in writable


@pytest.mark.parametrize("fixture", ["template", "plain"])
def test_the_stack_outputs_the_data_prefix(fixture: str, request: pytest.FixtureRequest) -> None:
    # 'transform --day' reads it, with or without a batch transform after deploying
    outputs = request.getfixturevalue(fixture).to_json()["Outputs"]

    assert outputs["DataPrefix"]["Value"] == "daily/churn"


def test_a_pipeline_without_a_batch_transform_has_no_transform_permission_rule_or_variable(plain: Template) -> None:
    assert not any(env.BATCH_TRANSFORM in environment(plain, step) for step in STEP_HANDLERS)
    assert env.MAX_BATCH_TRANSFORM_WAIT_SECONDS not in environment(plain, "GetStatus")
    statements = normalized(all_statements(plain))
    for action in TRANSFORM_ACTIONS:
        assert resources_for(statements, action) == [], action
    # the function exists (the state machine's definition names it) but may do nothing with the data
    assert resources_for(function_statements(plain, "StartBatchTransform"), "s3:ListBucket") == []
    rules = plain.find_resources(
        "AWS::Events::Rule", {"Properties": {"EventPattern": {"detail-type": [TRANSFORM_EVENT]}}}
    )
    assert rules == {}
    # SageMaker may write predictions only where the operator's `transform` writes them by default: the default
    # predictions prefix's copy of the data prefix
    sagemaker = role_statements(plain, sagemaker_role_id(plain))
    predictions = [flatten(arn) for arn in resources_for(sagemaker, "s3:PutObject") if "predictions" in flatten(arn)]
    assert [arn.split(".Arn>", 1)[-1] for arn in predictions] == ["/predictions/daily/churn/*"]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)
