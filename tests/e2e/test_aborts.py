"""Runs that end outside the workflow in each of its waits, reaped by RunEnded with nothing lost.

tests/e2e/test_abort.py stops a run while it trains; here a run is stopped by hand (StopExecution) while it waits
for its held-out evaluation, for a person's approval and for its deployment, and while its preprocessing runs, and
one runs past the state machine's timeout. Each time (reaped_pipeline.assert_reaped) the wait's jobs are stopped and
no job is left running, what nobody serves is removed, the run lease is released, the watermark stays where it was,
and RunEnded's Slack alert says how the run ended and in which state.

Two pipelines, each deployed once: one whose models are judged on the holdout and wait for a person's approval (its
first run deploys, so that what the reaper must leave alone exists), and one whose preprocessing hangs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from local_runtime.runtime import synthesize
from tests.e2e.reaped_pipeline import (
    CHANNEL,
    STOPPED_BY_HAND,
    TIMED_OUT,
    Bench,
    assert_reaped,
    deployed,
    eventually,
)

pytestmark = pytest.mark.e2e

REVIEWED, HUNG = "reaped", "reaped-prep"
SECRET = "reaped/slack-bot"
EVALUATION_LOOP = frozenset({"WaitForEvaluation", "GetEvaluationStatus", "EvaluationStatus"})
APPROVAL_LOOP = frozenset({"WaitForApproval"})
DEPLOYMENT_LOOP = frozenset({"WaitForDeployment", "GetEndpointStatus", "EndpointStatus"})
PREPROCESSING_LOOP = frozenset({"WaitForPreprocessing", "GetPreprocessingStatus", "PreprocessingStatus"})
DEPLOYMENT_SECONDS = 6  # how long the aborted run's endpoint update takes: the stop lands in the middle of it
RUN_TIMEOUT_SECONDS = 8  # the hung pipeline's state machine TimeoutSeconds for its timed-out run


def template(name: str, **settings: Any) -> dict[str, Any]:
    pipeline = {
        "name": name,
        "data_prefix": f"data/{name}",
        "window_days": 2,
        "hyperparameters": {"predictor_type": "regressor"},
        "polling": {"interval_seconds": 1, "max_training_wait_seconds": 600, "max_deployment_wait_seconds": 300},
        "slack": {"channel": CHANNEL, "token_secret_name": SECRET},
        **settings,
    }
    stack: dict[str, Any] = synthesize({"pipelines": [pipeline]})[f"SageMakerRetraining-{name}"]
    return stack


@pytest.fixture(scope="module")
def reviewed() -> Iterator[Bench]:
    """Models judged on the holdout by two transform jobs, then waiting for approval; the first one serves."""
    with deployed(REVIEWED, template(REVIEWED, registry={"approval": "manual"}), date(2026, 6, 1)) as bench:
        first = bench.start()
        reach_approval(bench, first)
        assert bench.cli("approve", "--reason", "first model") == 0
        record = bench.wait(first)
        assert record.states_entered()[-1] == "Deployed", (record.error, record.cause)
        yield bench


@pytest.fixture(scope="module")
def hung() -> Iterator[Bench]:
    """A pipeline whose preprocessing script never finishes."""
    preprocessing = {"source_dir": "tests/e2e/models/hung_preprocessing", "max_runtime_seconds": 600}
    with deployed(HUNG, template(HUNG, preprocessing=preprocessing), date(2026, 7, 1)) as bench:
        yield bench


# --- how each case brings the run into its wait ---


def waiting_version(bench: Bench) -> int | None:
    """The newest registry version, when it waits for approval."""
    sagemaker = bench.client("sagemaker")
    versions = sagemaker.list_model_packages(
        ModelPackageGroupName=f"{bench.name}-models", SortBy="CreationTime", SortOrder="Descending", MaxResults=1
    )["ModelPackageSummaryList"]
    if versions and versions[0]["ModelApprovalStatus"] == "PendingManualApproval":
        return int(versions[0]["ModelPackageArn"].rsplit("/", 1)[1])
    return None


def reach_approval(bench: Bench, arn: str) -> None:
    bench.wait_until(arn, APPROVAL_LOOP, lambda: waiting_version(bench) is not None, "the wait for approval")


def reach_evaluation(bench: Bench, arn: str) -> None:
    def both_jobs_run() -> bool:
        transforms = [status for kind, status in bench.jobs_of(arn).values() if kind == "Transform"]
        return transforms == ["InProgress"] * 2  # the new model's and production's

    bench.wait_until(arn, EVALUATION_LOOP, both_jobs_run, "both evaluation jobs running")


def reach_deployment(bench: Bench, arn: str) -> None:
    reach_approval(bench, arn)
    assert bench.cli("approve", "--version", str(waiting_version(bench))) == 0
    bench.wait_until(arn, DEPLOYMENT_LOOP, lambda: bench.serving()[0] == "Updating", "the endpoint updating")


def reach_preprocessing(bench: Bench, arn: str) -> None:
    def job_runs() -> bool:
        return list(bench.jobs_of(arn).values()) == [("Processing", "InProgress")]

    bench.wait_until(arn, PREPROCESSING_LOOP, job_runs, "the processing job running")


# --- what each case checks beyond assert_reaped ---


@dataclass(frozen=True)
class StoppedRun:
    """A run and what was true before it started."""

    arn: str
    watermark: dict[str, Any] | None
    serving: tuple[str, str]
    training_job: str  # the run's resource name: its training job, model and endpoint config


def evaluation_jobs_stopped(bench: Bench, run: StoppedRun, alert_text: str) -> None:
    jobs = bench.jobs_of(run.arn)
    evaluation = [kind_status for name, kind_status in jobs.items() if name != run.training_job]
    assert evaluation == [("Transform", "Stopped")] * 2, jobs
    assert bench.serving() == run.serving


def approval_wait_left_nothing_running(bench: Bench, run: StoppedRun, alert_text: str) -> None:
    # The run's jobs had all ended; its model, made for the evaluation, is gone (assert_reaped: no orphans).
    assert {status for _, status in bench.jobs_of(run.arn).values()} == {"Completed"}
    assert bench.serving() == run.serving
    assert run.training_job not in {m["ModelName"] for m in bench.client("sagemaker").list_models()["Models"]}
    # ... and its version no longer waits for a decision nobody would act on: Rejected, its approval record gone
    sagemaker = bench.client("sagemaker")
    [newest] = sagemaker.list_model_packages(
        ModelPackageGroupName=f"{bench.name}-models", SortBy="CreationTime", SortOrder="Descending", MaxResults=1
    )["ModelPackageSummaryList"]
    described = sagemaker.describe_model_package(ModelPackageName=newest["ModelPackageArn"])
    assert described["ModelApprovalStatus"] == "Rejected"
    assert described["ApprovalDescription"].startswith("No decision: the run waiting for it was stopped by hand")
    assert waiting_version(bench) is None


def deployment_went_on_and_rollback_puts_it_back(bench: Bench, run: StoppedRun, alert_text: str) -> None:
    # An endpoint update cannot be cancelled: the alert says the run's model is going into service and how to undo it
    assert f"Its deployment went on: endpoint config and model {run.training_job}" in alert_text
    assert "sagemaker-retraining rollback" in alert_text
    eventually(lambda: bench.serving()[0] == "InService", "the update's end")
    assert bench.serving()[1] == run.training_job
    assert bench.watermark() == run.watermark  # still naming the model served before
    # WHEN the operator rolls back as the alert says, THEN the model served before the run serves again
    assert bench.cli("rollback", "--reason", "the stopped run's model went on") == 0
    endpoint_config = bench.client("sagemaker").describe_endpoint_config(EndpointConfigName=bench.serving()[1])
    assert [v["ModelName"] for v in endpoint_config["ProductionVariants"]] == [run.serving[1]]
    assert bench.watermark() == run.watermark


@dataclass(frozen=True)
class WaitCase:
    id: str
    description: str
    holds: str
    reach: Callable[[Bench, str], None]
    loop: frozenset[str]
    check: Callable[[Bench, StoppedRun, str], None]
    arm: Callable[[Bench], object] = lambda bench: None


REVIEWED_CASES = (
    WaitCase(
        id="evaluation",
        description="A run stopped by hand while both held-out evaluation transform jobs run",
        holds="ABORTED; RunEnded stops both transform jobs and removes the run's model, releases the lease and "
        "alerts naming the state; the endpoint and the watermark are untouched; nothing left running or orphaned",
        reach=reach_evaluation,
        loop=EVALUATION_LOOP,
        check=evaluation_jobs_stopped,
        arm=lambda bench: bench.runtime.faults.stall_transform_job(times=2, pipeline=bench.name),
    ),
    WaitCase(
        id="approval",
        description="A run stopped by hand while its model waits for a person's approval",
        holds="ABORTED; RunEnded removes the model made for the evaluation, rejects the version that waited (and "
        "removes its approval record), releases the lease and alerts naming WaitForApproval; the endpoint and the "
        "watermark are untouched; nothing left running or orphaned",
        reach=reach_approval,
        loop=APPROVAL_LOOP,
        check=approval_wait_left_nothing_running,
    ),
    WaitCase(
        id="deployment",
        description="A run stopped by hand while the endpoint updates to its model",
        holds="ABORTED; the update goes on (it cannot be cancelled) and CleanUp keeps what the endpoint switches to; "
        "the alert says so and points to rollback, which puts the model served before back; the watermark never "
        "moves; the lease is released; nothing left running or orphaned",
        reach=reach_deployment,
        loop=DEPLOYMENT_LOOP,
        check=deployment_went_on_and_rollback_puts_it_back,
        arm=lambda bench: bench.runtime.faults.slow_endpoint_deployment(DEPLOYMENT_SECONDS, endpoint=bench.name),
    ),
)


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(case, id=case.id, marks=pytest.mark.reliability("fault", case.description, case.holds))
        for case in REVIEWED_CASES
    ],
)
def test_a_run_stopped_in_a_wait_is_reaped_with_nothing_lost(reviewed: Bench, case: WaitCase) -> None:
    # GIVEN a model serving, a new day of data, and a run in the case's wait
    reviewed.runtime.faults.clear()
    watermark, serving = reviewed.watermark(), reviewed.serving()
    reviewed.add_day()
    case.arm(reviewed)
    arn = reviewed.start()
    case.reach(reviewed, arn)
    assert (reviewed.lease() or {}).get("execution") == arn
    training_job = next(name for name, (kind, _) in reviewed.jobs_of(arn).items() if kind == "Training")

    # WHEN an operator stops it
    ended = reviewed.stop(arn)

    # THEN it ended ABORTED with the stop's error and cause, and RunEnded reaped it with nothing lost
    assert (ended.status, ended.error, ended.cause) == ("ABORTED", "Operator", "wrong window")
    alert = assert_reaped(reviewed, ended, how=STOPPED_BY_HAND, loop=case.loop, watermark=watermark)
    assert "Operator; wrong window" in alert.block_text
    case.check(reviewed, StoppedRun(arn, watermark, serving, training_job), alert.block_text)


@pytest.mark.reliability(
    "fault",
    "A run stopped by hand, and one past the state machine's timeout, while the preprocessing job runs",
    "ABORTED, then TIMED_OUT: each time RunEnded stops the processing job, releases the lease and alerts saying how "
    "the run ended and in which state; nothing is trained, created or left running; the watermark still says never "
    "trained",
)
def test_a_run_stopped_or_timed_out_while_preprocessing_is_reaped(hung: Bench) -> None:
    # GIVEN a pipeline never trained, and a run whose preprocessing hangs
    watermark = hung.watermark()
    assert watermark == {"newest_data_date": None}
    first = hung.start()
    reach_preprocessing(hung, first)

    # WHEN an operator stops it, THEN RunEnded stops the processing job
    stopped = hung.stop(first)
    assert stopped.status == "ABORTED"
    assert_reaped(hung, stopped, how=STOPPED_BY_HAND, loop=PREPROCESSING_LOOP, watermark=watermark)
    assert list(hung.jobs_of(first).values()) == [("Processing", "Stopped")]

    # GIVEN the state machine's timeout shortened (the stack derives hours from the pipeline's waits)
    sfn = hung.client("stepfunctions")
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=hung.pipeline.state_machine_arn)["definition"])
    sfn.update_state_machine(
        stateMachineArn=hung.pipeline.state_machine_arn,
        definition=json.dumps({**definition, "TimeoutSeconds": RUN_TIMEOUT_SECONDS}),
    )

    # WHEN the next run hangs in its preprocessing past that timeout
    second = hung.start()
    timed_out = hung.wait(second)

    # THEN it ended TIMED_OUT and was reaped the same way
    assert (timed_out.status, timed_out.error) == ("TIMED_OUT", None)
    assert timed_out.history[-1]["type"] == "ExecutionTimedOut"
    assert_reaped(hung, timed_out, how=TIMED_OUT, loop=PREPROCESSING_LOOP, watermark=watermark)
    assert list(hung.jobs_of(second).values()) == [("Processing", "Stopped")]
    assert hung.client("sagemaker").list_models()["Models"] == []
    assert hung.client("sagemaker").list_training_jobs()["TrainingJobSummaries"] == []
