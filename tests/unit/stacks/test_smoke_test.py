"""SmokeTest in the template: its settings variable, and grants on this pipeline's endpoint, configs and data only."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Template

from tests.unit.stacks.synth import (
    environment,
    flatten,
    function_statements,
    pipeline,
    pipeline_template,
    resources_for,
)

# What every function's role holds: its log group and tracing.
BASELINE = {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}
SAGEMAKER = "arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>"
SMOKE = {"records": 3, "accept": "application/json", "header": True, "input_filter": "$[0,2]"}


@pytest.fixture(scope="module")
def template() -> Template:
    """A pipeline whose endpoint, data and manifests are not named after it, with smoke test settings of its own."""
    return pipeline_template(
        pipeline(
            name="churn",
            data_prefix="raw/churn-events",
            manifest_prefix="lists/churn",
            endpoint={"name": "churn-live"},
            smoke_test=SMOKE,
        )
    )


@pytest.fixture(scope="module")
def template_off() -> Template:
    return pipeline_template(pipeline(name="churn", smoke_test=False))


def statements_with(template: Template, action: str) -> list[str]:
    return sorted(flatten(arn) for arn in resources_for(function_statements(template, "SmokeTest"), action))


def actions(template: Template) -> set[str]:
    return {action for statement in function_statements(template, "SmokeTest") for action in statement["Action"]}


def test_the_function_knows_the_smoke_test_settings_and_the_watermark(template: Template) -> None:
    variables = environment(template, "SmokeTest")

    assert json.loads(variables["SMOKE_TEST"]) == {
        "records": 3,
        "input_filter": "$[0,2]",
        "content_type": "text/csv",
        "accept": "application/json",
        "header": True,
    }
    # the roll-back reads the config the last deployed run recorded, where UpdateParameters writes it
    assert variables["WATERMARK_PARAMETER"] == environment(template, "UpdateParameters")["WATERMARK_PARAMETER"]


def test_with_the_smoke_test_off_the_function_has_no_settings(template_off: Template) -> None:
    assert "SMOKE_TEST" not in environment(template_off, "SmokeTest")


def test_the_function_may_do_only_what_a_smoke_test_and_its_roll_back_need(template: Template) -> None:
    assert actions(template) - BASELINE == {
        "s3:GetObject",
        "kms:Decrypt",
        "sagemaker:InvokeEndpoint",
        "sagemaker:DescribeEndpointConfig",
        "sagemaker:UpdateEndpoint",
        "ssm:GetParameter",
        "sagemaker:UpdateModelPackage",  # the failed model's version is marked Rejected
    }
    assert statements_with(template, "sagemaker:UpdateModelPackage") == [f"{SAGEMAKER}:model-package/churn-models/*"]
    assert all(statement["Effect"] == "Allow" for statement in function_statements(template, "SmokeTest"))


def test_it_invokes_this_pipelines_endpoint_only(template: Template) -> None:
    assert statements_with(template, "sagemaker:InvokeEndpoint") == [f"{SAGEMAKER}:endpoint/churn-live"]
    # the endpoint DeployModel deploys to
    assert f"{SAGEMAKER}:endpoint/churn-live" in statements_with_step(
        template, "DeployModel", "sagemaker:UpdateEndpoint"
    )


def statements_with_step(template: Template, step: str, action: str) -> list[str]:
    return sorted(flatten(arn) for arn in resources_for(function_statements(template, step), action))


def test_it_rolls_back_this_pipelines_endpoint_to_its_runs_configs_only(template: Template) -> None:
    # IAM authorizes UpdateEndpoint on the endpoint and on the config it moves to
    assert statements_with(template, "sagemaker:UpdateEndpoint") == [
        f"{SAGEMAKER}:endpoint-config/churn-*",
        f"{SAGEMAKER}:endpoint/churn-live",
    ]
    assert statements_with(template, "sagemaker:DescribeEndpointConfig") == [f"{SAGEMAKER}:endpoint-config/churn-*"]


def test_it_reads_the_runs_manifests_and_data_only(template: Template) -> None:
    bucket = environment(template, "CheckData")["DATA_BUCKET"]["Ref"]

    assert statements_with(template, "s3:GetObject") == [
        f"<{bucket}.Arn>/lists/churn/*",
        f"<{bucket}.Arn>/raw/churn-events/*",
    ]
    (decrypt,) = [s for s in function_statements(template, "SmokeTest") if "kms:Decrypt" in s["Action"]]
    assert "kms:ViaService" in decrypt["Condition"]["StringEquals"]  # the data key, through S3 only


def test_it_reads_the_watermark_parameter_only(template: Template) -> None:
    [parameter] = statements_with(template, "ssm:GetParameter")

    assert parameter.startswith("arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter<WatermarkParameter")
    assert statements_with_step(template, "UpdateParameters", "ssm:PutParameter") == [parameter]


def test_with_the_smoke_test_off_the_function_may_do_nothing_more_than_log(template_off: Template) -> None:
    assert actions(template_off) == BASELINE
