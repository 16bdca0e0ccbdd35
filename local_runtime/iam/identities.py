"""Who signed a request, and the identity policies that apply to it.

Three kinds of callers are enforced:
- a role session the local runtime issued (local_runtime.iam.principals: a deployed function's), judged against the
  policies of its template role;
- an IAM user's access key made with CreateAccessKey, judged against the user's inline and attached policies and
  those of its groups (the IAM User Guide's "Policy evaluation logic": a user's permissions are the union of its
  own and its groups' identity policies);
- credentials STS AssumeRole returned, judged against the role's inline and attached policies.
The last two are read from moto's IAM and STS backends at check time, so a policy put after the key was issued counts,
as on AWS. Any other access key id (the account's own `local`, the tests' `testing`) is unrestricted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from moto.iam.models import IAMBackend, ManagedPolicy, iam_backends
from moto.sts.models import sts_backends

from local_runtime.iam.policy import NamedPolicy, Request
from local_runtime.iam.principals import Principals, RoleSession

PARTITION = "aws"
# The prefixes AWS gives access key ids: AKIA a user's long-term key, ASIA temporary (STS) credentials.
_ISSUED_PREFIXES = ("AKIA", "ASIA")


@dataclass(frozen=True)
class UserSession(RoleSession):
    """An IAM user signing with its own access key, in RoleSession's shape so that the operation mappings and the
    denial's wording take it as they take a session: `role_arn` holds the user's ARN, `session_name` is empty."""

    @property
    def arn(self) -> str:
        """The user's ARN, as AWS names the caller in a denial (`arn:aws:iam::<account>:user/<name>`)."""
        return self.role_arn


@dataclass(frozen=True)
class Caller:
    """A principal the local AWS enforces: its session, its identity policies (None: not known here), and the ARNs a
    resource-based policy's Principal names it by (a role session: the session's and the role's)."""

    session: RoleSession
    policies: tuple[NamedPolicy, ...] | None

    @property
    def account(self) -> str:
        return self.session.role_arn.split(":")[4]

    @property
    def principal_arns(self) -> frozenset[str]:
        return frozenset({self.session.arn, self.session.role_arn})

    def with_context(self, request: Request) -> Request:
        """The request with the global condition keys of the principal (IAM User Guide, "AWS global condition context
        keys"): aws:PrincipalArn is the role's ARN for a role session, the user's for a user; aws:PrincipalAccount;
        aws:username for a user only. A call a principal makes itself carries no aws:SourceArn or aws:SourceAccount
        (those are set when a service calls on a resource's behalf)."""
        context: dict[str, Any] = {
            "aws:PrincipalArn": self.session.role_arn,
            "aws:PrincipalAccount": self.account,
            **request.context,
        }
        absent = {"aws:SourceArn", "aws:SourceAccount"}
        if isinstance(self.session, UserSession):
            context.setdefault("aws:username", self.session.role_arn.rsplit("/", 1)[-1])
        else:
            absent.add("aws:username")
        return replace(request, context=context, absent=request.absent | (absent - set(context)))


def find_caller(
    access_key_id: str, principals: Principals, template_policies: Mapping[str, tuple[NamedPolicy, ...]]
) -> Caller | None:
    """The caller that owns the access key id, or None for a key issued to no principal (unrestricted)."""
    session = principals.find(access_key_id)
    if session is not None:
        known = template_policies.get(session.role_arn)
        return Caller(session, known if known is not None else _role_policies(session.role_arn))
    if not access_key_id.startswith(_ISSUED_PREFIXES):
        return None
    for account, backend in _iam_backends():
        if access_key_id not in backend.access_keys:
            continue
        key = backend.access_keys[access_key_id]
        if key.role_arn:
            assumed = sts_backends[account][PARTITION].get_assumed_role_from_access_key(access_key_id)
            if assumed is None:
                return None
            return Caller(RoleSession(key.role_arn, assumed.session_name), _role_policies(key.role_arn))
        if key.user_name and key.user_name in backend.users:
            return Caller(UserSession(backend.users[key.user_name].arn, ""), _user_policies(backend, key.user_name))
    return None


def _role_policies(role_arn: str) -> tuple[NamedPolicy, ...] | None:
    """The inline and attached policies of a role made through the IAM API; None if moto's IAM holds no such role."""
    account = role_arn.split(":")[4]
    backend = _backend(account)
    if backend is None:
        return None
    role = next((role for role in backend.roles.values() if role.arn == role_arn), None)
    if role is None:
        return None
    return (
        *(NamedPolicy(name, _document(text)) for name, text in role.policies.items()),
        *(_managed(policy) for policy in role.managed_policies.values()),
    )


def _user_policies(backend: IAMBackend, user_name: str) -> tuple[NamedPolicy, ...]:
    user = backend.users[user_name]
    policies = [NamedPolicy(name, _document(text)) for name, text in user.policies.items()]
    policies += [_managed(policy) for policy in user.managed_policies.values()]
    for group in backend.get_groups_for_user(user_name):
        policies += [NamedPolicy(f"{group.name}/{name}", _document(text)) for name, text in group.policies.items()]
        policies += [_managed(policy) for policy in group.managed_policies.values()]
    return tuple(policies)


def _backend(account: str) -> IAMBackend | None:
    return next((backend for backend_account, backend in _iam_backends() if backend_account == account), None)


def _iam_backends() -> Iterator[tuple[str, IAMBackend]]:
    """moto's IAM backends that exist (by account): looking a key up must not create one, which loads AWS's managed
    policies and takes a while."""
    for account, by_partition in list(iam_backends.items()):
        # Not `in by_partition`: moto's dict answers True there for any partition it could create.
        if PARTITION in by_partition.keys():  # noqa: SIM118
            yield account, by_partition[PARTITION]


def _managed(policy: ManagedPolicy) -> NamedPolicy:
    """A managed policy by its ARN, with the document of its default version (the one IAM evaluates)."""
    version = next(v for v in policy.versions if v.version_id == policy.default_version_id)
    return NamedPolicy(policy.arn, _document(version.document))


@lru_cache(maxsize=1024)
def _document_cached(text: str) -> Mapping[str, Any]:
    document: Mapping[str, Any] = json.loads(text)
    return document


def _document(text: str | Mapping[str, Any]) -> Mapping[str, Any]:
    """A policy document as moto keeps it (JSON text, parsed once per distinct text)."""
    return _document_cached(text) if isinstance(text, str) else text
