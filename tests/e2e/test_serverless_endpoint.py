"""A serverless endpoint through the local runtime: the first run deploys it, it scales to zero when idle, and the
next run updates it while an application keeps invoking it, with no failed invocation."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.config import Config

from local_runtime.deploy import DeployedPipeline, run_execution
from local_runtime.runtime import QUIET_FUNCTIONS, LocalRuntime, synthesize
from local_runtime.sagemaker.emulator import LocalSageMaker
from tests.e2e.test_local_runtime import day, rows

pytestmark = pytest.mark.e2e

PIPELINE = "serverless"
STACK = f"SageMakerRetraining-{PIPELINE}"
SERVERLESS = {"MemorySizeInMB": 2048, "MaxConcurrency": 10}
# An idle minute of AWS time scales the endpoint to zero: a second on the runtime's time scale.
IDLE_SECONDS = 60.0
# Every failed call must count: no retry may hide one.
NO_RETRIES = Config(retries={"total_max_attempts": 1})


@pytest.fixture(scope="module")
def runtime() -> Iterator[tuple[LocalRuntime, DeployedPipeline]]:
    config = {
        "name": PIPELINE,
        "data_prefix": f"data/{PIPELINE}",
        "window_days": 3,
        "hyperparameters": {"predictor_type": "regressor"},
        "endpoint": {"serverless": {"memory_size_mb": 2048, "max_concurrency": 10}},
        "evaluation": {"holdout": "none"},
        "polling": {"interval_seconds": 1, "max_deployment_wait_seconds": 300},
    }
    template = synthesize({"pipelines": [config]})[STACK]
    with LocalRuntime(serverless_idle_seconds=IDLE_SECONDS) as local:
        yield local, local.deploy_template(template, stack_name=STACK, function_environment=QUIET_FUNCTIONS)


@dataclass
class Application:
    answered: int = 0
    failures: list[str] = field(default_factory=list)


def invoke(local: LocalRuntime) -> float:
    runtime = boto3.client(
        "sagemaker-runtime",
        endpoint_url=local.endpoint_url,
        region_name=local.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=NO_RETRIES,
    )
    response = runtime.invoke_endpoint(EndpointName=PIPELINE, ContentType="text/csv", Body=b"1.0,2.0")
    score: float = json.loads(response["Body"].read())["predictions"][0]["score"]
    return score


def serving(local: LocalRuntime) -> bool:
    emulator = local.aws.sagemaker
    assert isinstance(emulator, LocalSageMaker)
    return emulator.hosting.serving_url(local.region, PIPELINE) is not None


def upload(local: LocalRuntime, pipeline: DeployedPipeline, offsets: list[int]) -> None:
    bucket = pipeline.stack.outputs["DataBucketName"]
    for offset in offsets:
        local.client("s3").put_object(Bucket=bucket, Key=f"data/{PIPELINE}/{day(offset)}.csv", Body=rows(offset))


def test_a_serverless_endpoint_deploys_scales_to_zero_and_updates_with_zero_failed_invocations(
    runtime: tuple[LocalRuntime, DeployedPipeline],
) -> None:
    # GIVEN a first run that deploys the serverless endpoint (its smoke test invokes it)
    local, pipeline = runtime
    upload(local, pipeline, [2])
    first = run_execution(local.aws, pipeline, name=f"{PIPELINE}-first", timeout_seconds=180)
    assert first.status == "SUCCEEDED", first.cause
    sagemaker = local.client("sagemaker")
    config = sagemaker.describe_endpoint_config(EndpointConfigName=first.output["deployment"]["endpoint_config_name"])
    assert config["ProductionVariants"][0]["ServerlessConfig"] == SERVERLESS
    assert "InstanceType" not in config["ProductionVariants"][0]
    described = sagemaker.describe_endpoint(EndpointName=PIPELINE)
    assert described["ProductionVariants"][0]["CurrentServerlessConfig"] == SERVERLESS

    # ... idle, it scales to zero; the next invocation cold-starts it and is answered
    assert _eventually(lambda: not serving(local), timeout=30)
    assert isinstance(invoke(local), float)

    # WHEN a new day arrives and the next run updates the endpoint while an application keeps invoking it
    upload(local, pipeline, [1])
    with calling_application(local) as application:
        second = run_execution(local.aws, pipeline, name=f"{PIPELINE}-second", timeout_seconds=180)

    # THEN the update switched the endpoint to the new config without one failed invocation
    assert second.status == "SUCCEEDED", second.cause
    assert application.failures == []
    assert application.answered > 0
    deployment = second.output["deployment"]
    assert (deployment["action"], deployment["previous_endpoint_config"]) == (
        "update",
        first.output["deployment"]["endpoint_config_name"],
    )
    endpoint = sagemaker.describe_endpoint(EndpointName=PIPELINE)
    assert endpoint["EndpointConfigName"] == deployment["endpoint_config_name"]
    assert endpoint["ProductionVariants"][0]["CurrentServerlessConfig"] == SERVERLESS
    # ... whose worker started on the first invocation after the switch, as a cold start the variant's log reports
    assert "cold start" in worker_log(local, deployment["endpoint_config_name"])


def worker_log(local: LocalRuntime, config_name: str) -> str:
    emulator = local.aws.sagemaker
    assert isinstance(emulator, LocalSageMaker)
    return (emulator.workdir / "hosting" / PIPELINE / config_name / "AllTraffic" / "worker.log").read_text()


class calling_application:  # noqa: N801  (used as a context manager, like the churn e2e's)
    """An application invoking the endpoint every 20 ms until the block ends; any failed call is downtime."""

    def __init__(self, local: LocalRuntime) -> None:
        self.local, self.seen, self.stop = local, Application(), threading.Event()
        self.thread = threading.Thread(target=self._call, daemon=True)

    def __enter__(self) -> Application:
        self.thread.start()
        return self.seen

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)

    def _call(self) -> None:
        while not self.stop.is_set():
            try:
                invoke(self.local)
                self.seen.answered += 1
            except Exception as error:  # any failed invocation is downtime
                self.seen.failures.append(repr(error))
            time.sleep(0.02)


def _eventually(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
