"""The SageMaker Python SDK as a client of `python -m local_runtime serve`: one server per test module, and each
flow run by the SDK's own interpreter in a subprocess (its pins conflict with the project's; `make sdk` creates
.venv-sdk for v2 and .venv-sdk3 for v3)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_serve import Served, serve

PROJECT_ROOT = Path(__file__).parents[2]
CLIENTS = Path(__file__).parent / "clients"
SDK_V2 = PROJECT_ROOT / ".venv-sdk" / "bin" / "python"
SDK_V3 = PROJECT_ROOT / ".venv-sdk3" / "bin" / "python"
BUCKET = "sdk-tests"
ROLE_NAME = "sdk-tests-sagemaker"
RESULT = "SDK-RESULT "  # what the clients print before their JSON result
FLOW_SECONDS = 300  # fit, deploy (the v2 SDK polls an endpoint every 30 s) and predict
# The execution role the flows pass to SageMaker: what a job and an endpoint need of the SDK's bucket, and the
# account-wide grants the SageMaker Developer Guide lists for a CreateTrainingJob execution role (the v3 SDK
# simulates them with iam:SimulatePrincipalPolicy before it trains or deploys).
ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "cloudwatch:PutMetricData",
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:DescribeLogStreams",
                "logs:PutLogEvents",
                "ecr:GetAuthorizationToken",
                "ec2:CreateNetworkInterface",
                "ec2:CreateNetworkInterfacePermission",
                "ec2:DeleteNetworkInterface",
                "ec2:DeleteNetworkInterfacePermission",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeVpcs",
                "ec2:DescribeDhcpOptions",
                "ec2:DescribeSubnets",
                "ec2:DescribeSecurityGroups",
            ],
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
        },
    ],
}
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


@dataclass(frozen=True)
class Flow:
    """A finished client run: its exit code, its output, and the JSON it reported (None when it did not)."""

    returncode: int
    output: str
    result: dict[str, Any] | None


@dataclass(frozen=True)
class SdkTarget:
    served: Served
    role_arn: str
    sdk_exports: dict[str, str]  # what serve prints for the SDK's own STS calls: HTTPS_PROXY and AWS_CA_BUNDLE

    def run(self, interpreter: Path, client: str, **environment: str) -> Flow:
        """Run clients/<client> with `interpreter`, on the local AWS only (plus `environment`)."""
        if not interpreter.exists():
            pytest.fail(f"{interpreter} is missing: run `make sdk` (make test does)")
        completed = subprocess.run(
            [str(interpreter), str(CLIENTS / client)],
            cwd=CLIENTS,
            env=self.environment() | environment,
            capture_output=True,
            text=True,
            timeout=FLOW_SECONDS,
            check=False,
        )
        output = completed.stdout + completed.stderr
        # The SDK's progress dots and panels end without a newline: the result may follow them on their line.
        reported = [line.split(RESULT, 1)[1] for line in completed.stdout.splitlines() if RESULT in line]
        result = json.loads(reported[-1]) if reported else None
        return Flow(completed.returncode, output, result)

    def environment(self) -> dict[str, str]:
        """Only what the flows need: no AWS profile or variable of the developer's can send them elsewhere."""
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "AWS_ENDPOINT_URL": self.served.url,  # every service boto3 calls: SageMaker, its runtime, S3, logs, STS
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "SAGEMAKER_SUPPRESS_V2_WARNING": "1",
            "SAGEMAKER_USER_CONFIG_OVERRIDE": str(CLIENTS / "sagemaker-config.yaml"),
            "SDK_BUCKET": BUCKET,
            "SDK_ROLE_ARN": self.role_arn,
            "PYTHONUNBUFFERED": "1",
        } | self.sdk_exports


@pytest.fixture(scope="module")
def sdk_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SdkTarget]:
    """The README's `make serve` on a free port, with an execution role for the SDK's jobs and endpoints."""
    for served in serve(tmp_path_factory.mktemp("serve"), "demo/pipelines.json"):
        iam = served.client("iam")
        role = iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))["Role"]
        iam.put_role_policy(RoleName=ROLE_NAME, PolicyName="sdk-bucket", PolicyDocument=json.dumps(ROLE_POLICY))
        yield SdkTarget(served=served, role_arn=role["Arn"], sdk_exports=sdk_exports(served.output()))


def sdk_exports(output: str) -> dict[str, str]:
    """The variables of serve's `SageMaker SDK (...): export NAME=value ...` line."""
    line = next(line for line in output.splitlines() if line.startswith("SageMaker SDK"))
    return dict(pair.split("=", 1) for pair in line.split(": export ", 1)[1].split())
