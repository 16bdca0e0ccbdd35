"""Built-in XGBoost through the local AWS server: a training job with the XGBoost image, then an endpoint serving it."""

from __future__ import annotations

import io
import logging
import re
import tarfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
import xgboost

from local_runtime.sagemaker.emulator import LocalSageMaker
from local_runtime.server import LocalAws

REGION, ACCOUNT = "us-east-1", "123456789012"
BUCKET = "xgboost-tests"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker"
XGBOOST_IMAGE = f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:1.7-1"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sagemaker")


@pytest.fixture(scope="module")
def server(workdir: Path) -> Iterator[LocalAws]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with LocalAws(sagemaker=LocalSageMaker(workdir, health_check_timeout_seconds=30)) as aws:
        boto3.client(
            "s3", endpoint_url=aws.endpoint_url, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t"
        ).create_bucket(Bucket=BUCKET)
        yield aws


@pytest.fixture
def clients(server: LocalAws, aws_env: None) -> tuple[Any, Any, Any]:
    return tuple(
        boto3.client(name, endpoint_url=server.endpoint_url) for name in ("sagemaker", "sagemaker-runtime", "s3")
    )


def classes_csv(rows: int, *, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, 3))
    labels = (features @ np.array([1.0, -2.0, 0.5]) > 0).astype(float)
    buffer = io.StringIO()
    np.savetxt(buffer, np.column_stack([labels, features]), delimiter=",", fmt="%.8g")
    return buffer.getvalue().encode()


def channel(name: str, uri: str) -> dict[str, Any]:
    source = {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}
    return {"ChannelName": name, "DataSource": {"S3DataSource": source}, "ContentType": "text/csv"}


def wait(describe: Any, key: str, done: tuple[str, ...], timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        answer: dict[str, Any] = describe()
        if answer[key] in done:
            return answer
        assert time.monotonic() < deadline, f"still {answer[key]}"
        time.sleep(0.1)


def start_job(sagemaker: Any, s3: Any, hyperparameters: dict[str, str]) -> str:
    name, prefix = f"xgb-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:8]
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/train/part-0.csv", Body=classes_csv(400, seed=0))
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/validation/part-0.csv", Body=classes_csv(200, seed=1))
    sagemaker.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": XGBOOST_IMAGE, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        HyperParameters=hyperparameters,
        InputDataConfig=[
            channel("train", f"s3://{BUCKET}/{prefix}/train/"),
            channel("validation", f"s3://{BUCKET}/{prefix}/validation/"),
        ],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/models/"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    return name


def test_built_in_xgboost_trains_reports_sagemakers_metrics_and_serves_csv(
    clients: tuple[Any, Any, Any], workdir: Path
) -> None:
    sagemaker, runtime, s3 = clients
    # GIVEN a binary classification job on the XGBoost 1.7-1 image with train and validation channels
    hyperparameters = {
        "num_round": "20",
        "objective": "binary:logistic",
        "eval_metric": "auc,logloss",
        "max_depth": "3",
    }

    # WHEN it runs to its end
    name = start_job(sagemaker, s3, hyperparameters)
    job = wait(
        lambda: sagemaker.describe_training_job(TrainingJobName=name), "TrainingJobStatus", ("Completed", "Failed")
    )

    # THEN it completes with SageMaker's metric names for the last round of each eval metric and channel
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    metrics = {item["MetricName"]: item["Value"] for item in job["FinalMetricDataList"]}
    assert set(metrics) == {"train:auc", "train:logloss", "validation:auc", "validation:logloss"}
    assert metrics["validation:auc"] > 0.9
    definitions = {item["Name"] for item in job["AlgorithmSpecification"]["MetricDefinitions"]}
    assert {"train:rmse", "validation:auc", "validation:logloss"} <= definitions
    # AND its log says which library stands in for the image, and prints XGBoost's own round lines
    log = (workdir / "training" / name / "output" / "training.log").read_text()
    assert f"local xgboost {'.'.join(xgboost.__version__.split('.')[:2])} stands in for 1.7-1" in log
    assert re.search(r"^\[19\]\ttrain-auc:\S+\ttrain-logloss:\S+\tvalidation-auc:", log, re.MULTILINE)
    # AND the artifact is model.tar.gz holding xgboost-model
    bucket, key = job["ModelArtifacts"]["S3ModelArtifacts"].removeprefix("s3://").split("/", 1)
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())) as archive:
        assert archive.getnames() == ["xgboost-model"]

    # WHEN the model is deployed on the same image and invoked with CSV rows
    sagemaker.create_model(
        ModelName=name,
        PrimaryContainer={"Image": XGBOOST_IMAGE, "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"]},
        ExecutionRoleArn=ROLE,
    )
    variant = {"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
    sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant])
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    endpoint = wait(lambda: sagemaker.describe_endpoint(EndpointName=name), "EndpointStatus", ("InService", "Failed"))
    assert endpoint["EndpointStatus"] == "InService", endpoint.get("FailureReason")
    answer = runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=b"3,-3,0\n-3,3,0")

    # THEN it answers one probability per line, as the built-in does
    assert answer["ContentType"] == "text/csv"
    probabilities = [float(line) for line in answer["Body"].read().decode().splitlines()]
    assert probabilities[0] > 0.9
    assert probabilities[1] < 0.1
    sagemaker.delete_endpoint(EndpointName=name)


def test_a_missing_num_round_fails_the_job_naming_it(clients: tuple[Any, Any, Any]) -> None:
    sagemaker, _, s3 = clients

    name = start_job(sagemaker, s3, {"objective": "binary:logistic"})
    job = wait(
        lambda: sagemaker.describe_training_job(TrainingJobName=name), "TrainingJobStatus", ("Completed", "Failed")
    )

    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("AlgorithmError: framework error: \n")
    assert job["FailureReason"].endswith("\nMissing required hyperparameter: num_round")
