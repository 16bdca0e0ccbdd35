"""The roles of a synthesized pipeline template: their policies resolved to the local runtime's names, and who uses
which; the real templates of the demo and the churn example, and small hand-written ones for what they lack."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from contract import env
from contract.steps import CHECK_DATA, START_TRAINING_JOB, WORKFLOW_STEPS
from local_runtime.iam.roles import (
    MANAGED_POLICY,
    POLICY,
    RoleAssignments,
    TemplateRole,
    read_role_assignments,
    read_roles,
    trusts_service,
)
from local_runtime.runtime import synthesize
from local_runtime.template import LocalStack, TemplateError, read_stack

ROOT = Path(__file__).resolve().parents[4]
REGION, ACCOUNT = "us-east-1", "123456789012"
CONFIGS = {"demo": "demo/pipelines.json", "churn": "examples/churn/pipelines.json"}
TRIGGER_RUN_HANDLER = "lambdas.trigger_run.handler.lambda_handler"  # not a step of the workflow: EventBridge calls it
UPSTREAM = {"source": ["my.etl"]}
LAMBDA_BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


@dataclass(frozen=True)
class Synthesized:
    """One pipeline's template read three ways: its stack, its roles and who uses them."""

    template: dict[str, Any]
    stack: LocalStack
    roles: dict[str, TemplateRole]
    assignments: RoleAssignments

    def role(self, arn: str) -> TemplateRole:
        (role,) = [role for role in self.roles.values() if role.arn == arn]
        return role

    def function_id(self, handler: str) -> str:
        (found,) = [logical_id for logical_id, function in self.stack.functions.items() if function.handler == handler]
        return found

    def environment(self, handler: str) -> Mapping[str, str]:
        return self.stack.functions[self.function_id(handler)].environment

    def function_role(self, handler: str) -> TemplateRole:
        return self.role(self.assignments.functions[self.function_id(handler)])


def read(template: dict[str, Any], stack_name: str) -> Synthesized:
    return Synthesized(
        template=template,
        stack=read_stack(template, stack_name=stack_name, region=REGION),
        roles=read_roles(template, stack_name=stack_name, region=REGION),
        assignments=read_role_assignments(template, stack_name=stack_name, region=REGION),
    )


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def synthesized(request: pytest.FixtureRequest) -> Synthesized:
    ((stack_name, template),) = synthesize({"config_file": CONFIGS[request.param]}).items()
    return read(template, stack_name)


@pytest.fixture(scope="module")
def triggered() -> Synthesized:
    """The demo pipeline with both triggers: new data (through EventBridge Scheduler) and an upstream event."""
    (pipeline,) = json.loads((ROOT / CONFIGS["demo"]).read_text())["pipelines"]
    pipeline["triggers"] = {"new_data": {}, "events": [{"name": "features-ready", "pattern": UPSTREAM}]}
    ((stack_name, template),) = synthesize({"pipelines": [pipeline]}).items()
    return read(template, stack_name)


def leaves(value: Any) -> Iterator[Any]:
    """Every object, list item and scalar in a JSON value, the containers included."""
    yield value
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    for child in children:
        yield from leaves(child)


def allowed(role: TemplateRole, action: str) -> list[str]:
    """The resources of the role's Allow statements that name `action`."""
    found: list[str] = []
    for statement in role.statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if statement["Effect"] == "Allow" and action in actions:
            resource = statement["Resource"]
            found.extend(resource if isinstance(resource, list) else [resource])
    return found


def test_every_function_runs_as_a_template_role_with_a_policy(synthesized: Synthesized) -> None:
    # GIVEN a synthesized pipeline; WHEN its functions' roles are read
    functions = synthesized.assignments.functions

    # THEN each function has a role of the template, and the role a statement
    assert set(functions) == set(synthesized.stack.functions)
    assert all(synthesized.role(arn).statements for arn in functions.values())


def test_no_intrinsic_function_or_token_remains_in_any_document(synthesized: Synthesized) -> None:
    # GIVEN a synthesized pipeline; WHEN its roles are read
    documents = [
        document
        for role in synthesized.roles.values()
        for document in (role.trust_policy, *(policy.document for policy in role.policies))
    ]

    # THEN no Ref, Fn:: or CDK token is left in any trust or identity policy
    unresolved = [
        value
        for value in leaves(documents)
        if (isinstance(value, dict) and any(key == "Ref" or key.startswith("Fn::") for key in value))
        or (isinstance(value, str) and "${Token[" in value)
    ]
    assert unresolved == []


def test_check_data_may_list_the_data_bucket_under_its_data_prefix_only(synthesized: Synthesized) -> None:
    # GIVEN CheckData's bucket and prefix, as its function is deployed
    environment = synthesized.environment(CHECK_DATA.handler)
    bucket, prefix = environment[env.DATA_BUCKET], environment[env.DATA_PREFIX]

    # WHEN its role is read
    role = synthesized.function_role(CHECK_DATA.handler)

    # THEN it lists that bucket, by its local ARN, for keys under the prefix (bucket.grant_list(role, prefix))
    assert {
        "Action": "s3:ListBucket",
        "Condition": {"StringLike": {"s3:prefix": [prefix, f"{prefix}/*"]}},
        "Effect": "Allow",
        "Resource": f"arn:aws:s3:::{bucket}",
    } in role.statements


def test_the_state_machine_role_may_invoke_every_step_function(synthesized: Synthesized) -> None:
    # GIVEN the workflow's step functions as deployed
    steps = [f.arn for f in synthesized.stack.functions.values() if f.handler in {s.handler for s in WORKFLOW_STEPS}]

    # WHEN the state machine's role is read
    (role_arn,) = synthesized.assignments.state_machines.values()

    # THEN it invokes each function and its versions, by the ARNs the local runtime gives them
    invokable = set(allowed(synthesized.role(role_arn), "lambda:InvokeFunction"))
    assert len(steps) == len(WORKFLOW_STEPS)
    assert {arn for step in steps for arn in (step, f"{step}:*")} <= invokable


def test_the_sagemaker_execution_role_is_the_one_the_steps_pass_to_sagemaker(synthesized: Synthesized) -> None:
    # GIVEN the role StartTrainingJob names in its training jobs
    environment = synthesized.environment(START_TRAINING_JOB.handler)

    # WHEN the roles SageMaker may assume are read, THEN that role is the one
    assert synthesized.assignments.sagemaker == (environment[env.SAGEMAKER_ROLE_ARN],)


def test_the_schedule_starts_runs_as_its_target_role(synthesized: Synthesized) -> None:
    # GIVEN the pipeline's EventBridge Scheduler schedule and the state machine it starts
    (schedule_id,) = synthesized.stack.schedules
    (state_machine,) = synthesized.stack.state_machines.values()

    # WHEN the schedule's target role is read
    role = synthesized.role(synthesized.assignments.schedules[schedule_id])

    # THEN EventBridge Scheduler may assume it, and it starts executions of that state machine
    assert role.trusts("scheduler.amazonaws.com")
    assert allowed(role, "states:StartExecution") == [synthesized.stack.state_machine_arn(state_machine[0])]
    assert role.arn in synthesized.assignments.scheduler


def test_a_policy_that_names_the_role_in_roles_is_one_of_its_policies(synthesized: Synthesized) -> None:
    # GIVEN the template's AWS::IAM::Policy resources that name CheckData's role
    role = synthesized.function_role(CHECK_DATA.handler)
    naming = {
        logical_id
        for logical_id, resource in synthesized.template["Resources"].items()
        if resource["Type"] == POLICY and {"Ref": role.logical_id} in resource["Properties"]["Roles"]
    }

    # WHEN the role's policies are read, THEN they are those policies
    assert naming
    assert {(policy.kind, policy.source) for policy in role.policies} == {(POLICY, source) for source in naming}


def test_the_scheduler_role_is_the_one_trigger_run_passes_to_its_schedules(triggered: Synthesized) -> None:
    # GIVEN the role TriggerRun names in the schedules it creates at run time
    environment = triggered.environment(TRIGGER_RUN_HANDLER)

    # WHEN the roles EventBridge Scheduler may assume are read, THEN they are that role and the pipeline schedule's
    (schedule_role,) = triggered.assignments.schedules.values()
    assert sorted(triggered.assignments.scheduler) == sorted([environment[env.SCHEDULER_ROLE_ARN], schedule_role])


def test_an_upstream_event_rule_starts_runs_as_its_target_role(triggered: Synthesized) -> None:
    # GIVEN the rule of the upstream event
    (rule_id,) = [logical_id for logical_id, rule in triggered.stack.rules.items() if rule.event_pattern == UPSTREAM]

    # WHEN its target's role is read
    role = triggered.role(triggered.assignments.rule_targets[rule_id, "Target0"])

    # THEN it starts executions of the pipeline's state machine
    ((name, _),) = triggered.stack.state_machines.values()
    assert allowed(role, "states:StartExecution") == [triggered.stack.state_machine_arn(name)]


# Hand-written templates: what the pipeline's templates do not use.

DOCUMENT = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}],
}


def role(**properties: Any) -> dict[str, Any]:
    return {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": LAMBDA_TRUST, **properties}}


def managed_policy(**properties: Any) -> dict[str, Any]:
    return {"Type": MANAGED_POLICY, "Properties": {"PolicyDocument": DOCUMENT, **properties}}


def roles_of(**resources: dict[str, Any]) -> dict[str, TemplateRole]:
    return read_roles({"Resources": resources}, stack_name="Hand", region=REGION)


def test_a_managed_policy_of_the_template_in_managed_policy_arns_is_one_of_the_role_s_policies() -> None:
    # GIVEN a role whose ManagedPolicyArns names the template's managed policy by Ref
    resources = {"Fn": role(ManagedPolicyArns=[{"Ref": "Shared"}]), "Shared": managed_policy(ManagedPolicyName="x")}

    # WHEN its roles are read
    (policy,) = roles_of(**resources)["Fn"].policies

    # THEN the policy's document and ARN are known
    assert (policy.kind, policy.source, policy.arn) == (MANAGED_POLICY, "Shared", f"arn:aws:iam::{ACCOUNT}:policy/x")
    assert policy.document == DOCUMENT


def test_an_aws_managed_policy_is_listed_by_arn_without_a_document() -> None:
    # GIVEN a role with an AWS-managed policy, its ARN written with the partition as the CDK writes it
    arn = {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, ":iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
        ]
    }

    # WHEN its roles are read
    function_role = roles_of(Fn=role(ManagedPolicyArns=[arn]))["Fn"]

    # THEN the policy is named, and no document stands for it
    assert (function_role.aws_managed_policy_arns, function_role.policies) == ((LAMBDA_BASIC,), ())


def test_inline_policies_come_before_the_policies_that_name_the_role() -> None:
    # GIVEN a role with an inline policy, named by a policy that names another role too
    attached = {"PolicyName": "Default", "PolicyDocument": DOCUMENT, "Roles": [{"Ref": "Fn"}, {"Ref": "Other"}]}
    resources = {
        "Fn": role(Policies=[{"PolicyName": "Own", "PolicyDocument": DOCUMENT}]),
        "Other": role(),
        "Default": {"Type": POLICY, "Properties": attached},
    }

    # WHEN the roles are read
    roles = roles_of(**resources)

    # THEN the role has both, inline first, and the other role has the shared one
    assert [(p.kind, p.name) for p in roles["Fn"].policies] == [("inline", "Own"), (POLICY, "Default")]
    assert [(p.kind, p.name) for p in roles["Other"].policies] == [(POLICY, "Default")]


def test_a_managed_policy_that_names_the_role_twice_is_listed_once() -> None:
    # GIVEN a managed policy naming the role in its Roles, and the role naming it in ManagedPolicyArns
    resources = {"Fn": role(ManagedPolicyArns=[{"Ref": "Shared"}]), "Shared": managed_policy(Roles=[{"Ref": "Fn"}])}

    # WHEN the role is read, THEN the policy is listed once
    assert [policy.source for policy in roles_of(**resources)["Fn"].policies] == ["Shared"]


def test_a_managed_policy_neither_in_the_template_nor_aws_managed_is_refused() -> None:
    # GIVEN a role naming a customer managed policy the template does not define
    resources = {"Fn": role(ManagedPolicyArns=[f"arn:aws:iam::{ACCOUNT}:policy/elsewhere"])}

    # WHEN its roles are read, THEN the error names the policy
    with pytest.raises(TemplateError, match="policy/elsewhere is neither in the template nor AWS-managed"):
        roles_of(**resources)


def test_a_schedule_of_the_template_runs_as_its_target_role() -> None:
    # GIVEN an AWS::Scheduler::Schedule with a target role
    target = {"Arn": "arn:aws:states:us-east-1:123456789012:stateMachine:m", "RoleArn": {"Fn::GetAtt": ["R", "Arn"]}}
    schedule = {"Type": "AWS::Scheduler::Schedule", "Properties": {"Target": target}}
    template = {"Resources": {"R": role(RoleName="runner"), "Nightly": schedule}}

    # WHEN the assignments are read
    assignments = read_role_assignments(template, stack_name="Hand", region=REGION)

    # THEN the schedule runs as that role
    assert assignments.schedules == {"Nightly": f"arn:aws:iam::{ACCOUNT}:role/runner"}


@pytest.mark.parametrize(
    ("principal", "effect", "trusted"),
    [
        ({"Service": "sagemaker.amazonaws.com"}, "Allow", True),
        ({"Service": ["lambda.amazonaws.com", "sagemaker.amazonaws.com"]}, "Allow", True),
        ({"Service": "sagemaker.amazonaws.com"}, "Deny", False),
        ({"Service": "lambda.amazonaws.com"}, "Allow", False),
        ("*", "Allow", False),
    ],
)
def test_a_service_is_trusted_only_by_an_allow_naming_it(principal: Any, effect: str, trusted: bool) -> None:
    # GIVEN a trust policy with one statement
    trust = {"Statement": {"Effect": effect, "Action": ["sts:AssumeRole"], "Principal": principal}}

    # WHEN SageMaker's trust is asked, THEN only an Allow naming its service principal trusts it
    assert trusts_service(trust, "sagemaker.amazonaws.com") is trusted
