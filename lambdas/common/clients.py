"""Cached boto3 clients for handlers; core functions receive clients as arguments instead."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, cast

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sagemaker import SageMakerClient
    from types_boto3_sagemaker_runtime import SageMakerRuntimeClient
    from types_boto3_scheduler import EventBridgeSchedulerClient
    from types_boto3_secretsmanager import SecretsManagerClient
    from types_boto3_ssm import SSMClient
    from types_boto3_stepfunctions import SFNClient

    from lambdas.common.autoscaling import ScalingClient

# Standard mode retries throttling and 5xx with backoff before a step gives up.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)
# What boto3 reads from the environment to decide where a client's calls go.
_WHERE_CALLS_GO = ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ENDPOINT_URL")
# Whose calls they are: the credentials Lambda gives the function's execution role.
_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


@dataclass(frozen=True)
class Clients:
    """Lazily created clients, one per service, reused across warm invocations; typed by the stubs (mypy only)."""

    @property
    def s3(self) -> S3Client:
        return cast("S3Client", _client("s3"))

    @property
    def ssm(self) -> SSMClient:
        return cast("SSMClient", _client("ssm"))

    @property
    def sagemaker(self) -> SageMakerClient:
        return cast("SageMakerClient", _client("sagemaker"))

    @property
    def stepfunctions(self) -> SFNClient:
        return cast("SFNClient", _client("stepfunctions"))

    @property
    def sagemaker_runtime(self) -> SageMakerRuntimeClient:
        return cast("SageMakerRuntimeClient", _client("sagemaker-runtime"))

    @property
    def secretsmanager(self) -> SecretsManagerClient:
        return cast("SecretsManagerClient", _client("secretsmanager"))

    @property
    def scheduler(self) -> EventBridgeSchedulerClient:
        return cast("EventBridgeSchedulerClient", _client("scheduler"))

    @property
    def application_autoscaling(self) -> ScalingClient:
        return cast("ScalingClient", _client("application-autoscaling"))

    @property
    def lambda_(self) -> Any:
        """Lambda's client (untyped: no stubs of it are installed), for a function that invokes another."""
        return _client("lambda")


def _client(service: str) -> Any:
    # Keyed by where the calls go and by whose credentials sign them as well: the local runtime runs every function
    # in one process, each with its own role's credentials, against servers that come and go (on Lambda both are
    # fixed for the container's life). A client keeps the credentials it was built with.
    where = tuple(os.environ.get(name) for name in _WHERE_CALLS_GO)
    access_key_id, secret_access_key, session_token = (os.environ.get(name) for name in _CREDENTIALS)
    return _client_for(service, where, access_key_id, secret_access_key, session_token)


@cache
def _client_for(
    service: str,
    where: tuple[str | None, ...],
    access_key_id: str | None,
    secret_access_key: str | None,
    session_token: str | None,
) -> Any:
    if access_key_id and secret_access_key:
        # Given explicitly: boto3's default session resolves the environment's credentials once and keeps them,
        # so a client built later in the process would sign with whichever function's credentials came first.
        return boto3.client(  # type: ignore[call-overload]
            service,
            config=_CONFIG,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            aws_session_token=session_token,
        )
    return boto3.client(service, config=_CONFIG)  # type: ignore[call-overload]


def clients() -> Clients:
    """Return the process-wide client set."""
    return Clients()
