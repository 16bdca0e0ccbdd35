"""The poll loop's model (bench/poll_loop.py) against real executions, woken by SageMaker's events or not: the same
checks, the same history events."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto.sagemaker.models import SageMakerModelBackend

from bench.poll_loop import checks, run_history_events, woken_checks
from local_runtime.deploy import DeployedPipeline, ExecutionRecord, run_execution
from local_runtime.iam.usage import GRANT_USAGE
from local_runtime.runtime import iam_enforced_by_default
from local_runtime.sagemaker.status_events import StatusChangeEvents
from local_runtime.server import LocalAws
from tests.e2e.conftest import put_days, watermark_parameter

pytestmark = pytest.mark.e2e
INTERVAL = 1  # the e2e template's polling.interval_seconds: the deployed scale divided by 60
# A 12-second training job and a 6-second deployment, both as long as the previous run's, on the local scale. The
# safety net checks them at 9 and 19 s, and at 4 and 14 s: the first check of each comes seconds before its end,
# so Lambda's latency only delays the checks, never changes their count.
TRAINING_SECONDS, DEPLOYMENT_SECONDS = 12, 6
WOKEN_WITHIN_SECONDS = 2.0  # from a job's end to its GetStatus when the event wakes the loop (locally: ms + a step)


@pytest.fixture(scope="module")
def local_aws() -> Iterator[LocalAws]:
    """A local AWS of this module's own: the session's would start here, before other modules' servers
    that set MOTO_PORT (which moto's interpreter calls) to theirs and leave it pointing at a stopped one."""
    with pytest.MonkeyPatch.context() as patch:
        if "MOTO_PORT" in os.environ:
            patch.setenv("MOTO_PORT", os.environ["MOTO_PORT"])
        else:
            patch.delenv("MOTO_PORT", raising=False)
        with LocalAws(enforce_iam=iam_enforced_by_default()) as aws:  # the pipeline fixture adds the template's roles
            aws.iam.usage = GRANT_USAGE
            yield aws


@dataclass
class SlowSageMaker:
    """moto finishes everything at once: the job stays InProgress and the endpoint Creating for a while, then
    SageMaker's state-change event is sent (or dropped, with `events.suppressed`), as the emulator sends it."""

    events: StatusChangeEvents = field(default_factory=StatusChangeEvents)
    ended: dict[str, datetime] = field(default_factory=dict)  # "training" or "endpoint" -> when it ended (UTC)
    timers: list[threading.Timer] = field(default_factory=list)

    def later(self, seconds: float, kind: str, announce: Callable[[], None]) -> None:
        self.ended[kind] = datetime.now(UTC) + timedelta(seconds=seconds)
        timer = threading.Timer(seconds, announce)
        timer.daemon = True
        self.timers.append(timer)
        timer.start()


def _running_for(created: datetime) -> float:
    return (datetime.now(UTC).replace(tzinfo=None) - created.replace(tzinfo=None)).total_seconds()


@pytest.fixture
def slow_sagemaker(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowSageMaker]:
    slow = SlowSageMaker()
    describe_job, describe_endpoint = (
        SageMakerModelBackend.describe_training_job,
        SageMakerModelBackend.describe_endpoint,
    )
    create_job, create_endpoint = SageMakerModelBackend.create_training_job, SageMakerModelBackend.create_endpoint

    def training_job(self: SageMakerModelBackend, training_job_name: str) -> dict[str, Any]:
        answer = dict(describe_job(self, training_job_name))
        if _running_for(self.training_jobs[training_job_name].creation_time) < TRAINING_SECONDS:
            answer.update(TrainingJobStatus="InProgress", SecondaryStatus="Training")
        return answer

    def endpoint(self: SageMakerModelBackend, endpoint_name: str) -> dict[str, Any]:
        answer = dict(describe_endpoint(self, endpoint_name))
        if _running_for(self.endpoints[endpoint_name].creation_time) < DEPLOYMENT_SECONDS:
            answer["EndpointStatus"] = "Creating"
        return answer

    def new_job(self: SageMakerModelBackend, *args: Any, **kwargs: Any) -> Any:
        job = create_job(self, *args, **kwargs)
        region = self.region_name
        slow.later(TRAINING_SECONDS, "training", lambda: slow.events.training_job_ended(region, job))
        return job

    def new_endpoint(self: SageMakerModelBackend, *args: Any, **kwargs: Any) -> Any:
        record = create_endpoint(self, *args, **kwargs)
        region = self.region_name
        slow.later(DEPLOYMENT_SECONDS, "endpoint", lambda: slow.events.endpoint_changed(region, record))
        return record

    monkeypatch.setattr(SageMakerModelBackend, "describe_training_job", training_job)
    monkeypatch.setattr(SageMakerModelBackend, "describe_endpoint", endpoint)
    monkeypatch.setattr(SageMakerModelBackend, "create_training_job", new_job)
    monkeypatch.setattr(SageMakerModelBackend, "create_endpoint", new_endpoint)
    yield slow
    for timer in slow.timers:
        timer.cancel()


def start_run(local_aws: LocalAws, pipeline: DeployedPipeline, name: str) -> ExecutionRecord:
    """A scheduled run with new data, after a run that trained and deployed as long as this one will."""
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
    return run_execution(local_aws, pipeline, name=name, execution_input={"trigger": "schedule"}, timeout_seconds=90)


def entered_at(record: ExecutionRecord, state: str) -> list[datetime]:
    return [
        event["timestamp"].astimezone(UTC)
        for event in record.history
        if event.get("stateEnteredEventDetails", {}).get("name") == state
    ]


def listener_invocations(local_aws: LocalAws) -> int:
    return sum(1 for name, _ in local_aws.functions.invocations if "StatusChangeListener" in name)


def test_a_run_is_woken_by_sagemakers_events_with_the_checks_and_history_the_model_predicts(
    local_aws: LocalAws, pipeline: DeployedPipeline, slow_sagemaker: SlowSageMaker
) -> None:
    # GIVEN SageMaker sends its state-change events, WHEN the schedule starts a run
    local_aws.functions.invocations.clear()
    record = start_run(local_aws, pipeline, "poll-loop-woken")

    # THEN each loop made its safety-net checks before the end, and the one its event woke
    assert record.status == "SUCCEEDED", record.cause
    training = woken_checks(TRAINING_SECONDS, interval=INTERVAL, expected=TRAINING_SECONDS, latency=0.1)
    deployment = woken_checks(DEPLOYMENT_SECONDS, interval=INTERVAL, expected=DEPLOYMENT_SECONDS, latency=0.1)
    entered = record.states_entered()
    assert entered.count("GetTrainingStatus") == len(training) == 2
    assert entered.count("GetEndpointStatus") == len(deployment) == 2
    assert len(record.history) == run_history_events(len(training), len(deployment))
    # the woken check came right after the job's end, not at the next safety-net check (7 s later for training)
    training_lag = (entered_at(record, "GetTrainingStatus")[-1] - slow_sagemaker.ended["training"]).total_seconds()
    deployment_lag = (entered_at(record, "GetEndpointStatus")[-1] - slow_sagemaker.ended["endpoint"]).total_seconds()
    assert 0 <= training_lag <= WOKEN_WITHIN_SECONDS
    assert 0 <= deployment_lag <= WOKEN_WITHIN_SECONDS
    assert listener_invocations(local_aws) == len(slow_sagemaker.events.sent) == 2
    # and the next run expects what this one took, the short lag included
    recorded = json.loads(boto3.client("ssm").get_parameter(Name=watermark_parameter(pipeline))["Parameter"]["Value"])
    assert TRAINING_SECONDS <= recorded["training_seconds"] <= TRAINING_SECONDS + WOKEN_WITHIN_SECONDS + 1
    assert DEPLOYMENT_SECONDS <= recorded["deployment_seconds"] <= DEPLOYMENT_SECONDS + WOKEN_WITHIN_SECONDS + 1


def test_a_run_whose_events_are_lost_ends_through_the_safety_net_checks(
    local_aws: LocalAws, pipeline: DeployedPipeline, slow_sagemaker: SlowSageMaker
) -> None:
    # GIVEN SageMaker's events never arrive
    slow_sagemaker.events.suppressed = True
    local_aws.functions.invocations.clear()

    # WHEN the schedule starts a run
    record = start_run(local_aws, pipeline, "poll-loop-lost")

    # THEN its loops checked as often as the safety-net model says, and its history holds the events it counts
    assert record.status == "SUCCEEDED", record.cause
    training = checks(TRAINING_SECONDS, interval=INTERVAL, expected=TRAINING_SECONDS)
    deployment = checks(DEPLOYMENT_SECONDS, interval=INTERVAL, expected=DEPLOYMENT_SECONDS)
    entered = record.states_entered()
    assert entered.count("GetTrainingStatus") == len(training) == 2
    assert entered.count("GetEndpointStatus") == len(deployment) == 2
    assert len(record.history) == run_history_events(len(training), len(deployment))
    assert [e["type"] for e in record.history].count("TaskTimedOut") == len(training) + len(deployment)
    assert listener_invocations(local_aws) == 0
    assert len(slow_sagemaker.events.dropped) == 2
    # the end was noticed at the safety-net check: the lag of a lost event
    training_lag = (entered_at(record, "GetTrainingStatus")[-1] - slow_sagemaker.ended["training"]).total_seconds()
    assert training_lag >= training[-1] - TRAINING_SECONDS - 1
