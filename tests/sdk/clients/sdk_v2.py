"""What every SageMaker Python SDK v2 flow shares: a session on the local AWS, its data and how it reports.

Run by the SDK's own interpreter (.venv-sdk), never imported by the project's: the environment names the local AWS
(AWS_ENDPOINT_URL, which boto3 sends every service to), the bucket, the execution role and the SDK's config file.
"""

from __future__ import annotations

import json
import os

import boto3
import sagemaker

RESULT = "SDK-RESULT "  # the line the test reads: this prefix, then JSON
INSTANCE_TYPE = "ml.m5.large"


def session() -> sagemaker.Session:
    """A session on the local AWS, its default bucket the one the execution role's policy grants (conftest)."""
    boto_session = boto3.Session(region_name=os.environ["AWS_DEFAULT_REGION"])
    return sagemaker.Session(boto_session=boto_session, default_bucket=os.environ["SDK_BUCKET"])


def role() -> str:
    return os.environ["SDK_ROLE_ARN"]


def training_rows() -> str:
    """y = 2x + 1 for x in 0..99, label first and no header: what Linear Learner, XGBoost and the script read."""
    return "\n".join(f"{2 * x + 1},{x}" for x in range(100)) + "\n"


def report(**values: object) -> None:
    print(RESULT + json.dumps(values, default=str), flush=True)
