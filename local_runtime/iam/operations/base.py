"""What a request to the local AWS asks of IAM: the action(s), resource(s) and condition keys to authorize.

One module a service maps its requests (s3, ssm, ...); `operation_of` dispatches on the service the request's
signature names. A request no module maps is "not checked" (its `requests` are None), never denied.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from local_runtime.iam.policy import Request

Environ = dict[str, Any]
# aws:SecureTransport is "true": the local AWS listens on loopback over plain http, as the stand-in for AWS's TLS
# endpoints (every SDK call to AWS uses https), so a policy denying insecure transport (CDK's enforceSSL) denies here
# what it denies on AWS: nothing the code under test sends.
TRANSPORT = {"aws:SecureTransport": "true"}


class Protocol(Enum):
    """How the service answers errors, hence how a denial is worded (see local_runtime.iam.enforce)."""

    REST_XML = "rest-xml"  # S3
    JSON = "json"  # awsJson 1.0 and 1.1: SageMaker, Step Functions, SSM, Secrets Manager, Logs, EventBridge
    REST_JSON = "rest-json"  # Lambda, EventBridge Scheduler
    QUERY = "query"  # XML answers: STS, CloudWatch as older clients call it
    QUERY_JSON = "query-json"  # awsJson 1.0 with awsQueryCompatible error codes: CloudWatch as botocore calls it


@dataclass(frozen=True)
class Operation:
    """What a request asks IAM: the service's own name for the operation (for the log) and the requests to
    authorize (a copy authorizes reading its source and writing its target; an empty tuple: nothing to authorize);
    None: not mapped, not checked."""

    service: str
    name: str
    requests: tuple[Request, ...] | None
    protocol: Protocol = Protocol.JSON


@dataclass(frozen=True)
class Lookups:
    """What the mappings ask of the local AWS's state, each `(account, region, name or ARN)`; None where unknown
    (what depends on it is then not checked).

    - `sagemaker_tags`: a SageMaker resource's tags by its ARN (`{}` untagged), None when it does not exist;
    - `model_package_versions`: how many versions a model package group holds (0: none, or no such group);
    - `secret_arn`: a secret's full ARN (with its random suffix) by its name or ARN, None when it does not exist;
    - `task_token_state_machine`: the ARN of the state machine whose execution waits for this task token, or None.
    """

    sagemaker_tags: Callable[[str, str, str], Mapping[str, str] | None] | None = None
    model_package_versions: Callable[[str, str, str], int] | None = None
    secret_arn: Callable[[str, str, str], str | None] | None = None
    task_token_state_machine: Callable[[str, str, str], str | None] | None = None


def peek(environ: Environ) -> bytes:
    """The request's body, put back for whoever reads it next."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body: bytes = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def json_body(environ: Environ) -> dict[str, Any] | None:
    """The request's JSON body (put back), `{}` when empty; None when it is not a JSON object (the service
    answers a malformed request itself)."""
    try:
        body = json.loads(peek(environ) or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def request(action: str, resource: str, context: Mapping[str, Any] | None = None, **fields: Any) -> Request:
    """A request over http (aws:SecureTransport false) with these condition keys."""
    return Request(action, resource, {**TRANSPORT, **(context or {})}, **fields)


def with_request_tags(authorized: Request, tags: Mapping[str, str] | None) -> Request:
    """`authorized` carrying the tags a create or tag request sets: `aws:RequestTag/<key>` and `aws:TagKeys`
    (IAM User Guide, "Controlling access during AWS requests"); with none, both are absent."""
    context = dict(authorized.context)
    absent = set(authorized.absent)
    if tags:
        context.update({f"aws:RequestTag/{key}": value for key, value in tags.items()})
        context["aws:TagKeys"] = list(tags)
    else:
        absent.add("aws:TagKeys")
    return replace(
        authorized, context=context, absent=frozenset(absent), complete=authorized.complete | {"aws:RequestTag/"}
    )


def with_resource_tags(authorized: Request, tags: Mapping[str, str], prefixes: Iterable[str]) -> Request:
    """`authorized` carrying the resource's tags under each prefix (`aws:ResourceTag/`, `sagemaker:ResourceTag/`):
    a tag the resource lacks is absent, so a condition on it is judged."""
    context = dict(authorized.context)
    for prefix in prefixes:
        context.update({f"{prefix}{key}": value for key, value in tags.items()})
    return replace(authorized, context=context, complete=authorized.complete | frozenset(prefixes))


def tag_list(tags: Any) -> dict[str, str] | None:
    """`[{"Key": k, "Value": v}, ...]` as a dict; None when the request gives no list."""
    if not isinstance(tags, list):
        return None
    return {str(tag.get("Key")): str(tag.get("Value", "")) for tag in tags if isinstance(tag, dict)}


def pass_role(role_arn: str, service: str) -> Request:
    """iam:PassRole on the role a request hands to `service`, carrying `iam:PassedToService` (IAM User Guide,
    "Granting a user permissions to pass a role to an AWS service")."""
    return request("iam:PassRole", role_arn, {"iam:PassedToService": service})
