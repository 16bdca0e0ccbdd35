"""`sagemaker-retraining runs ...` against the local runtime: start, list, show and follow real runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta

import numpy as np
import pytest

from local_runtime.deploy import DeployedPipeline, ExecutionRecord, wait_for_execution
from local_runtime.runtime import LocalRuntime
from operator_cli.cli import main
from operator_cli.states import state_runs
from tests.e2e.quiet_pipeline import METRIC, PIPELINE, deployed_quiet_pipeline

pytestmark = pytest.mark.e2e

FIRST_DAY = date(2026, 3, 1)
TRAINING_FAILURE = "AlgorithmError: the algorithm ran out of memory (local fault)"


def rows(seed: int, noise: float, n: int = 40) -> bytes:
    """Label first: y = 3 x1 - 2 x2 + 1 plus noise; a noisy day makes the model's loss much higher."""
    generator = np.random.default_rng(seed)
    features = generator.normal(size=(n, 2))
    labels = 3 * features[:, 0] - 2 * features[:, 1] + 1 + generator.normal(scale=noise, size=n)
    return "".join(f"{y:.6f},{a:.6f},{b:.6f}\n" for y, (a, b) in zip(labels, features, strict=True)).encode()


class Pipeline:
    """A gated pipeline in a runtime of its own, with days of data added on demand."""

    def __init__(self, runtime: LocalRuntime, deployed: DeployedPipeline) -> None:
        self.runtime, self.deployed = runtime, deployed
        self.newest = FIRST_DAY - timedelta(days=1)

    def add_day(self, noise: float = 0.05) -> str:
        self.newest += timedelta(days=1)
        self.runtime.client("s3").put_object(
            Bucket=self.deployed.stack.outputs["DataBucketName"],
            Key=f"data/{PIPELINE}/{self.newest.isoformat()}.csv",
            Body=rows(self.newest.toordinal(), noise),
        )
        return self.newest.isoformat()

    def cli(self, *args: str) -> int:
        return main(["runs", *args, "--endpoint-url", self.runtime.endpoint_url])

    def start(self, capsys: pytest.CaptureFixture[str], *args: str) -> str:
        """`runs start` for the pipeline; the ARN it printed."""
        assert self.cli("start", "--pipeline", PIPELINE, "--end-date", self.newest.isoformat(), *args) == 0
        return capsys.readouterr().out.strip()

    def wait(self, arn: str) -> ExecutionRecord:
        return wait_for_execution(self.runtime.aws, arn, region=self.runtime.region, timeout_seconds=120)

    def execution_count(self) -> int:
        sfn = self.runtime.client("stepfunctions")
        return len(sfn.list_executions(stateMachineArn=self.deployed.state_machine_arn)["executions"])

    def status(self, arn: str) -> str:
        return str(self.runtime.client("stepfunctions").describe_execution(executionArn=arn)["status"])


@pytest.fixture(scope="module")
def pipeline() -> Iterator[Pipeline]:
    with deployed_quiet_pipeline() as (runtime, deployed):
        yield Pipeline(runtime, deployed)


def test_start_runs_the_input_the_console_takes_and_prints_the_execution_arn(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN two days of data
    pipeline.add_day()
    end = pipeline.add_day()

    # WHEN a run is started with a window override, named
    arn = pipeline.start(capsys, "--window-days", "2", "--name", "first-run")

    # THEN the ARN names the execution, whose input is what the console takes, and the run deploys
    assert arn.startswith("arn:aws:states:us-east-1:")
    assert arn.endswith(":execution:sagemaker-retraining-ops:first-run")
    described = pipeline.runtime.client("stepfunctions").describe_execution(executionArn=arn)
    assert json.loads(described["input"]) == {"trigger": "cli", "window_days": 2, "end_date": end}
    record = pipeline.wait(arn)
    assert record.status == "SUCCEEDED", record.cause
    assert record.states_entered()[-1] == "Deployed"
    assert record.output["run"]["window_start"] == FIRST_DAY.isoformat()

    # WHEN a forced run is started with --json, THEN the JSON names the execution and the input
    assert pipeline.cli("start", "--pipeline", PIPELINE, "--force", "--end-date", end, "--json") == 0
    started = json.loads(capsys.readouterr().out)
    assert started["input"] == {"trigger": "cli", "force": True, "end_date": end}
    assert started["name"].startswith("cli-")
    assert pipeline.wait(started["execution_arn"]).output["run"]["forced"] is True


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--window-days", "0"], "invalid run input: field 'window_days' must be an integer from 1 to 366, got 0"),
        (["--window-days", "400"], "field 'window_days' must be an integer from 1 to 366, got 400"),
        (["--end-date", "2026-02-30"], "field 'end_date' must be a date as YYYY-MM-DD, got '2026-02-30'"),
        (["--name", "my run"], "--name 'my run': an execution name has 1 to 80 characters"),
    ],
)
def test_start_refuses_bad_input_naming_the_field_and_starts_nothing(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    before = pipeline.execution_count()

    assert pipeline.cli("start", "--pipeline", PIPELINE, *flags) == 2

    assert message in capsys.readouterr().err
    assert pipeline.execution_count() == before


def test_start_on_a_pipeline_that_is_not_deployed_says_so(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    assert pipeline.cli("start", "--pipeline", "nope") == 1

    assert "SageMakerRetraining-nope" in capsys.readouterr().err


def test_follow_prints_each_state_of_a_running_run_as_it_ends_and_exits_0_when_it_succeeds(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a run that is still running
    pipeline.add_day()
    arn = pipeline.start(capsys)
    assert pipeline.status(arn) == "RUNNING"

    # WHEN it is followed by name
    code = pipeline.cli("follow", arn.split(":")[-1], "--pipeline", PIPELINE)

    # THEN every state that ran is printed once, in order, and the closing line gives the outcome
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0].startswith(f"Following {arn.split(':')[-1]}")
    steps, _ = state_runs(pipeline.wait(arn).history)
    assert [line.split()[1] for line in out[1:-1]] == [step.name for step in steps]
    assert out[1].startswith("✓ ReadRunInput")
    assert out[-2].startswith("✓ Deployed")
    assert out[-1].startswith(f"■ SUCCEEDED: deployed, {len(steps)} states in ")


def test_a_failed_run_is_shown_step_by_step_with_the_failing_state_error_and_cause(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a run whose training job fails
    pipeline.add_day()
    pipeline.runtime.faults.fail_training_job(reason=TRAINING_FAILURE)
    try:
        arn = pipeline.start(capsys)
        record = pipeline.wait(arn)
    finally:
        pipeline.runtime.faults.clear()
    assert record.status == "FAILED"

    # WHEN it is shown
    assert pipeline.cli("show", arn) == 0
    out = capsys.readouterr().out

    # THEN each state is a row, the failing one is named with its error and cause, and what cleaned up follows
    lines = out.splitlines()
    assert lines[1] == "status       FAILED: failed at GetTrainingStatus"
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["STATE", "START"])
    rows = [line.split()[1] for line in lines[header + 1 :] if line.startswith(("✓", "✗", "◆"))]
    steps, _ = state_runs(record.history)
    assert rows == [step.name for step in steps]
    assert rows[:3] == ["ReadRunInput", "CheckData", "HasNewData"]
    assert rows[-1] == "RunFailed"
    assert "Failed at GetTrainingStatus\n  error  TrainingJobFailed\n  cause  " in out
    assert TRAINING_FAILURE in out.split("Failed at GetTrainingStatus")[1]

    # WHEN it is shown as JSON, THEN the steps and the failure are there whole
    assert pipeline.cli("show", arn.split(":")[-1], "--pipeline", PIPELINE, "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["failure"]["state"] == "GetTrainingStatus"
    assert TRAINING_FAILURE in shown["failure"]["cause"]
    assert [step["state"] for step in shown["steps"]] == rows
    assert shown["outcome"] == "failed at GetTrainingStatus"

    # WHEN it is followed after the fact as JSON, THEN it prints every state and ends with exit code 1
    assert pipeline.cli("follow", arn, "--json") == 1
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["state"] for e in events[:-1]] == rows
    assert (events[-1]["event"], events[-1]["status"]) == ("ended", "FAILED")


def test_list_shows_recent_runs_with_window_job_metric_and_outcome(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN four runs: deployed, no new data, failed at CheckData (a forced run on an empty window), rejected
    pipeline.add_day()
    deployed = pipeline.wait(pipeline.start(capsys))
    no_new_data = pipeline.wait(pipeline.start(capsys))
    assert pipeline.cli("start", "--pipeline", PIPELINE, "--force", "--end-date", "2020-01-01") == 0
    failed = pipeline.wait(capsys.readouterr().out.strip())
    pipeline.add_day(noise=3.0)  # trains the next model badly; the clean day after it judges both models
    pipeline.add_day()
    rejected = pipeline.wait(pipeline.start(capsys))
    statuses = [r.status for r in (deployed, no_new_data, failed, rejected)]
    assert statuses == ["SUCCEEDED", "SUCCEEDED", "FAILED", "SUCCEEDED"]

    # WHEN the newest four are listed as JSON
    assert pipeline.cli("list", "--pipeline", PIPELINE, "--limit", "4", "--json") == 0
    listed = json.loads(capsys.readouterr().out)

    # THEN newest first, each with what its run recorded
    assert [run["execution_arn"] for run in listed] == [r.arn for r in (rejected, failed, no_new_data, deployed)]
    assert [run["outcome"] for run in listed] == ["model rejected", "failed at CheckData", "no new data", "deployed"]
    newest, failure, nothing, good = listed
    assert newest["metric"] == METRIC
    assert newest["metric_value"] == pytest.approx(rejected.output["evaluation"]["value"])
    assert good["metric_value"] == pytest.approx(deployed.output["evaluation"]["value"])
    assert good["training_job"] == deployed.output["training"]["job_name"]
    assert (good["window_start"], good["window_end"]) == (
        deployed.output["run"]["window_start"],
        deployed.output["run"]["window_end"],
    )
    assert nothing["training_job"] is None
    assert nothing["window_end"] == deployed.output["run"]["window_end"]
    # the same days again (as a corrected file would be): the hint gives the command that retrains them
    window_days = deployed.output["run"]["window_days"]
    assert nothing["hint"].startswith(
        f"no data newer than the watermark day {deployed.output['run']['newest_data_date']}"
    )
    assert nothing["hint"].endswith(
        f"--pipeline {PIPELINE} --force --end-date {nothing['window_end']} --window-days {window_days}"
    )
    assert failure["failure"]["error"] == "NoDataInWindowError"
    assert all(run["duration_seconds"] > 0 for run in listed)

    # WHEN they are listed as text, THEN as an aligned table with the same outcomes
    assert pipeline.cli("list", "--pipeline", PIPELINE, "--limit", "4") == 0
    table = capsys.readouterr().out.splitlines()
    headers = "NAME STATUS START (UTC) DURATION DATA WINDOW TRAINING JOB METRIC OUTCOME"
    assert table[0].split() == headers.split()
    outcome_column = table[0].index("OUTCOME")
    assert [line[outcome_column:] for line in table[1:5]] == [run["outcome"] for run in listed]
    assert table[5:] == ["", f"{nothing['name']}: {nothing['hint']}"]
    assert f"{METRIC} {newest['metric_value']:.4g}" in table[1]

    # WHEN only failed runs are asked for, THEN only they are listed
    assert pipeline.cli("list", "--pipeline", PIPELINE, "--status", "failed", "--json") == 0
    assert {run["status"] for run in json.loads(capsys.readouterr().out)} == {"FAILED"}
