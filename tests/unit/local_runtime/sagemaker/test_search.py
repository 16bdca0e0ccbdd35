"""SageMaker Search on nested properties (`ModelArtifacts.S3ModelArtifacts`, `Metrics.<name>`), which moto rejects."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_runtime import moto_extensions
from local_runtime.sagemaker.search import is_nested, matches

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/sagemaker"
ARTIFACT = "s3://bucket/output/job-a/output/model.tar.gz"
RECORD = {
    "TrainingJobName": "job-a",
    "ModelArtifacts": {"S3ModelArtifacts": ARTIFACT},
    "HyperParameters": {"eta": "0.3", "objective": "reg:squarederror"},
    "FinalMetricDataList": [{"MetricName": "validation:rmse", "Value": 0.25}],
}


@pytest.mark.parametrize(
    ("name", "operator", "value", "expected"),
    [
        ("ModelArtifacts.S3ModelArtifacts", "Equals", ARTIFACT, True),
        ("ModelArtifacts.S3ModelArtifacts", None, "s3://bucket/other.tar.gz", False),
        ("ModelArtifacts.S3ModelArtifacts", "Contains", "job-a", True),
        ("HyperParameters.eta", "LessThan", "0.5", True),
        ("HyperParameters.eta", "GreaterThanOrEqualTo", "0.5", False),
        ("HyperParameters.objective", "In", "binary:logistic, reg:squarederror", True),
        ("HyperParameters.objective", "NotEquals", "reg:squarederror", False),
        ("Metrics.validation:rmse", "LessThan", "0.3", True),
        ("Metrics.validation:auc", "Exists", None, False),
        ("HyperParameters.num_round", "NotExists", None, True),
        ("HyperParameters.num_round", "Equals", "10", False),
    ],
)
@pytest.mark.compatibility("sagemaker:Search")
def test_a_nested_filter_compares_the_property_at_its_path(
    name: str, operator: str | None, value: str | None, expected: bool
) -> None:
    search_filter: dict[str, Any] = {"Name": name}
    if operator is not None:
        search_filter["Operator"] = operator
    if value is not None:
        search_filter["Value"] = value

    assert matches(RECORD, search_filter) is expected


@pytest.mark.parametrize(
    ("name", "nested"),
    [("ModelArtifacts.S3ModelArtifacts", True), ("TrainingJobName", False), ("Tags.team", False)],
)
def test_only_dotted_names_moto_lacks_are_nested(name: str, nested: bool) -> None:
    assert is_nested(name) is nested


@pytest.mark.compatibility("sagemaker:Search")
@mock_aws
def test_search_finds_the_training_job_of_a_model_artifact() -> None:
    # GIVEN two training jobs, with moto extended as the local runtime extends it
    moto_extensions.install()
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    for name in ("job-a", "job-b"):
        sagemaker.create_training_job(
            TrainingJobName=name,
            AlgorithmSpecification={"TrainingImage": "image:1", "TrainingInputMode": "File"},
            RoleArn=ROLE,
            OutputDataConfig={"S3OutputPath": "s3://bucket/output"},
            ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            StoppingCondition={"MaxRuntimeInSeconds": 60},
        )
    artifact = sagemaker.describe_training_job(TrainingJobName="job-a")["ModelArtifacts"]["S3ModelArtifacts"]

    # WHEN the SDK's search before `estimator.register` asks for the job whose artifact that is
    results = sagemaker.search(
        Resource="TrainingJob",
        SearchExpression={
            "Filters": [
                {"Name": "ModelArtifacts.S3ModelArtifacts", "Operator": "Equals", "Value": artifact},
                {"Name": "TrainingJobName", "Operator": "Contains", "Value": "job"},
            ]
        },
    )["Results"]

    # THEN that job alone is found
    assert [result["TrainingJob"]["TrainingJobName"] for result in results] == ["job-a"]
