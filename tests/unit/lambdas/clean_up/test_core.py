"""CleanUp against moto's SageMaker: what a failed run leaves is removed, what serves is kept."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto.sagemaker.models import sagemaker_backends

from lambdas.clean_up.core import CleanUpSettings, clean_up
from lambdas.common.events import Execution
from lambdas.common.names import JOB_ROLES, run_job_name, run_resource_name, run_tags
from lambdas.common.transform import transform_job_request
from lambdas.deploy_model.core import DeploySettings, deploy_model
from lambdas.start_preprocessing.core import PreprocessingSettings, start_preprocessing
from lambdas.start_training_job.core import TrainingSettings, start_training_job, training_job_request
from tests.conftest import ACCOUNT, REGION
from tests.fakes.sagemaker import EndpointUpdating
from tests.unit.lambdas.states import run_section, training_section

NOW = datetime(2026, 11, 22, 8, 0, 0, tzinfo=UTC)
SETTINGS = CleanUpSettings(pipeline="churn", endpoint_name="churn")
DEPLOY = DeploySettings(
    pipeline="churn",
    endpoint_name="churn",
    instance_type="ml.m5.large",
    instance_count=1,
    image="382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1",
    role_arn=f"arn:aws:iam::{ACCOUNT}:role/churn-sagemaker",
    poll_interval_seconds=30,
)
TRAINING = TrainingSettings(
    pipeline="churn",
    bucket="data",
    model_prefix="models/churn",
    image=DEPLOY.image,
    role_arn=DEPLOY.role_arn,
    instance_type="ml.m5.large",
    instance_count=1,
    volume_size_gb=10,
    max_runtime_seconds=3600,
    hyperparameters={},
    poll_interval_seconds=30,
)


@pytest.fixture
def sagemaker(aws: None) -> Any:
    return boto3.client("sagemaker")


def other_run(execution: Execution, name: str) -> Execution:
    return replace(execution, id=execution.id.rsplit(":", 1)[0] + f":{name}", name=name)


def deploy(sagemaker: Any, execution: Execution) -> str:
    run_id = run_resource_name("churn", execution)
    training = training_section(job_name=run_id, model_artifact=f"s3://data/models/churn/{run_id}/output/model.tar.gz")
    deploy_model(training, execution, sagemaker=sagemaker, settings=DEPLOY, now=NOW)
    return run_id


def names(sagemaker: Any) -> tuple[set[str], set[str]]:
    models = {m["ModelName"] for m in sagemaker.list_models()["Models"]}
    configs = {c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]}
    return models, configs


def set_endpoint(status: str, config: str | None = None) -> None:
    endpoint = sagemaker_backends[ACCOUNT][REGION].endpoints["churn"]
    endpoint.endpoint_status = status
    if config is not None:
        endpoint.endpoint_config_name = config


def test_after_a_failed_update_the_run_model_and_config_go_and_the_serving_ones_stay(
    sagemaker: Any, execution: Execution
) -> None:
    # GIVEN an endpoint serving an earlier run, and this run's update that SageMaker rolled back
    serving = deploy(sagemaker, other_run(execution, "yesterday"))
    failed = deploy(sagemaker, execution)
    set_endpoint("InService", config=serving)

    # WHEN the failed run is cleaned up
    report = clean_up(execution, sagemaker=sagemaker, settings=SETTINGS)

    # THEN only the serving model and config are left
    assert names(sagemaker) == ({serving}, {serving})
    assert (report.deleted_model, report.deleted_endpoint_config, report.deleted_endpoint) == (failed, failed, None)
    assert sagemaker.describe_endpoint(EndpointName="churn")["EndpointStatus"] == "InService"


def test_a_run_whose_deployment_serves_keeps_everything(sagemaker: Any, execution: Execution) -> None:
    # GIVEN a run that deployed (a later step, e.g. the watermark update, failed)
    run_id = deploy(sagemaker, execution)

    report = clean_up(execution, sagemaker=sagemaker, settings=SETTINGS)

    assert names(sagemaker) == ({run_id}, {run_id})
    assert report.kept == [f"endpoint config and model {run_id}: endpoint churn uses them"]


def test_a_config_the_endpoint_is_still_switching_to_is_kept(sagemaker: Any, execution: Execution) -> None:
    # GIVEN a run that gave up waiting while the endpoint still switches to its config
    serving = deploy(sagemaker, other_run(execution, "yesterday"))
    pending = deploy(sagemaker, execution)
    set_endpoint("InService", config=serving)

    report = clean_up(execution, sagemaker=EndpointUpdating(sagemaker, serving, pending), settings=SETTINGS)

    assert names(sagemaker) == ({serving, pending}, {serving, pending})
    assert report.deleted_model is None
    assert report.deleted_endpoint_config is None


def test_an_endpoint_whose_first_creation_failed_is_removed_with_the_run(sagemaker: Any, execution: Execution) -> None:
    # GIVEN the pipeline's first deployment, which ended Failed
    run_id = deploy(sagemaker, execution)
    set_endpoint("Failed")

    report = clean_up(execution, sagemaker=sagemaker, settings=SETTINGS)

    assert sagemaker.list_endpoints()["Endpoints"] == []
    assert names(sagemaker) == (set(), set())
    assert (report.deleted_endpoint, report.deleted_model, report.deleted_endpoint_config) == ("churn", run_id, run_id)


def test_a_failed_endpoint_on_an_earlier_config_is_left_for_a_person(sagemaker: Any, execution: Execution) -> None:
    earlier = deploy(sagemaker, other_run(execution, "yesterday"))
    set_endpoint("Failed")

    report = clean_up(execution, sagemaker=sagemaker, settings=SETTINGS)

    assert report.deleted_endpoint is None
    assert names(sagemaker) == ({earlier}, {earlier})


def start_job(sagemaker: Any, execution: Execution, status: str) -> str:
    run = run_section(run_id=run_resource_name("churn", execution), manifest_uri="s3://data/manifests/m.manifest")
    start_training_job(run, execution, sagemaker=sagemaker, settings=TRAINING, now=NOW)
    sagemaker_backends[ACCOUNT][REGION].training_jobs[run.run_id].training_job_status = status
    return run.run_id


def test_the_run_training_job_still_running_is_stopped(sagemaker: Any, execution: Execution) -> None:
    job = start_job(sagemaker, execution, "InProgress")

    report = clean_up(execution, sagemaker=sagemaker, settings=SETTINGS)

    assert sagemaker.describe_training_job(TrainingJobName=job)["TrainingJobStatus"] == "Stopped"
    assert report.stopped_training_job == job


@pytest.mark.parametrize("status", ["Completed", "Failed", "Stopped", "Stopping"])
def test_a_training_job_that_is_not_running_is_left_as_it_is(sagemaker: Any, execution: Execution, status: str) -> None:
    job = start_job(sagemaker, execution, status)

    report = clean_up(execution, sagemaker=sagemaker, settings=SETTINGS)

    assert sagemaker.describe_training_job(TrainingJobName=job)["TrainingJobStatus"] == status
    assert report.stopped_training_job is None


def test_a_job_of_that_name_started_by_another_execution_is_not_stopped(sagemaker: Any, execution: Execution) -> None:
    # GIVEN a running job carrying this run's name but another execution's tag
    job = run_resource_name("churn", execution)
    request = training_job_request(job, "s3://data/manifests/m.manifest", other_run(execution, "elsewhere"), TRAINING)
    sagemaker.create_training_job(**request)
    sagemaker_backends[ACCOUNT][REGION].training_jobs[job].training_job_status = "InProgress"

    report = clean_up(execution, sagemaker=sagemaker, settings=SETTINGS)

    assert sagemaker.describe_training_job(TrainingJobName=job)["TrainingJobStatus"] == "InProgress"
    assert report.stopped_training_job is None
    assert "not by this run" in report.kept[0]


def test_a_run_that_created_nothing_is_a_no_op_and_a_retry_changes_nothing(
    sagemaker: Any, execution: Execution
) -> None:
    serving = deploy(sagemaker, other_run(execution, "yesterday"))
    deploy(sagemaker, execution)
    set_endpoint("InService", config=serving)
    clean_up(execution, sagemaker=sagemaker, settings=SETTINGS)

    again = clean_up(execution, sagemaker=sagemaker, settings=SETTINGS)
    nothing = clean_up(other_run(execution, "checkdata-failed"), sagemaker=sagemaker, settings=SETTINGS)

    for report in (again, nothing):
        assert (report.stopped_training_job, report.deleted_model, report.deleted_endpoint_config) == (None, None, None)
    assert names(sagemaker) == ({serving}, {serving})


PREPROCESSING = PreprocessingSettings(
    pipeline="churn",
    bucket="data",
    output_prefix="preprocessed/churn",
    code_uri="s3://assets/source.tar.gz",
    entry_point="preprocess.py",
    image="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
    instance_type="ml.m5.large",
    volume_size_gb=30,
    max_runtime_seconds=3600,
    role_arn=DEPLOY.role_arn,
    poll_interval_seconds=30,
)
PREPROCESSING_SETTINGS = replace(SETTINGS, preprocess=True)


def start_processing(sagemaker: Any, execution: Execution, *, started_by: Execution | None = None) -> str:
    """The run's processing job, running (moto completes jobs at once), created by `started_by` (default: the run)."""
    run = run_section(run_id=run_resource_name("churn", execution), manifest_uri="s3://data/manifests/m.manifest")
    start_preprocessing(run, started_by or execution, sagemaker=sagemaker, settings=PREPROCESSING, now=NOW)
    sagemaker_backends[ACCOUNT][REGION].processing_jobs[run.run_id].processing_job_status = "InProgress"
    return run.run_id


def processing_status(sagemaker: Any, job: str) -> str:
    return str(sagemaker.describe_processing_job(ProcessingJobName=job)["ProcessingJobStatus"])


def test_the_run_processing_job_still_running_is_stopped(sagemaker: Any, execution: Execution) -> None:
    # GIVEN a run of a pipeline with preprocessing that failed while its processing job ran
    job = start_processing(sagemaker, execution)

    # WHEN it is cleaned up
    report = clean_up(execution, sagemaker=sagemaker, settings=PREPROCESSING_SETTINGS)

    # THEN the job is stopped and the report says so
    assert processing_status(sagemaker, job) == "Stopped"
    assert report.stopped_processing_job == job
    assert report.kept == []


def test_a_processing_job_started_by_another_execution_is_kept(sagemaker: Any, execution: Execution) -> None:
    # GIVEN a running processing job with this run's name that another execution created
    job = start_processing(sagemaker, execution, started_by=other_run(execution, "elsewhere"))

    report = clean_up(execution, sagemaker=sagemaker, settings=PREPROCESSING_SETTINGS)

    assert processing_status(sagemaker, job) == "InProgress"
    assert report.stopped_processing_job is None
    assert report.kept == [f"processing job {job}: started by {other_run(execution, 'elsewhere').id}, not by this run"]


def test_without_preprocessing_no_processing_job_is_looked_at(sagemaker: Any, execution: Execution) -> None:
    # GIVEN a running processing job of the run's name, in a pipeline without preprocessing
    job = start_processing(sagemaker, execution)

    report = clean_up(execution, sagemaker=sagemaker, settings=SETTINGS)

    assert processing_status(sagemaker, job) == "InProgress"
    assert report.stopped_processing_job is None


def test_the_settings_know_preprocessing_from_its_variable() -> None:
    environment = {"PIPELINE_NAME": "churn", "ENDPOINT_NAME": "churn"}

    assert CleanUpSettings.from_env(environment) == SETTINGS
    assert CleanUpSettings.from_env({**environment, "PREPROCESSING": '{"image": "img"}'}) == PREPROCESSING_SETTINGS


EVALUATION_SETTINGS = replace(SETTINGS, evaluate=True)


class StopsTransformJobs:
    """moto's SageMaker with the StopTransformJob moto lacks: the job ends Stopped, as SageMaker's does after
    Stopping."""

    def __init__(self, sagemaker: Any) -> None:
        self._sagemaker = sagemaker

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sagemaker, name)

    def stop_transform_job(self, *, TransformJobName: str) -> None:  # noqa: N803 (boto3's names)
        sagemaker_backends[ACCOUNT][REGION].transform_jobs[TransformJobName].transform_job_status = "Stopped"


@pytest.fixture
def stopping(sagemaker: Any) -> Any:
    return StopsTransformJobs(sagemaker)


def start_evaluation_jobs(
    sagemaker: Any, execution: Execution, status: str, *, started_by: Execution | None = None, roles: int = 2
) -> list[str]:
    """The run's evaluation transform jobs (the new model's first), in `status`, created by `started_by` (default:
    the run)."""
    names = [run_job_name("churn", execution, role) for role in list(JOB_ROLES.values())[:roles]]
    for name in names:
        request = transform_job_request(
            name,
            run_resource_name("churn", execution),
            "s3://data/manifests/churn/h.holdout.manifest",
            "s3://data/evaluation/churn/",
            data_type="ManifestFile",
            tags=run_tags("churn", started_by or execution),
        )
        sagemaker.create_transform_job(**request)
        sagemaker_backends[ACCOUNT][REGION].transform_jobs[name].transform_job_status = status
    return names


def transform_statuses(sagemaker: Any, names: list[str]) -> list[str]:
    return [sagemaker.describe_transform_job(TransformJobName=name)["TransformJobStatus"] for name in names]


@pytest.mark.parametrize("roles", [2, 1], ids=["with-production", "new-model-only"])
def test_the_runs_evaluation_jobs_still_running_are_stopped(
    sagemaker: Any, stopping: Any, execution: Execution, roles: int
) -> None:
    # GIVEN a run that failed while its evaluation's transform jobs ran
    jobs = start_evaluation_jobs(sagemaker, execution, "InProgress", roles=roles)

    # WHEN it is cleaned up
    report = clean_up(execution, sagemaker=stopping, settings=EVALUATION_SETTINGS)

    # THEN each is stopped, and the report names them
    assert transform_statuses(sagemaker, jobs) == ["Stopped"] * roles
    assert report.stopped_transform_jobs == jobs
    assert report.kept == []


def test_evaluation_jobs_started_by_another_execution_are_kept(
    sagemaker: Any, stopping: Any, execution: Execution
) -> None:
    # GIVEN running transform jobs carrying this run's evaluation names that another execution created
    elsewhere = other_run(execution, "elsewhere")
    jobs = start_evaluation_jobs(sagemaker, execution, "InProgress", started_by=elsewhere)

    report = clean_up(execution, sagemaker=stopping, settings=EVALUATION_SETTINGS)

    assert transform_statuses(sagemaker, jobs) == ["InProgress", "InProgress"]
    assert report.stopped_transform_jobs == []
    assert report.kept == [f"transform job {job}: started by {elsewhere.id}, not by this run" for job in jobs]


@pytest.mark.parametrize("status", ["Completed", "Failed", "Stopped", "Stopping"])
def test_evaluation_jobs_that_are_not_running_are_left_as_they_are(
    sagemaker: Any, stopping: Any, execution: Execution, status: str
) -> None:
    jobs = start_evaluation_jobs(sagemaker, execution, status)

    report = clean_up(execution, sagemaker=stopping, settings=EVALUATION_SETTINGS)

    assert transform_statuses(sagemaker, jobs) == [status, status]
    assert report.stopped_transform_jobs == []


def test_without_the_evaluation_no_transform_job_is_looked_at(
    sagemaker: Any, stopping: Any, execution: Execution
) -> None:
    jobs = start_evaluation_jobs(sagemaker, execution, "InProgress")

    report = clean_up(execution, sagemaker=stopping, settings=SETTINGS)

    assert transform_statuses(sagemaker, jobs) == ["InProgress", "InProgress"]
    assert report.stopped_transform_jobs == []


def test_the_settings_know_the_evaluation_from_its_variable() -> None:
    builtin = {
        "kind": "builtin",
        "task": "binary",
        "algorithm": "linear-learner",
        "accept": "application/jsonlines",
        "instance_type": "ml.m5.large",
        "output_prefix": "evaluation/churn",
        "max_wait_seconds": 3600,
    }
    environment = {"PIPELINE_NAME": "churn", "ENDPOINT_NAME": "churn", "EVALUATION": json.dumps(builtin)}

    assert CleanUpSettings.from_env(environment) == EVALUATION_SETTINGS


def test_the_runs_batch_transform_still_running_is_stopped(sagemaker: Any, stopping: Any, execution: Execution) -> None:
    # GIVEN a run stopped while its batch transform (a job named after the run) transformed the newest day
    run_id = run_resource_name("churn", execution)
    request = transform_job_request(
        run_id, run_id, "s3://data/manifests/churn/t.transform.manifest", "s3://data/predictions/churn/",
        data_type="ManifestFile", tags=run_tags("churn", execution),
    )  # fmt: skip
    sagemaker.create_transform_job(**request)
    sagemaker_backends[ACCOUNT][REGION].transform_jobs[run_id].transform_job_status = "InProgress"

    # WHEN it is cleaned up with the pipeline's batch transform configured
    report = clean_up(execution, sagemaker=stopping, settings=replace(SETTINGS, batch_transform=True))

    # THEN the job is stopped and named in the report
    assert transform_statuses(sagemaker, [run_id]) == ["Stopped"]
    assert report.stopped_transform_jobs == [run_id]
