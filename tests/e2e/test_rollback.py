"""`sagemaker-retraining rollback` in the local runtime: refused while a run is in progress; then, with two versions
deployed, the first model serves again through the pipeline's guarded rollout while clients keep calling, recorded,
the watermark untouched."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from contract.names import lease_key
from local_runtime.deploy import DeployedPipeline, run_execution, wait_for_execution
from local_runtime.runtime import LocalRuntime, synthesize
from operator_cli.cli import main

pytestmark = pytest.mark.e2e

PIPELINE = "steady"
STACK = f"SageMakerRetraining-{PIPELINE}"
PROBE = b"1.0,1.0"
# A 50 % canary baking a minute: a second on the local time scale, for the second run and for the rollback.
ROLLOUT = {"strategy": "canary", "canary_percent": 50, "wait_seconds": 60}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    context = {
        "pipelines": [
            {
                "name": PIPELINE,
                "data_prefix": f"data/{PIPELINE}",
                "window_days": 3,
                "hyperparameters": {"predictor_type": "regressor"},
                # every day trains: the second run's new day must change the model
                "evaluation": {"holdout": "none"},
                "polling": {
                    "interval_seconds": 1,
                    "max_training_wait_seconds": 600,
                    "max_deployment_wait_seconds": 600,
                },
                "rollout": ROLLOUT,
            }
        ]
    }
    return synthesize(context)[STACK]


@pytest.fixture
def runtime(aws_env: None) -> Iterator[LocalRuntime]:
    with LocalRuntime() as local:
        yield local


def day(offset: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=offset)).isoformat()


def rows(seed: int, shift: float) -> bytes:
    """Label first: y = 3 x1 - 2 x2 + 1 + shift; a shifted day moves the fitted model's answers."""
    generator = np.random.default_rng(seed)
    features = generator.normal(size=(40, 2))
    labels = 3 * features[:, 0] - 2 * features[:, 1] + 1 + shift
    return "".join(f"{y:.6f},{a:.6f},{b:.6f}\n" for y, (a, b) in zip(labels, features, strict=True)).encode()


def upload(runtime: LocalRuntime, pipeline: DeployedPipeline, offset: int, shift: float = 0.0) -> None:
    runtime.client("s3").put_object(
        Bucket=pipeline.stack.outputs["DataBucketName"],
        Key=f"data/{PIPELINE}/{day(offset)}.csv",
        Body=rows(offset, shift),
    )


def predict(client: Any) -> float:
    response = client.invoke_endpoint(EndpointName=PIPELINE, ContentType="text/csv", Body=PROBE)
    score: float = json.loads(response["Body"].read())["predictions"][0]["score"]
    return score


class Callers(threading.Thread):
    """An application calling the endpoint without pause, each request once (no retry hides an error)."""

    def __init__(self, runtime: LocalRuntime) -> None:
        super().__init__(daemon=True)
        self.client = boto3.client(
            "sagemaker-runtime",
            endpoint_url=runtime.endpoint_url,
            region_name=runtime.region,
            config=Config(retries={"total_max_attempts": 1}),
        )
        self.answers: list[float] = []
        self.errors: list[str] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.answers.append(predict(self.client))
            except ClientError as error:
                self.errors.append(str(error))


@pytest.mark.reliability(
    "fault",
    "The model in production must come off the endpoint: `sagemaker-retraining rollback`, first while a run "
    "holds the lease",
    "Refused while the run holds the lease, naming it; then the previously served version serves again "
    "through the guarded rollout with no failed request, recorded under runs/ with who and why; the watermark "
    "is untouched",
)
def test_a_rollback_is_refused_during_a_run_then_serves_the_first_model_again_without_a_failed_request(
    runtime: LocalRuntime, template: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline = runtime.deploy_template(template, stack_name=STACK)
    outputs = pipeline.stack.outputs
    s3, ssm, sagemaker = runtime.client("s3"), runtime.client("ssm"), runtime.client("sagemaker")
    flags = ["--pipeline", PIPELINE, "--endpoint-url", runtime.endpoint_url]
    # GIVEN a first run that deployed version 1
    upload(runtime, pipeline, 2)
    upload(runtime, pipeline, 1)
    first = run_execution(runtime.aws, pipeline, name="first", timeout_seconds=120)
    assert first.status == "SUCCEEDED", first.cause
    first_answer = predict(runtime.client("sagemaker-runtime"))

    # WHEN a rollback is asked for while the second run holds the run lease
    upload(runtime, pipeline, 0, shift=30.0)
    sfn = runtime.client("stepfunctions")
    second = sfn.start_execution(stateMachineArn=pipeline.state_machine_arn, name="second", input="{}")["executionArn"]
    _wait_for_object(s3, outputs["DataBucketName"], lease_key(f"waits/{PIPELINE}"))
    capsys.readouterr()
    refused = main(["rollback", *flags])

    # THEN it is refused in one line naming the run, and the run goes on to deploy version 2
    assert refused == 1
    assert f"a run of pipeline {PIPELINE} is in progress ({second})" in capsys.readouterr().err
    assert wait_for_execution(runtime.aws, second, region=runtime.region, timeout_seconds=120).status == "SUCCEEDED"
    second_answer = predict(runtime.client("sagemaker-runtime"))
    assert abs(second_answer - first_answer) > 5  # the shifted day moved the model
    watermark_before = ssm.get_parameter(Name=outputs["WatermarkParameterName"])["Parameter"]
    serving_before = sagemaker.describe_endpoint(EndpointName=PIPELINE)["EndpointConfigName"]

    # WHEN the operator rolls back while an application keeps calling the endpoint
    callers = Callers(runtime)
    callers.start()
    try:
        code = main(["rollback", *flags, "--reason", "version 2 drifts"])
    finally:
        callers.stopped.set()
        callers.join(timeout=10)
    printed = capsys.readouterr()

    # THEN version 1's model serves again, through the guarded rollout, and no request failed during the switch
    assert code == 0, printed.err
    assert f"Rolled back endpoint {PIPELINE} to version 1 of {PIPELINE}-models: InService." in printed.out
    assert "guarded rollout: canary 50 %" in printed.err
    assert predict(runtime.client("sagemaker-runtime")) == first_answer
    assert callers.errors == []
    assert len(callers.answers) > 10
    assert set(callers.answers) <= {first_answer, second_answer}
    endpoint = sagemaker.describe_endpoint(EndpointName=PIPELINE)
    assert endpoint["EndpointConfigName"] != serving_before
    assert endpoint["LastDeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"] == "CANARY"
    # AND the run records hold who asked, why, and what changed; the watermark has not moved
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=outputs["DataBucketName"], Prefix="runs/")["Contents"]]
    rollbacks = [key for key in keys if key.startswith(f"runs/{PIPELINE}/rollback-")]
    assert len(rollbacks) == 1
    record = json.loads(s3.get_object(Bucket=outputs["DataBucketName"], Key=rollbacks[0])["Body"].read())
    assert (record["outcome"], record["rollback"]["reason"]) == ("deployed", "version 2 drifts")
    assert (record["rollback"]["before"]["version"], record["rollback"]["after"]["version"]) == (2, 1)
    assert record["rollback"]["requested_by"]["arn"]
    assert ssm.get_parameter(Name=outputs["WatermarkParameterName"])["Parameter"] == watermark_before
    # AND `lineage` answers with version 1's run
    assert main(["lineage", "files", *flags, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["execution"] == "first"


def _wait_for_object(s3: Any, bucket: str, key: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            s3.head_object(Bucket=bucket, Key=key)
            return
        except ClientError:
            time.sleep(0.1)
    raise AssertionError(f"s3://{bucket}/{key} never appeared")
