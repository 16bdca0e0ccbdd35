"""Serverless endpoints in the local runtime: no worker while idle, a cold start on the first invocation, a stop
after the idle period, SageMaker's DescribeEndpoint shape, throttling beyond MaxConcurrency."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local_runtime.sagemaker.emulator import LocalSageMaker
from local_runtime.server import LocalAws
from tests.unit.local_runtime.sagemaker.test_hosting import (
    BUCKET,
    CUSTOM_IMAGE,
    NO_RETRIES,
    OLD_MODEL,
    OLD_SCORE,
    REGION,
    Aws,
    wait_for,
)

IDLE_SECONDS = 1.0
SERVERLESS = {"MemorySizeInMB": 2048, "MaxConcurrency": 2}
SLOW_SCRIPT = """
import time

def model_fn(model_dir):
    return None

def predict_fn(data, model):
    time.sleep(1.5)
    return data
"""


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSageMaker]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    emulator = LocalSageMaker(
        tmp_path_factory.mktemp("serverless"), health_check_timeout_seconds=20, serverless_idle_seconds=IDLE_SECONDS
    )
    with LocalAws(sagemaker=emulator) as aws:
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        session.client("s3", endpoint_url=aws.endpoint_url).create_bucket(Bucket=BUCKET)
        yield emulator


@pytest.fixture
def aws(emulator: LocalSageMaker, aws_env: None, tmp_path: Path) -> Aws:
    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=emulator.endpoint_url, config=NO_RETRIES)  # type: ignore[call-overload]

    return Aws(client("sagemaker"), client("sagemaker-runtime"), client("s3"), emulator.hosting, tmp_path)


def serverless_config(aws: Aws, artifact: str, serverless: dict[str, int], **container: Any) -> str:
    """A model and a serverless endpoint config of the same new name."""
    instance_config = aws.register(artifact, **container)
    name = f"{instance_config}-serverless"
    aws.sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": instance_config, "ServerlessConfig": serverless}
        ],
    )
    return name


def worker_log(emulator: LocalSageMaker, endpoint: str, config: str) -> str:
    return (emulator.workdir / "hosting" / endpoint / config / "AllTraffic" / "worker.log").read_text()


def serving(aws: Aws, endpoint: str) -> bool:
    return aws.hosting.serving_url(REGION, endpoint) is not None


def test_a_serverless_endpoint_is_in_service_without_a_worker_and_described_as_sagemaker_does(
    aws: Aws, emulator: LocalSageMaker
) -> None:
    # GIVEN a serverless endpoint config WHEN the endpoint is created
    config = serverless_config(aws, aws.upload_model(OLD_MODEL), SERVERLESS)
    endpoint = aws.create_endpoint(config)
    described = aws.settle(endpoint)

    # THEN it is InService with its variant's serverless config current and desired, and no instances
    assert described["EndpointStatus"] == "InService"
    variant = described["ProductionVariants"][0]
    assert variant["CurrentServerlessConfig"] == SERVERLESS
    assert variant["DesiredServerlessConfig"] == SERVERLESS
    assert "CurrentInstanceCount" not in variant
    # AND the container passed its health check, then scaled to zero
    assert not serving(aws, endpoint)
    log = worker_log(emulator, endpoint, config)
    assert "passed the health check; no capacity until the first invocation" in log


@pytest.mark.compatibility("sagemaker:endpoints")
def test_the_first_invocation_cold_starts_the_worker_and_succeeds(aws: Aws, emulator: LocalSageMaker) -> None:
    config = serverless_config(aws, aws.upload_model(OLD_MODEL), SERVERLESS)
    endpoint = aws.create_endpoint(config)
    assert aws.settle(endpoint)["EndpointStatus"] == "InService"

    # WHEN invoked while scaled to zero THEN the invocation waits for the cold start and is answered
    assert aws.score(endpoint) == pytest.approx(OLD_SCORE)
    assert serving(aws, endpoint)
    assert "cold start: the first invocation since scaling to zero starts the container" in worker_log(
        emulator, endpoint, config
    )


@pytest.mark.compatibility("sagemaker:endpoints")
def test_the_worker_stops_after_the_idle_period_and_the_next_invocation_starts_it_again(
    aws: Aws, emulator: LocalSageMaker
) -> None:
    config = serverless_config(aws, aws.upload_model(OLD_MODEL), SERVERLESS)
    endpoint = aws.create_endpoint(config)
    assert aws.settle(endpoint)["EndpointStatus"] == "InService"
    aws.score(endpoint)

    # WHEN nothing invokes it for the idle period THEN its worker stops
    assert wait_for(lambda: not serving(aws, endpoint), timeout=IDLE_SECONDS + 5)
    assert wait_for(lambda: "scaled to zero: no invocation for" in worker_log(emulator, endpoint, config), timeout=5)

    # AND the next invocation starts it again
    assert aws.score(endpoint) == pytest.approx(OLD_SCORE)
    assert worker_log(emulator, endpoint, config).count("cold start") == 2


def test_provisioned_concurrency_keeps_the_worker_warm(aws: Aws) -> None:
    config = serverless_config(aws, aws.upload_model(OLD_MODEL), {**SERVERLESS, "ProvisionedConcurrency": 1})
    endpoint = aws.create_endpoint(config)
    assert aws.settle(endpoint)["EndpointStatus"] == "InService"

    assert serving(aws, endpoint)
    time.sleep(IDLE_SECONDS * 2)
    assert serving(aws, endpoint)


def test_invocations_beyond_max_concurrency_are_throttled(aws: Aws) -> None:
    # GIVEN a serverless endpoint of MaxConcurrency 1 whose model takes 1.5 s to answer
    artifact = aws.upload({"code/inference.py": SLOW_SCRIPT})
    config = serverless_config(aws, artifact, {"MemorySizeInMB": 1024, "MaxConcurrency": 1}, image=CUSTOM_IMAGE)
    endpoint = aws.create_endpoint(config)
    assert aws.settle(endpoint)["EndpointStatus"] == "InService"

    # WHEN a second invocation comes while the first one runs
    first = threading.Thread(target=aws.invoke, args=(endpoint, "[[1]]", "application/json"))
    first.start()
    time.sleep(0.5)
    with pytest.raises(ClientError) as raised:
        aws.invoke(endpoint, "[[2]]", "application/json")
    first.join()

    # THEN it is throttled
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    assert "MaxConcurrency (1)" in raised.value.response["Error"]["Message"]


def test_an_instance_endpoint_cannot_be_updated_to_serverless(aws: Aws) -> None:
    endpoint, _ = aws.serve(OLD_MODEL)
    config = serverless_config(aws, aws.upload_model(OLD_MODEL), SERVERLESS)

    with pytest.raises(ClientError) as raised:
        aws.sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=config)

    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "cannot be converted to a serverless endpoint" in raised.value.response["Error"]["Message"]


def test_a_serverless_endpoint_is_updated_to_a_new_model_and_may_become_an_instance_endpoint(aws: Aws) -> None:
    # GIVEN a serverless endpoint
    first = serverless_config(aws, aws.upload_model(OLD_MODEL), SERVERLESS)
    endpoint = aws.create_endpoint(first)
    assert aws.settle(endpoint)["EndpointStatus"] == "InService"

    # WHEN updated to another serverless config, then to instances
    second = serverless_config(aws, aws.upload_model(OLD_MODEL), {"MemorySizeInMB": 1024, "MaxConcurrency": 1})
    aws.sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=second)
    updated = aws.settle(endpoint)
    instances = aws.register(aws.upload_model(OLD_MODEL))
    aws.sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=instances)
    converted = aws.settle(endpoint)

    # THEN each update ends InService on its config, answering
    assert (updated["EndpointStatus"], updated["EndpointConfigName"]) == ("InService", second)
    assert updated["ProductionVariants"][0]["CurrentServerlessConfig"] == {"MemorySizeInMB": 1024, "MaxConcurrency": 1}
    assert (converted["EndpointStatus"], converted["EndpointConfigName"]) == ("InService", instances)
    assert aws.score(endpoint) == pytest.approx(OLD_SCORE)
