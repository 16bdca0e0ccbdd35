"""The poll loop's model (bench/poll_loop.py) against a real execution: the same checks, the same history events."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto.sagemaker.models import SageMakerModelBackend

from bench.poll_loop import checks, run_history_events
from local_runtime.deploy import DeployedPipeline, run_execution
from local_runtime.server import LocalAws
from tests.e2e.conftest import put_days, watermark_parameter

pytestmark = pytest.mark.e2e
INTERVAL = 1  # the e2e template's polling.interval_seconds: the deployed scale divided by 60
# A 10-minute training job and a 6-minute deployment, both as long as the previous run's, on the local scale.
# Each ends on a check the model predicts, so Lambda's latency only delays the checks, never changes their count.
TRAINING_SECONDS, DEPLOYMENT_SECONDS = 10, 6


@pytest.fixture(scope="module")
def local_aws() -> Iterator[LocalAws]:
    """A local AWS of this module's own: the session's would start here, before other modules' servers
    that set MOTO_PORT (which moto's interpreter calls) to theirs and leave it pointing at a stopped one."""
    with pytest.MonkeyPatch.context() as patch:
        if "MOTO_PORT" in os.environ:
            patch.setenv("MOTO_PORT", os.environ["MOTO_PORT"])
        else:
            patch.delenv("MOTO_PORT", raising=False)
        with LocalAws() as aws:
            yield aws


@pytest.fixture
def slow_sagemaker(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto finishes everything at once: report the job InProgress and the endpoint Creating for a while."""
    describe_job, describe_endpoint = (
        SageMakerModelBackend.describe_training_job,
        SageMakerModelBackend.describe_endpoint,
    )

    def running_for(created: datetime) -> float:
        return (datetime.now(UTC).replace(tzinfo=None) - created.replace(tzinfo=None)).total_seconds()

    def training_job(self: SageMakerModelBackend, training_job_name: str) -> dict[str, Any]:
        answer = dict(describe_job(self, training_job_name))
        if running_for(self.training_jobs[training_job_name].creation_time) < TRAINING_SECONDS:
            answer.update(TrainingJobStatus="InProgress", SecondaryStatus="Training")
        return answer

    def endpoint(self: SageMakerModelBackend, endpoint_name: str) -> dict[str, Any]:
        answer = dict(describe_endpoint(self, endpoint_name))
        if running_for(self.endpoints[endpoint_name].creation_time) < DEPLOYMENT_SECONDS:
            answer["EndpointStatus"] = "Creating"
        return answer

    monkeypatch.setattr(SageMakerModelBackend, "describe_training_job", training_job)
    monkeypatch.setattr(SageMakerModelBackend, "describe_endpoint", endpoint)
    yield


def test_a_run_makes_the_checks_and_history_events_the_model_predicts(
    local_aws: LocalAws, pipeline: DeployedPipeline, slow_sagemaker: None
) -> None:
    # GIVEN new data and a watermark recording that the previous run trained and deployed as long
    today = datetime.now(UTC).date()
    put_days(pipeline, [(today - timedelta(days=1)).isoformat(), today.isoformat()])
    previous = {
        "newest_data_date": (today - timedelta(days=2)).isoformat(),
        "training_seconds": TRAINING_SECONDS,
        "deployment_seconds": DEPLOYMENT_SECONDS,
    }
    boto3.client("ssm").put_parameter(
        Name=watermark_parameter(pipeline), Value=json.dumps(previous), Type="String", Overwrite=True
    )

    # WHEN the schedule starts a run
    record = run_execution(
        local_aws, pipeline, name="poll-loop-1", execution_input={"trigger": "schedule"}, timeout_seconds=90
    )

    # THEN its loops checked as often as the model says, and its history holds the events the model counts
    assert record.status == "SUCCEEDED", record.cause
    entered = record.states_entered()
    training = checks(TRAINING_SECONDS, interval=INTERVAL, expected=TRAINING_SECONDS)
    deployment = checks(DEPLOYMENT_SECONDS, interval=INTERVAL, expected=DEPLOYMENT_SECONDS)
    assert entered.count("GetTrainingStatus") == len(training)
    assert entered.count("GetEndpointStatus") == len(deployment)
    assert len(record.history) == run_history_events(len(training), len(deployment))
    # and the next run expects what this one took, the lag of at most one check included
    recorded = json.loads(boto3.client("ssm").get_parameter(Name=watermark_parameter(pipeline))["Parameter"]["Value"])
    assert TRAINING_SECONDS <= recorded["training_seconds"] <= training[-1] + 1
    assert DEPLOYMENT_SECONDS <= recorded["deployment_seconds"] <= deployment[-1] + 1
