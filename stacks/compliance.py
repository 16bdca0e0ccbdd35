"""Helpers to acknowledge cdk-nag findings one at a time, next to the resource they are about."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, rule: str, reason: str, *, applies_to: str | None = None) -> None:
    """Acknowledge one cdk-nag finding on `construct` and its children.

    `applies_to` narrows a granular rule (such as AwsSolutions-IAM5) to one finding, e.g. `Resource::*`;
    cdk-nag 3 matches the id `<rule>[<finding>]` exactly.
    """
    finding_id = f"{rule}[{applies_to}]" if applies_to else rule
    Validations.of(construct).acknowledge(Acknowledgment(id=finding_id, reason=reason))


def resource_finding(scope: IConstruct, arn: str) -> str:
    """The `Resource::...` finding cdk-nag reports for a wildcard ARN, which may hold tokens."""
    return f"Resource::{_flatten(Stack.of(scope).resolve(arn))}"


def _flatten(node: Any) -> str:
    # Mirrors cdk-nag's flattenCfnReference so an acknowledgment names exactly the finding it reports.
    if node is None:
        return ""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict):
        if "Fn::Join" in node:
            delimiter, items = node["Fn::Join"]
            return str(delimiter).join(_flatten(item) for item in items)
        if "Fn::Sub" in node:
            return _flatten(node["Fn::Sub"])
        if "Fn::GetAtt" in node:
            resource, attribute = node["Fn::GetAtt"]
            return f"<{_flatten(resource)}.{_flatten(attribute)}>"
        if "Fn::ImportValue" in node:
            return _flatten(node["Fn::ImportValue"])
        if "Ref" in node:
            return f"<{_flatten(node['Ref'])}>"
    return json.dumps(node, separators=(",", ":"))
