"""The state machine: the ASL file verbatim, its placeholders bound to the steps, logged and traced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from stacks.config import parse_pipeline
from stacks.constructs import state_machine as state_machine_module
from stacks.constructs.state_machine import (
    PlaceholderMismatchError,
    check_substitutions,
    placeholders,
    with_run_timeout,
)
from stacks.paths import STATE_MACHINE_ASL
from stacks.pipeline_stack import PipelineStack
from tests.unit.stacks.synth import (
    STEP_HANDLERS,
    flatten,
    function_id,
    pipeline,
    resources_for,
    role_statements,
    synth_context,
)


@pytest.fixture(scope="module")
def template(demo_template: Template) -> Template:
    return demo_template


@pytest.fixture(scope="module")
def properties(template: Template) -> dict[str, object]:
    (state_machine,) = template.find_resources("AWS::StepFunctions::StateMachine").values()
    props: dict[str, object] = state_machine["Properties"]
    return props


def test_definition_is_the_asl_file_verbatim_with_the_runs_timeout_first(properties: dict[str, object]) -> None:
    # The demo pipeline: a day of training, an hour of deployment, an hour of held-out evaluation, a 60 s interval
    # each, automatic approval; 6 h
    timeout = 86_400 + 3_600 + 3_600 + 3 * 60 + 6 * 3_600
    definition = str(properties["DefinitionString"])

    assert json.loads(definition)["TimeoutSeconds"] == timeout
    assert definition == STATE_MACHINE_ASL.read_text().replace("{", f'{{\n  "TimeoutSeconds": {timeout},', 1)


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ('{"TimeoutSeconds": 60, "StartAt": "A", "States": {}}', "sets its own TimeoutSeconds"),
        ("{}", "is not a state machine"),
        ('[{"StartAt": "A"}]', "is not a state machine"),
    ],
)
def test_a_definition_the_timeout_cannot_be_added_to_is_refused(definition: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        with_run_timeout(definition, 3_600)


def test_each_placeholder_is_bound_to_its_steps_function(template: Template, properties: dict[str, object]) -> None:
    substitutions = properties["DefinitionSubstitutions"]

    assert substitutions == {
        f"{step}FunctionArn": {"Fn::GetAtt": [function_id(template, step), "Arn"]} for step in STEP_HANDLERS
    }
    assert set(substitutions) == placeholders(STATE_MACHINE_ASL.read_text())  # type: ignore[arg-type]


def test_standard_named_logged_and_traced(template: Template, properties: dict[str, object]) -> None:
    (log_group_id, log_group), *others = template.find_resources(
        "AWS::Logs::LogGroup", {"Properties": {"LogGroupName": "/aws/vendedlogs/states/sagemaker-retraining-demo"}}
    ).items()

    assert not others
    assert log_group["Properties"]["RetentionInDays"] == 30
    assert properties["StateMachineName"] == "sagemaker-retraining-demo"
    assert properties["StateMachineType"] == "STANDARD"
    assert properties["TracingConfiguration"] == {"Enabled": True}
    assert properties["LoggingConfiguration"] == {
        "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": [log_group_id, "Arn"]}}}],
        "IncludeExecutionData": True,
        "Level": "ALL",
    }


def test_role_may_invoke_the_steps_and_stop_the_pipelines_training_jobs(
    template: Template, properties: dict[str, object]
) -> None:
    statements = role_statements(template, properties["RoleArn"]["Fn::GetAtt"][0])  # type: ignore[index]

    invocable = {flatten(arn) for arn in resources_for(statements, "lambda:InvokeFunction")}
    functions = {function_id(template, step) for step in STEP_HANDLERS}
    assert invocable == {f"<{f}.Arn>" for f in functions} | {f"<{f}.Arn>:*" for f in functions}
    assert [flatten(arn) for arn in resources_for(statements, "sagemaker:StopTrainingJob")] == [
        "arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:training-job/demo-*"
    ]


def test_the_asl_holds_exactly_the_function_placeholders() -> None:
    assert placeholders(STATE_MACHINE_ASL.read_text()) == {f"{step}FunctionArn" for step in STEP_HANDLERS}


@pytest.mark.parametrize(
    ("definition", "substitutions", "message"),
    [
        ('{"A": "${CheckDataFunctionArn}", "B": "${NewStepFunctionArn}"}', {"CheckDataFunctionArn": "x"}, "NewStep"),
        ('{"A": "${CheckDataFunctionArn}"}', {"CheckDataFunctionArn": "x", "GetStatusFunctionArn": "y"}, "GetStatus"),
    ],
)
def test_placeholder_mismatch_is_an_error(definition: str, substitutions: dict[str, str], message: str) -> None:
    with pytest.raises(PlaceholderMismatchError, match=message):
        check_substitutions(definition, substitutions, source=Path("retraining.asl.json"))


def test_synth_fails_when_the_asl_gains_a_placeholder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN an ASL with a placeholder no step provides
    asl = tmp_path / "retraining.asl.json"
    asl.write_text(STATE_MACHINE_ASL.read_text().replace("${GetStatusFunctionArn}", "${GetStatusV2FunctionArn}"))
    monkeypatch.setattr(state_machine_module, "STATE_MACHINE_ASL", asl)

    # WHEN the stack is built / THEN synth stops, naming both sides of the mismatch
    with pytest.raises(PlaceholderMismatchError, match=r"GetStatusV2FunctionArn.*GetStatusFunctionArn"):
        PipelineStack(App(context=synth_context()), "Pipeline", config=parse_pipeline(pipeline()))
