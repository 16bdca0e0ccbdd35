"""The IAM roles a synthesized pipeline template defines, their policies resolved, and which principal uses which.

Read with local_runtime.template's resolver, so every name and ARN here is the one the local runtime gives the
resource it creates: the role `StepsCheckDataRole3B51B8BA` of stack `SageMakerRetraining-demo` is
`arn:aws:iam::123456789012:role/SageMakerRetraining-demo-StepsCheckDataRole3B51B8BA`, and the ARNs its policies
name are those of the local bucket, functions and state machine.

Managed policies that are not in the template (AWS-managed ones such as
`arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole`) are listed by ARN only: their documents cannot
be read offline, so an evaluator must treat what they would allow as "not checked" rather than as denied.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from local_runtime.iam.policy import statements_of
from local_runtime.template import ACCOUNT, TemplateError, _Resolver, without_no_value

ROLE = "AWS::IAM::Role"
POLICY = "AWS::IAM::Policy"
MANAGED_POLICY = "AWS::IAM::ManagedPolicy"
SAGEMAKER_SERVICE = "sagemaker.amazonaws.com"
SCHEDULER_SERVICE = "scheduler.amazonaws.com"
# AWS's own managed policies live in the `aws` account of each partition (aws, aws-cn, aws-us-gov).
_AWS_MANAGED_ARN = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/")


@dataclass(frozen=True)
class PolicyDocument:
    """One identity policy of a role, its intrinsic functions resolved.

    `kind` is `inline` (the role's own `Policies`), AWS::IAM::Policy or AWS::IAM::ManagedPolicy; `source` the
    logical id of the resource that holds it (the role itself for an inline policy); `arn` a managed policy's ARN.
    """

    name: str
    kind: str
    source: str
    document: Mapping[str, Any]
    arn: str | None = None

    @property
    def statements(self) -> tuple[Mapping[str, Any], ...]:
        """The document's statements; a single statement object counts as a list of one, as IAM reads it."""
        return tuple(statements_of(self.document))


@dataclass(frozen=True)
class TemplateRole:
    """An AWS::IAM::Role as the local runtime names it, with every identity policy that applies to it.

    `aws_managed_policy_arns` are the managed policies outside the template: their documents are not known offline.
    """

    logical_id: str
    name: str
    arn: str
    trust_policy: Mapping[str, Any]
    policies: tuple[PolicyDocument, ...]
    aws_managed_policy_arns: tuple[str, ...] = ()

    @property
    def statements(self) -> tuple[Mapping[str, Any], ...]:
        """Every statement of every known policy of the role, in the order the policies are listed."""
        return tuple(statement for policy in self.policies for statement in policy.statements)

    def trusts(self, service: str) -> bool:
        """Whether the trust policy lets `service` (e.g. `lambda.amazonaws.com`) assume the role."""
        return trusts_service(self.trust_policy, service)


@dataclass(frozen=True)
class RoleAssignments:
    """Which principal runs as which role, each role named by its ARN (a RoleArn may name a role outside the template).

    `functions`, `state_machines` and `schedules` are keyed by the logical id of the AWS::Lambda::Function,
    AWS::StepFunctions::StateMachine and AWS::Scheduler::Schedule; `rule_targets` by the AWS::Events::Rule's logical
    id and the target's Id. `sagemaker` are the roles SageMaker may assume (the execution role that jobs and models
    name), `scheduler` those EventBridge Scheduler may assume: the schedules a function creates at run time name them.
    """

    functions: Mapping[str, str]
    state_machines: Mapping[str, str]
    rule_targets: Mapping[tuple[str, str], str]
    schedules: Mapping[str, str]
    sagemaker: tuple[str, ...]
    scheduler: tuple[str, ...]


def read_roles(
    template: Mapping[str, Any], *, stack_name: str, region: str, account: str = ACCOUNT
) -> dict[str, TemplateRole]:
    """Every AWS::IAM::Role of the template by logical id, with its trust policy and its policies resolved.

    A role's policies are its inline `Policies`, then each AWS::IAM::Policy and AWS::IAM::ManagedPolicy naming it
    in `Roles`, then the template's managed policies its `ManagedPolicyArns` name (each policy once). Raises
    TemplateError for what the resolver cannot evaluate, and for a ManagedPolicyArns entry that is neither
    in the template nor AWS-managed.
    """
    resources: Mapping[str, Any] = template.get("Resources", {})
    resolver = _Resolver(template, stack_name=stack_name, region=region, account=account)
    attached = _attached_policies(resources, resolver, stack_name=stack_name, account=account)
    roles: dict[str, TemplateRole] = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != ROLE:
            continue
        props: Mapping[str, Any] = resource.get("Properties", {})
        name = resolver.physical_id(logical_id)
        inline = tuple(
            PolicyDocument(
                name=str(resolver.resolve(policy["PolicyName"])),
                kind="inline",
                source=logical_id,
                document=_resolved_document(resolver, policy["PolicyDocument"]),
            )
            for policy in props.get("Policies", [])
        )
        managed, aws_managed = _managed_policy_arns(props.get("ManagedPolicyArns", []), resolver, attached)
        policies = _unique((*inline, *attached.by_role.get(name, ()), *managed))
        roles[logical_id] = TemplateRole(
            logical_id=logical_id,
            name=name,
            arn=resolver.arn(logical_id),
            trust_policy=_resolved_document(resolver, props.get("AssumeRolePolicyDocument", {})),
            policies=policies,
            aws_managed_policy_arns=aws_managed,
        )
    return roles


def read_role_assignments(
    template: Mapping[str, Any], *, stack_name: str, region: str, account: str = ACCOUNT
) -> RoleAssignments:
    """Which role each function, state machine, rule target and schedule of the template runs as.

    Raises TemplateError for what the resolver cannot evaluate.
    """
    resources: Mapping[str, Any] = template.get("Resources", {})
    resolver = _Resolver(template, stack_name=stack_name, region=region, account=account)
    functions: dict[str, str] = {}
    state_machines: dict[str, str] = {}
    rule_targets: dict[tuple[str, str], str] = {}
    schedules: dict[str, str] = {}
    for logical_id, resource in resources.items():
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::Lambda::Function":
            functions[logical_id] = str(resolver.resolve(props["Role"]))
        elif kind == "AWS::StepFunctions::StateMachine":
            state_machines[logical_id] = str(resolver.resolve(props["RoleArn"]))
        elif kind == "AWS::Events::Rule":
            for target in props.get("Targets", []):
                if "RoleArn" in target:
                    rule_targets[logical_id, str(target["Id"])] = str(resolver.resolve(target["RoleArn"]))
        elif kind == "AWS::Scheduler::Schedule" and "RoleArn" in props.get("Target", {}):
            schedules[logical_id] = str(resolver.resolve(props["Target"]["RoleArn"]))
    roles = read_roles(template, stack_name=stack_name, region=region, account=account).values()
    return RoleAssignments(
        functions=functions,
        state_machines=state_machines,
        rule_targets=rule_targets,
        schedules=schedules,
        sagemaker=tuple(role.arn for role in roles if role.trusts(SAGEMAKER_SERVICE)),
        scheduler=tuple(role.arn for role in roles if role.trusts(SCHEDULER_SERVICE)),
    )


def trusts_service(trust_policy: Mapping[str, Any], service: str) -> bool:
    """Whether an Allow statement of the trust policy lets the service principal `service` call sts:AssumeRole.

    The statement's Condition is not weighed: the service itself is what the runtime needs to tell apart.
    """
    for statement in statements_of(trust_policy):
        principal = statement.get("Principal")
        if statement.get("Effect") != "Allow" or not isinstance(principal, dict):
            continue
        if service in _as_list(principal.get("Service", [])) and "sts:AssumeRole" in _as_list(statement.get("Action")):
            return True
    return False


@dataclass(frozen=True)
class _Attached:
    """The template's AWS::IAM::Policy and AWS::IAM::ManagedPolicy documents: by the name of each role they name
    in `Roles`, and the managed ones by logical id."""

    by_role: Mapping[str, tuple[PolicyDocument, ...]]
    managed: Mapping[str, PolicyDocument]


def _attached_policies(
    resources: Mapping[str, Any], resolver: _Resolver, *, stack_name: str, account: str
) -> _Attached:
    by_role: dict[str, list[PolicyDocument]] = {}
    managed: dict[str, PolicyDocument] = {}
    for logical_id, resource in resources.items():
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind not in (POLICY, MANAGED_POLICY):
            continue
        arn = None
        if kind == POLICY:
            name = str(resolver.resolve(props["PolicyName"]))
        else:
            # Ref of a managed policy is its ARN, which the resolver does not know: named as CloudFormation does.
            name = str(resolver.resolve(props.get("ManagedPolicyName", f"{stack_name}-{logical_id}")))
            arn = f"arn:aws:iam::{account}:policy{resolver.resolve(props.get('Path', '/'))}{name}"
        policy = PolicyDocument(
            name=name,
            kind=kind,
            source=logical_id,
            document=_resolved_document(resolver, props["PolicyDocument"]),
            arn=arn,
        )
        if kind == MANAGED_POLICY:
            managed[logical_id] = policy
        # Roles are named by Ref (the role's name) or by the name itself; both resolve to the name.
        for role in resolver.resolve(props.get("Roles", [])):
            by_role.setdefault(str(role), []).append(policy)
    return _Attached(by_role={role: tuple(found) for role, found in by_role.items()}, managed=managed)


def _managed_policy_arns(
    entries: Iterable[Any], resolver: _Resolver, attached: _Attached
) -> tuple[tuple[PolicyDocument, ...], tuple[str, ...]]:
    """The template's managed policies among a role's ManagedPolicyArns, and the ARNs of the AWS-managed ones."""
    in_template: list[PolicyDocument] = []
    aws_managed: list[str] = []
    for entry in entries:
        referenced = _referenced_managed_policy(entry, attached)
        if referenced is not None:
            in_template.append(referenced)
            continue
        arn = str(resolver.resolve(entry))
        known = [policy for policy in attached.managed.values() if policy.arn == arn]
        if known:
            in_template.extend(known)
        elif _AWS_MANAGED_ARN.match(arn):
            aws_managed.append(arn)
        else:
            raise TemplateError(f"managed policy {arn} is neither in the template nor AWS-managed")
    return tuple(in_template), tuple(aws_managed)


def _referenced_managed_policy(entry: Any, attached: _Attached) -> PolicyDocument | None:
    """The template's managed policy that `{"Ref": id}` or `{"Fn::GetAtt": [id, "PolicyArn"]}` names, if any."""
    if not isinstance(entry, dict) or len(entry) != 1:
        return None
    ((key, argument),) = entry.items()
    if key == "Ref" and isinstance(argument, str):
        return attached.managed.get(argument)
    if key == "Fn::GetAtt":
        logical_id, attribute = argument if isinstance(argument, list) else str(argument).split(".", 1)
        return attached.managed.get(logical_id) if attribute == "PolicyArn" else None
    return None


def _resolved_document(resolver: _Resolver, document: Any) -> dict[str, Any]:
    resolved = without_no_value(resolver.resolve(document))
    if not isinstance(resolved, dict):
        raise TemplateError(f"a policy document resolves to {type(resolved).__name__}, not an object")
    return resolved


def _unique(policies: Iterable[PolicyDocument]) -> tuple[PolicyDocument, ...]:
    """Each policy once: a managed policy may name the role in `Roles` and be in its ManagedPolicyArns too."""
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for policy in policies:
        key = (policy.kind, policy.source, policy.name)
        if key not in seen:
            seen.add(key)
            unique.append(policy)
    return tuple(unique)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
