"""Whole runs of the synthesized state machine in the local runtime, with the Lambdas' real code."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import boto3
import pytest

from local_runtime.deploy import DeployedPipeline, ExecutionRecord, run_execution
from local_runtime.server import LocalAws
from tests.e2e.conftest import PIPELINE, put_days, watermark_parameter
from tests.fakes.slack_api import FakeSlackApi

pytestmark = pytest.mark.e2e
_runs = count(1)


def today(offset: int = 0) -> str:
    return (datetime.now(UTC).date() - timedelta(days=offset)).isoformat()


def run(
    local_aws: LocalAws, pipeline: DeployedPipeline, execution_input: dict[str, Any] | None = None
) -> ExecutionRecord:
    return run_execution(
        local_aws, pipeline, name=f"e2e-{next(_runs)}", execution_input=execution_input or {}, timeout_seconds=90
    )


def watermark(pipeline: DeployedPipeline) -> dict[str, Any]:
    value = boto3.client("ssm").get_parameter(Name=watermark_parameter(pipeline))["Parameter"]["Value"]
    parsed: dict[str, Any] = json.loads(value)
    return parsed


def test_new_data_is_trained_deployed_recorded_and_announced(
    local_aws: LocalAws, pipeline: DeployedPipeline, slack: FakeSlackApi
) -> None:
    # GIVEN three days of data and a pipeline that never trained
    put_days(pipeline, [today(2), today(1), today(0)])

    # WHEN the schedule starts a run
    record = run(local_aws, pipeline, {"trigger": "schedule"})

    # THEN it trains on the window less its newest day, which it holds out, deploys, advances the watermark
    # and tells Slack at every milestone
    assert record.status == "SUCCEEDED", record.cause
    entered = record.states_entered()
    assert entered[:4] == ["ReadRunInput", "CheckData", "HasNewData", "StartTrainingJob"]
    assert entered[-7:] == [
        "UpdateParameters",
        "RecordLineage",
        "WatermarkOutcome",
        "PruneModels",
        "NotifyDeployed",
        "TransformAfterDeploy",  # this pipeline runs no batch transform
        "Deployed",
    ]
    state = record.output
    assert "lineage_error" not in state
    job_name = state["training"]["job_name"]
    assert job_name.startswith(f"{PIPELINE}-")
    sagemaker = boto3.client("sagemaker")
    endpoint = sagemaker.describe_endpoint(EndpointName=PIPELINE)
    assert (endpoint["EndpointStatus"], endpoint["EndpointConfigName"]) == ("InService", job_name)
    manifest_uri = state["run"]["manifest_uri"]
    bucket, key = manifest_uri.removeprefix("s3://").split("/", 1)
    manifest = json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    assert manifest[1:] == [f"{today(2)}.csv", f"{today(1)}.csv"]
    holdout_uri = state["run"]["holdout_manifest_uri"]
    bucket, key = holdout_uri.removeprefix("s3://").split("/", 1)
    assert json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())[1:] == [f"{today(0)}.csv"]
    # ... and the job read the held-out day as its validation channel
    job = sagemaker.describe_training_job(TrainingJobName=job_name)
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in job["InputDataConfig"]}
    assert channels == {"train": manifest_uri, "validation": holdout_uri}
    recorded = watermark(pipeline)
    assert recorded["newest_data_date"] == today(0)
    assert (recorded["manifest_uri"], recorded["training_job_name"]) == (manifest_uri, job_name)
    assert len(slack.messages) == 4
    assert all(m.channel == "#ml-alerts" for m in slack.messages)
    assert any(job_name in m.block_text for m in slack.messages)


def test_a_second_run_without_new_data_ends_as_no_new_data(
    local_aws: LocalAws, pipeline: DeployedPipeline, slack: FakeSlackApi
) -> None:
    put_days(pipeline, [today(1), today(0)])
    assert run(local_aws, pipeline).status == "SUCCEEDED"
    before = watermark(pipeline)

    record = run(local_aws, pipeline)

    assert record.status == "SUCCEEDED"
    assert record.states_entered() == ["ReadRunInput", "CheckData", "HasNewData", "NotifyNoNewData", "NoNewData"]
    assert len(boto3.client("sagemaker").list_training_jobs()["TrainingJobSummaries"]) == 1
    assert watermark(pipeline) == before


def test_a_forced_run_updates_the_endpoint_in_place(local_aws: LocalAws, pipeline: DeployedPipeline) -> None:
    put_days(pipeline, [today(1), today(0)])
    first = run(local_aws, pipeline)

    second = run(local_aws, pipeline, {"force": True, "window_days": 2})

    assert (first.status, second.status) == ("SUCCEEDED", "SUCCEEDED")
    assert second.output["deployment"]["action"] == "update"
    endpoint = boto3.client("sagemaker").describe_endpoint(EndpointName=PIPELINE)
    assert endpoint["EndpointConfigName"] == second.output["training"]["job_name"]
    assert watermark(pipeline)["training_job_name"] == second.output["training"]["job_name"]
    assert len(boto3.client("sagemaker").list_endpoints()["Endpoints"]) == 1


@pytest.mark.reliability(
    "input",
    'Manual input with a wrong type (`"force": "yes"`)',
    "The run fails at CheckData with InvalidRunInputError naming the field, and alerts",
)
def test_invalid_manual_input_fails_at_once_with_an_alert_naming_the_field(
    local_aws: LocalAws, pipeline: DeployedPipeline, slack: FakeSlackApi
) -> None:
    put_days(pipeline, [today(0)])
    before = watermark(pipeline)

    record = run(local_aws, pipeline, {"force": "yes"})

    assert (record.status, record.error) == ("FAILED", "InvalidRunInputError")
    assert record.cause is not None
    assert "'force'" in record.cause
    assert record.states_entered() == ["ReadRunInput", "CheckData", "CleanUp", "NotifyFailure", "RunFailed"]
    assert boto3.client("sagemaker").list_training_jobs()["TrainingJobSummaries"] == []
    assert watermark(pipeline) == before
    (alert,) = slack.messages
    assert "InvalidRunInputError" in alert.block_text
    assert "force" in alert.block_text


@pytest.mark.reliability(
    "input",
    "A window with no data files",
    "The run ends NoNewData with a Slack message; nothing is trained",
)
def test_no_data_at_all_is_no_new_data_and_says_so(
    local_aws: LocalAws, pipeline: DeployedPipeline, slack: FakeSlackApi
) -> None:
    record = run(local_aws, pipeline)

    assert record.status == "SUCCEEDED"
    assert record.output["run"]["reason"].startswith("no data files between")
    assert len(slack.messages) == 1
