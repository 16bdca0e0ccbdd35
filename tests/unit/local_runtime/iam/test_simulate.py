"""SimulatePrincipalPolicy as IAM answers it, on moto with the local runtime's extensions."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local_runtime import moto_extensions

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
INLINE = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["logs:*", "cloudwatch:PutMetricData"], "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/*"},
        {"Sid": "NoDeletes", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"},
    ],
}
MANAGED = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:BatchGetImage", "Resource": "*"}]}


def role_arn(iam: Any) -> str:
    arn: str = iam.create_role(RoleName="execution", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName="execution", PolicyName="inline", PolicyDocument=json.dumps(INLINE))
    policy = iam.create_policy(PolicyName="managed", PolicyDocument=json.dumps(MANAGED))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="execution", PolicyArn=policy)
    return arn


def decisions(iam: Any, arn: str, actions: list[str], resources: list[str] | None = None) -> dict[str, str]:
    extra = {"ResourceArns": resources} if resources else {}
    results = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=actions, **extra)["EvaluationResults"]
    return {f"{r['EvalActionName']} {r['EvalResourceName']}": r["EvalDecision"] for r in results}


@pytest.mark.compatibility("iam:enforcement")
@mock_aws
def test_a_roles_inline_and_managed_policies_decide_each_action_on_any_resource(aws_env: None) -> None:
    # GIVEN moto with the local runtime's extensions and a role with an inline and an attached managed policy
    moto_extensions.install()
    iam = boto3.client("iam", region_name="us-east-1")
    arn = role_arn(iam)

    # WHEN the role is simulated without ResourceArns, as the SageMaker Python SDK v3 validates a role
    answer = decisions(iam, arn, ["logs:CreateLogStream", "ecr:BatchGetImage", "s3:GetObject", "s3:DeleteObject"])

    # THEN each action is judged on `*`: a bucket-scoped grant does not allow it, a Deny denies explicitly
    assert answer == {
        "logs:CreateLogStream *": "allowed",
        "ecr:BatchGetImage *": "allowed",
        "s3:GetObject *": "implicitDeny",
        "s3:DeleteObject *": "explicitDeny",
    }


@mock_aws
def test_each_action_is_judged_on_each_resource_given(aws_env: None) -> None:
    # GIVEN the role
    moto_extensions.install()
    iam = boto3.client("iam", region_name="us-east-1")
    arn = role_arn(iam)

    # WHEN an action is simulated on two objects
    answer = decisions(iam, arn, ["s3:GetObject"], ["arn:aws:s3:::data/day.csv", "arn:aws:s3:::other/day.csv"])

    # THEN the grant's resource decides
    assert answer == {
        "s3:GetObject arn:aws:s3:::data/day.csv": "allowed",
        "s3:GetObject arn:aws:s3:::other/day.csv": "implicitDeny",
    }
    # AND the matched statement names its policy
    result = iam.simulate_principal_policy(
        PolicySourceArn=arn, ActionNames=["s3:GetObject"], ResourceArns=["arn:aws:s3:::data/day.csv"]
    )["EvaluationResults"][0]
    assert result["MatchedStatements"][0]["SourcePolicyId"] == "inline"


@mock_aws
def test_a_missing_role_is_no_such_entity(aws_env: None) -> None:
    # GIVEN moto with the local runtime's extensions and no role
    moto_extensions.install()
    iam = boto3.client("iam", region_name="us-east-1")

    # WHEN a missing role is simulated
    with pytest.raises(ClientError) as raised:
        iam.simulate_principal_policy(PolicySourceArn="arn:aws:iam::123456789012:role/gone", ActionNames=["s3:*"])

    # THEN IAM's NoSuchEntity error answers
    assert raised.value.response["Error"]["Code"] == "NoSuchEntity"
