"""SDK v2: what the SDK asks of the account, answered by the local runtime.

boto3's STS GetCallerIdentity (through AWS_ENDPOINT_URL), a session's default bucket when it is named (created on
first use, as on AWS), and a role's session from AssumeRole. The SDK's own STS lookups (an unnamed default bucket,
`get_execution_role`) are execution_role.py's.
"""

from __future__ import annotations

import os

import boto3
import sagemaker
from sdk_v2 import report, role

BUCKET = "sdk-account-bucket"


def main() -> None:
    boto_session = boto3.Session(region_name=os.environ["AWS_DEFAULT_REGION"])
    identity = boto_session.client("sts").get_caller_identity()
    sm = sagemaker.Session(boto_session=boto_session, default_bucket=BUCKET)
    bucket = sm.default_bucket()
    boto_session.client("s3").head_bucket(Bucket=bucket)
    assumed = boto_session.client("sts").assume_role(RoleArn=role(), RoleSessionName="sdk-tests")["Credentials"]
    role_session = boto3.Session(
        region_name=boto_session.region_name,
        aws_access_key_id=assumed["AccessKeyId"],
        aws_secret_access_key=assumed["SecretAccessKey"],
        aws_session_token=assumed["SessionToken"],
    )
    role_identity = role_session.client("sts").get_caller_identity()["Arn"]
    report(account=identity["Account"], caller=identity["Arn"], bucket=bucket, role_identity=role_identity)


if __name__ == "__main__":
    main()
