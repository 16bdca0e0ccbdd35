"""Helpers to acknowledge cdk-nag findings and skip checkov checks one at a time, next to their resource."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from constructs import IConstruct

# Where checkov reads the checks a CloudFormation resource skips: Metadata.checkov.skip, a list of {id, comment}.
CHECKOV_METADATA_KEY = "checkov"

# Reasons shared by several resources (and by cdk-nag and checkov, which check the same things).
INLINE_POLICY_REASON = (
    "Each role's policy is CDK's DefaultPolicy, sized to that one role's job; a customer managed policy would be "
    "attachable to any other principal, which least privilege rules out, and it would outlive its role."
)
LAMBDA_CONCURRENCY_REASON = (
    "Step Functions is the only caller, and runs of a pipeline never overlap (CheckData stops a second one), "
    "so a step runs at most a few invocations at once. A reservation would take capacity from the account's "
    "unreserved pool, and deploying one fails outright in accounts whose concurrency quota is still 10."
)
LAMBDA_DLQ_REASON = (
    "A dead-letter queue receives failed asynchronous invocations only. Step Functions invokes synchronously "
    "and handles every failure itself: Retry with backoff, then Catch into the Slack alert and a Fail state "
    "that keeps the error in the execution history. A queue here would never receive a message."
)
LAMBDA_VPC_REASON = (
    "The functions call AWS APIs and Slack's HTTPS API only, and accept no connections. A VPC would need a NAT "
    "gateway (Slack) plus interface endpoints for S3, SSM, SageMaker, Step Functions, Secrets Manager, X-Ray "
    "and CloudWatch Logs, adding cost and failure modes while every call is already TLS and IAM-authenticated."
)
LAMBDA_ENVIRONMENT_KEY_REASON = (
    "The environment holds names and settings only, never a secret (tests/e2e/test_secret_hygiene.py checks "
    "every variable), and Lambda encrypts it at rest with an AWS managed key. A customer managed key would add "
    "kms:Decrypt to every function's role and protect nothing more."
)
BUCKET_REPLICATION_REASON = (
    "Replication needs a second bucket in another region, which this single-region stack does not own. The "
    "bucket is versioned and retained on stack deletion, and the training data it holds comes from upstream "
    "systems that remain its source of truth."
)


def acknowledge(construct: IConstruct, rule: str, reason: str, *, applies_to: str | None = None) -> None:
    """Acknowledge one cdk-nag finding on `construct` and its children.

    `applies_to` narrows a granular rule (such as AwsSolutions-IAM5) to one finding, e.g. `Resource::*`;
    cdk-nag 3 matches the id `<rule>[<finding>]` exactly.
    """
    finding_id = f"{rule}[{applies_to}]" if applies_to else rule
    Validations.of(construct).acknowledge(Acknowledgment(id=finding_id, reason=reason))


def skip_checkov(construct: IConstruct, check: str, reason: str) -> None:
    """Skip one checkov check on the CloudFormation resource of `construct`, with the reason in the template.

    checkov reads `Metadata.checkov.skip` of a resource in a CloudFormation template, and reports the skip with
    its comment.
    """
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to skip {check} on")
    metadata = resource.get_metadata(CHECKOV_METADATA_KEY) or {"skip": []}
    metadata["skip"] = [*metadata["skip"], {"id": check, "comment": reason}]
    resource.add_metadata(CHECKOV_METADATA_KEY, metadata)


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
