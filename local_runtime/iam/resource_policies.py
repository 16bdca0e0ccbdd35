"""Resource-based policies (S3 bucket policies, KMS key policies) evaluated with the caller's identity policies.

For a request within one account, as the IAM User Guide's "Policy evaluation logic" and the KMS Developer Guide's
"Key policies in AWS KMS" describe them (checked 2026-12):
- an explicit Deny in either the identity policies or the resource's policy denies;
- S3: an Allow in either allows (a bucket policy can grant a principal of its own account on its own);
- KMS: the key policy must allow. A key policy statement naming the account (`arn:aws:iam::<account>:root`, as CDK's
  default key policy does) grants nothing by itself: it lets IAM policies grant the key, so the identity policies
  must then allow too; a statement naming the caller (its role, session or user ARN, or `*`) allows on its own;
- a Principal naming the account counts, for a Deny, for every principal of the account.

The resource's policy is read at check time (moto's S3 bucket policy, moto's KMS key policy), so a PutBucketPolicy
or PutKeyPolicy made after deployment counts. What cannot be read (a key the local KMS does not hold) is said in the
verdict's `not_checked` and judged by the identity policies alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from local_runtime.iam import kms, s3_objects
from local_runtime.iam.identities import Caller
from local_runtime.iam.policy import Decision, Effect, NamedPolicy, Request, evaluate, listed

IDENTITY_BASED = "identity-based"
RESOURCE_BASED = "resource-based"


@dataclass(frozen=True)
class Verdict:
    """The decision, which kind of policy it is worded after (`identity-based`, `resource-based`), the condition keys
    not judged, and what could not be read at all (each a phrase for the "IAM not checked" log)."""

    decision: Decision
    policy_type: str = IDENTITY_BASED
    not_checked: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.decision.allowed


@dataclass(frozen=True)
class ResourcePolicy:
    """A resource's policy: its name for the decision (`bucket policy of <bucket>`), its document, and whether it is
    a KMS key policy (which must allow) rather than an S3 bucket policy (which may allow)."""

    name: str
    document: Mapping[str, Any]
    required: bool


def authorize(caller: Caller, identity: Sequence[NamedPolicy], request: Request) -> Verdict:
    """Whether `caller`, with these identity policies, may perform the request, its resource's policy included."""
    found = resource_policy_of(request.resource)
    identity_decision = evaluate(identity, request)
    if isinstance(found, str):
        return Verdict(identity_decision, not_checked=(found,))
    if found is None:
        return Verdict(identity_decision)
    direct, delegating = applicable_statements(found.document, caller)
    resource_decision = evaluate([NamedPolicy(found.name, {"Statement": direct})], request)
    account_decision = evaluate([NamedPolicy(found.name, {"Statement": delegating})], request)
    unchecked = identity_decision.unchecked | resource_decision.unchecked | account_decision.unchecked

    def verdict(decision: Decision, policy_type: str) -> Verdict:
        return Verdict(replace(decision, unchecked=unchecked), policy_type)

    for decision, policy_type in (
        (identity_decision, IDENTITY_BASED),
        (resource_decision, RESOURCE_BASED),
        (account_decision, RESOURCE_BASED),
    ):
        if decision.effect is Effect.EXPLICIT_DENY:
            return verdict(decision, policy_type)
    if resource_decision.allowed:
        return verdict(resource_decision, RESOURCE_BASED)
    if not found.required:
        return verdict(identity_decision, IDENTITY_BASED)
    if not account_decision.allowed:  # the key policy neither grants the caller nor lets IAM policies grant it
        return verdict(Decision(Effect.IMPLICIT_DENY), RESOURCE_BASED)
    return verdict(identity_decision, IDENTITY_BASED)


def resource_policy_of(resource: str) -> ResourcePolicy | str | None:
    """The policy of the resource an ARN names: a bucket's (for the bucket and its objects) or a KMS key's; None when
    it has none; a phrase saying why when it cannot be read."""
    if resource.startswith("arn:aws:s3:::"):
        bucket = resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]
        document = s3_objects.bucket_policy(bucket)
        return None if document is None else ResourcePolicy(f"bucket policy of {bucket}", document, required=False)
    if resource.startswith("arn:aws:kms:") and ":key/" in resource:
        document = kms.key_policy(resource)
        if document is None:
            return f"the key policy of {resource} (no such key in the local KMS)"
        return ResourcePolicy(f"key policy of {resource}", document, required=True)
    return None


def applicable_statements(
    document: Mapping[str, Any], caller: Caller
) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """The statements of a resource-based policy that apply to the caller: those naming it (or everyone), and the
    Allow statements naming its account only (which delegate to IAM policies); a Deny naming the account is in the
    first list, as it denies every principal of the account."""
    statements = document.get("Statement", [])
    direct: list[Mapping[str, Any]] = []
    delegating: list[Mapping[str, Any]] = []
    for statement in [statements] if isinstance(statements, Mapping) else statements:
        if "NotPrincipal" in statement:
            if _names(statement["NotPrincipal"], caller) is None:
                direct.append(statement)
            continue
        named = _names(statement.get("Principal"), caller)
        if named == "caller" or (named == "account" and statement.get("Effect") == "Deny"):
            direct.append(statement)
        elif named == "account":
            delegating.append(statement)
    return direct, delegating


def _names(principal: Any, caller: Caller) -> str | None:
    """`caller` if the Principal element names the caller or everyone, `account` if it names the caller's account
    (an account id or `arn:aws:iam::<account>:root`), None otherwise (other principals, services)."""
    if principal == "*":
        return "caller"
    if not isinstance(principal, Mapping):
        return None
    named: str | None = None
    for value in listed(principal.get("AWS", [])):
        if value == "*" or value in caller.principal_arns:
            return "caller"
        if value in (caller.account, f"arn:aws:iam::{caller.account}:root"):
            named = "account"
    return named
