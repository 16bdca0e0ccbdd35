"""S3 on an SSE-KMS bucket asks the caller for KMS permissions on the key, which the key's policy must let IAM grant."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local_runtime.iam.kms import put_key
from local_runtime.iam.roles import PolicyDocument, TemplateRole
from local_runtime.server import LocalAws
from local_runtime.template import read_stack

REGION, ACCOUNT = "us-east-1", "123456789012"
BUCKET, CLOSED_BUCKET = "encrypted-bucket", "closed-key-bucket"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
# As CDK writes a key and its bucket: the default key policy gives the account kms:*, which lets IAM policies grant.
TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Key": {
            "Type": "AWS::KMS::Key",
            "Properties": {
                "KeyPolicy": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}],
                }
            },
        },
        "ClosedKey": {  # a key policy that lets no one in the account use the key
            "Type": "AWS::KMS::Key",
            "Properties": {"KeyPolicy": {"Version": "2012-10-17", "Statement": []}},
        },
    }
}
STACK = read_stack(TEMPLATE, stack_name="kms-test", region=REGION, account=ACCOUNT)
KEY_ARN, CLOSED_KEY_ARN = STACK.kms_keys["Key"].arn, STACK.kms_keys["ClosedKey"].arn
VIA_S3 = {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}}
OBJECTS = {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::*/data/*"}


@pytest.fixture(scope="module")
def local_aws() -> Iterator[LocalAws]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with LocalAws(enforce_iam=True) as aws:
        roles = {
            "Both": [OBJECTS, _kms("kms:Decrypt"), _kms("kms:GenerateDataKey")],
            "NoDecrypt": [OBJECTS, _kms("kms:GenerateDataKey")],
            "NoGenerate": [OBJECTS, _kms("kms:Decrypt")],
            "ViaSsm": [OBJECTS, {**_kms("kms:Decrypt"), "Condition": {"StringEquals": {"kms:ViaService": "ssm.x"}}}],
            "Closed": [OBJECTS, {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}],
        }
        aws.iam.add_roles([_role(name, statements) for name, statements in roles.items()])
        for key in STACK.kms_keys.values():
            put_key(key, region=REGION, account=ACCOUNT)
        admin = _s3(aws)
        for bucket, key_arn in ((BUCKET, KEY_ARN), (CLOSED_BUCKET, CLOSED_KEY_ARN)):
            admin.create_bucket(Bucket=bucket)
            default = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}
            admin.put_bucket_encryption(
                Bucket=bucket,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": True}]
                },
            )
            admin.put_object(Bucket=bucket, Key="data/a.csv", Body=b"1\n")
        yield aws


def _kms(action: str) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": KEY_ARN, "Condition": VIA_S3}


def _role(name: str, statements: list[dict[str, Any]]) -> TemplateRole:
    document = {"Version": "2012-10-17", "Statement": statements}
    policy = PolicyDocument(name=f"{name}Policy", kind="inline", source=name, document=document)
    return TemplateRole(name, name, f"arn:aws:iam::{ACCOUNT}:role/{name}", {}, (policy,))


def _s3(aws: LocalAws, role: str | None = None) -> Any:
    credentials: dict[str, str] = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    if role:
        issued = aws.principals.issue(f"arn:aws:iam::{ACCOUNT}:role/{role}", "caller")
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


def test_the_template_key_is_created_under_the_arn_the_policies_name(local_aws: LocalAws, aws_env: None) -> None:
    kms = boto3.client("kms", endpoint_url=local_aws.endpoint_url, region_name=REGION)

    described = kms.describe_key(KeyId=KEY_ARN)["KeyMetadata"]

    assert KEY_ARN.startswith(f"arn:aws:kms:{REGION}:{ACCOUNT}:key/")
    assert (described["Arn"], described["KeyId"]) == (KEY_ARN, KEY_ARN.rsplit("/", 1)[-1])


def test_a_role_granted_both_actions_through_s3_writes_and_reads(local_aws: LocalAws, aws_env: None) -> None:
    s3 = _s3(local_aws, "Both")

    s3.put_object(Bucket=BUCKET, Key="data/b.csv", Body=b"2\n")

    assert s3.get_object(Bucket=BUCKET, Key="data/b.csv")["Body"].read() == b"2\n"
    assert s3.head_object(Bucket=BUCKET, Key="data/b.csv")["SSEKMSKeyId"] == KEY_ARN


def test_reading_without_kms_decrypt_fails_as_s3_fails_it(local_aws: LocalAws, aws_env: None) -> None:
    s3 = _s3(local_aws, "NoDecrypt")

    error = _denied(s3.get_object, Bucket=BUCKET, Key="data/a.csv")

    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error.response["Error"]["Code"] == "AccessDenied"
    assert error.response["Error"]["Message"] == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/NoDecrypt/caller is not authorized to perform: kms:Decrypt on "
        f"resource: {KEY_ARN} because no identity-based policy allows the kms:Decrypt action"
    )
    assert s3.head_object(Bucket=BUCKET, Key="data/a.csv")["ContentLength"] == 2  # HEAD reads no data


def test_writing_without_kms_generate_data_key_fails_and_writes_nothing(local_aws: LocalAws, aws_env: None) -> None:
    error = _denied(_s3(local_aws, "NoGenerate").put_object, Bucket=BUCKET, Key="data/c.csv", Body=b"3\n")

    assert error.response["Error"]["Message"].startswith(
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/NoGenerate/caller is not authorized to perform: "
        f"kms:GenerateDataKey on resource: {KEY_ARN} "
    )
    assert "Contents" not in _s3(local_aws).list_objects_v2(Bucket=BUCKET, Prefix="data/c.csv")


def test_copying_needs_decrypt_on_the_source(local_aws: LocalAws, aws_env: None) -> None:
    copy = {"Bucket": BUCKET, "Key": "data/copy.csv", "CopySource": {"Bucket": BUCKET, "Key": "data/a.csv"}}

    error = _denied(_s3(local_aws, "NoDecrypt").copy_object, **copy)

    assert "perform: kms:Decrypt on resource" in error.response["Error"]["Message"]


def test_a_kms_grant_for_another_service_does_not_cover_s3(local_aws: LocalAws, aws_env: None) -> None:
    error = _denied(_s3(local_aws, "ViaSsm").get_object, Bucket=BUCKET, Key="data/a.csv")

    assert error.response["Error"]["Message"].endswith("because no identity-based policy allows the kms:Decrypt action")


def test_a_key_policy_that_does_not_let_iam_grant_denies_whatever_the_role_holds(
    local_aws: LocalAws, aws_env: None
) -> None:
    error = _denied(_s3(local_aws, "Closed").get_object, Bucket=CLOSED_BUCKET, Key="data/a.csv")

    assert error.response["Error"]["Message"].endswith(
        f"kms:Decrypt on resource: {CLOSED_KEY_ARN} because no resource-based policy allows the kms:Decrypt action"
    )
