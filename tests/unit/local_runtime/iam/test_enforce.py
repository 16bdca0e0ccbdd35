"""S3 and SSM calls signed by a role session are authorized against the role's identity policies, as IAM does."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local_runtime.iam.roles import PolicyDocument, TemplateRole
from local_runtime.server import LocalAws

REGION, ACCOUNT = "us-east-1", "123456789012"
BUCKET, PARAMETER = "granted-bucket", "/pipeline/watermark"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/CheckDataRole"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/CheckDataRole/check-data"
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{BUCKET}",
            "Condition": {"StringLike": {"s3:prefix": ["data/*"]}},
        },
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"arn:aws:s3:::{BUCKET}/data/*"},
        {"Effect": "Deny", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/data/locked/*"},
        {
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/pipeline/*",
        },
        {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"},
    ],
}


@pytest.fixture(scope="module")
def local_aws() -> Iterator[LocalAws]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with LocalAws(enforce_iam=True) as aws:
        aws.iam.add_roles([_role(POLICY)])
        admin = _client(aws, "s3")
        admin.create_bucket(Bucket=BUCKET)
        for key in ("data/a.csv", "other/b.csv"):
            admin.put_object(Bucket=BUCKET, Key=key, Body=b"1\n")
        _client(aws, "ssm").put_parameter(Name=PARAMETER, Value="2026-12-01", Type="String")
        _client(aws, "ssm").put_parameter(Name="/elsewhere", Value="x", Type="String")
        yield aws


def _role(document: dict[str, Any]) -> TemplateRole:
    policy = PolicyDocument(name="CheckDataPolicy", kind="inline", source="CheckDataRole", document=document)
    return TemplateRole("CheckDataRole", "CheckDataRole", ROLE_ARN, {}, (policy,))


def _client(aws: LocalAws, service: str, *, as_role: bool = False) -> Any:
    credentials: dict[str, str] = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    if as_role:
        issued = aws.principals.issue(ROLE_ARN, "check-data")
        credentials = {
            "aws_access_key_id": issued.access_key_id,
            "aws_secret_access_key": issued.secret_access_key,
            "aws_session_token": issued.session_token,
        }
    return boto3.client(service, endpoint_url=aws.endpoint_url, region_name=REGION, **credentials)


def _denied(call: Any, **kwargs: Any) -> ClientError:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value


@pytest.mark.compatibility("iam:enforcement")
def test_listing_without_a_grant_answers_as_s3_does(local_aws: LocalAws, aws_env: None) -> None:
    s3 = _client(local_aws, "s3", as_role=True)

    # WHEN the role lists outside the prefix its grant's condition names
    error = _denied(s3.list_objects_v2, Bucket=BUCKET, Prefix="other/")

    # THEN S3's 403 AccessDenied, naming the session, the action and the bucket
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error.response["Error"]["Code"] == "AccessDenied"
    assert error.response["Error"]["Message"] == (
        f'User: {SESSION} is not authorized to perform: s3:ListBucket on resource: "arn:aws:s3:::{BUCKET}" '
        "because no identity-based policy allows the s3:ListBucket action"
    )


def test_what_the_policy_grants_goes_through(local_aws: LocalAws, aws_env: None) -> None:
    s3, ssm = _client(local_aws, "s3", as_role=True), _client(local_aws, "ssm", as_role=True)

    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="data/")
    s3.put_object(Bucket=BUCKET, Key="data/new.csv", Body=b"2\n")

    assert [item["Key"] for item in listed["Contents"]] == ["data/a.csv"]
    assert s3.get_object(Bucket=BUCKET, Key="data/new.csv")["Body"].read() == b"2\n"
    assert ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"] == "2026-12-01"


@pytest.mark.parametrize(
    ("call", "arguments", "action", "resource"),
    [
        ("list_objects_v2", {"Bucket": BUCKET}, "s3:ListBucket", f"arn:aws:s3:::{BUCKET}"),  # no s3:prefix at all
        ("get_object", {"Bucket": BUCKET, "Key": "other/b.csv"}, "s3:GetObject", f"arn:aws:s3:::{BUCKET}/other/b.csv"),
        (
            "put_object",
            {"Bucket": BUCKET, "Key": "other/c.csv", "Body": b"3"},
            "s3:PutObject",
            f"arn:aws:s3:::{BUCKET}/other/c.csv",
        ),
        (
            "delete_object",
            {"Bucket": BUCKET, "Key": "data/a.csv"},
            "s3:DeleteObject",
            f"arn:aws:s3:::{BUCKET}/data/a.csv",
        ),
        (
            "get_object_tagging",
            {"Bucket": BUCKET, "Key": "data/a.csv"},
            "s3:GetObjectTagging",
            f"arn:aws:s3:::{BUCKET}/data/a.csv",
        ),
        (
            "copy_object",
            {"Bucket": BUCKET, "Key": "data/copy.csv", "CopySource": {"Bucket": BUCKET, "Key": "other/b.csv"}},
            "s3:GetObject",
            f"arn:aws:s3:::{BUCKET}/other/b.csv",
        ),
    ],
)
def test_each_s3_call_is_authorized_as_its_action_on_its_resource(
    local_aws: LocalAws, aws_env: None, call: str, arguments: dict[str, Any], action: str, resource: str
) -> None:
    error = _denied(getattr(_client(local_aws, "s3", as_role=True), call), **arguments)

    assert error.response["Error"]["Code"] == "AccessDenied"
    assert f'perform: {action} on resource: "{resource}" because' in error.response["Error"]["Message"]


@pytest.mark.compatibility("iam:enforcement")
def test_an_explicit_deny_wins_and_says_so(local_aws: LocalAws, aws_env: None) -> None:
    error = _denied(_client(local_aws, "s3", as_role=True).put_object, Bucket=BUCKET, Key="data/locked/x", Body=b"")

    assert error.response["Error"]["Message"].endswith("with an explicit deny in an identity-based policy")


def test_a_head_request_is_denied_with_its_status_alone(local_aws: LocalAws, aws_env: None) -> None:
    error = _denied(_client(local_aws, "s3", as_role=True).head_object, Bucket=BUCKET, Key="other/b.csv")

    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_reading_a_parameter_without_a_grant_answers_as_ssm_does(local_aws: LocalAws, aws_env: None) -> None:
    ssm = _client(local_aws, "ssm", as_role=True)

    error = _denied(ssm.get_parameter, Name="/elsewhere")
    written = _denied(ssm.put_parameter, Name=PARAMETER, Value="2026-12-02", Overwrite=True)

    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error.response["Error"]["Code"] == "AccessDeniedException"
    assert error.response["Error"]["Message"] == (
        f"User: {SESSION} is not authorized to perform: ssm:GetParameter on resource: "
        f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/elsewhere because no identity-based policy allows the "
        "ssm:GetParameter action"
    )
    assert (
        f"ssm:PutParameter on resource: arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/pipeline/watermark"
        in (written.response["Error"]["Message"])
    )
    assert _client(local_aws, "ssm").get_parameter(Name=PARAMETER)["Parameter"]["Value"] == "2026-12-01"


def test_the_accounts_own_credentials_stay_unrestricted(local_aws: LocalAws, aws_env: None) -> None:
    s3 = _client(local_aws, "s3")

    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="other/")["KeyCount"] == 1
    assert _client(local_aws, "ssm").get_parameter(Name="/elsewhere")["Parameter"]["Value"] == "x"


def test_other_services_are_allowed_and_logged_once_as_not_checked(
    local_aws: LocalAws, aws_env: None, caplog: pytest.LogCaptureFixture
) -> None:
    queues = _client(local_aws, "sqs", as_role=True)

    with caplog.at_level(logging.WARNING, logger="local_runtime.iam"):
        queues.create_queue(QueueName="not-checked")
        queues.list_queues()
        queues.list_queues()

    not_checked = [record.getMessage() for record in caplog.records if "IAM not checked" in record.getMessage()]
    assert not_checked == [
        "IAM not checked: sqs CreateQueue (no IAM mapping for it here); allowed",
        "IAM not checked: sqs ListQueues (no IAM mapping for it here); allowed",
    ]


def test_without_enforcement_a_role_session_is_unrestricted(aws_env: None) -> None:
    with LocalAws() as aws:
        aws.iam.add_roles([_role({"Statement": []})])
        _client(aws, "s3").create_bucket(Bucket="open")

        assert _client(aws, "s3", as_role=True).list_objects_v2(Bucket="open")["KeyCount"] == 0
