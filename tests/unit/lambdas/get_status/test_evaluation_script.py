"""GetStatus of the evaluation script's processing job: what the held-out evaluation's loop learns from
DescribeProcessingJob, given by a fake answering recorded responses (moto completes every job at once)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from lambdas.common.models import HoldoutEvaluationState
from lambdas.get_status.core import PollSettings, evaluation_status

NOW = datetime(2026, 11, 22, 8, 0, 0, tzinfo=UTC)
SETTINGS = PollSettings(
    poll_interval_seconds=30,
    max_training_wait_seconds=3600,
    max_deployment_wait_seconds=900,
    max_evaluation_wait_seconds=2400,
)
HOLDOUT = "s3://b/manifests/churn/churn-1.holdout.manifest"
EVALUATION = HoldoutEvaluationState(
    holdout_uri=HOLDOUT,
    candidate_model="churn-1",
    candidate_job="churn-1-eval",
    candidate_output_uri="s3://b/evaluation/churn/churn-1/script",
    production_model="churn-0",
    production_job=None,
    production_output_uri=None,
    job_name="churn-1-eval",
    status="InProgress",
    failure_reason=None,
    started_at="2026-11-22T07:30:00.000Z",
    waited_seconds=0,
    wait_exceeded=False,
    poll_seconds=600,
    kind="processing",
    script="evaluate.py",
)


@dataclass
class DescribedProcessingJob:
    """DescribeProcessingJob answering one recorded job (the only call the script's status makes)."""

    job: dict[str, Any] = field(default_factory=dict)
    described: list[str] = field(default_factory=list)

    def describe_processing_job(self, ProcessingJobName: str) -> dict[str, Any]:  # noqa: N803 (boto3's names)
        self.described.append(ProcessingJobName)
        return {"ProcessingJobName": ProcessingJobName, **self.job}


def status_of(job: dict[str, Any], **fields: Any) -> tuple[HoldoutEvaluationState, DescribedProcessingJob]:
    recorded = DescribedProcessingJob(job)
    sagemaker: Any = recorded  # DescribeProcessingJob only
    current = HoldoutEvaluationState.from_state({**EVALUATION.to_state(), **fields})
    return evaluation_status(current, sagemaker=sagemaker, settings=SETTINGS, now=NOW), recorded


@pytest.mark.parametrize("status", ["InProgress", "Stopping"])
def test_a_running_or_stopping_job_keeps_the_loop_waiting_for_it(status: str) -> None:
    # GIVEN the job still running (or stopping), with a stale reason from SageMaker
    state, sagemaker = status_of({"ProcessingJobStatus": status, "FailureReason": "stale"})

    # THEN the loop goes on awaiting that job, 30 minutes in
    assert (state.status, state.failure_reason, state.job_name) == ("InProgress", None, "churn-1-eval")
    assert (state.waited_seconds, state.wait_exceeded, state.poll_seconds) == (1800, False, 300)
    assert sagemaker.described == ["churn-1-eval"]


def test_a_completed_job_completes_the_evaluation() -> None:
    # GIVEN a completed job (an exit message is not a failure)
    state, _ = status_of({"ProcessingJobStatus": "Completed", "ExitMessage": "done"})

    assert (state.status, state.failure_reason) == ("Completed", None)
    assert (state.kind, state.script, state.production_model) == ("processing", "evaluate.py", "churn-0")


@pytest.mark.parametrize(
    ("job", "ended", "said"),
    [
        (
            {
                "ProcessingJobStatus": "Failed",
                "ExitMessage": "evaluate.py exited with status 1:\nValueError: no label column\n",
                "FailureReason": "AlgorithmError: See job logs for more information",
            },
            "failed",
            "evaluate.py exited with status 1:\nValueError: no label column",
        ),
        (
            {"ProcessingJobStatus": "Failed", "FailureReason": "CapacityError: no ml.m5.xlarge capacity"},
            "failed",
            "CapacityError: no ml.m5.xlarge capacity",
        ),
        ({"ProcessingJobStatus": "Failed", "ExitMessage": ""}, "failed", "SageMaker gave no reason"),
        (
            {"ProcessingJobStatus": "Stopped", "FailureReason": "MaxRuntimeExceeded"},
            "stopped",
            "MaxRuntimeExceeded",
        ),
    ],
    ids=["exit-message-first", "failure-reason", "no-reason", "stopped"],
)
def test_a_job_that_did_not_complete_fails_the_evaluation_naming_the_script_and_job(
    job: dict[str, Any], ended: str, said: str
) -> None:
    state, _ = status_of(job)

    # THEN the evaluation failed, told by the script's own message when it left one, else by SageMaker's reason
    assert state.status == "Failed"
    assert state.failure_reason == (
        f"evaluation script evaluate.py (processing job churn-1-eval) over the holdout {HOLDOUT} {ended}: {said}"
    )


@pytest.mark.parametrize(
    ("started_at", "waited", "exceeded"),
    [("2026-11-22T07:20:00.000Z", 2400, False), ("2026-11-22T07:19:59.000Z", 2401, True)],
    ids=["at-the-limit", "past-the-limit"],
)
def test_an_evaluation_running_past_its_maximum_wait_is_flagged(started_at: str, waited: int, exceeded: bool) -> None:
    state, _ = status_of({"ProcessingJobStatus": "InProgress"}, started_at=started_at)

    assert (state.status, state.waited_seconds, state.wait_exceeded) == ("InProgress", waited, exceeded)
