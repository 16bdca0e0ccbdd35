"""The local AWS server without the SageMaker emulator (moto answers SageMaker; lineage is the server's own), for
the tests of the local runtime, the operator's command line and the demo's data (a fixture of tests/conftest.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from local_runtime.server import LocalAws

REGION = "us-east-1"


@pytest.fixture(scope="module")
def moto_aws() -> Iterator[LocalAws]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    with LocalAws() as aws:
        yield aws


def local_client(aws: LocalAws, service: str) -> Any:
    """A client of the local AWS that never retries: a refused call must show."""
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=aws.endpoint_url,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"total_max_attempts": 1}),
    )
