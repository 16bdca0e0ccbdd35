"""SDK v2: its own STS calls, answered by the local runtime through the proxy `serve` prints (HTTPS_PROXY and
AWS_CA_BUNDLE): an unnamed default bucket, and `get_execution_role()` for the default credentials (a user, which
the SDK refuses in its own words, as on AWS) and for a session of the execution role (the role's ARN).
"""

from __future__ import annotations

import os

import boto3
import sagemaker
from sdk_v2 import report, role


def main() -> None:
    region = os.environ["AWS_DEFAULT_REGION"]
    sm = sagemaker.Session()  # as the SDK's examples start: no bucket, no boto session given
    bucket = sm.default_bucket()
    sm.boto_session.client("s3").head_bucket(Bucket=bucket)
    try:
        user_role: str = sagemaker.get_execution_role(sm)
    except ValueError as refused:
        user_role = f"ValueError: {refused}"
    assumed = boto3.client("sts").assume_role(RoleArn=role(), RoleSessionName="sdk-tests")["Credentials"]
    role_session = boto3.Session(
        region_name=region,
        aws_access_key_id=assumed["AccessKeyId"],
        aws_secret_access_key=assumed["SecretAccessKey"],
        aws_session_token=assumed["SessionToken"],
    )
    execution_role = sagemaker.get_execution_role(sagemaker.Session(boto_session=role_session))
    report(bucket=bucket, user_role=user_role, execution_role=execution_role)


if __name__ == "__main__":
    main()
