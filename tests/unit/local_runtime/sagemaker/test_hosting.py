"""Endpoints served for real: the hosting service behind the local AWS server, driven with boto3."""

from __future__ import annotations

import http.client
import io
import json
import logging
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lambdas.common.events import Execution
from lambdas.common.models import DeploymentState
from lambdas.deploy_model.core import DeploySettings, deploy_model
from lambdas.get_status.core import PollSettings, endpoint_status
from local_runtime.algorithms.linear_learner import LinearLearnerModel
from local_runtime.sagemaker.emulator import LocalSageMaker
from local_runtime.sagemaker.hosting import HostingService
from local_runtime.server import LocalAws
from tests.unit.lambdas.states import training_section

REGION, ACCOUNT = "us-east-1", "123456789012"
LINEAR_LEARNER_IMAGE = f"382416733822.dkr.ecr.{REGION}.amazonaws.com/linear-learner:1"
CUSTOM_IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/my-inference:1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker"
BUCKET = "models"
# No retries: a refused or failed call must show, never be hidden by a second attempt.
NO_RETRIES = Config(retries={"total_max_attempts": 1})

OLD_MODEL = LinearLearnerModel(
    predictor_type="regressor",
    weights=[2.0, -1.0, 0.5],
    bias=1.0,
    feature_means=[0.0, 0.0, 0.0],
    feature_scales=[1.0, 1.0, 1.0],
)
NEW_MODEL = replace(OLD_MODEL, bias=100.0)
CLASSIFIER = LinearLearnerModel(
    predictor_type="binary_classifier",
    weights=[3.0, -3.0],
    bias=0.0,
    feature_means=[1.0, 1.0],
    feature_scales=[2.0, 2.0],
)
ROW = [1.0, 2.0, 3.0]
OLD_SCORE, NEW_SCORE = 2.5, 101.5  # 2*1 - 1*2 + 0.5*3 + bias

SCRIPT = """
import json, os, time

def model_fn(model_dir):
    time.sleep(float(os.environ.get("LOAD_SECONDS", "0")))
    with open(os.path.join(model_dir, "factor.json")) as f:
        return json.load(f)["factor"]

def predict_fn(data, model):
    if (data < 0).any():
        raise ValueError("negative input")
    return data * model
"""
_names = count()


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSageMaker]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    emulator = LocalSageMaker(tmp_path_factory.mktemp("hosting"), health_check_timeout_seconds=20)
    with LocalAws(sagemaker=emulator) as aws:
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        session.client("s3", endpoint_url=aws.endpoint_url).create_bucket(Bucket=BUCKET)
        yield emulator


@dataclass
class Aws:
    sagemaker: Any
    runtime: Any
    s3: Any
    hosting: HostingService
    workdir: Path
    cloudwatch: Any = None

    def upload(self, files: dict[str, str]) -> str:
        """Pack `files` (path → text) as model.tar.gz in the local S3; return its URL."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for name, text in files.items():
                data = text.encode()
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        key = f"artifacts/{next(_names)}/model.tar.gz"
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=buffer.getvalue())
        return f"s3://{BUCKET}/{key}"

    def upload_model(self, model: LinearLearnerModel) -> str:
        directory = self.workdir / f"model-{next(_names)}"
        model.save(directory)
        return self.upload({path.name: path.read_text() for path in directory.iterdir()})

    def register(self, artifact: str, *, image: str = LINEAR_LEARNER_IMAGE, env: dict[str, str] | None = None) -> str:
        """A model and an endpoint config of the same new name, serving `artifact` with `image`."""
        name = f"model-{next(_names)}"
        container: dict[str, Any] = {"Image": image, "ModelDataUrl": artifact}
        if env:
            container["Environment"] = env
        self.sagemaker.create_model(ModelName=name, PrimaryContainer=container, ExecutionRoleArn=ROLE)
        self.sagemaker.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": name,
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                    "InitialVariantWeight": 1.0,
                }
            ],
        )
        return name

    def register_pipeline(self, containers: list[dict[str, Any]]) -> str:
        """A serial inference pipeline model and an endpoint config of the same new name."""
        name = f"model-{next(_names)}"
        self.sagemaker.create_model(
            ModelName=name, Containers=containers, InferenceExecutionConfig={"Mode": "Serial"}, ExecutionRoleArn=ROLE
        )
        self.sagemaker.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": name,
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
        return name

    def create_endpoint(self, config: str) -> str:
        name = f"endpoint-{next(_names)}"
        self.sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=config)
        return name

    def settle(self, endpoint: str, timeout: float = 20) -> dict[str, Any]:
        """DescribeEndpoint once the endpoint is neither Creating nor Updating."""
        deadline = time.monotonic() + timeout
        while True:
            described: dict[str, Any] = self.sagemaker.describe_endpoint(EndpointName=endpoint)
            if described["EndpointStatus"] not in ("Creating", "Updating") or time.monotonic() > deadline:
                return described
            time.sleep(0.05)

    def serve(self, model: LinearLearnerModel) -> tuple[str, str]:
        """An InService endpoint serving `model`: (endpoint, config)."""
        config = self.register(self.upload_model(model))
        endpoint = self.create_endpoint(config)
        assert self.settle(endpoint)["EndpointStatus"] == "InService"
        return endpoint, config

    def invoke(self, endpoint: str, body: str, content_type: str = "text/csv", **kwargs: Any) -> Any:
        response = self.runtime.invoke_endpoint(
            EndpointName=endpoint, Body=body.encode(), ContentType=content_type, **kwargs
        )
        return json.loads(response["Body"].read())

    def score(self, endpoint: str, row: list[float] = ROW) -> float:
        return float(self.invoke(endpoint, ",".join(map(str, row)))["predictions"][0]["score"])


@pytest.fixture
def aws(emulator: LocalSageMaker, aws_env: None, tmp_path: Path) -> Aws:
    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=emulator.endpoint_url, config=NO_RETRIES)  # type: ignore[call-overload]

    return Aws(
        client("sagemaker"), client("sagemaker-runtime"), client("s3"), emulator.hosting, tmp_path, client("cloudwatch")
    )


@pytest.fixture(scope="module")
def module_aws(emulator: LocalSageMaker, tmp_path_factory: pytest.TempPathFactory) -> Aws:
    """Clients with explicit credentials, for endpoints the module's read-only tests share."""
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=emulator.endpoint_url, config=NO_RETRIES)  # type: ignore[call-overload]

    return Aws(
        client("sagemaker"), client("sagemaker-runtime"), client("s3"), emulator.hosting, tmp_path_factory.mktemp("m")
    )


@pytest.fixture(scope="module")
def regressor(module_aws: Aws) -> tuple[str, str]:
    """An endpoint serving OLD_MODEL: (endpoint, config)."""
    return module_aws.serve(OLD_MODEL)


@pytest.fixture(scope="module")
def classifier(module_aws: Aws) -> str:
    return module_aws.serve(CLASSIFIER)[0]


def wait_for(condition: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def answers_ping(url: str) -> bool:
    connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=2)
    try:
        connection.request("GET", "/ping")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def test_create_endpoint_is_creating_until_the_model_serves(aws: Aws) -> None:
    # GIVEN a Linear Learner model and its endpoint config
    config = aws.register(aws.upload_model(OLD_MODEL))

    # WHEN the endpoint is created
    endpoint = aws.create_endpoint(config)
    creating = aws.sagemaker.describe_endpoint(EndpointName=endpoint)
    settled = aws.settle(endpoint)

    # THEN it is Creating, then InService on that config, and the config's worker answers
    assert creating["EndpointStatus"] == "Creating"
    assert settled["EndpointStatus"] == "InService"
    assert settled["EndpointConfigName"] == config
    assert "FailureReason" not in settled
    assert aws.hosting.serving_config(REGION, endpoint) == config


def test_an_endpoint_sends_sagemakers_state_change_event_at_each_status(aws: Aws, emulator: LocalSageMaker) -> None:
    # GIVEN an endpoint created, then updated to a second config
    endpoint = aws.create_endpoint(aws.register(aws.upload_model(OLD_MODEL)))
    aws.settle(endpoint)
    aws.sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=aws.register(aws.upload_model(OLD_MODEL)))
    aws.settle(endpoint)

    # THEN each status it went through was announced, spelled as SageMaker's events spell it
    sent = [json.loads(e["Detail"]) for e in emulator.status_events.sent]
    statuses = [d["EndpointStatus"] for d in sent if d.get("EndpointName") == endpoint]
    assert statuses == ["CREATING", "IN_SERVICE", "UPDATING", "IN_SERVICE"]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("1,2\n0,0\n", "text/csv"),
        (json.dumps({"instances": [{"features": [1, 2]}, {"features": [0, 0]}]}), "application/json"),
        (
            json.dumps({"instances": [{"data": {"features": {"values": [1, 2]}}}, {"features": [0, 0]}]}),
            "application/json",
        ),
    ],
    ids=["csv", "json", "json-sdk-form"],
)
def test_invoke_endpoint_answers_the_models_predictions(
    aws: Aws, classifier: str, body: str, content_type: str
) -> None:
    # GIVEN an endpoint serving a binary classifier (classifier)
    # WHEN it is invoked with two rows
    answer = aws.invoke(classifier, body, content_type)

    # THEN it answers Linear Learner's JSON: one prediction per row, from the model
    import numpy as np

    expected = CLASSIFIER.predict(np.array([[1.0, 2.0], [0.0, 0.0]]))
    assert [p["predicted_label"] for p in answer["predictions"]] == [int(e["predicted_label"]) for e in expected]
    assert [p["score"] for p in answer["predictions"]] == pytest.approx([e["score"] for e in expected])


def test_invoke_endpoint_answers_json_lines_when_asked(aws: Aws, regressor: tuple[str, str]) -> None:
    # GIVEN an endpoint serving a regressor (regressor)
    # WHEN it is invoked with Accept application/jsonlines
    response = aws.runtime.invoke_endpoint(
        EndpointName=regressor[0], Body=b"1,2,3\n1,2,3", ContentType="text/csv", Accept="application/jsonlines"
    )

    # THEN each row's prediction is one line
    assert response["ContentType"] == "application/jsonlines"
    lines = response["Body"].read().decode().splitlines()
    assert [json.loads(line) for line in lines] == [{"score": OLD_SCORE}, {"score": OLD_SCORE}]


@pytest.mark.compatibility("sagemaker:endpoints")
def test_update_switches_to_the_new_model_without_downtime(aws: Aws) -> None:
    # GIVEN an endpoint serving the old model, and a client invoking it without pause
    endpoint, old_config = aws.serve(OLD_MODEL)
    new_config = aws.register(aws.upload_model(NEW_MODEL))
    old_worker = aws.hosting.serving_url(REGION, endpoint)
    scores: list[float] = []
    errors: list[Exception] = []
    stop = threading.Event()

    def invoke_continuously() -> None:
        while not stop.is_set():
            try:
                scores.append(aws.score(endpoint))
            except Exception as error:
                errors.append(error)

    client = threading.Thread(target=invoke_continuously)
    client.start()
    try:
        assert wait_for(lambda: len(scores) >= 3)

        # WHEN the endpoint is updated to the new model's config
        answer = aws.sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=new_config)
        updating = aws.sagemaker.describe_endpoint(EndpointName=endpoint)
        answered_before_update = len(scores)
        settled = aws.settle(endpoint)
        assert wait_for(lambda: len(scores) > 3 and scores[-1] == NEW_SCORE)
    finally:
        stop.set()
        client.join()

    # THEN it is Updating on the old config with the new one pending, then InService on the new one
    assert answer["EndpointArn"] == settled["EndpointArn"]
    assert updating["EndpointStatus"] == "Updating"
    assert updating["EndpointConfigName"] == old_config
    assert updating["PendingDeploymentSummary"]["EndpointConfigName"] == new_config
    assert settled["EndpointStatus"] == "InService"
    assert settled["EndpointConfigName"] == new_config
    assert "FailureReason" not in settled
    assert "PendingDeploymentSummary" not in settled
    # AND every invocation succeeded: the old model's answers (during the update too), then only the new model's
    assert errors == []
    assert OLD_SCORE in scores[answered_before_update:]
    first_new = scores.index(NEW_SCORE)
    assert set(scores[:first_new]) == {OLD_SCORE}
    assert set(scores[first_new:]) == {NEW_SCORE}
    # AND the old worker is stopped
    assert old_worker is not None
    assert wait_for(lambda: not answers_ping(old_worker))


def test_production_variants_share_the_traffic_by_weight(aws: Aws) -> None:
    # GIVEN an endpoint config with two variants of equal weight, one per model
    models = [aws.register(aws.upload_model(model)) for model in (OLD_MODEL, NEW_MODEL)]
    config = f"split-{next(_names)}"
    aws.sagemaker.create_endpoint_config(
        EndpointConfigName=config,
        ProductionVariants=[
            {
                "VariantName": f"Variant{i}",
                "ModelName": model,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "InitialVariantWeight": 1.0,
            }
            for i, model in enumerate(models)
        ],
    )

    # WHEN an endpoint serves it and is invoked repeatedly
    endpoint = aws.create_endpoint(config)
    settled = aws.settle(endpoint)
    scores = {aws.score(endpoint) for _ in range(40)}

    # THEN both variants are in service and both models answer
    assert settled["EndpointStatus"] == "InService"
    assert [variant["VariantName"] for variant in settled["ProductionVariants"]] == ["Variant0", "Variant1"]
    assert scores == {OLD_SCORE, NEW_SCORE}


def test_create_with_a_model_that_fails_to_load_ends_failed(aws: Aws) -> None:
    # GIVEN a model.tar.gz with no Linear Learner model in it
    config = aws.register(aws.upload({"notes.txt": "not a model"}))

    # WHEN an endpoint is created with it
    endpoint = aws.create_endpoint(config)
    settled = aws.settle(endpoint)

    # THEN the endpoint is Failed, the reason says the health check failed and why, and nothing serves it
    assert settled["EndpointStatus"] == "Failed"
    reason = settled["FailureReason"]
    assert "production variant AllTraffic did not pass the ping health check" in reason
    assert "no linear_learner_model.json" in reason
    assert aws.hosting.serving_config(REGION, endpoint) is None
    with pytest.raises(ClientError) as raised:
        aws.score(endpoint)
    assert raised.value.response["Error"]["Code"] == "ValidationError"


def test_create_with_a_missing_artifact_ends_failed(aws: Aws) -> None:
    # GIVEN a model whose ModelDataUrl names no object
    config = aws.register(f"s3://{BUCKET}/nowhere/model.tar.gz")

    # WHEN an endpoint is created with it
    endpoint = aws.create_endpoint(config)
    settled = aws.settle(endpoint)

    # THEN the endpoint is Failed with SageMaker's download failure
    assert settled["EndpointStatus"] == "Failed"
    assert settled["FailureReason"].startswith(f"Failed to download model data(bucket: {BUCKET}, key: nowhere/")


def test_update_with_a_model_that_fails_to_load_keeps_the_old_model_in_service(aws: Aws) -> None:
    # GIVEN an endpoint serving the old model, and a config whose model cannot load
    endpoint, old_config = aws.serve(OLD_MODEL)
    broken_config = aws.register(aws.upload({"linear_learner_model.json": "{not json"}))

    # WHEN the endpoint is updated to it
    aws.sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=broken_config)
    updating = aws.sagemaker.describe_endpoint(EndpointName=endpoint)
    settled = aws.settle(endpoint)

    # THEN it was Updating, and is InService again on the old config with the reason the update failed
    assert updating["EndpointStatus"] == "Updating"
    assert settled["EndpointStatus"] == "InService"
    assert settled["EndpointConfigName"] == old_config
    assert "did not pass the ping health check" in settled["FailureReason"]
    assert "linear_learner_model.json" in settled["FailureReason"]
    assert "PendingDeploymentSummary" not in settled
    # AND the old model still answers
    assert aws.hosting.serving_config(REGION, endpoint) == old_config
    assert aws.score(endpoint) == OLD_SCORE


def test_a_slow_deployment_stays_updating_and_keeps_serving_the_old_model(aws: Aws, emulator: LocalSageMaker) -> None:
    # GIVEN an endpoint serving the old model, and the next deployment a second slower
    endpoint, old_config = aws.serve(OLD_MODEL)
    new_config = aws.register(aws.upload_model(NEW_MODEL))
    fault = emulator.faults.slow_endpoint_deployment(1.0, times=1)

    # WHEN the endpoint is updated
    aws.sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=new_config)
    time.sleep(0.5)
    halfway = aws.sagemaker.describe_endpoint(EndpointName=endpoint)
    score_halfway = aws.score(endpoint)
    settled = aws.settle(endpoint)

    # THEN it was still Updating, the new config pending, the old model answering; then the new one serves
    assert (halfway["EndpointStatus"], halfway["EndpointConfigName"]) == ("Updating", old_config)
    assert halfway["PendingDeploymentSummary"]["EndpointConfigName"] == new_config
    assert score_halfway == OLD_SCORE
    assert (settled["EndpointStatus"], settled["EndpointConfigName"]) == ("InService", new_config)
    assert aws.score(endpoint) == NEW_SCORE
    assert fault.fired == 1


def test_a_later_update_clears_the_failure_reason(aws: Aws) -> None:
    # GIVEN an endpoint whose last update failed
    endpoint, _ = aws.serve(OLD_MODEL)
    aws.sagemaker.update_endpoint(
        EndpointName=endpoint, EndpointConfigName=aws.register(aws.upload({"notes.txt": "not a model"}))
    )
    assert "FailureReason" in aws.settle(endpoint)
    new_config = aws.register(aws.upload_model(NEW_MODEL))

    # WHEN it is updated to a model that loads
    aws.sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=new_config)
    settled = aws.settle(endpoint)

    # THEN it serves the new model with no failure reason
    assert settled["EndpointConfigName"] == new_config
    assert "FailureReason" not in settled
    assert aws.score(endpoint) == NEW_SCORE


@pytest.mark.parametrize(
    ("endpoint", "config", "message"),
    [
        ("missing", "existing", "Could not find endpoint 'arn:aws:sagemaker:us-east-1:123456789012:endpoint/missing'."),
        ("existing", "missing", "Could not find endpoint configuration"),
    ],
)
def test_update_of_an_unknown_endpoint_or_config_is_refused(
    aws: Aws, regressor: tuple[str, str], endpoint: str, config: str, message: str
) -> None:
    # GIVEN an endpoint in service (regressor)
    existing_endpoint, existing_config = regressor
    names = {"existing": (existing_endpoint, existing_config), "missing": ("missing", "missing")}

    # WHEN an update names an endpoint or a config that does not exist
    with pytest.raises(ClientError) as raised:
        aws.sagemaker.update_endpoint(EndpointName=names[endpoint][0], EndpointConfigName=names[config][1])

    # THEN SageMaker's ValidationException refuses it and the endpoint is untouched
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert message in raised.value.response["Error"]["Message"]
    assert aws.settle(existing_endpoint)["EndpointConfigName"] == existing_config


def test_update_while_creating_is_refused(aws: Aws) -> None:
    # GIVEN an endpoint still Creating (its model takes a second to load)
    config = aws.register(
        aws.upload({"factor.json": '{"factor": 2}', "code/inference.py": SCRIPT}),
        image=CUSTOM_IMAGE,
        env={"LOAD_SECONDS": "1"},
    )
    endpoint = aws.create_endpoint(config)

    # WHEN it is updated
    with pytest.raises(ClientError) as raised:
        aws.sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=config)

    # THEN the update is refused as in-progress, and the creation goes on
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert raised.value.response["Error"]["Message"].startswith("Cannot update in-progress endpoint")
    assert aws.settle(endpoint)["EndpointStatus"] == "InService"


def test_script_mode_model_serves_with_the_users_functions(aws: Aws) -> None:
    # GIVEN a model packaging code/inference.py (model_fn, predict_fn) behind a custom image
    config = aws.register(aws.upload({"factor.json": '{"factor": 3}', "code/inference.py": SCRIPT}), image=CUSTOM_IMAGE)
    endpoint = aws.create_endpoint(config)
    assert aws.settle(endpoint)["EndpointStatus"] == "InService"

    # WHEN it is invoked with JSON
    answer = aws.invoke(endpoint, "[[1, 2], [3, 4]]", "application/json")

    # THEN the default input_fn and output_fn frame the user's predict_fn
    assert answer == [[3, 6], [9, 12]]


def test_an_error_in_the_users_code_is_a_model_server_error(aws: Aws) -> None:
    # GIVEN a script-mode endpoint whose predict_fn raises on negative input
    config = aws.register(aws.upload({"factor.json": '{"factor": 3}', "code/inference.py": SCRIPT}), image=CUSTOM_IMAGE)
    endpoint = aws.create_endpoint(config)
    assert aws.settle(endpoint)["EndpointStatus"] == "InService"

    # WHEN it is invoked with negative input
    with pytest.raises(ClientError) as raised:
        aws.invoke(endpoint, "[[-1]]", "application/json")

    # THEN SageMaker's ModelError relays the container's 500 and the exception
    error = raised.value.response["Error"]
    assert error["Code"] == "ModelError"
    assert error["Message"].startswith(
        'Received server error (500) from primary with message "ValueError: negative input"'
    )


def test_create_with_an_image_the_runtime_cannot_serve_ends_failed(aws: Aws) -> None:
    # GIVEN a model for a custom image with no inference code
    config = aws.register(aws.upload({"weights.bin": "..."}), image=CUSTOM_IMAGE)

    # WHEN an endpoint is created with it
    endpoint = aws.create_endpoint(config)
    settled = aws.settle(endpoint)

    # THEN it is Failed, and the reason names the image
    assert settled["EndpointStatus"] == "Failed"
    assert f"image {CUSTOM_IMAGE} is not one the local runtime can serve" in settled["FailureReason"]


def test_invoke_of_a_missing_endpoint_is_a_validation_error(aws: Aws) -> None:
    # WHEN an endpoint that does not exist is invoked
    with pytest.raises(ClientError) as raised:
        aws.score("no-such-endpoint")

    # THEN sagemaker-runtime answers ValidationError
    assert raised.value.response["Error"] == {
        "Code": "ValidationError",
        "Message": f"Endpoint no-such-endpoint of account {ACCOUNT} not found.",
    }


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        ("1,2,3\n1,x,3\n", "text/csv", "row 2, column 2: 'x' is not a number"),
        ("1,2,3\n1,2\n", "text/csv", "row 2 has 2 features, the model expects 3"),
        (
            '{"instances": [{"features": [1, 2, 3]}, {"features": [1]}]}',
            "application/json",
            "instances[1] has 1 feature,",
        ),
        ("1,2,3", "text/plain", "content type 'text/plain' is not supported"),
    ],
    ids=["not-a-number", "short-row", "short-instance", "content-type"],
)
def test_a_bad_request_is_a_model_client_error_naming_the_row(
    aws: Aws, regressor: tuple[str, str], body: str, content_type: str, message: str
) -> None:
    # GIVEN an endpoint serving a model of 3 features (regressor)
    # WHEN it is invoked with a bad row
    with pytest.raises(ClientError) as raised:
        aws.invoke(regressor[0], body, content_type)

    # THEN SageMaker's ModelError relays the container's 4xx and its message
    error = raised.value.response
    assert error["Error"]["Code"] == "ModelError"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error["Error"]["Message"].startswith("Received client error (4")
    assert message in error["Error"]["Message"]


def test_delete_endpoint_stops_its_worker(aws: Aws) -> None:
    # GIVEN an endpoint in service
    endpoint, _ = aws.serve(OLD_MODEL)
    worker = aws.hosting.serving_url(REGION, endpoint)
    assert worker is not None
    assert answers_ping(worker)

    # WHEN it is deleted
    aws.sagemaker.delete_endpoint(EndpointName=endpoint)

    # THEN its worker no longer answers, and invoking the endpoint fails
    assert not answers_ping(worker)
    assert aws.hosting.serving_url(REGION, endpoint) is None
    with pytest.raises(ClientError):
        aws.score(endpoint)


def test_delete_while_creating_stops_the_starting_worker(aws: Aws) -> None:
    # GIVEN an endpoint Creating with a model that loads slowly
    config = aws.register(
        aws.upload({"factor.json": '{"factor": 2}', "code/inference.py": SCRIPT}),
        image=CUSTOM_IMAGE,
        env={"LOAD_SECONDS": "30"},
    )
    endpoint = aws.create_endpoint(config)

    # WHEN it is deleted before its model serves
    time.sleep(0.3)
    aws.sagemaker.delete_endpoint(EndpointName=endpoint)

    # THEN nothing serves it, and the endpoint is gone rather than resurrected by the creation's end
    assert wait_for(lambda: not any(t.name == f"create-{endpoint}" and t.is_alive() for t in threading.enumerate()))
    assert aws.hosting.serving_config(REGION, endpoint) is None
    with pytest.raises(ClientError):
        aws.sagemaker.describe_endpoint(EndpointName=endpoint)


def poll(aws: Aws, state: DeploymentState, now: datetime) -> list[DeploymentState]:
    """GetStatus until the rollout settles, as the state machine's poll loop does."""
    seen = []
    settings = PollSettings(poll_interval_seconds=1, max_training_wait_seconds=60, max_deployment_wait_seconds=60)
    deadline = time.monotonic() + 20
    while True:
        state = endpoint_status(state, sagemaker=aws.sagemaker, settings=settings, now=now)
        seen.append(state)
        if state.status not in ("Creating", "Updating") or time.monotonic() > deadline:
            return seen
        time.sleep(0.05)


def test_the_workflows_deploy_and_poll_see_the_endpoint_created_then_updated(aws: Aws, execution: Execution) -> None:
    # GIVEN DeployModel's settings for an endpoint that does not exist yet, and two trained models
    endpoint = f"workflow-{next(_names)}"
    settings = DeploySettings(
        pipeline="churn",
        endpoint_name=endpoint,
        instance_type="ml.m5.large",
        instance_count=1,
        image=LINEAR_LEARNER_IMAGE,
        role_arn=ROLE,
        poll_interval_seconds=1,
    )
    now = datetime.now(UTC)
    first_job, second_job = f"churn-{next(_names)}", f"churn-{next(_names)}"

    # WHEN the first run deploys and polls, then the second
    created = deploy_model(
        training_section(job_name=first_job, model_artifact=aws.upload_model(OLD_MODEL)),
        execution,
        sagemaker=aws.sagemaker,
        settings=settings,
        now=now,
    )
    after_create = poll(aws, created, now)
    updated = deploy_model(
        training_section(job_name=second_job, model_artifact=aws.upload_model(NEW_MODEL)),
        execution,
        sagemaker=aws.sagemaker,
        settings=settings,
        now=now,
    )
    after_update = poll(aws, updated, now)

    # THEN the first creates (Creating → InService on its config), the second updates (Updating → InService)
    assert (created.action, created.status) == ("create", "Creating")
    assert after_create[0].status == "Creating"
    assert (after_create[-1].status, after_create[-1].serving_new_model) == ("InService", True)
    assert (updated.action, updated.status) == ("update", "Updating")
    assert after_update[0].status == "Updating"
    assert not after_update[0].serving_new_model
    assert (after_update[-1].status, after_update[-1].serving_new_model) == ("InService", True)
    assert after_update[-1].failure_reason is None
    # AND the endpoint answers with the second run's model
    assert aws.hosting.serving_config(REGION, endpoint) == second_job
    assert aws.score(endpoint) == NEW_SCORE


# --- guarded rollouts (DeploymentConfig) ----------------------------------------------------------------------


def canary(percent: int, wait_seconds: int, alarms: list[str] | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": percent},
                "WaitIntervalInSeconds": wait_seconds,
            }
        }
    }
    if alarms:
        config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": name} for name in alarms]}
    return config


def errors_alarm(aws: Aws, endpoint: str) -> str:
    """A 5xx alarm on the endpoint, as the stack's RolloutAlarms creates it."""
    name = f"{endpoint}-5xx"
    aws.cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/SageMaker",
        MetricName="Invocation5XXErrors",
        Dimensions=[{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": "AllTraffic"}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
    )
    return name


class Client:
    """Invokes an endpoint without pause on a thread, keeping every score and every error."""

    def __init__(self, aws: Aws, endpoint: str) -> None:
        self.scores: list[float] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(aws, endpoint))

    def _run(self, aws: Aws, endpoint: str) -> None:
        while not self._stop.is_set():
            try:
                self.scores.append(aws.score(endpoint))
            except ClientError as error:
                self.errors.append(str(error))

    def __enter__(self) -> Client:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def settled(aws: Aws, endpoint: str) -> dict[str, Any]:
    transitional = ("Updating", "RollingBack")
    assert wait_for(
        lambda: aws.sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointStatus"] not in transitional, 30
    )
    described: dict[str, Any] = aws.sagemaker.describe_endpoint(EndpointName=endpoint)
    return described


def test_a_canary_serves_part_of_the_traffic_while_it_bakes_then_all_of_it(aws: Aws) -> None:
    # GIVEN an endpoint serving the old model, and a client calling it throughout
    endpoint, old_config = aws.serve(OLD_MODEL)
    new_config = aws.register(aws.upload_model(NEW_MODEL))

    with Client(aws, endpoint) as client:
        # WHEN it is updated with a canary of half the traffic baking 2 s
        aws.sagemaker.update_endpoint(
            EndpointName=endpoint, EndpointConfigName=new_config, DeploymentConfig=canary(50, 2)
        )
        assert wait_for(lambda: NEW_SCORE in client.scores, 20)
        during = aws.sagemaker.describe_endpoint(EndpointName=endpoint)
        canary_scores = [aws.score(endpoint) for _ in range(40)]
        done = settled(aws, endpoint)
        after = [aws.score(endpoint) for _ in range(10)]

    # THEN both fleets answered during the canary bake, on the old config with the new one pending
    assert (during["EndpointStatus"], during["EndpointConfigName"]) == ("Updating", old_config)
    assert during["PendingDeploymentSummary"]["EndpointConfigName"] == new_config
    assert set(canary_scores) == {OLD_SCORE, NEW_SCORE}
    # AND then the new one took all traffic and the endpoint is InService on it; nothing failed
    assert (done["EndpointStatus"], done["EndpointConfigName"]) == ("InService", new_config)
    assert done["LastDeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"] == "CANARY"
    assert set(after) == {NEW_SCORE}
    assert client.errors == []


@pytest.mark.compatibility("sagemaker:endpoints")
def test_a_canary_whose_alarm_fires_is_rolled_back_to_the_old_fleet(aws: Aws, emulator: LocalSageMaker) -> None:
    # GIVEN an endpoint serving the old model, a 5xx alarm on it, and a new model that answers 500
    endpoint, old_config = aws.serve(OLD_MODEL)
    alarm = errors_alarm(aws, endpoint)
    new_config = aws.register(aws.upload_model(NEW_MODEL))
    fault = emulator.faults.fail_invocations(model=new_config)

    try:
        with Client(aws, endpoint) as client:
            # WHEN it is updated with a canary baking long enough for the alarm to see the errors
            aws.sagemaker.update_endpoint(
                EndpointName=endpoint, EndpointConfigName=new_config, DeploymentConfig=canary(50, 30, [alarm])
            )
            done = settled(aws, endpoint)
            after = [aws.score(endpoint) for _ in range(10)]
    finally:
        emulator.faults.clear()

    # THEN the canary's 500s were answered as ModelError and fired the alarm, well before the bake ended
    assert fault.fired == 1
    assert client.errors
    assert all("ModelError" in error for error in client.errors)
    state = aws.cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]
    assert state["StateValue"] == "ALARM"
    assert state["StateReason"].startswith("Threshold Crossed")
    # AND the endpoint rolled back: InService on the old config, the reason naming the alarm and the bake
    assert (done["EndpointStatus"], done["EndpointConfigName"]) == ("InService", old_config)
    assert "rolled back" in done["FailureReason"]
    assert alarm in done["FailureReason"]
    assert "canary (50% of traffic) baking period" in done["FailureReason"]
    assert "PendingDeploymentSummary" not in done
    # AND the old model answered everything else, and alone answers now
    assert set(client.scores) == {OLD_SCORE}
    assert set(after) == {OLD_SCORE}
    assert aws.hosting.serving_config(REGION, endpoint) == old_config


def test_an_update_naming_a_missing_alarm_is_refused(aws: Aws) -> None:
    endpoint, old_config = aws.serve(OLD_MODEL)
    new_config = aws.register(aws.upload_model(NEW_MODEL))

    with pytest.raises(ClientError) as raised:
        aws.sagemaker.update_endpoint(
            EndpointName=endpoint, EndpointConfigName=new_config, DeploymentConfig=canary(10, 1, ["no-such-alarm"])
        )

    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "no-such-alarm" in str(raised.value)
    described = aws.sagemaker.describe_endpoint(EndpointName=endpoint)
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", old_config)


# A serial inference pipeline: categories → CLASSIFIER's two features → Linear Learner → a readable label.
PREPROCESS = """
import json, os

def model_fn(model_dir):
    with open(os.path.join(model_dir, "categories.json")) as f:
        return json.load(f)

def input_fn(body, content_type):
    return [line.strip() for line in (body.decode() if isinstance(body, bytes) else body).splitlines() if line.strip()]

def predict_fn(data, model):
    unknown = [value for value in data if value not in model]
    if unknown:
        raise ValueError(f"unknown category {unknown[0]!r}")
    return [model[value] for value in data]
"""
POSTPROCESS = """
import json

def model_fn(model_dir):
    return {0: "no", 1: "yes"}

def input_fn(body, content_type):
    assert content_type == "application/json", content_type
    return json.loads(body)["predictions"]

def predict_fn(data, model):
    return [model[record["predicted_label"]] for record in data]

def output_fn(prediction, accept):
    return "".join(label + "\\n" for label in prediction), "text/csv"
"""
CATEGORIES = {"red": [3.0, 0.0], "blue": [0.0, 3.0]}  # CLASSIFIER: 1 for red, 0 for blue


def pipeline_containers(aws: Aws, *, postprocess: str = POSTPROCESS) -> list[dict[str, Any]]:
    return [
        {
            "ContainerHostname": "preprocess",
            "Image": CUSTOM_IMAGE,
            "ModelDataUrl": aws.upload({"categories.json": json.dumps(CATEGORIES), "code/inference.py": PREPROCESS}),
            # The toolkit's default answer type: the features go on as CSV, which Linear Learner reads.
            "Environment": {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"},
        },
        {"Image": LINEAR_LEARNER_IMAGE, "ModelDataUrl": aws.upload_model(CLASSIFIER)},
        {"Image": CUSTOM_IMAGE, "ModelDataUrl": aws.upload({"code/inference.py": postprocess})},
    ]


def labels(aws: Aws, endpoint: str, records: str) -> tuple[list[str], str]:
    response = aws.runtime.invoke_endpoint(
        EndpointName=endpoint, Body=records.encode(), ContentType="text/csv", Accept="text/csv"
    )
    return response["Body"].read().decode().split(), response["ContentType"]


def test_a_serial_pipeline_turns_raw_records_into_labels_through_each_container(aws: Aws) -> None:
    # GIVEN an endpoint serving preprocess → Linear Learner → postprocess as one serial inference pipeline model
    config = aws.register_pipeline(pipeline_containers(aws))
    endpoint = aws.create_endpoint(config)
    described = aws.settle(endpoint)

    # WHEN raw category records are invoked
    answer, content_type = labels(aws, endpoint, "red\nblue\nred\n")

    # THEN each container's answer was the next one's request, and the last one's labels come back
    assert described["EndpointStatus"] == "InService"
    assert answer == ["yes", "no", "yes"]
    assert content_type == "text/csv"
    # AND DescribeModel shows the pipeline as created
    model = aws.sagemaker.describe_model(ModelName=config)
    assert model["InferenceExecutionConfig"] == {"Mode": "Serial"}
    assert len(model["Containers"]) == 3


def test_an_error_in_a_pipelines_first_container_names_that_container(aws: Aws) -> None:
    # GIVEN a serving pipeline whose preprocessing knows only red and blue
    endpoint = aws.create_endpoint(aws.register_pipeline(pipeline_containers(aws)))
    assert aws.settle(endpoint)["EndpointStatus"] == "InService"

    # WHEN a record has a category it has never seen
    with pytest.raises(ClientError) as raised:
        labels(aws, endpoint, "green\n")

    # THEN the ModelError relays the first container's error and names it by its hostname
    error = raised.value.response["Error"]
    assert error["Code"] == "ModelError"
    assert error["Message"].startswith(
        "Received server error (500) from preprocess with message \"ValueError: unknown category 'green'\""
    )
    assert "/preprocess/worker.log" in error["Message"]


def test_a_pipeline_whose_later_container_cannot_load_ends_failed_naming_it(aws: Aws) -> None:
    # GIVEN a pipeline whose third container's code cannot load its model
    broken = "def model_fn(model_dir):\n    raise RuntimeError('no labels')\n"
    endpoint = aws.create_endpoint(aws.register_pipeline(pipeline_containers(aws, postprocess=broken)))

    # WHEN it is created
    described = aws.settle(endpoint)

    # THEN it ends Failed: every container must pass /ping, and the reason names the one that did not
    assert described["EndpointStatus"] == "Failed"
    assert described["FailureReason"].startswith(
        "The container-3 container for production variant AllTraffic did not pass the ping health check: "
        "model_fn in code/inference.py failed: RuntimeError: no labels"
    )


def test_update_from_a_single_container_model_to_a_pipeline_without_downtime(aws: Aws) -> None:
    # GIVEN an endpoint serving a single-container model that answers every record "legacy"
    legacy = (
        "def model_fn(model_dir):\n    return 'legacy'\n"
        "def input_fn(body, content_type):\n    return body.split()  # text: the toolkit decodes a CSV body\n"
        "def predict_fn(data, model):\n    return [model for _ in data]\n"
        "def output_fn(prediction, accept):\n    return ''.join(p + '\\n' for p in prediction), 'text/csv'\n"
    )
    endpoint = aws.create_endpoint(aws.register(aws.upload({"code/inference.py": legacy}), image=CUSTOM_IMAGE))
    assert aws.settle(endpoint)["EndpointStatus"] == "InService"
    pipeline = aws.register_pipeline(pipeline_containers(aws))
    answers: list[str] = []
    errors: list[Exception] = []
    stop = threading.Event()

    def invoke_continuously() -> None:
        while not stop.is_set():
            try:
                answers.append(labels(aws, endpoint, "red\n")[0][0])
            except Exception as error:
                errors.append(error)

    client = threading.Thread(target=invoke_continuously)
    client.start()
    try:
        assert wait_for(lambda: len(answers) >= 3)

        # WHEN the endpoint is updated to the pipeline
        aws.sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=pipeline)
        settled = aws.settle(endpoint)
        assert wait_for(lambda: answers[-1] == "yes")
    finally:
        stop.set()
        client.join()

    # THEN it is InService on the pipeline, and every invocation succeeded: legacy answers, then only the pipeline's
    assert settled["EndpointStatus"] == "InService"
    assert settled["EndpointConfigName"] == pipeline
    assert errors == []
    first_new = answers.index("yes")
    assert set(answers[:first_new]) == {"legacy"}
    assert set(answers[first_new:]) == {"yes"}
