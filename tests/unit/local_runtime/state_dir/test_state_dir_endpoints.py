"""An endpoint saved while serving comes back InService from its model after a restart, with the emulator."""

from __future__ import annotations

import io
import json
import logging
import tarfile
import time
from pathlib import Path
from typing import Any

from local_runtime import state_dir
from local_runtime.algorithms.linear_learner import LinearLearnerModel
from local_runtime.sagemaker.emulator import LocalSageMaker
from local_runtime.server import LocalAws
from tests.local_aws import local_client

REGION, ACCOUNT = "us-east-1", "123456789012"
LINEAR_LEARNER_IMAGE = f"382416733822.dkr.ecr.{REGION}.amazonaws.com/linear-learner:1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker"
MODEL = LinearLearnerModel(
    predictor_type="regressor", weights=[2.0], bias=1.0, feature_means=[0.0], feature_scales=[1.0]
)


def _artifact(model_dir: Path) -> bytes:
    MODEL.save(model_dir)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in model_dir.iterdir():
            tar.add(path, arcname=path.name)
    return buffer.getvalue()


def _settled(sagemaker: Any, endpoint: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status: str = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointStatus"]
        if status not in ("Creating", "Updating") or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def _score(aws: LocalAws) -> float:
    answer = local_client(aws, "sagemaker-runtime").invoke_endpoint(
        EndpointName="churn", Body=b"3.0", ContentType="text/csv"
    )
    return float(json.loads(answer["Body"].read())["predictions"][0]["score"])


def test_an_endpoint_serving_at_the_save_serves_again_after_the_restart(tmp_path: Path) -> None:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    with LocalAws(sagemaker=LocalSageMaker(tmp_path / "work1")) as first:
        s3, sagemaker = local_client(first, "s3"), local_client(first, "sagemaker")
        s3.create_bucket(Bucket="models")
        s3.put_object(Bucket="models", Key="churn/model.tar.gz", Body=_artifact(tmp_path / "model"))
        sagemaker.create_model(
            ModelName="churn-1",
            ExecutionRoleArn=ROLE,
            PrimaryContainer={"Image": LINEAR_LEARNER_IMAGE, "ModelDataUrl": "s3://models/churn/model.tar.gz"},
        )
        sagemaker.create_endpoint_config(
            EndpointConfigName="churn-1",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "churn-1",
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 1,
                    "InitialVariantWeight": 1.0,
                }
            ],
        )
        sagemaker.create_endpoint(EndpointName="churn", EndpointConfigName="churn-1")
        assert _settled(sagemaker, "churn") == "InService"
        assert _score(first) == 7.0
        created = sagemaker.describe_endpoint(EndpointName="churn")["CreationTime"]
        state_dir.save(first, tmp_path / "state")

    with LocalAws(sagemaker=LocalSageMaker(tmp_path / "work2")) as second:
        report = state_dir.restore(second, tmp_path / "state")
        assert report is not None
        assert report.endpoints == (("us-east-1", "churn"),)
        sagemaker = local_client(second, "sagemaker")
        assert _settled(sagemaker, "churn") == "InService"
        described = sagemaker.describe_endpoint(EndpointName="churn")
        assert (described["EndpointConfigName"], described["CreationTime"]) == ("churn-1", created)
        assert _score(second) == 7.0
