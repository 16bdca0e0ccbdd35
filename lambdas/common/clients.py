"""Cached boto3 clients for handlers; core functions receive clients as arguments instead."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Standard mode retries throttling and 5xx with backoff before a step gives up.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)


@dataclass(frozen=True)
class Clients:
    """Lazily created clients, one per service, reused across warm invocations."""

    @property
    def s3(self) -> Any:
        return _client("s3")

    @property
    def ssm(self) -> Any:
        return _client("ssm")

    @property
    def sagemaker(self) -> Any:
        return _client("sagemaker")

    @property
    def stepfunctions(self) -> Any:
        return _client("stepfunctions")

    @property
    def secretsmanager(self) -> Any:
        return _client("secretsmanager")

    @property
    def scheduler(self) -> Any:
        return _client("scheduler")


@cache
def _client(service: str) -> Any:
    return boto3.client(service, config=_CONFIG)  # type: ignore[call-overload]


def clients() -> Clients:
    """Return the process-wide client set."""
    return Clients()
