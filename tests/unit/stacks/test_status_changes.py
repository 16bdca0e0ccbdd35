"""The loops' wake-ups: one rule per state change kind, a listener that may only read tokens and return them."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template

from tests.unit.stacks.synth import environment, flatten, function_id, function_statements, pipeline, pipeline_template


@pytest.fixture(scope="module")
def template() -> Template:
    return pipeline_template(pipeline(name="churn", endpoint={"name": "churn-live"}))


def rules(template: Template) -> dict[str, dict[str, Any]]:
    found = template.find_resources(
        "AWS::Events::Rule", {"Properties": {"EventPattern": {"source": ["aws.sagemaker"]}}}
    )
    return {rule["Properties"]["EventPattern"]["detail-type"][0]: rule["Properties"] for rule in found.values()}


def actions(statements: list[dict[str, Any]]) -> set[str]:
    return {action for statement in statements for action in statement["Action"]}


def test_training_jobs_of_the_pipeline_that_ended_wake_the_listener(template: Template) -> None:
    rule = rules(template)["SageMaker Training Job State Change"]

    assert rule["EventPattern"]["detail"] == {
        "TrainingJobName": [{"prefix": "churn-"}],
        "TrainingJobStatus": ["Completed", "Failed", "Stopped"],
    }
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": [function_id(template, "StatusChangeListener"), "Arn"]}


def test_the_pipelines_endpoint_settling_wakes_the_listener_in_both_spellings(template: Template) -> None:
    rule = rules(template)["SageMaker Endpoint State Change"]

    assert rule["EventPattern"]["detail"]["EndpointName"] == ["churn-live"]
    statuses = set(rule["EventPattern"]["detail"]["EndpointStatus"])
    assert {"IN_SERVICE", "FAILED", "OUT_OF_SERVICE", "UPDATE_ROLLBACK_FAILED"} <= statuses
    assert {"InService", "Failed", "OutOfService", "UpdateRollbackFailed"} <= statuses
    assert not statuses & {"Creating", "CREATING", "Updating", "UPDATING", "RollingBack", "ROLLING_BACK"}


def test_both_functions_keep_their_tokens_under_the_wake_prefix(template: Template) -> None:
    for step in ("AwaitStatusChange", "StatusChangeListener"):
        assert environment(template, step)["WAKE_PREFIX"] == "waits/churn"


def test_the_listener_may_only_read_and_delete_tokens_and_return_them(template: Template) -> None:
    statements = function_statements(template, "StatusChangeListener")

    allowed = actions(statements) - {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments"}
    allowed -= {"xray:PutTelemetryRecords", "kms:Decrypt"}
    assert allowed == {
        "s3:GetObject",
        "s3:ListBucket",  # of the tokens' prefix only: a missing record is then a 404, not a 403
        "s3:DeleteObject",
        "states:SendTaskSuccess",
        "states:SendTaskFailure",
        "states:SendTaskHeartbeat",
    }
    s3 = [flatten(s["Resource"]) for s in statements if set(s["Action"]) & {"s3:GetObject", "s3:DeleteObject"}]
    assert s3
    assert all(resource.endswith("/waits/churn/*") for resource in s3)
    (listing,) = [s for s in statements if "s3:ListBucket" in s["Action"]]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["waits/churn", "waits/churn/*"]}}


def test_await_status_change_describes_only_the_pipelines_jobs_and_endpoint(template: Template) -> None:
    statements = function_statements(template, "AwaitStatusChange")

    described = {
        flatten(s["Resource"])
        for s in statements
        if set(s["Action"]) & {"sagemaker:DescribeTrainingJob", "sagemaker:DescribeEndpoint"}
    }
    assert {r.rsplit(":", 1)[-1] for r in described} == {"training-job/churn-*", "endpoint/churn-live"}
    assert "s3:PutObject" in actions(statements)
    assert "states:SendTaskSuccess" in actions(statements)
