"""IAM's SimulatePrincipalPolicy, which moto lacks (HTTP 500): the identity policies of a role or user, judged by
local_runtime.iam.policy for each action and resource asked about.

As the IAM API reference describes the call (checked 2026-12): ActionNames are evaluated against each of
ResourceArns, or against `*` when none is given, and each result says `allowed`, `explicitDeny` or
`implicitDeny`, with the statements that decided it. The SageMaker Python SDK v3 calls it for the execution role
it is given before every training job and model (its IAM role validation), and fails on the 500.

Only the principal's identity policies count here, as in the simulator without PolicyInputList or a resource
policy; condition keys the call gives no value for are listed in MissingContextValues and, as in the runtime's
enforcement, an Allow whose condition cannot be judged still allows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

from moto.core.responses import ActionResult
from moto.iam.responses import IamResponse

from local_runtime.iam.policy import Effect, NamedPolicy, Request, evaluate

_DECISIONS = {Effect.ALLOW: "allowed", Effect.EXPLICIT_DENY: "explicitDeny", Effect.IMPLICIT_DENY: "implicitDeny"}


def install() -> None:
    """Answer SimulatePrincipalPolicy in moto's IAM."""
    IamResponse.simulate_principal_policy = _simulate_principal_policy  # type: ignore[attr-defined]


def _simulate_principal_policy(self: Any) -> ActionResult:
    source = self._get_param("PolicySourceArn")
    actions: list[str] = self._get_param("ActionNames", [])
    resources: list[str] = self._get_param("ResourceArns") or ["*"]
    policies = list(identity_policies(self.backend, source))
    results = [simulate(policies, action, resource) for action in actions for resource in resources]
    return ActionResult({"EvaluationResults": results, "IsTruncated": False})


def simulate(policies: list[NamedPolicy], action: str, resource: str) -> dict[str, Any]:
    """One EvaluationResult: the decision for `action` on `resource` and the statements that made it."""
    decision = evaluate(policies, Request(action=action, resource=resource))
    matched = [{"SourcePolicyId": decision.policy, "SourcePolicyType": "IAM Policy"}] if decision.policy else []
    return {
        "EvalActionName": action,
        "EvalResourceName": resource,
        "EvalDecision": _DECISIONS[decision.effect],
        "MatchedStatements": matched,
        "MissingContextValues": sorted(decision.unchecked),
    }


def identity_policies(backend: Any, source_arn: str) -> Iterator[NamedPolicy]:
    """The inline and attached managed policies of the role or user `source_arn` names.

    Raises moto's NoSuchEntity error (NotFoundException) when it does not exist, as IAM answers.
    """
    kind, _, path = source_arn.split(":", 5)[-1].partition("/")
    name = path.rsplit("/", 1)[-1]
    principal = backend.get_user(name) if kind == "user" else backend.get_role(name)
    for policy_name, document in principal.policies.items():
        yield NamedPolicy(policy_name, _document(document))
    for arn, managed in principal.managed_policies.items():
        default = next(version for version in managed.versions if version.is_default_version)
        yield NamedPolicy(arn, _document(default.document))


def _document(document: Any) -> dict[str, Any]:
    """moto keeps a policy as the JSON text it was given (URL-encoded when it came so), or as a dict."""
    if isinstance(document, dict):
        return document
    text = str(document)
    return dict(json.loads(text if text.lstrip().startswith("{") else unquote(text)))
