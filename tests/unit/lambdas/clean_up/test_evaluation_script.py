"""CleanUp of a run whose evaluation script's processing job (`<run>-eval`) may still run, against moto's SageMaker."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import boto3
import pytest
from moto.sagemaker.models import sagemaker_backends

from lambdas.clean_up.core import CleanUpSettings, clean_up
from lambdas.common.evaluation import EvaluationScript
from lambdas.common.events import Execution
from lambdas.common.names import SCRIPT_JOB_ROLE, run_job_name, run_resource_name, run_tags
from lambdas.start_evaluation.script import ModelArtifacts, processing_job_request
from tests.conftest import ACCOUNT, REGION

SETTINGS = CleanUpSettings(pipeline="churn", endpoint_name="churn", evaluate_by_script=True)
SCRIPT = EvaluationScript(
    code_uri="s3://assets/0f3c9a.tar.gz",
    entry_point="evaluate.py",
    image="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
    volume_size_gb=30,
)


@pytest.fixture
def sagemaker(aws: None) -> Any:
    return boto3.client("sagemaker")


def other_run(execution: Execution, name: str) -> Execution:
    return replace(execution, id=execution.id.rsplit(":", 1)[0] + f":{name}", name=name)


def start_processing_job(sagemaker: Any, name: str, status: str, started_by: Execution) -> str:
    """A processing job as StartEvaluation starts the script's, in `status` (moto completes jobs at once)."""
    run_id = run_resource_name("churn", started_by)
    request = processing_job_request(
        name,
        holdout_manifest=f"s3://data/manifests/churn/{run_id}.holdout.manifest",
        output_uri=f"s3://data/evaluation/churn/{run_id}/script",
        candidate=ModelArtifacts(model=run_id, artifacts=(("model", f"s3://data/models/{run_id}/model.tar.gz"),)),
        production=None,
        script=SCRIPT,
        task=None,
        instance_type="ml.m5.large",
        max_runtime_seconds=3600,
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/churn-sagemaker",
        tags=run_tags("churn", started_by),
    )
    sagemaker.create_processing_job(**request)
    sagemaker_backends[ACCOUNT][REGION].processing_jobs[name].processing_job_status = status
    return name


def start_evaluation_job(
    sagemaker: Any, execution: Execution, status: str = "InProgress", *, started_by: Execution | None = None
) -> str:
    """The run's evaluation script's job, created by `started_by` (default: the run)."""
    name = run_job_name("churn", execution, SCRIPT_JOB_ROLE)
    return start_processing_job(sagemaker, name, status, started_by or execution)


def processing_status(sagemaker: Any, job: str) -> str:
    return str(sagemaker.describe_processing_job(ProcessingJobName=job)["ProcessingJobStatus"])


def test_the_runs_evaluation_job_still_running_is_stopped(sagemaker: Any, execution: Execution) -> None:
    # GIVEN a run that failed while its evaluation script ran
    job = start_evaluation_job(sagemaker, execution)

    # WHEN it is cleaned up
    report = clean_up(execution, sagemaker=sagemaker, settings=SETTINGS)

    # THEN the job is stopped and the report names it
    assert job.endswith("-eval")
    assert processing_status(sagemaker, job) == "Stopped"
    assert report.stopped_evaluation_job == job
    assert (report.stopped_processing_job, report.stopped_transform_jobs, report.kept) == (None, [], [])


def test_an_evaluation_job_started_by_another_execution_is_kept(sagemaker: Any, execution: Execution) -> None:
    # GIVEN a running processing job of this run's evaluation name that another execution created
    elsewhere = other_run(execution, "elsewhere")
    job = start_evaluation_job(sagemaker, execution, started_by=elsewhere)

    report = clean_up(execution, sagemaker=sagemaker, settings=SETTINGS)

    assert processing_status(sagemaker, job) == "InProgress"
    assert report.stopped_evaluation_job is None
    assert report.kept == [f"processing job {job}: started by {elsewhere.id}, not by this run"]


@pytest.mark.parametrize("status", ["Completed", "Failed", "Stopped", "Stopping"])
def test_an_evaluation_job_that_is_not_running_is_left_as_it_is(
    sagemaker: Any, execution: Execution, status: str
) -> None:
    job = start_evaluation_job(sagemaker, execution, status)

    report = clean_up(execution, sagemaker=sagemaker, settings=SETTINGS)

    assert processing_status(sagemaker, job) == status
    assert report.stopped_evaluation_job is None


@pytest.mark.parametrize(
    "settings",
    [replace(SETTINGS, evaluate_by_script=False), replace(SETTINGS, evaluate_by_script=False, evaluate=True)],
    ids=["no-evaluation", "builtin-evaluation"],
)
def test_without_the_script_no_evaluation_processing_job_is_looked_at(
    sagemaker: Any, execution: Execution, settings: CleanUpSettings
) -> None:
    job = start_evaluation_job(sagemaker, execution)

    report = clean_up(execution, sagemaker=sagemaker, settings=settings)

    assert processing_status(sagemaker, job) == "InProgress"
    assert report.stopped_evaluation_job is None


def test_the_preprocessing_and_the_evaluation_jobs_are_told_apart(sagemaker: Any, execution: Execution) -> None:
    # GIVEN a pipeline with preprocessing and an evaluation script, both of the run's processing jobs running
    preprocessing = start_processing_job(sagemaker, run_resource_name("churn", execution), "InProgress", execution)
    evaluation = start_evaluation_job(sagemaker, execution)

    report = clean_up(execution, sagemaker=sagemaker, settings=replace(SETTINGS, preprocess=True))

    # THEN each is stopped and reported in its own field
    assert (report.stopped_processing_job, report.stopped_evaluation_job) == (preprocessing, evaluation)
    assert processing_status(sagemaker, preprocessing) == processing_status(sagemaker, evaluation) == "Stopped"


def test_the_settings_know_the_evaluation_script_from_its_variable() -> None:
    script = {
        "kind": "script",
        "task": None,
        "instance_type": "ml.m5.large",
        "output_prefix": "evaluation/churn",
        "max_wait_seconds": 3600,
        "script": {
            "code_uri": SCRIPT.code_uri,
            "entry_point": SCRIPT.entry_point,
            "image": SCRIPT.image,
            "volume_size_gb": SCRIPT.volume_size_gb,
        },
    }
    environment = {"PIPELINE_NAME": "churn", "ENDPOINT_NAME": "churn", "EVALUATION": json.dumps(script)}

    assert CleanUpSettings.from_env(environment) == SETTINGS
