"""GetStatus: what the poll loop learns from SageMaker's describe calls.

SageMaker's answers are given by a fake that returns recorded DescribeTrainingJob / DescribeEndpoint
responses: moto completes everything at once, and these tests are about every status SageMaker can report.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest

from lambdas.common.errors import InvalidStepEventError
from lambdas.common.models import (
    BatchTransformState,
    DeploymentState,
    HoldoutEvaluationState,
    PreprocessingState,
    TrainingJobState,
)
from lambdas.get_status.core import (
    PollSettings,
    batch_transform_status,
    endpoint_status,
    evaluation_status,
    preprocessing_status,
    training_status,
)
from tests.unit.lambdas.states import training_section

NOW = datetime(2026, 11, 22, 8, 0, 0, tzinfo=UTC)
SETTINGS = PollSettings(poll_interval_seconds=30, max_training_wait_seconds=3600, max_deployment_wait_seconds=900)
TRAINING = training_section(
    job_name="churn-1", status="InProgress", started_at="2026-11-22T07:30:00.000Z", waited_seconds=0
).to_state()
DEPLOYMENT = {
    "endpoint_name": "churn",
    "endpoint_config_name": "churn-new",
    "model_name": "churn-new",
    "action": "update",
    "status": "Updating",
    "failure_reason": None,
    "serving_new_model": False,
    "started_at": "2026-11-22T07:50:00.000Z",
    "waited_seconds": 0,
    "wait_exceeded": False,
    "poll_seconds": 30,
}


@dataclass
class RecordedSageMaker:
    training_job: dict[str, Any] = field(default_factory=dict)
    endpoint: dict[str, Any] = field(default_factory=dict)
    processing_job: dict[str, Any] = field(default_factory=dict)
    transform_job: dict[str, Any] = field(default_factory=dict)
    transform_jobs: dict[str, dict[str, Any]] = field(default_factory=dict)  # by name, instead of transform_job

    def describe_training_job(self, TrainingJobName: str) -> dict[str, Any]:  # noqa: N803 (boto3's names)
        return {"TrainingJobName": TrainingJobName, **self.training_job}

    def describe_endpoint(self, EndpointName: str) -> dict[str, Any]:  # noqa: N803
        return {"EndpointName": EndpointName, **self.endpoint}

    def describe_processing_job(self, ProcessingJobName: str) -> dict[str, Any]:  # noqa: N803
        return {"ProcessingJobName": ProcessingJobName, **self.processing_job}

    def describe_transform_job(self, TransformJobName: str) -> dict[str, Any]:  # noqa: N803
        return {"TransformJobName": TransformJobName, **self.transform_jobs.get(TransformJobName, self.transform_job)}


def test_completed_job_reports_artifact_and_final_metrics() -> None:
    sagemaker = RecordedSageMaker(
        training_job={
            "TrainingJobStatus": "Completed",
            "SecondaryStatus": "Completed",
            "ModelArtifacts": {"S3ModelArtifacts": "s3://b/models/churn/churn-1/output/model.tar.gz"},
            "FinalMetricDataList": [
                {"MetricName": "validation:rmse", "Value": 0.25},
                {"MetricName": "train:objective_loss", "Value": 0.1},
            ],
        }
    )

    state = training_status(TrainingJobState.from_state(TRAINING), sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    assert state.status == "Completed"
    assert state.model_artifact == "s3://b/models/churn/churn-1/output/model.tar.gz"
    assert state.metrics == {"validation:rmse": 0.25, "train:objective_loss": 0.1}
    assert (state.waited_seconds, state.wait_exceeded, state.poll_seconds) == (1800, False, 300)


def test_failed_job_carries_sagemakers_reason() -> None:
    sagemaker = RecordedSageMaker(
        training_job={"TrainingJobStatus": "Failed", "FailureReason": "ClientError: no data in channel train"}
    )

    state = training_status(TrainingJobState.from_state(TRAINING), sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    assert (state.status, state.failure_reason) == ("Failed", "ClientError: no data in channel train")


def test_stopped_job_explains_the_maximum_runtime() -> None:
    sagemaker = RecordedSageMaker(
        training_job={"TrainingJobStatus": "Stopped", "SecondaryStatus": "MaxRuntimeExceeded"}
    )

    state = training_status(TrainingJobState.from_state(TRAINING), sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    assert state.status == "Stopped"
    assert state.failure_reason is not None
    assert "MaxRuntimeExceeded" in state.failure_reason


def test_job_running_past_the_maximum_wait_is_flagged() -> None:
    sagemaker = RecordedSageMaker(training_job={"TrainingJobStatus": "InProgress", "SecondaryStatus": "Training"})
    started_long_ago = {**TRAINING, "started_at": "2026-11-22T06:59:59.000Z"}

    state = training_status(
        TrainingJobState.from_state(started_long_ago), sagemaker=sagemaker, settings=SETTINGS, now=NOW
    )

    assert (state.status, state.waited_seconds, state.wait_exceeded) == ("InProgress", 3601, True)


def test_endpoint_in_service_on_the_new_config_is_a_success() -> None:
    sagemaker = RecordedSageMaker(endpoint={"EndpointStatus": "InService", "EndpointConfigName": "churn-new"})

    state = endpoint_status(DeploymentState.from_state(DEPLOYMENT), sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    assert (state.status, state.serving_new_model, state.failure_reason) == ("InService", True, None)


def test_endpoint_back_in_service_on_the_old_config_is_a_failed_deployment() -> None:
    sagemaker = RecordedSageMaker(
        endpoint={
            "EndpointStatus": "InService",
            "EndpointConfigName": "churn-old",
            "FailureReason": (
                "The primary container for production variant AllTraffic did not pass the ping health check."
            ),
        }
    )

    state = endpoint_status(DeploymentState.from_state(DEPLOYMENT), sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    assert state.status == "InService"
    assert not state.serving_new_model
    assert state.failure_reason is not None
    assert "churn-old" in state.failure_reason
    assert "ping health check" in state.failure_reason


@pytest.mark.parametrize("status", ["Failed", "OutOfService", "UpdateRollbackFailed"])
def test_failed_endpoint_statuses_name_the_status_and_reason(status: str) -> None:
    sagemaker = RecordedSageMaker(
        endpoint={"EndpointStatus": status, "EndpointConfigName": "churn-new", "FailureReason": "capacity"}
    )

    state = endpoint_status(DeploymentState.from_state(DEPLOYMENT), sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    assert state.failure_reason == f"endpoint churn is {status}: capacity"
    assert not state.serving_new_model


@pytest.mark.parametrize(("started_at", "exceeded"), [("2026-11-22T07:50:00Z", False), ("2026-11-22T07:44:59Z", True)])
def test_deployment_wait_is_measured_from_the_rollouts_start(started_at: str, exceeded: bool) -> None:
    sagemaker = RecordedSageMaker(endpoint={"EndpointStatus": "SystemUpdating", "EndpointConfigName": "churn-old"})

    state = endpoint_status(
        DeploymentState.from_state({**DEPLOYMENT, "started_at": started_at}),
        sagemaker=sagemaker,
        settings=SETTINGS,
        now=NOW,
    )

    assert state.status == "SystemUpdating"
    assert state.wait_exceeded is exceeded


@pytest.mark.parametrize(
    ("expected", "poll_seconds"),
    # at 1,800 s: without history every 10 intervals; a 2-hour expectation checks next at the band's start, 5,760 s
    # (5,760 s / 3 = 1,920 s is sooner than 10 intervals away)
    [(None, 300), (7200, 3960)],
    ids=["no-history", "expected-2h"],
)
def test_the_next_training_wait_follows_the_previous_runs_duration(expected: int | None, poll_seconds: int) -> None:
    sagemaker = RecordedSageMaker(training_job={"TrainingJobStatus": "InProgress"})
    settings = replace(SETTINGS, max_training_wait_seconds=86_400)

    state = training_status(
        TrainingJobState.from_state(TRAINING),
        sagemaker=sagemaker,
        settings=settings,
        now=NOW,
        expected_seconds=expected,
    )

    assert (state.waited_seconds, state.poll_seconds) == (1800, poll_seconds)


def test_the_next_deployment_wait_follows_the_previous_runs_duration() -> None:
    # GIVEN an update 600 s in, whose previous one took 600 s: inside the band, the safety net every 10 intervals
    sagemaker = RecordedSageMaker(endpoint={"EndpointStatus": "Updating", "EndpointConfigName": "churn-old"})

    state = endpoint_status(
        DeploymentState.from_state(DEPLOYMENT), sagemaker=sagemaker, settings=SETTINGS, now=NOW, expected_seconds=600
    )

    assert (state.waited_seconds, state.poll_seconds) == (600, 300)


PREPROCESSING_SETTINGS = replace(SETTINGS, max_preprocessing_wait_seconds=2400)
PREPROCESSING = {
    "job_name": "churn-1",
    "status": "InProgress",
    "failure_reason": None,
    "training_data_uri": "s3://b/preprocessed/churn/churn-1/train/",
    "model_artifact": "s3://b/preprocessed/churn/churn-1/model/model.tar.gz",
    "started_at": "2026-11-22T07:30:00.000Z",
    "waited_seconds": 0,
    "wait_exceeded": False,
    "poll_seconds": 300,
}


def test_completed_processing_job_keeps_its_outputs_and_measures_the_wait() -> None:
    # GIVEN a processing job that completed
    sagemaker = RecordedSageMaker(processing_job={"ProcessingJobStatus": "Completed", "ExitMessage": "done"})

    # WHEN its status is asked 30 minutes after it started
    state = preprocessing_status(
        PreprocessingState.from_state(PREPROCESSING), sagemaker=sagemaker, settings=PREPROCESSING_SETTINGS, now=NOW
    )

    # THEN it completed with no failure (SageMaker's exit message is not one), where StartPreprocessing said
    assert (state.status, state.failure_reason) == ("Completed", None)
    assert (state.training_data_uri, state.model_artifact) == (
        PREPROCESSING["training_data_uri"],
        PREPROCESSING["model_artifact"],
    )
    assert (state.waited_seconds, state.wait_exceeded, state.poll_seconds) == (1800, False, 300)


@pytest.mark.parametrize(
    ("job", "reason"),
    [
        (
            {"ProcessingJobStatus": "Failed", "FailureReason": "AlgorithmError: KeyError 'plan'"},
            "processing job churn-1 failed: AlgorithmError: KeyError 'plan'",
        ),
        (
            {"ProcessingJobStatus": "Failed", "ExitMessage": "python3 exited with 1"},
            "processing job churn-1 failed: python3 exited with 1",
        ),
        ({"ProcessingJobStatus": "Failed"}, "processing job churn-1 failed without a reason from SageMaker"),
        (
            {"ProcessingJobStatus": "Stopped"},
            "processing job churn-1 was stopped; a job that reaches its maximum runtime ends this way",
        ),
        (
            {"ProcessingJobStatus": "Stopped", "FailureReason": "stopped by CleanUp"},
            "processing job churn-1 stopped: stopped by CleanUp",
        ),
    ],
    ids=["failed-with-reason", "failed-with-exit-message", "failed-without-reason", "stopped", "stopped-with-reason"],
)
def test_a_processing_job_that_did_not_complete_says_why(job: dict[str, Any], reason: str) -> None:
    sagemaker = RecordedSageMaker(processing_job=job)

    state = preprocessing_status(
        PreprocessingState.from_state(PREPROCESSING), sagemaker=sagemaker, settings=PREPROCESSING_SETTINGS, now=NOW
    )

    assert (state.status, state.failure_reason) == (job["ProcessingJobStatus"], reason)


@pytest.mark.parametrize(
    ("started_at", "waited", "exceeded", "poll_seconds"),
    [
        # 100 s before the limit: the next check lands one second past it, not a safety-net interval later
        ("2026-11-22T07:21:40.000Z", 2300, False, 101),
        ("2026-11-22T07:19:59.000Z", 2401, True, 30),
    ],
    ids=["near-the-limit", "past-the-limit"],
)
def test_a_processing_job_running_past_the_maximum_wait_is_flagged(
    started_at: str, waited: int, exceeded: bool, poll_seconds: int
) -> None:
    sagemaker = RecordedSageMaker(processing_job={"ProcessingJobStatus": "InProgress", "FailureReason": "stale"})

    state = preprocessing_status(
        PreprocessingState.from_state({**PREPROCESSING, "started_at": started_at}),
        sagemaker=sagemaker,
        settings=PREPROCESSING_SETTINGS,
        now=NOW,
    )

    assert (state.status, state.failure_reason) == ("InProgress", None)
    assert (state.waited_seconds, state.wait_exceeded, state.poll_seconds) == (waited, exceeded, poll_seconds)


def test_the_preprocessing_wait_limit_is_read_only_when_set() -> None:
    environment = {
        "POLL_INTERVAL_SECONDS": "30",
        "MAX_TRAINING_WAIT_SECONDS": "3600",
        "MAX_DEPLOYMENT_WAIT_SECONDS": "900",
    }

    assert PollSettings.from_env(environment) == SETTINGS
    assert PollSettings.from_env({**environment, "MAX_PREPROCESSING_WAIT_SECONDS": "2400"}) == PREPROCESSING_SETTINGS


TRANSFORM_SETTINGS = replace(SETTINGS, max_batch_transform_wait_seconds=2400)
TRANSFORM = {
    "job_name": "churn-1",
    "status": "InProgress",
    "failure_reason": None,
    "day": "2026-11-21",
    "input_uri": "s3://b/daily/2026-11-21.csv",
    "output_uri": "s3://b/predictions/daily/",
    "started_at": "2026-11-22T07:30:00.000Z",
    "waited_seconds": 0,
    "wait_exceeded": False,
    "poll_seconds": 600,
}


def test_completed_transform_job_keeps_where_it_read_and_wrote_and_measures_the_wait() -> None:
    # GIVEN a transform job that completed (a stale reason is not a failure)
    sagemaker = RecordedSageMaker(transform_job={"TransformJobStatus": "Completed", "FailureReason": "stale"})

    # WHEN its status is asked 30 minutes after it started
    state = batch_transform_status(
        BatchTransformState.from_state(TRANSFORM), sagemaker=sagemaker, settings=TRANSFORM_SETTINGS, now=NOW
    )

    # THEN it completed with no failure, its day, input and output as StartBatchTransform said
    assert (state.status, state.failure_reason) == ("Completed", None)
    assert (state.day, state.input_uri, state.output_uri) == (
        TRANSFORM["day"],
        TRANSFORM["input_uri"],
        TRANSFORM["output_uri"],
    )
    assert (state.waited_seconds, state.wait_exceeded, state.poll_seconds) == (1800, False, 300)


@pytest.mark.parametrize(
    ("job", "reason"),
    [
        (
            {"TransformJobStatus": "Failed", "FailureReason": "ClientError: See job logs"},
            "transform job churn-1 over s3://b/daily/2026-11-21.csv failed: ClientError: See job logs",
        ),
        (
            {"TransformJobStatus": "Failed"},
            "transform job churn-1 over s3://b/daily/2026-11-21.csv failed: SageMaker gave no reason",
        ),
        (
            {"TransformJobStatus": "Stopped", "FailureReason": "stopped past the wait"},
            "transform job churn-1 over s3://b/daily/2026-11-21.csv stopped: stopped past the wait",
        ),
        (
            {"TransformJobStatus": "Stopped", "FailureReason": ""},
            "transform job churn-1 over s3://b/daily/2026-11-21.csv stopped: SageMaker gave no reason",
        ),
    ],
    ids=["failed-with-reason", "failed-without-reason", "stopped-with-reason", "stopped-with-empty-reason"],
)
def test_a_transform_job_that_did_not_complete_says_which_and_why(job: dict[str, Any], reason: str) -> None:
    sagemaker = RecordedSageMaker(transform_job=job)

    state = batch_transform_status(
        BatchTransformState.from_state(TRANSFORM), sagemaker=sagemaker, settings=TRANSFORM_SETTINGS, now=NOW
    )

    assert (state.status, state.failure_reason) == (job["TransformJobStatus"], reason)


@pytest.mark.parametrize(
    ("settings", "started_at", "waited", "exceeded", "poll_seconds"),
    [
        (TRANSFORM_SETTINGS, "2026-11-22T07:21:40.000Z", 2300, False, 101),
        (TRANSFORM_SETTINGS, "2026-11-22T07:19:59.000Z", 2401, True, 30),
        # without a limit (a stack that did not set one) the wait is never exceeded
        (SETTINGS, "2026-11-22T05:00:00.000Z", 10800, False, 300),
    ],
    ids=["near-the-limit", "past-the-limit", "no-limit"],
)
def test_a_transform_job_running_past_the_maximum_wait_is_flagged(
    settings: PollSettings, started_at: str, waited: int, exceeded: bool, poll_seconds: int
) -> None:
    sagemaker = RecordedSageMaker(transform_job={"TransformJobStatus": "InProgress"})

    state = batch_transform_status(
        BatchTransformState.from_state({**TRANSFORM, "started_at": started_at}),
        sagemaker=sagemaker,
        settings=settings,
        now=NOW,
    )

    assert (state.status, state.failure_reason) == ("InProgress", None)
    assert (state.waited_seconds, state.wait_exceeded, state.poll_seconds) == (waited, exceeded, poll_seconds)


def test_a_transform_section_missing_fields_is_an_invalid_event_naming_them() -> None:
    with pytest.raises(InvalidStepEventError, match="'batch_transform' lacks input_uri, output_uri"):
        batch_transform_status(
            BatchTransformState.from_state(
                {k: v for k, v in TRANSFORM.items() if k not in ("input_uri", "output_uri")}
            ),
            sagemaker=RecordedSageMaker(),
            settings=TRANSFORM_SETTINGS,
            now=NOW,
        )


def test_the_batch_transform_wait_limit_is_read_only_when_set() -> None:
    environment = {
        "POLL_INTERVAL_SECONDS": "30",
        "MAX_TRAINING_WAIT_SECONDS": "3600",
        "MAX_DEPLOYMENT_WAIT_SECONDS": "900",
    }

    assert PollSettings.from_env(environment) == SETTINGS
    assert PollSettings.from_env({**environment, "MAX_BATCH_TRANSFORM_WAIT_SECONDS": "2400"}) == TRANSFORM_SETTINGS


EVALUATION_SETTINGS = replace(SETTINGS, max_evaluation_wait_seconds=2400)
EVALUATION = HoldoutEvaluationState(
    holdout_uri="s3://b/manifests/churn/churn-1.holdout.manifest",
    candidate_model="churn-1",
    candidate_job="churn-1-new",
    candidate_output_uri="s3://b/evaluation/churn/churn-1/candidate/",
    production_model="churn-0",
    production_job="churn-1-prod",
    production_output_uri="s3://b/evaluation/churn/churn-1/production/",
    job_name="churn-1-new",
    status="InProgress",
    failure_reason=None,
    started_at="2026-11-22T07:30:00.000Z",
    waited_seconds=0,
    wait_exceeded=False,
    poll_seconds=600,
)


def evaluation_of(new: str, prod: str | None, reason: str | None = None, **fields: Any) -> HoldoutEvaluationState:
    ended: dict[str, Any] = (
        {"FailureReason": reason} if reason else {}
    )  # on both: only a job that did not complete is reported
    jobs = {"churn-1-new": {"TransformJobStatus": new, **ended}, "churn-1-prod": {"TransformJobStatus": prod, **ended}}
    if prod is None:  # no production model to score
        fields.update(production_model=None, production_job=None, production_output_uri=None)
    sagemaker: Any = RecordedSageMaker(transform_jobs=jobs)  # DescribeTransformJob only
    return evaluation_status(replace(EVALUATION, **fields), sagemaker=sagemaker, settings=EVALUATION_SETTINGS, now=NOW)


@pytest.mark.parametrize(
    ("new", "prod", "status", "awaited"),
    [
        ("InProgress", "InProgress", "InProgress", "churn-1-new"),
        ("InProgress", "Completed", "InProgress", "churn-1-new"),
        ("Completed", "InProgress", "InProgress", "churn-1-prod"),
        ("Completed", "Stopping", "InProgress", "churn-1-prod"),
        ("Completed", "Completed", "Completed", "churn-1-new"),
        ("Completed", None, "Completed", "churn-1-new"),
    ],
)
def test_the_evaluation_awaits_the_first_running_job(new: str, prod: str | None, status: str, awaited: str) -> None:
    state = evaluation_of(new, prod, "stale")

    assert (state.status, state.job_name, state.failure_reason) == (status, awaited, None)
    assert (state.waited_seconds, state.wait_exceeded, state.poll_seconds) == (1800, False, 300)


@pytest.mark.parametrize(
    ("new", "prod", "reason", "failed"),
    [
        ("Failed", "InProgress", "ClientError: no", "churn-1-new (model churn-1) over the holdout {} failed: {}"),
        ("Completed", "Stopped", None, "churn-1-prod (model churn-0) over the holdout {} stopped: {}"),
    ],
)
def test_a_job_that_did_not_complete_fails_the_evaluation(new: str, prod: str, reason: str | None, failed: str) -> None:
    state = evaluation_of(new, prod, reason)

    message = "evaluation transform job " + failed.format(EVALUATION.holdout_uri, reason or "SageMaker gave no reason")
    assert (state.status, state.failure_reason) == ("Failed", message)


def test_an_evaluation_running_past_its_maximum_wait_is_flagged() -> None:
    state = evaluation_of("Completed", "InProgress", started_at="2026-11-22T07:19:59.000Z")

    assert (state.status, state.waited_seconds, state.wait_exceeded) == ("InProgress", 2401, True)
