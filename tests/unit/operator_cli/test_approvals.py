"""Deciding on model versions from the command line, against moto's model registry and the local server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from local_runtime.server import LocalAws
from operator_cli.approvals import ApprovalError, decide, list_versions
from operator_cli.cli import main

GROUP = "churn-models"


def register(sagemaker: Any, status: str, job: str) -> str:
    arn: str = sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [{"Image": "img", "ModelDataUrl": f"s3://b/{job}/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        CustomerMetadataProperties={"training_job": job, "metric:train:loss": "0.25"},
    )["ModelPackageArn"]
    return arn


@pytest.fixture
def sagemaker(aws: None) -> Any:
    client = boto3.client("sagemaker")
    client.create_model_package_group(ModelPackageGroupName=GROUP)
    return client


def test_versions_are_listed_newest_first_with_their_run_and_metrics(sagemaker: Any) -> None:
    register(sagemaker, "Approved", "churn-1")
    register(sagemaker, "PendingManualApproval", "churn-2")

    versions = list_versions(sagemaker, "churn")

    assert [(v.version, v.status, v.training_job) for v in versions] == [
        (2, "PendingManualApproval", "churn-2"),
        (1, "Approved", "churn-1"),
    ]
    assert versions[0].metrics == {"train:loss": 0.25}


def test_the_one_waiting_version_is_approved_without_naming_it_and_keeps_its_metadata(sagemaker: Any) -> None:
    register(sagemaker, "Rejected", "churn-1")
    register(sagemaker, "PendingManualApproval", "churn-2")

    decided = decide(sagemaker, "churn", approve=True, reason="looks good")

    assert (decided.version, decided.status, decided.description) == (2, "Approved", "looks good")
    assert decided.training_job == "churn-2"


def test_a_decided_version_cannot_be_decided_again(sagemaker: Any) -> None:
    register(sagemaker, "Approved", "churn-1")

    with pytest.raises(ApprovalError, match="version 1 of churn-models is Approved, not PendingManualApproval"):
        decide(sagemaker, "churn", approve=False, version=1)


def test_with_several_waiting_the_version_must_be_named(sagemaker: Any) -> None:
    register(sagemaker, "PendingManualApproval", "churn-1")
    register(sagemaker, "PendingManualApproval", "churn-2")

    with pytest.raises(ApprovalError, match=r"versions 2, 1 .* name one with --version"):
        decide(sagemaker, "churn", approve=True)
    assert decide(sagemaker, "churn", approve=False, version=1).status == "Rejected"


@pytest.fixture
def local_aws(aws_env: None) -> Iterator[LocalAws]:
    with LocalAws() as server:
        yield server


def test_the_cli_approves_against_the_local_runtime_and_prints_json(
    local_aws: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    sagemaker = boto3.client("sagemaker", endpoint_url=local_aws.endpoint_url)
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    register(sagemaker, "PendingManualApproval", "churn-1")
    flags = ["--pipeline", "churn", "--endpoint-url", local_aws.endpoint_url]

    assert main(["approve", *flags, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "Approved"
    assert main(["models", *flags]) == 0
    assert "Approved" in capsys.readouterr().out
    # the registry said no: exit 1, as for every answer from AWS (2 is for a command line that cannot work)
    assert main(["reject", *flags]) == 1
    assert capsys.readouterr().err == (
        f"sagemaker-retraining: reject: no version of churn-models in the local runtime at {local_aws.endpoint_url} "
        "waits for approval\n"
    )
