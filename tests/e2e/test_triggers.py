"""Triggers beyond the schedule, through the local runtime: new data (debounced) and upstream events start runs.

The synthesized stack is deployed as it is: S3 sends the data bucket's object events to EventBridge, the rule
on "Object Created" under the data prefix invokes TriggerRun, which moves the pipeline's one-time schedule, and
the local scheduler starts the run when it is due. Quiet periods and delays are seconds here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from local_runtime.deploy import DeployedPipeline, ExecutionRecord, wait_for_execution
from local_runtime.runtime import LocalRuntime, synthesize

pytestmark = pytest.mark.e2e

PIPELINE = "trig"
STACK = f"SageMakerRetraining-{PIPELINE}"
QUIET_SECONDS = 2
MAX_DELAY_SECONDS = 6
UPSTREAM = {"source": ["my.etl"], "detail-type": ["Job State Change"], "detail": {"state": ["SUCCEEDED"]}}
ROWS = b"3.0,1.0,2.0\n1.0,0.0,1.0\n2.0,1.0,0.5\n"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    pipeline = {
        "name": PIPELINE,
        "data_prefix": f"data/{PIPELINE}",
        "window_days": 2,
        # Every run trains on today's partition alone: nothing is held out.
        "evaluation": {"holdout": "none"},
        "polling": {"interval_seconds": 1, "max_training_wait_seconds": 600, "max_deployment_wait_seconds": 300},
        "triggers": {
            "new_data": {"quiet_seconds": QUIET_SECONDS, "max_delay_seconds": MAX_DELAY_SECONDS},
            "events": [{"name": "features-ready", "pattern": UPSTREAM}],
        },
    }
    stack_template: dict[str, Any] = synthesize({"pipelines": [pipeline]})[STACK]
    return stack_template


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime() as local:
        yield local


class Triggered:
    """The deployed pipeline: uploads objects, sends upstream events, and reads the runs they started."""

    def __init__(self, runtime: LocalRuntime, pipeline: DeployedPipeline) -> None:
        self.runtime, self.pipeline = runtime, pipeline
        self.bucket = pipeline.stack.outputs["DataBucketName"]
        self.s3, self.sfn = runtime.client("s3"), runtime.client("stepfunctions")

    def upload(self, key: str) -> float:
        """Put an object; return when (time.time()) S3 took it."""
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=ROWS)
        return time.time()

    def data_key(self, name: str) -> str:
        return f"data/{PIPELINE}/dt={datetime.now(UTC).date().isoformat()}/{name}.csv"

    def send(self, detail: dict[str, Any], source: str = "my.etl") -> None:
        entry = {"Source": source, "DetailType": "Job State Change", "Detail": json.dumps(detail)}
        (result,) = self.runtime.client("events").put_events(Entries=[entry])["Entries"]
        assert "EventId" in result, result

    def executions(self) -> list[dict[str, Any]]:
        """The state machine's executions, oldest first."""
        listed = self.sfn.list_executions(stateMachineArn=self.pipeline.state_machine_arn)["executions"]
        return sorted(listed, key=lambda execution: execution["startDate"])

    def wait_for_executions(self, count: int, timeout_seconds: float = 20) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_seconds
        while len(executions := self.executions()) < count:
            assert time.monotonic() < deadline, f"{len(executions)} executions after {timeout_seconds} s, not {count}"
            time.sleep(0.1)
        return executions

    def finish(self, execution: dict[str, Any]) -> ExecutionRecord:
        return wait_for_execution(self.runtime.aws, execution["executionArn"], region=self.runtime.region)

    def run_input(self, execution: dict[str, Any]) -> dict[str, Any]:
        described = self.sfn.describe_execution(executionArn=execution["executionArn"])
        run_input: dict[str, Any] = json.loads(described["input"])
        return run_input

    def pending_schedules(self) -> list[dict[str, Any]]:
        """TriggerRun's one-time schedules, in the pipeline's group (the pipeline's own schedule is in the default)."""
        schedules: list[dict[str, Any]] = self.runtime.client("scheduler").list_schedules()["Schedules"]
        return [schedule for schedule in schedules if schedule["GroupName"] != "default"]

    def settle(self, seconds: float) -> None:
        """Let event deliveries, TriggerRun and any due schedule play out."""
        time.sleep(seconds)
        assert self.runtime.events.wait_until_idle(10)


@pytest.fixture
def triggered(runtime: LocalRuntime, template: dict[str, Any]) -> Triggered:
    """The pipeline deployed into an empty local AWS: no data, no runs, no schedule."""
    requests.post(f"{runtime.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()
    pipeline = runtime.deploy_template(template, stack_name=STACK)
    return Triggered(runtime, pipeline)


@pytest.mark.reliability(
    "input",
    "A burst of uploads under the data prefix",
    "Exactly one run, started once the uploads have been quiet for the configured period, trains on every file "
    "of the burst; the one-time schedule deletes itself",
)
def test_a_burst_of_uploads_starts_exactly_one_run_after_the_quiet_period_on_all_of_them(triggered: Triggered) -> None:
    # GIVEN twelve files uploaded in quick succession
    uploaded = [triggered.upload(triggered.data_key(f"part-{index:02d}")) for index in range(12)]

    # WHEN the uploads stop
    (execution,) = triggered.wait_for_executions(1)
    record = triggered.finish(execution)
    triggered.settle(QUIET_SECONDS + 1)

    # THEN one run started, no sooner than the quiet period after the last upload (event times are whole
    # seconds: at most a second of it can be lost), and it trained on all twelve files
    assert len(triggered.executions()) == 1
    assert execution["startDate"].timestamp() >= uploaded[-1] + QUIET_SECONDS - 1
    assert triggered.run_input(execution) == {"trigger": "new-data"}
    assert record.status == "SUCCEEDED", record.cause
    assert "StartTrainingJob" in record.states_entered()
    assert record.output["run"]["file_count"] == 12
    assert record.output["run"]["trigger"] == "new-data"
    assert triggered.pending_schedules() == []


@pytest.mark.reliability(
    "input",
    "A steady trickle of uploads that is never quiet",
    "The run starts at the latest max_delay_seconds after the first upload, while the trickle goes on",
)
def test_a_trickle_that_is_never_quiet_still_starts_a_run_at_the_maximum_delay(triggered: Triggered) -> None:
    # GIVEN one upload every 0.8 s (never quiet for 2 s) for longer than the maximum delay
    first = triggered.upload(triggered.data_key("trickle-00"))
    last = first
    index = 1
    while time.time() < first + MAX_DELAY_SECONDS + 4:
        time.sleep(0.8)
        last = triggered.upload(triggered.data_key(f"trickle-{index:02d}"))
        index += 1

    # THEN a run started while the trickle still went on, at the maximum delay after the first upload (event
    # times are whole seconds; the upper margin absorbs the delivery and the scheduler's polling on a busy machine)
    execution = triggered.executions()[0]
    started = execution["startDate"].timestamp()
    assert started < last
    assert first + MAX_DELAY_SECONDS - 1 <= started <= first + MAX_DELAY_SECONDS + 3
    assert triggered.run_input(execution) == {"trigger": "new-data"}
    # the uploads after it are the next burst's: its run starts after them (and may find this one still going)
    triggered.settle(QUIET_SECONDS + 1)
    for run in triggered.executions():
        triggered.finish(run)


def test_uploads_outside_the_data_prefix_start_nothing(triggered: Triggered) -> None:
    # GIVEN objects next to the data prefix, under a longer prefix that starts alike, and at the bucket's root
    for key in (f"data/{PIPELINE}x/dt=2026-05-01/a.csv", "data/other/b.csv", "c.csv", f"manifests/{PIPELINE}/d"):
        triggered.upload(key)

    # WHEN more than the quiet period passes
    triggered.settle(QUIET_SECONDS + 2)

    # THEN no run started and nothing is scheduled
    assert triggered.executions() == []
    assert triggered.pending_schedules() == []


@pytest.mark.reliability(
    "input",
    "An upstream event: one matching the configured pattern, one that does not",
    "The matching event starts one run with trigger event:<name>; the other starts nothing",
)
def test_a_matching_upstream_event_starts_a_run_and_a_non_matching_one_does_not(triggered: Triggered) -> None:
    triggered.upload(f"elsewhere/{PIPELINE}/seed.csv")  # no data under the prefix: the run ends NoNewData

    # WHEN the upstream job reports a failure (not in the pattern), and another source reports success
    triggered.send({"state": "FAILED"})
    triggered.send({"state": "SUCCEEDED"}, source="other.etl")
    triggered.settle(1)

    # THEN nothing started
    assert triggered.executions() == []

    # WHEN it reports success
    triggered.send({"state": "SUCCEEDED", "job": "features-2026-05-01"})

    # THEN exactly one run starts, at once, named by its trigger
    (execution,) = triggered.wait_for_executions(1, timeout_seconds=5)
    record = triggered.finish(execution)
    triggered.settle(1)
    assert len(triggered.executions()) == 1
    assert triggered.run_input(execution) == {"trigger": "event:features-ready"}
    assert record.status == "SUCCEEDED", record.cause
    assert record.output["run"]["trigger"] == "event:features-ready"


@pytest.mark.reliability(
    "input",
    "New data and an upstream event while a run is going",
    "Each starts a run that CheckData stops at once as AnotherRunInProgress: runs never overlap",
)
def test_triggers_firing_during_a_run_start_runs_that_stop_as_overlapping(triggered: Triggered) -> None:
    # GIVEN a run whose training job hangs
    triggered.runtime.faults.stall_training_job()
    triggered.upload(triggered.data_key("day"))
    (running,) = triggered.wait_for_executions(1)
    deadline = time.monotonic() + 20
    while "StartTrainingJob" not in _states(triggered, running):
        assert time.monotonic() < deadline, "the first run never reached StartTrainingJob"
        time.sleep(0.2)

    # WHEN new data lands and the upstream job reports success during it
    triggered.upload(triggered.data_key("more"))
    triggered.send({"state": "SUCCEEDED"})

    # THEN both start a run, and each stops as overlapping while the first goes on
    _, *later = triggered.wait_for_executions(3)
    records = [triggered.finish(execution) for execution in later]
    assert sorted(triggered.run_input(execution)["trigger"] for execution in later) == [
        "event:features-ready",
        "new-data",
    ]
    for record in records:
        assert record.status == "SUCCEEDED", record.cause
        assert record.states_entered()[-1] == "AnotherRunInProgress"
        assert record.output["run"]["blocked_by"] == running["executionArn"]
    status = triggered.sfn.describe_execution(executionArn=running["executionArn"])["status"]
    assert status == "RUNNING"
    triggered.sfn.stop_execution(executionArn=running["executionArn"])


def _states(triggered: Triggered, execution: dict[str, Any]) -> list[str]:
    history = triggered.sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
    return [event["stateEnteredEventDetails"]["name"] for event in history if "stateEnteredEventDetails" in event]
