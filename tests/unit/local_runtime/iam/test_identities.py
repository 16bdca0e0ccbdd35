"""IAM users' access keys and AssumeRole credentials made through the API are judged against their policies."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local_runtime.server import LocalAws

REGION, ACCOUNT = "us-east-1", "123456789012"
BUCKET = "users-bucket"
READ_REPORTS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/reports/*"}],
}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
    ],
}


@pytest.fixture(scope="module")
def local_aws() -> Iterator[LocalAws]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with LocalAws(enforce_iam=True) as aws:
        admin = _client(aws, "s3")
        admin.create_bucket(Bucket=BUCKET)
        for key in ("reports/a.csv", "secret/b.csv"):
            admin.put_object(Bucket=BUCKET, Key=key, Body=b"1\n")
        yield aws


def _client(aws: LocalAws, service: str, credentials: dict[str, str] | None = None) -> Any:
    given = credentials or {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    return boto3.client(service, endpoint_url=aws.endpoint_url, region_name=REGION, **given)


def _user_keys(aws: LocalAws, name: str) -> dict[str, str]:
    key = _client(aws, "iam").create_access_key(UserName=name)["AccessKey"]
    return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}


def _denied(call: Any, **kwargs: Any) -> ClientError:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value


def test_a_users_access_key_is_held_to_the_users_policy(local_aws: LocalAws, aws_env: None) -> None:
    # GIVEN a user made through the IAM API, allowed s3:GetObject on one prefix only
    iam = _client(local_aws, "iam")
    iam.create_user(UserName="analyst")
    iam.put_user_policy(UserName="analyst", PolicyName="read-reports", PolicyDocument=json.dumps(READ_REPORTS))
    s3 = _client(local_aws, "s3", _user_keys(local_aws, "analyst"))

    # WHEN it reads inside and outside that prefix
    allowed = s3.get_object(Bucket=BUCKET, Key="reports/a.csv")["Body"].read()
    error = _denied(s3.get_object, Bucket=BUCKET, Key="secret/b.csv")

    # THEN the first goes through and the second is S3's AccessDenied naming the user
    assert allowed == b"1\n"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error.response["Error"]["Message"] == (
        f"User: arn:aws:iam::{ACCOUNT}:user/analyst is not authorized to perform: s3:GetObject on resource: "
        f'"arn:aws:s3:::{BUCKET}/secret/b.csv" because no identity-based policy allows the s3:GetObject action'
    )


def test_a_user_gets_its_groups_managed_policies_read_when_asked(local_aws: LocalAws, aws_env: None) -> None:
    iam = _client(local_aws, "iam")
    iam.create_user(UserName="auditor")
    s3 = _client(local_aws, "s3", _user_keys(local_aws, "auditor"))
    assert _denied(s3.get_object, Bucket=BUCKET, Key="reports/a.csv").response["Error"]["Code"] == "AccessDenied"

    # WHEN a managed policy is attached to a group the user joins, after its key was made
    arn = iam.create_policy(PolicyName="reports", PolicyDocument=json.dumps(READ_REPORTS))["Policy"]["Arn"]
    iam.create_group(GroupName="auditors")
    iam.attach_group_policy(GroupName="auditors", PolicyArn=arn)
    iam.add_user_to_group(GroupName="auditors", UserName="auditor")

    # THEN the same key may read: the policies are read at each request, as IAM does
    assert s3.get_object(Bucket=BUCKET, Key="reports/a.csv")["Body"].read() == b"1\n"


def test_assume_role_credentials_are_held_to_the_roles_policies(local_aws: LocalAws, aws_env: None) -> None:
    iam = _client(local_aws, "iam")
    role_arn = iam.create_role(RoleName="Reporter", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName="Reporter", PolicyName="read-reports", PolicyDocument=json.dumps(READ_REPORTS))
    issued = _client(local_aws, "sts").assume_role(RoleArn=role_arn, RoleSessionName="nightly")["Credentials"]
    s3 = _client(
        local_aws,
        "s3",
        {
            "aws_access_key_id": issued["AccessKeyId"],
            "aws_secret_access_key": issued["SecretAccessKey"],
            "aws_session_token": issued["SessionToken"],
        },
    )

    assert s3.get_object(Bucket=BUCKET, Key="reports/a.csv")["Body"].read() == b"1\n"
    error = _denied(s3.put_object, Bucket=BUCKET, Key="reports/new.csv", Body=b"2\n")
    assert error.response["Error"]["Message"].startswith(
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/Reporter/nightly is not authorized to perform: s3:PutObject"
    )


def test_the_accounts_own_and_unknown_keys_stay_unrestricted(local_aws: LocalAws, aws_env: None) -> None:
    for credentials in (None, {"aws_access_key_id": "AKIAUNKNOWN000000000", "aws_secret_access_key": "x"}):
        s3 = _client(local_aws, "s3", credentials)

        assert s3.get_object(Bucket=BUCKET, Key="secret/b.csv")["Body"].read() == b"1\n"
