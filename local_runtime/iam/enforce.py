"""IAM enforced at the local AWS's door: requests signed by a principal the local AWS knows are authorized against
its identity policies and the resource's policy, and a denied one is answered as AWS answers it.

The requests judged are those local_runtime.iam.operations maps: S3, SSM, SageMaker and its runtime, Step
Functions, Secrets Manager, Lambda's Invoke, CloudWatch, CloudWatch Logs, EventBridge's PutEvents and Scheduler
(STS's GetCallerIdentity needs no permission).

Who is enforced (local_runtime.iam.identities): the role sessions the runtime issues (the template's roles), IAM users'
access keys and AssumeRole credentials made through the IAM and STS APIs; the account's own credentials are not.
What is checked: identity policies, S3 bucket policies and KMS key policies (local_runtime.iam.resource_policies), the
KMS permissions S3 asks for on an SSE-KMS object (local_runtime.iam.kms), and S3's 403 instead of 404 for a missing key
without s3:ListBucket (local_runtime.iam.s3_objects). A request this module cannot judge (another service, an
operation without a mapping here, a condition key the request does not carry, a key the local KMS does not hold) is
allowed and logged once as "IAM not checked".

The denials' wording is AWS's, as users report it (checked 2026-12):
- S3, HTTP 403, XML: `User: arn:aws:sts::<account>:assumed-role/<role>/<session> is not authorized to perform:
  s3:ListBucket on resource: "arn:aws:s3:::<bucket>" because no identity-based policy allows the s3:ListBucket
  action` (github.com/schubergphilis/terraform-aws-mcaf-securityhub-findings-manager/pull/64, from a Lambda;
  github.com/aws-ia/terraform-aws-bedrock/issues/41 for s3:GetObject: "Status Code: 403");
- SSM, HTTP 400, JSON `AccessDeniedException`: `User: ... is not authorized to perform: ssm:GetParametersByPath on
  resource: arn:aws:ssm:<region>:<account>:parameter/aft/account-request/custom-fields/ because no identity-based
  policy allows the ssm:GetParametersByPath action` (github.com/aws-ia/terraform-aws-control_tower_account_factory/
  issues/174; the 400 status: github.com/github-aws-runners/terraform-aws-github-runner/issues/1279);
- an explicit deny ends in `with an explicit deny in an identity-based policy` (the IAM User Guide's
  "Troubleshoot access denied error messages"; `... in a resource-based policy` for S3 in
  github.com/noobaa/noobaa-core/issues/10060).
"""

from __future__ import annotations

import html
import json
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from local_runtime.iam.identities import Caller, find_caller
from local_runtime.iam.kms import requests_via_s3
from local_runtime.iam.lookups import moto_lookups
from local_runtime.iam.operations import Lookups, Operation, Protocol, operation_of
from local_runtime.iam.policy import Decision, Effect, NamedPolicy, Request, statements_of
from local_runtime.iam.principals import Principals, RoleSession
from local_runtime.iam.resource_policies import IDENTITY_BASED, Verdict, authorize
from local_runtime.iam.roles import TemplateRole
from local_runtime.iam.s3_objects import MISSING_KEY_DENIED, listing_to_tell_missing
from local_runtime.iam.usage import GrantUsage

logger = logging.getLogger("local_runtime.iam")

_CREDENTIAL = re.compile(r"Credential=(?P<key>[^/]+)/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/")


@dataclass(frozen=True)
class Denial:
    """A denied request's answer: status, headers and body as AWS sends them."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


class IamEnforcement:
    """Authorizes requests signed by the principals the local AWS knows against their policies."""

    def __init__(self, principals: Principals, lookups: Lookups | None = None, usage: GrantUsage | None = None) -> None:
        """`lookups`: what the mappings ask of the local AWS's state (resource tags, secrets' ARNs, task tokens);
        by default moto's backends in this process. `usage`: what the roles were granted and what their allowed
        requests used; the local runtime's deployments add to the process's record (usage.GRANT_USAGE), a bare
        server keeps its own."""
        self.principals = principals
        self.lookups = lookups if lookups is not None else moto_lookups()
        self.usage = usage or GrantUsage()
        self._policies: dict[str, tuple[NamedPolicy, ...]] = {}
        # A template role's logical id and its policies' statements by policy name: what the usage record counts.
        self._grants: dict[str, tuple[str, dict[str, list[Mapping[str, Any]]]]] = {}
        self._logged: set[tuple[str, ...]] = set()
        self._lock = threading.Lock()
        # Requests of enforced principals judged, and of those denied: what `serve` and the demo report.
        self.checked = 0
        self.denied = 0

    def add_roles(self, roles: Iterable[TemplateRole]) -> None:
        """Enforce these roles' identity policies (a deployed stack's roles); a role added again is replaced."""
        roles = list(roles)
        for role in roles:
            self._policies[role.arn] = tuple(NamedPolicy(p.arn or p.name, p.document) for p in role.policies)
            statements = {policy.name: statements_of(policy.document) for policy in self._policies[role.arn]}
            self._grants[role.arn] = (role.logical_id, statements)
        self.usage.add_roles(roles)

    def check(self, environ: dict[str, Any]) -> Denial | None:
        """The answer to a denied request, or None to let it through (unrestricted, allowed or not checked).

        Reads the body of a JSON-protocol request or of an S3 DeleteObjects and puts it back for the services.
        """
        signed = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
        if signed is None:
            return None
        caller = find_caller(signed["key"], self.principals, self._policies)
        if caller is None:  # the account's own credentials: unrestricted, as an administrator's
            return None
        operation = operation_of(signed["service"], signed["region"], caller.session, environ, self.lookups)
        if operation.requests is None:
            self._not_checked(operation.service, operation.name, "no IAM mapping for it here")
            return None
        if caller.policies is None:
            self._not_checked(
                operation.service, operation.name, f"the policies of {caller.session.role_arn} are not known"
            )
            return None
        with self._lock:
            self.checked += 1
        requests = operation.requests
        if operation.service == "s3":  # S3 calls KMS as the caller for an SSE-KMS object (local_runtime.iam.kms)
            requests += requests_via_s3(environ, requests, region=signed["region"], account=caller.account)
        for request in requests:
            verdict = self._authorize(caller, caller.policies, operation.service, request)
            if not verdict.allowed:
                _drain(environ)  # a client still sending its body must not see the connection reset
                with self._lock:
                    self.denied += 1
                return _denial(operation, caller.session, request, verdict.decision, policy_type=verdict.policy_type)
            self._record(caller, verdict.decision, request.action)
        listing = listing_to_tell_missing(environ, operation.requests) if operation.service == "s3" else None
        if listing is not None and not self._authorize(caller, caller.policies, "s3", listing).allowed:
            with self._lock:
                self.denied += 1
            return _s3_access_denied(MISSING_KEY_DENIED)  # not a 404 NoSuchKey
        return None

    def describe(self) -> str:
        """One line for a person: how many of the enforced principals' requests were judged and denied."""
        return f"{self.checked} requests of the deployed roles checked against their policies, {self.denied} denied"

    def _authorize(self, caller: Caller, policies: tuple[NamedPolicy, ...], service: str, request: Request) -> Verdict:
        verdict = authorize(caller, policies, caller.with_context(request))
        for key in sorted(verdict.decision.unchecked):
            self._not_checked(service, f"{request.action} condition {key}", "not in the request")
        for what in verdict.not_checked:
            self._not_checked(service, f"{request.action} {what}", "cannot be read")
        return verdict

    def _record(self, caller: Caller, decision: Decision, action: str) -> None:
        """Count the template role's grants that allowed the action (a resource policy's count for nothing)."""
        grants = self._grants.get(caller.session.role_arn)
        if grants is None:
            return
        logical_id, statements = grants
        allowing = [statements[name][index] for name, index in decision.allowing if name in statements]
        self.usage.record(logical_id, allowing, action)

    def _not_checked(self, service: str, what: str, why: str) -> None:
        with self._lock:
            if (service, what) in self._logged:
                return
            self._logged.add((service, what))
        logger.warning("IAM not checked: %s %s (%s); allowed", service, what, why)


def _denial(
    operation: Operation,
    session: RoleSession,
    request: Request,
    decision: Decision,
    *,
    policy_type: str = IDENTITY_BASED,
) -> Denial:
    """AWS's answer to a denied request, worded as the service's protocol words errors (see the module docstring)."""
    article = "an" if policy_type[0] in "aeiou" else "a"
    reason = (
        f"with an explicit deny in {article} {policy_type} policy"
        if decision.effect is Effect.EXPLICIT_DENY
        else f"because no {policy_type} policy allows the {request.action} action"
    )
    resource = request.named or request.resource
    protocol = operation.protocol
    if protocol is Protocol.REST_XML and resource.startswith("arn:aws:s3:"):
        # S3 quotes its own resources, not the KMS key of an SSE-KMS object (local_runtime.iam.kms).
        resource = f'"{resource}"'
    # An action that supports no resource is named without one: `... is not authorized to perform:
    # cloudwatch:PutMetricData because ...` (github-aws-runners/terraform-aws-github-runner PR 3067).
    on = f" on resource: {resource}" if request.resource != "*" else ""
    message = f"User: {session.arn} is not authorized to perform: {request.action}{on} {reason}"
    if protocol is Protocol.REST_XML:
        return _s3_access_denied(message)
    if protocol is Protocol.QUERY:
        body = (
            '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
            f"<Code>AccessDenied</Code><Message>{html.escape(message, quote=False)}</Message></Error>"
            "<RequestId>00000000-0000-4000-8000-000000000000</RequestId></ErrorResponse>"
        ).encode()
        return Denial(403, [("Content-Type", "text/xml")], body)
    if protocol is Protocol.QUERY_JSON:
        body = json.dumps({"__type": "AccessDenied", "message": message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-query-error", "AccessDenied;Sender")]
        return Denial(403, headers, body)
    if protocol is Protocol.REST_JSON:
        body = json.dumps({"Type": "User", "Message": message}).encode()
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", "AccessDeniedException")]
        return Denial(403, headers, body)
    body = json.dumps({"__type": "AccessDeniedException", "message": message}).encode()
    return Denial(400, [("Content-Type", "application/x-amz-json-1.1")], body)


def _s3_access_denied(message: str) -> Denial:
    """S3's 403 AccessDenied, as an XML error document."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>AccessDenied</Code><Message>{html.escape(message, quote=False)}</Message>"
        "<RequestId>0000000000000000</RequestId><HostId>local</HostId></Error>"
    ).encode()
    return Denial(403, [("Content-Type", "application/xml")], body)


def _drain(environ: dict[str, Any]) -> None:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
