"""The grants report: which action patterns of the deployed roles an allowed request used, across processes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from local_runtime.iam.roles import PolicyDocument, TemplateRole
from local_runtime.iam.usage import Grant, GrantUsage, merge, render
from local_runtime.server import LocalAws

ACCOUNT, REGION = "123456789012", "us-east-1"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/Stack-ReaderRole"
STATEMENTS = [
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::bucket/*"},
    {"Effect": "Allow", "Action": "ssm:Get*", "Resource": "*"},
    {"Effect": "Allow", "Action": ["logs:PutLogEvents"], "Resource": "*"},
    {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"},
]


def _role(statements: list[dict[str, Any]] = STATEMENTS) -> TemplateRole:
    document = {"Version": "2012-10-17", "Statement": statements}
    policy = PolicyDocument(name="ReaderPolicy", kind="AWS::IAM::Policy", source="ReaderPolicy", document=document)
    return TemplateRole("ReaderRole", "Stack-ReaderRole", ROLE_ARN, {}, (policy,))


def test_the_grants_are_the_allow_statements_action_patterns_by_role() -> None:
    usage = GrantUsage()
    usage.add_roles([_role()])
    assert usage.granted == {
        Grant("ReaderRole", "s3:GetObject"),
        Grant("ReaderRole", "s3:PutObject"),
        Grant("ReaderRole", "ssm:Get*"),
        Grant("ReaderRole", "logs:PutLogEvents"),
    }


def test_a_request_uses_the_patterns_that_match_its_action_only() -> None:
    usage = GrantUsage()
    usage.add_roles([_role()])
    usage.record("ReaderRole", STATEMENTS[:2], "ssm:GetParameter")
    assert usage.used == {Grant("ReaderRole", "ssm:Get*")}


def test_records_of_several_processes_add_up_and_the_report_names_what_none_used(tmp_path: Path) -> None:
    first, second = GrantUsage(), GrantUsage()
    for usage in (first, second):
        usage.add_roles([_role()])
    first.record("ReaderRole", STATEMENTS[:1], "s3:GetObject")
    second.record("ReaderRole", STATEMENTS[1:2], "ssm:GetParameters")
    (tmp_path / "1.json").write_text(json.dumps(first.to_json()))
    (tmp_path / "2.json").write_text(json.dumps(second.to_json()))

    total = merge(tmp_path)
    report = render(total)

    assert total.granted - total.used == {Grant("ReaderRole", "s3:PutObject"), Grant("ReaderRole", "logs:PutLogEvents")}
    assert "Never used by any request (1)" in report
    assert "  ReaderRole: s3:PutObject\n" in report
    assert "does not call (1): logs:PutLogEvents" in report


def test_the_server_records_what_a_role_session_was_allowed_and_not_what_it_was_denied(aws_env: None) -> None:
    usage = GrantUsage()
    with LocalAws(enforce_iam=True) as aws:
        aws.iam.usage = usage
        aws.iam.add_roles([_role()])
        boto3.client("s3", endpoint_url=aws.endpoint_url, region_name=REGION).create_bucket(Bucket="bucket")
        issued = aws.principals.issue(ROLE_ARN, "reader")
        s3 = boto3.client(
            "s3",
            endpoint_url=aws.endpoint_url,
            region_name=REGION,
            aws_access_key_id=issued.access_key_id,
            aws_secret_access_key=issued.secret_access_key,
            aws_session_token=issued.session_token,
        )
        s3.put_object(Bucket="bucket", Key="a.csv", Body=b"1\n")
        with pytest.raises(s3.exceptions.ClientError):
            s3.delete_object(Bucket="bucket", Key="a.csv")

    assert usage.used == {Grant("ReaderRole", "s3:PutObject")}
