"""A bucket's policy counts with the caller's identity policies, and a missing key answers 404 only to a lister."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local_runtime.iam.roles import PolicyDocument, TemplateRole
from local_runtime.server import LocalAws

REGION, ACCOUNT = "us-east-1", "123456789012"
BUCKET = "policed-bucket"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/ReaderRole"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/ReaderRole/reader"
LISTER_ARN = f"arn:aws:iam::{ACCOUNT}:role/ListerRole"
IDENTITY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"arn:aws:s3:::{BUCKET}/data/*"}
    ],
}
LISTER = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}"},
    ],
}
# What CDK's `enforceSSL: true` adds to a bucket's policy.
ENFORCE_SSL = {
    "Effect": "Deny",
    "Principal": {"AWS": "*"},
    "Action": "s3:*",
    "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


@pytest.fixture(scope="module")
def local_aws() -> Iterator[LocalAws]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with LocalAws(enforce_iam=True) as aws:
        aws.iam.add_roles([_role(ROLE_ARN, IDENTITY), _role(LISTER_ARN, LISTER)])
        admin = _s3(aws)
        admin.create_bucket(Bucket=BUCKET)
        for key in ("data/a.csv", "other/b.csv"):
            admin.put_object(Bucket=BUCKET, Key=key, Body=b"1\n")
        yield aws


@pytest.fixture
def bucket_policy(local_aws: LocalAws) -> Iterator[Any]:
    """Puts a bucket policy with the account's own credentials (as a user of the API would), removed afterwards."""

    def put(*statements: dict[str, Any]) -> None:
        policy = {"Version": "2012-10-17", "Statement": list(statements)}
        _s3(local_aws).put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(policy))

    yield put
    _s3(local_aws).delete_bucket_policy(Bucket=BUCKET)


def _role(arn: str, document: dict[str, Any]) -> TemplateRole:
    name = arn.rsplit("/", 1)[-1]
    policy = PolicyDocument(name=f"{name}Policy", kind="inline", source=name, document=document)
    return TemplateRole(name, name, arn, {}, (policy,))


def _s3(aws: LocalAws, role_arn: str | None = None, session: str = "reader") -> Any:
    credentials: dict[str, str] = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    if role_arn:
        issued = aws.principals.issue(role_arn, session)
        credentials = {
            "aws_access_key_id": issued.access_key_id,
            "aws_secret_access_key": issued.secret_access_key,
            "aws_session_token": issued.session_token,
        }
    return boto3.client("s3", endpoint_url=aws.endpoint_url, region_name=REGION, **credentials)


def _denied(call: Any, **kwargs: Any) -> ClientError:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value


def test_a_policy_denying_insecure_transport_lets_the_local_http_calls_through(
    local_aws: LocalAws, aws_env: None, bucket_policy: Any
) -> None:
    # GIVEN the bucket policy CDK's enforceSSL writes
    bucket_policy(ENFORCE_SSL)

    # WHEN the role reads and writes what its policy grants, over the local AWS's loopback http
    s3 = _s3(local_aws, ROLE_ARN)
    s3.put_object(Bucket=BUCKET, Key="data/new.csv", Body=b"2\n")

    # THEN it goes through: loopback stands in for AWS's TLS endpoints (aws:SecureTransport is true)
    assert s3.get_object(Bucket=BUCKET, Key="data/new.csv")["Body"].read() == b"2\n"


def test_a_policy_denying_the_role_denies_what_its_identity_policy_allows(
    local_aws: LocalAws, aws_env: None, bucket_policy: Any
) -> None:
    bucket_policy(
        ENFORCE_SSL,
        {
            "Effect": "Deny",
            "Principal": {"AWS": ROLE_ARN},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
        },
    )

    error = _denied(_s3(local_aws, ROLE_ARN).get_object, Bucket=BUCKET, Key="data/a.csv")

    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error.response["Error"]["Code"] == "AccessDenied"
    assert error.response["Error"]["Message"] == (
        f'User: {SESSION} is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::{BUCKET}/data/a.csv" '
        "with an explicit deny in a resource-based policy"
    )


def test_a_deny_naming_another_session_of_the_role_leaves_this_one_alone(
    local_aws: LocalAws, aws_env: None, bucket_policy: Any
) -> None:
    other_session = f"arn:aws:sts::{ACCOUNT}:assumed-role/ReaderRole/someone-else"
    bucket_policy(
        {
            "Effect": "Deny",
            "Principal": {"AWS": other_session},
            "Action": "s3:*",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
        }
    )

    assert _s3(local_aws, ROLE_ARN).get_object(Bucket=BUCKET, Key="data/a.csv")["Body"].read() == b"1\n"


def test_a_policy_granting_the_role_allows_what_its_identity_policy_does_not(
    local_aws: LocalAws, aws_env: None, bucket_policy: Any
) -> None:
    s3 = _s3(local_aws, ROLE_ARN)
    assert _denied(s3.get_object, Bucket=BUCKET, Key="other/b.csv").response["Error"]["Code"] == "AccessDenied"

    # WHEN the bucket's policy grants the role's session what its identity policies do not
    bucket_policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": SESSION},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
        }
    )

    # THEN within one account either policy's Allow allows
    assert s3.get_object(Bucket=BUCKET, Key="other/b.csv")["Body"].read() == b"1\n"


def test_a_policy_naming_the_account_grants_nothing_by_itself(
    local_aws: LocalAws, aws_env: None, bucket_policy: Any
) -> None:
    bucket_policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
        }
    )

    error = _denied(_s3(local_aws, ROLE_ARN).get_object, Bucket=BUCKET, Key="other/b.csv")

    assert error.response["Error"]["Message"].endswith(
        "because no identity-based policy allows the s3:GetObject action"
    )


@pytest.mark.parametrize("call", ["get_object", "head_object"])
def test_a_missing_key_is_access_denied_without_list_bucket(local_aws: LocalAws, aws_env: None, call: str) -> None:
    error = _denied(getattr(_s3(local_aws, ROLE_ARN), call), Bucket=BUCKET, Key="data/missing.csv")

    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    if call == "get_object":  # a HEAD answer has no body: botocore names the error by its status
        assert error.response["Error"] == {"Code": "AccessDenied", "Message": "Access Denied"}


@pytest.mark.parametrize("call", ["get_object", "head_object"])
def test_a_missing_key_is_no_such_key_with_list_bucket(local_aws: LocalAws, aws_env: None, call: str) -> None:
    error = _denied(getattr(_s3(local_aws, LISTER_ARN, "lister"), call), Bucket=BUCKET, Key="data/missing.csv")

    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    if call == "get_object":
        assert error.response["Error"]["Code"] == "NoSuchKey"


def test_the_accounts_own_credentials_still_see_a_missing_key_as_missing(local_aws: LocalAws, aws_env: None) -> None:
    error = _denied(_s3(local_aws).get_object, Bucket=BUCKET, Key="data/missing.csv")

    assert error.response["Error"]["Code"] == "NoSuchKey"
