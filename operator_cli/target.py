"""Which deployed pipeline a command talks to: the local runtime (`--endpoint-url`) or AWS (`--profile/--region`).

Commands that read or change a deployed pipeline (lineage, approvals, runs) share these flags and find the
pipeline's resources from its stack's outputs: CloudFormation's DescribeStacks on AWS, the local server's
/_local/stacks route locally (moto holds no CloudFormation stack for what the local runtime deploys).
"""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from contract.outputs import stack_name

if TYPE_CHECKING:  # the stubs are a dev dependency: types for mypy, nothing at run time
    from types_boto3_cloudformation import CloudFormationClient
    from types_boto3_s3 import S3Client
    from types_boto3_sagemaker import SageMakerClient
    from types_boto3_sagemaker_runtime import SageMakerRuntimeClient
    from types_boto3_stepfunctions import SFNClient

LOCAL_REGION = "us-east-1"
STACKS_PATH = "/_local/stacks"
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})


class TargetError(Exception):
    """The target cannot be reached or holds no such pipeline; the message says which and why."""


class PipelineNotFoundError(TargetError):
    """The target answered, and holds no stack of that pipeline; the message names the stack and where."""


@dataclass
class Target:
    """Clients for one account and region, or for the local runtime at `endpoint_url`."""

    session: boto3.session.Session
    endpoint_url: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def is_local(self) -> bool:
        return self.endpoint_url is not None

    @property
    def region(self) -> str:
        return str(self.session.region_name)

    def s3(self) -> S3Client:
        return cast("S3Client", self._client("s3"))

    def sagemaker(self) -> SageMakerClient:
        return cast("SageMakerClient", self._client("sagemaker"))

    def sagemaker_runtime(self) -> SageMakerRuntimeClient:
        return cast("SageMakerRuntimeClient", self._client("sagemaker-runtime"))

    def stepfunctions(self) -> SFNClient:
        return cast("SFNClient", self._client("stepfunctions"))

    def cloudformation(self) -> CloudFormationClient:
        return cast("CloudFormationClient", self._client("cloudformation"))

    # No type stubs are installed for these three: callers type what they use (operator_cli/rollback.py).
    def sts(self) -> Any:
        return self._client("sts")

    def cloudwatch(self) -> Any:
        return self._client("cloudwatch")

    def application_autoscaling(self) -> Any:
        """Typed by its user (lambdas/common/autoscaling.py's ScalingClient)."""
        return self._client("application-autoscaling")

    def _client(self, service: str) -> Any:
        """One client per service, built on first use (building one costs more than most calls)."""
        if service not in self._clients:
            self._clients[service] = self.session.client(
                service,  # type: ignore[call-overload]  # one of the services above
                endpoint_url=self.endpoint_url,
                config=_CONFIG,
            )
        return self._clients[service]

    def describe(self) -> str:
        return f"the local runtime at {self.endpoint_url}" if self.is_local else f"AWS ({self.region})"


def add_target_flags(parser: argparse.ArgumentParser, *, pipeline_required: bool = True) -> None:
    """--endpoint-url, --profile, --region and --pipeline, as every command on a deployed pipeline takes them."""
    parser.add_argument(
        "--pipeline",
        required=pipeline_required,
        help="the pipeline's name (its stack is SageMakerRetraining-NAME)",
    )
    parser.add_argument(
        "--endpoint-url",
        help="the local runtime started by `make serve` (e.g. http://127.0.0.1:4566); without it, AWS",
    )
    parser.add_argument("--profile", help="AWS: the named profile to use (as the AWS CLI takes it)")
    parser.add_argument(
        "--region",
        help=f"the region (AWS default: AWS_DEFAULT_REGION or the profile's; local runtime default: {LOCAL_REGION})",
    )


def resolve_target(*, endpoint_url: str | None, profile: str | None, region: str | None) -> Target:
    """Build the target from the flags; raise TargetError when AWS has no region or no such profile."""
    if endpoint_url:
        if profile:
            raise TargetError("--profile applies to AWS only; drop it or drop --endpoint-url")
        session = boto3.session.Session(
            aws_access_key_id="local", aws_secret_access_key="local", region_name=region or LOCAL_REGION
        )
        return Target(session=session, endpoint_url=endpoint_url.rstrip("/"))
    try:
        session = boto3.session.Session(profile_name=profile, region_name=region)
    except BotoCoreError as error:  # ProfileNotFound
        raise TargetError(str(error)) from None
    if not session.region_name:
        raise TargetError("no AWS region: pass --region, set AWS_DEFAULT_REGION, or give the profile one")
    return Target(session=session)


def stack_outputs(target: Target, pipeline: str) -> dict[str, str]:
    """The outputs of the pipeline's stack; raise PipelineNotFoundError when it is not deployed there, TargetError
    when the target cannot answer."""
    name = stack_name(pipeline)
    if target.endpoint_url is not None:
        return _local_outputs(target.endpoint_url, name, pipeline)
    try:
        stacks = target.cloudformation().describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        message = str(error.response["Error"].get("Message") or error.response["Error"].get("Code"))
        # CloudFormation: ValidationError "Stack with id <name> does not exist".
        if "does not exist" in message:
            raise PipelineNotFoundError(
                f"pipeline {pipeline} not found in {target.describe()}: no stack {name}"
            ) from None
        raise TargetError(f"stack {name} in {target.describe()}: {message}") from None
    except BotoCoreError as error:
        raise TargetError(f"{target.describe()}: {error}") from None
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def _local_outputs(endpoint_url: str, name: str, pipeline: str) -> dict[str, str]:
    url = f"{endpoint_url}{STACKS_PATH}/{name}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as error:
        message = json.loads(error.read() or b"{}").get("message", error.reason)
        if error.code == 404:  # the server names the stacks it holds
            raise PipelineNotFoundError(
                f"pipeline {pipeline} not found in the local runtime at {endpoint_url}: {message}"
            ) from None
        raise TargetError(f"{endpoint_url}: {message}") from None
    except (urllib.error.URLError, OSError) as error:
        raise TargetError(f"no local runtime answers at {endpoint_url} ({error}): start it with `make serve`") from None
    return {str(k): str(v) for k, v in answer.get("outputs", {}).items()}
