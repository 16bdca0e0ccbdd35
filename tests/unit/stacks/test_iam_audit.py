"""IAM audit of the synthesized templates: every wildcard resource is one the API leaves no way around.

Walks every statement of every identity policy (inline or managed, on any role) and of every resource policy
(bucket and key policies) in the app's templates, both pipeline shapes included.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.unit.stacks.conftest import Synthesized
from tests.unit.stacks.synth import flatten

ARN = r"arn:<AWS::Partition>"
REGION_ACCOUNT = r"<AWS::Region>:<AWS::AccountId>"
PIPELINE_NAMES = r"(demo|churn|fraud)"
TRACING_ACTIONS = frozenset(
    {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"}
)
LOG_DELIVERY_ACTIONS = frozenset(
    {
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    }
)


@dataclass(frozen=True)
class AllowedWildcard:
    """Actions that may name a wildcard resource matching `resource`, and why nothing narrower exists."""

    actions: frozenset[str]
    resource: str  # a regular expression over the flattened resource (tests/unit/stacks/synth.py's flatten)
    reason: str
    condition_key: str | None = None  # a condition the statement must carry to narrow the wildcard

    def allows(self, statement: dict[str, Any], resource: str) -> bool:
        if not set(actions(statement)) <= self.actions or not re.fullmatch(self.resource, resource):
            return False
        conditions = statement.get("Condition", {})
        return self.condition_key is None or any(self.condition_key in keys for keys in conditions.values())


ALLOWED_WILDCARDS = (
    AllowedWildcard(
        frozenset({"states:GetExecutionHistory"}),
        r"arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:sagemaker-retraining-[a-z0-9-]+:\*",
        "RunEnded reads the history of whichever execution of the pipeline's own state machine ended, known only "
        "from the event, to tell how and where it ended.",
    ),
    AllowedWildcard(
        frozenset({"states:DescribeExecution"}),
        r"arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:sagemaker-retraining-[a-z0-9-]+:\*",
        "The run lease names whichever execution of the pipeline's own state machine holds it, known only at run "
        "time: CheckData asks whether that execution still runs.",
    ),
    AllowedWildcard(
        TRACING_ACTIONS,
        r"\*",
        "X-Ray's trace and sampling APIs have no resource types: active tracing of the functions and the state "
        "machine can only be granted on '*'.",
    ),
    AllowedWildcard(
        LOG_DELIVERY_ACTIONS,
        r"\*",
        "Step Functions logs through CloudWatch Logs' vended log delivery, whose APIs (CreateLogDelivery and "
        "friends, PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups) have no resource types.",
    ),
    AllowedWildcard(
        frozenset({"cloudwatch:PutMetricData"}),
        r"\*",
        "PutMetricData has no resource types; the cloudwatch:namespace condition keeps SageMaker's role to the "
        "/aws/sagemaker namespaces.",
        condition_key="cloudwatch:namespace",
    ),
    AllowedWildcard(
        frozenset({"ecr:GetAuthorizationToken"}),
        r"\*",
        "GetAuthorizationToken returns a registry login and has no resource types; the image pulls themselves "
        "are granted on the configured repositories only.",
    ),
    AllowedWildcard(
        frozenset(
            {
                "sagemaker:CreateTrainingJob",
                "sagemaker:DescribeTrainingJob",
                "sagemaker:StopTrainingJob",
                "sagemaker:CreateProcessingJob",
                "sagemaker:DescribeProcessingJob",
                "sagemaker:StopProcessingJob",
                "sagemaker:CreateTransformJob",
                "sagemaker:DescribeTransformJob",
                "sagemaker:StopTransformJob",
                "sagemaker:CreateModel",
                "sagemaker:DescribeModel",
                "sagemaker:CreateEndpointConfig",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:CreateEndpoint",
                "sagemaker:UpdateEndpoint",
                "sagemaker:AddTags",
                "sagemaker:ListTags",
                "sagemaker:DeleteModel",
                "sagemaker:DeleteEndpointConfig",
            }
        ),
        rf"{ARN}:sagemaker:{REGION_ACCOUNT}:(training-job|processing-job|transform-job|model|endpoint-config)/"
        rf"{PIPELINE_NAMES}-\*",
        "Each run names its processing, training and transform jobs, model and endpoint config "
        "'<pipeline>-<time>-<hash>' at run time; "
        "the pipeline's own prefix is the narrowest pattern that holds them (CleanUp deletes only the failed "
        "run's, by its name).",
    ),
    AllowedWildcard(
        frozenset({"sagemaker:ListModels", "sagemaker:ListEndpointConfigs"}),
        r"\*",
        "ListModels and ListEndpointConfigs have no resource types; PruneModels then reads the tags of, and "
        "deletes, only the pipeline's own run resources (by their ARN prefix and pipeline tag).",
    ),
    AllowedWildcard(
        frozenset({"sagemaker:ListArtifacts", "sagemaker:ListActions", "sagemaker:ListContexts"}),
        r"\*",
        "SageMaker's lineage List APIs have no resource types; RecordLineage lists by source URI to find the "
        "entities SageMaker or an earlier attempt of the run already created.",
    ),
    AllowedWildcard(
        frozenset({"sagemaker:CreateArtifact", "sagemaker:AddAssociation"}),
        rf"{ARN}:sagemaker:{REGION_ACCOUNT}:artifact/\*",
        "SageMaker names a lineage artifact by an id it generates when creating it, so no artifact ARN is known "
        "beforehand.",
    ),
    AllowedWildcard(
        frozenset({"sagemaker:CreateAction", "sagemaker:DescribeAction", "sagemaker:AddAssociation"}),
        rf"{ARN}:sagemaker:{REGION_ACCOUNT}:action/{PIPELINE_NAMES}-\*",
        "A run's lineage actions are named after its training job, '<pipeline>-<time>-<hash>-training' and "
        "'-deployment', known only at run time; the pipeline's prefix is the narrowest pattern.",
    ),
    AllowedWildcard(
        frozenset({"sagemaker:AddAssociation"}),
        rf"{ARN}:sagemaker:{REGION_ACCOUNT}:context/{PIPELINE_NAMES}-\*",
        "SageMaker creates an endpoint's lineage context itself, named '<endpoint>-<timestamp>-aws-endpoint'; "
        "deployments are associated with it, so only the endpoint's own name prefix can scope it.",
    ),
    AllowedWildcard(
        frozenset({"s3:GetObject", "s3:PutObject"}),
        rf"(<DataBucket\w+\.Arn>|{ARN}:s3:::existing-data-bucket)/(data|raw|manifests|models|runs|preprocessed|evaluations|"
        rf"predictions)/{PIPELINE_NAMES}/\*",
        "Objects under one of the pipeline's own prefixes: their keys (dated files, run names) are known only "
        "at run time.",
    ),
    AllowedWildcard(
        frozenset({"s3:PutObject"}),
        rf"(<DataBucket\w+\.Arn>|{ARN}:s3:::existing-data-bucket)/(predictions|scores)(/{PIPELINE_NAMES})?/"
        rf"(data|raw|daily)/{PIPELINE_NAMES}/\*",
        "A transform job's predictions mirror the keys of the day's data files under the predictions prefix, "
        "and the files' names (dates) are known only at run time.",
    ),
    AllowedWildcard(
        frozenset({"s3:DeleteObject"}),
        rf"(<DataBucket\w+\.Arn>|{ARN}:s3:::existing-data-bucket)/models/{PIPELINE_NAMES}/\*/checkpoints/\*",
        "A spot training job's checkpoint folder is named after its run's job, known only at run time; SageMaker "
        "deletes there what the algorithm deleted from /opt/ml/checkpoints.",
    ),
    AllowedWildcard(
        frozenset({"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}),
        rf"(<DataBucket\w+\.Arn>|{ARN}:s3:::existing-data-bucket)/(approvals|waits)/{PIPELINE_NAMES}/\*",
        "A run waiting for approval keeps its task token under the version's number, which SageMaker assigns at "
        "run time, and a wait/poll loop under its training job's name (known at run time) or the endpoint's; the "
        "token is deleted once the run resumes.",
    ),
    AllowedWildcard(
        frozenset({"sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackage", "sagemaker:UpdateModelPackage"}),
        rf"{ARN}:sagemaker:{REGION_ACCOUNT}:model-package/{PIPELINE_NAMES}-models/\*",
        "SageMaker numbers a model package group's versions as they are registered; the pipeline's own group is "
        "the narrowest scope that holds them.",
    ),
    AllowedWildcard(
        frozenset({"sagemaker:ListModelPackages"}),
        r"\*",
        "ListModelPackages has no resource types; EvaluateModel lists its own group to find a version an earlier "
        "attempt registered.",
    ),
    AllowedWildcard(
        frozenset({"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"}),
        rf"{ARN}:logs:{REGION_ACCOUNT}:log-group:/aws/sagemaker/\*",
        "SageMaker names the log groups and streams of training jobs and endpoints itself, under /aws/sagemaker/.",
    ),
    AllowedWildcard(
        frozenset({"lambda:InvokeFunction"}),
        r"<\w+Function\w+\.Arn>:\*",
        "The versions and aliases of one function (grant_invoke's standard pair next to the unqualified ARN).",
    ),
    AllowedWildcard(
        frozenset(
            {"application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies"}
        ),
        r"\*",
        "Application Auto Scaling's Describe APIs have no resource types; an autoscaled endpoint's steps describe "
        "only its own variant (by ResourceIds/ResourceId).",
    ),
    AllowedWildcard(
        frozenset(
            {
                "application-autoscaling:RegisterScalableTarget",
                "application-autoscaling:DeregisterScalableTarget",
                "application-autoscaling:PutScalingPolicy",
                "application-autoscaling:DeleteScalingPolicy",
            }
        ),
        rf"{ARN}:application-autoscaling:{REGION_ACCOUNT}:scalable-target/\*",
        "A scalable target's ARN ends in a random id Application Auto Scaling assigns when it is registered; the "
        "service-namespace and scalable-dimension conditions keep the statement to SageMaker variants' counts.",
        condition_key="application-autoscaling:scalable-dimension",
    ),
    AllowedWildcard(
        frozenset({"cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"}),
        rf"{ARN}:cloudwatch:{REGION_ACCOUNT}:alarm:TargetTracking-endpoint/{PIPELINE_NAMES}/variant/AllTraffic-\*",
        "A target tracking policy's alarms are named 'TargetTracking-<resource id>-AlarmHigh|AlarmLow-<uuid>' by "
        "Application Auto Scaling; the endpoint variant's resource id is the narrowest prefix.",
    ),
    AllowedWildcard(
        frozenset({"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}),
        rf"{ARN}:secretsmanager:{REGION_ACCOUNT}:secret:slack/ml-bot-\?\?\?\?\?\?",
        "Secrets Manager appends six random characters to a secret's name in its ARN; the secret is created by "
        "its owner and referenced by name, so the suffix is unknown at synth time.",
    ),
)


def actions(statement: dict[str, Any]) -> list[str]:
    value = statement["Action"]
    return value if isinstance(value, list) else [value]


def resources(statement: dict[str, Any]) -> list[str]:
    value = statement.get("Resource", [])
    return [flatten(item) for item in (value if isinstance(value, list) else [value])]


def identity_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, statement) for every statement of every identity policy in the template."""
    for logical_id, resource in template["Resources"].items():
        kind, properties = resource["Type"], resource.get("Properties", {})
        documents = []
        if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents.append(properties["PolicyDocument"])
        if kind in ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"):
            documents.extend(policy["PolicyDocument"] for policy in properties.get("Policies", []))
        for document in documents:
            for statement in document["Statement"]:
                yield logical_id, statement


def all_identity_statements(synthesized: Synthesized) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{stack}/{where}", statement)
        for stack, template in synthesized.templates.items()
        for where, statement in identity_statements(template)
    ]


def is_wildcard(resource: str) -> bool:
    return "*" in resource or "?" in resource


def test_the_audit_reads_the_policies_of_every_role(synthesized: Synthesized) -> None:
    statements = all_identity_statements(synthesized)

    policies = {where for where, _ in statements}
    roles = [
        logical_id
        for template in synthesized.templates.values()
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role"
    ]
    # One policy per role: the sixteen steps, the StatusChangeListener, RunEnded, SageMaker's, the state machine's
    # and the schedule's, per stack; churn's ApprovalListener; the upstream events' role in demo's and churn's
    # stacks; demo's TriggerRun and Scheduler roles.
    assert len(roles) == 3 * 21 + 1 + 2 + 2
    assert len(policies) == len(roles)
    assert len(statements) > 50


@pytest.mark.reliability(
    "scan",
    "IAM audit: wildcard resources in every identity policy",
    (
        "Each wildcard is one the API admits no narrower alternative to, with the reason written next to it; unused "
        "allowances fail too"
    ),
)
def test_every_wildcard_resource_is_one_the_api_admits_no_narrower_alternative_to(synthesized: Synthesized) -> None:
    unexplained = [
        f"{where}: {actions(statement)} on {resource}"
        for where, statement in all_identity_statements(synthesized)
        if statement["Effect"] == "Allow"
        for resource in resources(statement)
        if is_wildcard(resource) and not any(allowed.allows(statement, resource) for allowed in ALLOWED_WILDCARDS)
    ]

    assert not unexplained, "\n".join(unexplained)


def test_every_allowed_wildcard_is_still_needed_and_explained(synthesized: Synthesized) -> None:
    used = {
        allowed.reason
        for _, statement in all_identity_statements(synthesized)
        for resource in resources(statement)
        for allowed in ALLOWED_WILDCARDS
        if is_wildcard(resource) and allowed.allows(statement, resource)
    }

    assert used == {allowed.reason for allowed in ALLOWED_WILDCARDS}
    assert all(len(allowed.reason) >= 60 for allowed in ALLOWED_WILDCARDS)


@pytest.mark.parametrize(
    ("statement", "resource", "allowed"),
    [
        ({"Action": "xray:PutTraceSegments"}, "*", True),
        ({"Action": ["xray:PutTraceSegments", "s3:GetObject"]}, "*", False),
        ({"Action": "cloudwatch:PutMetricData"}, "*", False),  # without its namespace condition
        (
            {
                "Action": "cloudwatch:PutMetricData",
                "Condition": {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker*"}},
            },
            "*",
            True,
        ),
        ({"Action": "s3:GetObject"}, "<DataBucketE6B0FAA8.Arn>/data/demo/*", True),
        ({"Action": "s3:GetObject"}, "<DataBucketE6B0FAA8.Arn>/*", False),
        ({"Action": "sagemaker:CreateTrainingJob"}, f"{ARN}:sagemaker:{REGION_ACCOUNT}:training-job/*", False),
        ({"Action": "iam:PassRole"}, "*", False),
    ],
)
def test_the_allowlist_rejects_what_it_does_not_explain(
    statement: dict[str, Any], resource: str, allowed: bool
) -> None:
    assert any(entry.allows(statement, resource) for entry in ALLOWED_WILDCARDS) is allowed


# iam:PassRole


def service_role_ids(template: dict[str, Any], service: str) -> list[str]:
    """The roles only `service` (sagemaker, scheduler, ...) can assume."""
    return [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role"
        and resource["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
        == {"Service": f"{service}.amazonaws.com"}
    ]


def has_preprocessing(template: dict[str, Any]) -> bool:
    return has_variable(template, "PREPROCESSING")


def has_variable(template: dict[str, Any], name: str) -> bool:
    return any(
        name in resource["Properties"].get("Environment", {}).get("Variables", {})
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
    )


# Which policies may pass a role, and to which service: the role assumed by that service and no other.
ROLE_PASSERS = {
    "StepsStartPreprocessing": "sagemaker",
    "StepsStartTrainingJob": "sagemaker",
    "StepsStartEvaluation": "sagemaker",
    "StepsDeployModel": "sagemaker",
    "TriggersTriggerRun": "scheduler",
}


@pytest.mark.reliability(
    "scan",
    "IAM audit: iam:PassRole",
    (
        "Only StartPreprocessing, StartTrainingJob and DeployModel may pass the SageMaker role, only to "
        "sagemaker.amazonaws.com, and only TriggerRun the Scheduler role, only to scheduler.amazonaws.com "
        "(iam:PassedToService)"
    ),
)
def test_pass_role_is_limited_to_each_service_role_passed_to_its_service(synthesized: Synthesized) -> None:
    for stack, template in synthesized.templates.items():
        pass_role = [
            (where, statement)
            for where, statement in identity_statements(template)
            if any(fnmatch.fnmatchcase("iam:passrole", action.lower()) for action in actions(statement))
        ]

        # Nothing else can pass any role (`iam:*` or `*` included); StartPreprocessing only with preprocessing,
        # StartEvaluation only with the held-out evaluation.
        optional = {"StepsStartPreprocessing": "PREPROCESSING", "StepsStartEvaluation": "EVALUATION"}
        passers = tuple(p for p in ROLE_PASSERS if p not in optional or has_variable(template, optional[p]))
        assert sorted(where for where, _ in pass_role) == [
            policy
            for policy in sorted(template["Resources"])
            if policy.startswith(passers) and template["Resources"][policy]["Type"] == "AWS::IAM::Policy"
        ], stack
        for where, statement in pass_role:
            service = next(service for passer, service in ROLE_PASSERS.items() if where.startswith(passer))
            # The pipeline schedule's own role is passed at deploy by CloudFormation, not by a function: TriggerRun
            # passes only the role of the schedules it creates, which sits under its construct.
            (role,) = [
                r for r in service_role_ids(template, service) if service != "scheduler" or r.startswith("Triggers")
            ]
            assert actions(statement) == ["iam:PassRole"], (stack, where)
            assert statement["Resource"] == {"Fn::GetAtt": [role, "Arn"]}, (stack, where)
            assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": f"{service}.amazonaws.com"}}


# Resource policies


def test_key_policies_name_the_key_itself_and_the_account_or_logs_of_this_account(synthesized: Synthesized) -> None:
    for stack, template in synthesized.templates.items():
        keys = [resource for resource in template["Resources"].values() if resource["Type"] == "AWS::KMS::Key"]
        assert len(keys) == 1, stack
        for statement in keys[0]["Properties"]["KeyPolicy"]["Statement"]:
            # In a key policy "*" means this key, and nothing else can be named.
            assert statement["Resource"] == "*"
            principal = statement["Principal"]
            if "AWS" in principal:
                assert flatten(principal["AWS"]) == "arn:<AWS::Partition>:iam::<AWS::AccountId>:root"
            elif principal["Service"] == "cloudwatch.amazonaws.com":
                # The alarms' email topic is encrypted with the key: CloudWatch publishes to it for this
                # pipeline's alarms only.
                assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
                assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
                assert flatten(statement["Condition"]["ArnLike"]["aws:SourceArn"]) == (
                    f"{ARN}:cloudwatch:{REGION_ACCOUNT}:alarm:{stack.removeprefix('SageMakerRetraining-')}-*"
                )
            else:
                assert flatten(principal["Service"]) == "logs.<AWS::Region>.<AWS::URLSuffix>"
                assert flatten(statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]) == (
                    f"{ARN}:logs:{REGION_ACCOUNT}:log-group:*"
                )


def test_bucket_policies_name_their_own_bucket_only(synthesized: Synthesized) -> None:
    policies = [
        resource["Properties"]
        for template in synthesized.templates.values()
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::S3::BucketPolicy"
    ]

    assert len(policies) == 2  # the demo stack's data and access-log buckets; churn's bucket is not ours
    for policy in policies:
        bucket = f"<{policy['Bucket']['Ref']}.Arn>"
        for statement in policy["PolicyDocument"]["Statement"]:
            assert all(r == bucket or r.startswith(f"{bucket}/") for r in resources(statement)), statement
