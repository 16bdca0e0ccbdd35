"""Lineage through the local runtime: two retrains, then the questions the lineage command answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import count, pairwise
from typing import Any

import boto3
import pytest

from local_runtime.deploy import DeployedPipeline, ExecutionRecord, run_execution
from local_runtime.server import LocalAws
from operator_cli.cli import main
from tests.e2e.conftest import PIPELINE, data_bucket, put_days
from tests.fakes.slack_api import FakeSlackApi

pytestmark = pytest.mark.e2e
_runs = count(1)


def day(offset: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=offset)).isoformat()


def run(local_aws: LocalAws, pipeline: DeployedPipeline, execution_input: dict[str, Any]) -> ExecutionRecord:
    record = run_execution(
        local_aws, pipeline, name=f"lineage-{next(_runs)}", execution_input=execution_input, timeout_seconds=90
    )
    assert record.status == "SUCCEEDED", record.cause
    assert "lineage_error" not in record.output, record.output["lineage_error"]
    return record


def ask(local_aws: LocalAws, capsys: pytest.CaptureFixture[str], *question: str) -> Any:
    code = main(["lineage", *question, "--pipeline", PIPELINE, "--endpoint-url", local_aws.endpoint_url, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


@pytest.fixture
def two_retrains(local_aws: LocalAws, pipeline: DeployedPipeline, slack: FakeSlackApi) -> list[dict[str, Any]]:
    """Two deployed runs on disjoint windows of three days: the second's model serves."""
    put_days(pipeline, [day(5), day(4), day(3)])
    first = run(local_aws, pipeline, {"end_date": day(3)}).output
    put_days(pipeline, [day(1), day(0)])
    second = run(local_aws, pipeline, {"trigger": "schedule"}).output
    return [first, second]


def test_lineage_answers_from_the_run_that_produced_the_serving_model(
    local_aws: LocalAws,
    pipeline: DeployedPipeline,
    two_retrains: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    first, second = two_retrains
    prefix = f"s3://{data_bucket(pipeline)}/data/{PIPELINE}"

    files = ask(local_aws, capsys, "files")
    assert files["run_id"] == second["run"]["run_id"]
    # the files it trained on: the run held the newest day out
    assert files["files"] == [f"{prefix}/{day(1)}.csv"]

    newer = ask(local_aws, capsys, "endpoints", f"{prefix}/{day(1)}.csv")["deployments"]
    assert [(d["endpoint"], d["serving_now"], d["model"]) for d in newer] == [
        (PIPELINE, True, second["deployment"]["model_name"])
    ]
    older = ask(local_aws, capsys, "endpoints", f"data/{PIPELINE}/{day(4)}.csv")["deployments"]
    assert [(d["endpoint"], d["serving_now"], d["model"]) for d in older] == [
        (PIPELINE, False, first["deployment"]["model_name"])
    ]

    history = ask(local_aws, capsys, "history")["deployments"]
    assert [h["run_id"] for h in history] == [second["run"]["run_id"], first["run"]["run_id"]]
    assert [h["window"]["start"] for h in history] == [day(2), day(5)]


def test_each_run_leaves_its_chain_in_sagemaker_lineage(
    local_aws: LocalAws, pipeline: DeployedPipeline, two_retrains: list[dict[str, Any]]
) -> None:
    sagemaker = boto3.client("sagemaker")
    for state in two_retrains:
        lineage = state["lineage"]
        dataset = sagemaker.describe_artifact(ArtifactArn=lineage["dataset"])
        assert dataset["Source"]["SourceUri"] == state["run"]["manifest_uri"]
        # Every trained model is registered (EvaluateModel): its version sits between the model and the deployment.
        package = sagemaker.describe_artifact(ArtifactArn=lineage["model_package"])
        assert package["Source"]["SourceUri"] == state["evaluation"]["model_package_arn"]
        chain = [
            lineage["dataset"],
            lineage["training"],
            lineage["model"],
            lineage["model_package"],
            lineage["deployment"],
            lineage["endpoint"],
        ]
        for source, destination in pairwise(chain):
            found = sagemaker.list_associations(SourceArn=source, DestinationArn=destination)["AssociationSummaries"]
            assert len(found) == 1, (source, destination)
    # One endpoint, one context: both deployments lead to it.
    endpoints = {state["lineage"]["endpoint"] for state in two_retrains}
    assert len(endpoints) == 1
    (endpoint,) = endpoints
    deployments = sagemaker.list_associations(DestinationArn=endpoint)["AssociationSummaries"]
    assert {a["SourceArn"] for a in deployments} == {s["lineage"]["deployment"] for s in two_retrains}
