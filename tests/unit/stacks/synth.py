"""Synthesize pipeline stacks for template tests, and read what the templates hold."""

from __future__ import annotations

from typing import Any

from aws_cdk import App, Environment
from aws_cdk.assertions import Template

from app import cdk_json_context
from contract.steps import WORKFLOW_STEPS
from stacks.config import parse_pipeline
from stacks.pipeline_stack import PipelineStack

# Stacks matching none of these patterns skip asset bundling: no pip install in template tests.
SKIP_BUNDLING: dict[str, Any] = {"aws:cdk:bundling-stacks": []}

# The workflow's steps, from the registry.
STEP_HANDLERS = {step.name: step.handler for step in WORKFLOW_STEPS}

# Functions outside the state machine's definition: targets of EventBridge rules.
LISTENER_HANDLERS = {
    "StatusChangeListener": "lambdas.status_change_listener.handler.lambda_handler",
    "RunEnded": "lambdas.run_ended.handler.lambda_handler",
}
FUNCTION_HANDLERS = {**STEP_HANDLERS, **LISTENER_HANDLERS}


def synth_context(**extra: Any) -> dict[str, Any]:
    """cdk.json's context (feature flags included) without bundling, plus `extra`."""
    return {**cdk_json_context(), **SKIP_BUNDLING, **extra}


def pipeline(**fields: Any) -> dict[str, Any]:
    """A raw pipeline config: the minimal one, with `fields` added or replaced."""
    return {"name": "demo", "data_prefix": "data/demo", **fields}


def pipeline_template(raw: dict[str, Any], *, region: str | None = None) -> Template:
    """Synthesize one PipelineStack for the raw config (environment-agnostic unless `region` is given)."""
    app = App(context=synth_context())
    env = Environment(account="123456789012", region=region) if region else None
    stack = PipelineStack(app, "Pipeline", config=parse_pipeline(raw), env=env)
    return Template.from_stack(stack)


def function_id(template: Template, step: str) -> str:
    """The logical id of a step's function, found by its handler."""
    functions = template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": FUNCTION_HANDLERS[step]}})
    assert len(functions) == 1, f"{step}: {sorted(functions)}"
    return next(iter(functions))


def function_properties(template: Template, step: str) -> dict[str, Any]:
    properties: dict[str, Any] = template.to_json()["Resources"][function_id(template, step)]["Properties"]
    return properties


def environment(template: Template, step: str) -> dict[str, Any]:
    variables: dict[str, Any] = function_properties(template, step)["Environment"]["Variables"]
    return variables


def role_statements(template: Template, role_id: str) -> list[dict[str, Any]]:
    """Every statement of the policies attached to a role, with Action always a list."""
    statements = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                actions = statement["Action"]
                statements.append({**statement, "Action": actions if isinstance(actions, list) else [actions]})
    return statements


def function_statements(template: Template, step: str) -> list[dict[str, Any]]:
    role = function_properties(template, step)["Role"]["Fn::GetAtt"][0]
    return role_statements(template, role)


def resources_for(statements: list[dict[str, Any]], action: str) -> list[Any]:
    """The resources of the statements that allow `action` (each Resource as a list)."""
    found: list[Any] = []
    for statement in statements:
        if action in statement["Action"] and statement["Effect"] == "Allow":
            resource = statement["Resource"]
            found.extend(resource if isinstance(resource, list) else [resource])
    return found


def flatten(value: Any) -> str:
    """Render an intrinsic as a readable string: Fn::Join concatenated, Ref/GetAtt as <Id>/<Id.Attr>."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        delimiter, parts = value["Fn::Join"]
        return str(delimiter).join(flatten(part) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    if isinstance(value, dict) and "Fn::FindInMap" in value:
        return f"<FindInMap {flatten(value['Fn::FindInMap'][1])}>"
    return repr(value)
