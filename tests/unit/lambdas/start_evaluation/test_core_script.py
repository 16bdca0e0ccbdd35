"""StartEvaluation with the user's evaluation script, against moto's SageMaker: the new model, the one processing
job scoring it and the production model on the holdout, and its adoption on retry.

moto 5 keeps neither a processing job's Environment nor its ProcessingResources: DescribeProcessingJob answers
without them. `KeepsProcessingEnvironment` adds the Environment back (a retried attempt reads the production model
from it) and keeps each request for the tests to read.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from lambdas.common.errors import ResourceConflictError
from lambdas.common.evaluation import EvaluationScript, EvaluationSettings
from lambdas.common.events import Execution
from lambdas.common.inference import ServingPreprocessing
from lambdas.common.models import HoldoutEvaluationState, RunState, TrainingJobState
from lambdas.common.names import SCRIPT_JOB_ROLE, run_job_name, run_resource_name, run_tags
from lambdas.start_evaluation.core import StartEvaluationSettings, start_evaluation
from lambdas.start_evaluation.script import ModelArtifacts, processing_job_request
from tests.conftest import ACCOUNT
from tests.unit.lambdas.states import preprocessing_section, run_section, training_section

NOW = datetime(2026, 11, 22, 7, 0, 5, tzinfo=UTC)
BUCKET = "data"
IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
SCRIPT_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/churn-sagemaker"
SCRIPT = EvaluationScript(
    code_uri="s3://assets/0f3c9a.tar.gz", entry_point="evaluate.py", image=SCRIPT_IMAGE, volume_size_gb=20
)
SETTINGS = StartEvaluationSettings(
    pipeline="churn",
    bucket=BUCKET,
    endpoint_name="churn",
    image=IMAGE,
    role_arn=ROLE,
    poll_interval_seconds=60,
    evaluation=EvaluationSettings(
        kind="script",
        task=None,
        instance_type="ml.m5.xlarge",
        output_prefix="evaluation/churn",
        max_wait_seconds=3600,
        script=SCRIPT,
    ),
)
PRODUCTION = "churn-20261121060000-0badc0de"
PRODUCTION_ARTIFACT = f"s3://{BUCKET}/models/churn/{PRODUCTION}/output/model.tar.gz"


class KeepsProcessingEnvironment:
    """moto's SageMaker, DescribeProcessingJob answering with the Environment the job was created with."""

    def __init__(self, sagemaker: Any) -> None:
        self._sagemaker = sagemaker
        self.created: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sagemaker, name)

    def create_processing_job(self, **request: Any) -> Any:
        self.created.append(request)
        return self._sagemaker.create_processing_job(**request)

    def describe_processing_job(self, *, ProcessingJobName: str) -> dict[str, Any]:  # noqa: N803 (boto3's names)
        job: dict[str, Any] = self._sagemaker.describe_processing_job(ProcessingJobName=ProcessingJobName)
        environment = [r["Environment"] for r in self.created if r["ProcessingJobName"] == ProcessingJobName]
        return {**job, "Environment": environment[0]} if environment else job


@pytest.fixture
def moto_sagemaker(aws: None) -> Any:
    return boto3.client("sagemaker")


@pytest.fixture
def sagemaker(moto_sagemaker: Any) -> KeepsProcessingEnvironment:
    return KeepsProcessingEnvironment(moto_sagemaker)


def sections(execution: Execution) -> tuple[RunState, TrainingJobState]:
    """The run (with its holdout manifest) and its completed training job, named as the run names them."""
    run_id = run_resource_name("churn", execution)
    return (
        run_section(run_id=run_id, holdout_manifest_uri=f"s3://{BUCKET}/manifests/churn/{run_id}.holdout.manifest"),
        training_section(job_name=run_id, model_artifact=f"s3://{BUCKET}/models/churn/{run_id}/output/model.tar.gz"),
    )


def serve(sagemaker: Any, model: str, **definition: Any) -> None:
    """An endpoint `churn` serving `model` (by default one container with its artifact), or switching to it."""
    sagemaker.create_model(
        ModelName=model,
        **(definition or {"PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": PRODUCTION_ARTIFACT}}),
        ExecutionRoleArn=ROLE,
    )
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": model,
        "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large",
    }
    sagemaker.create_endpoint_config(EndpointConfigName=model, ProductionVariants=[variant])
    if sagemaker.list_endpoints()["Endpoints"]:
        sagemaker.update_endpoint(EndpointName="churn", EndpointConfigName=model)
    else:
        sagemaker.create_endpoint(EndpointName="churn", EndpointConfigName=model)


def start(
    sagemaker: Any, execution: Execution, settings: StartEvaluationSettings = SETTINGS, **kwargs: Any
) -> HoldoutEvaluationState:
    return start_evaluation(*sections(execution), execution, sagemaker=sagemaker, settings=settings, now=NOW, **kwargs)


def processing_jobs(sagemaker: Any) -> list[str]:
    return sorted(j["ProcessingJobName"] for j in sagemaker.list_processing_jobs()["ProcessingJobSummaries"])


def inputs(job: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Each input's name -> (S3 URI, local path)."""
    return {i["InputName"]: (i["S3Input"]["S3Uri"], i["S3Input"]["LocalPath"]) for i in job["ProcessingInputs"]}


def test_the_first_run_scores_the_new_model_alone_in_one_processing_job(
    sagemaker: KeepsProcessingEnvironment, execution: Execution
) -> None:
    # WHEN the first run of a pipeline (no endpoint yet) starts its script's evaluation
    state = start(sagemaker, execution)

    # THEN the new model is created under the run's name, as DeployModel creates it
    run, training = sections(execution)
    model = sagemaker.describe_model(ModelName=run.run_id)
    assert model["PrimaryContainer"]["ModelDataUrl"] == training.model_artifact
    # AND one processing job of the run's evaluation name reads the holdout, the model's artifact and the script
    name = run_job_name("churn", execution, SCRIPT_JOB_ROLE)
    assert processing_jobs(sagemaker) == [name]
    assert sagemaker.list_transform_jobs()["TransformJobSummaries"] == []
    job = sagemaker.describe_processing_job(ProcessingJobName=name)
    assert inputs(job) == {
        "holdout": (run.holdout_manifest_uri, "/opt/ml/processing/holdout"),
        "candidate-model": (training.model_artifact, "/opt/ml/processing/models/candidate/model"),
        "code": (SCRIPT.code_uri, "/opt/ml/processing/input/code"),
    }
    assert job["AppSpecification"]["ImageUri"] == SCRIPT_IMAGE
    # 90% of the run's wait: SageMaker stops the script first, so the run reports the job's own reason
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 3240}
    output = f"s3://{BUCKET}/evaluation/churn/{run.run_id}/script"
    assert job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] == output
    assert job["Environment"] == {
        "HOLDOUT_DIR": "/opt/ml/processing/holdout",
        "EVALUATION_DIR": "/opt/ml/processing/evaluation",
        "CANDIDATE_MODEL_DIR": "/opt/ml/processing/models/candidate",
        "CANDIDATE_MODEL_NAME": run.run_id,
    }
    assert sagemaker.created[0]["ProcessingResources"]["ClusterConfig"] == {
        "InstanceCount": 1,
        "InstanceType": "ml.m5.xlarge",
        "VolumeSizeInGB": 20,
    }
    assert sagemaker.created[0]["Tags"] == run_tags("churn", execution)
    # AND the state awaits that job, a processing job running the script, with no production job or output
    assert state == HoldoutEvaluationState(
        holdout_uri=str(run.holdout_manifest_uri),
        candidate_model=run.run_id,
        candidate_job=name,
        candidate_output_uri=output,
        production_model=None,
        production_job=None,
        production_output_uri=None,
        job_name=name,
        status="InProgress",
        failure_reason=None,
        started_at="2026-11-22T07:00:05.000Z",
        waited_seconds=0,
        wait_exceeded=False,
        poll_seconds=600,
        kind="processing",
        script="evaluate.py",
    )
    assert state.by_script


def test_the_model_an_endpoint_serves_is_given_to_the_script_beside_the_new_one(
    sagemaker: KeepsProcessingEnvironment, execution: Execution
) -> None:
    # GIVEN an endpoint serving an earlier run's model
    serve(sagemaker, PRODUCTION)

    # WHEN the run starts its evaluation
    state = start(sagemaker, execution)

    # THEN the same job gets the production model's artifact and name too, and the state names that model
    job = sagemaker.describe_processing_job(ProcessingJobName=state.candidate_job)
    assert inputs(job)["production-model"] == (PRODUCTION_ARTIFACT, "/opt/ml/processing/models/production/model")
    assert job["Environment"]["PRODUCTION_MODEL_NAME"] == PRODUCTION
    assert job["Environment"]["PRODUCTION_MODEL_DIR"] == "/opt/ml/processing/models/production"
    assert (state.production_model, state.production_job, state.production_output_uri) == (PRODUCTION, None, None)
    assert state.jobs() == [state.candidate_job]
    assert len(processing_jobs(sagemaker)) == 1


def test_an_inference_pipeline_gives_each_containers_artifact_by_hostname(
    sagemaker: KeepsProcessingEnvironment, execution: Execution
) -> None:
    # GIVEN a pipeline with preprocessing, whose endpoint serves an earlier run's inference pipeline
    containers = [
        {"ContainerHostname": "preprocess", "Image": SCRIPT_IMAGE, "ModelDataUrl": "s3://data/old/pre.tar.gz"},
        {"ContainerHostname": "model", "Image": IMAGE, "ModelDataUrl": PRODUCTION_ARTIFACT},
    ]
    serve(sagemaker, PRODUCTION, Containers=containers)
    settings = replace(
        SETTINGS, preprocessing=ServingPreprocessing(SCRIPT_IMAGE, "preprocess.py", postprocess_entry_point=None)
    )
    fitted = preprocessing_section(model_artifact="s3://data/new/pre.tar.gz")

    # WHEN the run starts its evaluation
    state = start(sagemaker, execution, settings, preprocessing=fitted)

    # THEN both models' containers are inputs, each in the folder of its hostname
    job = sagemaker.describe_processing_job(ProcessingJobName=state.candidate_job)
    _, training = sections(execution)
    assert {name: local for name, (_, local) in inputs(job).items()} == {
        "holdout": "/opt/ml/processing/holdout",
        "candidate-preprocess": "/opt/ml/processing/models/candidate/preprocess",
        "candidate-model": "/opt/ml/processing/models/candidate/model",
        "production-preprocess": "/opt/ml/processing/models/production/preprocess",
        "production-model": "/opt/ml/processing/models/production/model",
        "code": "/opt/ml/processing/input/code",
    }
    assert inputs(job)["candidate-preprocess"][0] == "s3://data/new/pre.tar.gz"
    assert inputs(job)["candidate-model"][0] == training.model_artifact
    assert inputs(job)["production-preprocess"][0] == "s3://data/old/pre.tar.gz"


def test_an_endpoint_already_serving_the_new_model_is_not_given_as_production(
    sagemaker: KeepsProcessingEnvironment, execution: Execution
) -> None:
    serve(sagemaker, run_resource_name("churn", execution))

    state = start(sagemaker, execution)

    assert state.production_model is None
    assert "PRODUCTION_MODEL_NAME" not in sagemaker.created[0]["Environment"]


def test_a_retried_attempt_adopts_the_job_and_reads_production_back_from_it(
    sagemaker: KeepsProcessingEnvironment, execution: Execution
) -> None:
    # GIVEN an attempt that started the job on PRODUCTION, and the endpoint switched since (a rollback)
    serve(sagemaker, PRODUCTION)
    first = start(sagemaker, execution)
    serve(sagemaker, "churn-20261120060000-0dd0c0de")

    # WHEN the step is retried
    again = start(sagemaker, execution)

    # THEN it starts nothing new and names the model the adopted job scores
    assert len(sagemaker.created) == 1
    assert again == first
    assert again.production_model == PRODUCTION


def test_a_retried_attempt_of_a_job_without_production_keeps_it_without(
    sagemaker: KeepsProcessingEnvironment, execution: Execution
) -> None:
    # GIVEN the first run's attempt (no endpoint), and an endpoint serving another model since
    first = start(sagemaker, execution)
    serve(sagemaker, PRODUCTION)

    again = start(sagemaker, execution)

    assert len(sagemaker.created) == 1
    assert again == first
    assert again.production_model is None


def test_a_processing_job_of_the_runs_name_started_by_another_execution_is_a_conflict(
    sagemaker: KeepsProcessingEnvironment, execution: Execution
) -> None:
    # GIVEN a processing job carrying this run's evaluation name, tagged by another execution
    other = replace(execution, id=execution.id + "-other", name="other")
    name = run_job_name("churn", execution, SCRIPT_JOB_ROLE)
    request = processing_job_request(
        name,
        holdout_manifest="s3://data/h.manifest",
        output_uri="s3://data/out",
        candidate=ModelArtifacts(model="m", artifacts=()),
        production=None,
        script=SCRIPT,
        task=None,
        instance_type="ml.m5.large",
        max_runtime_seconds=60,
        role_arn=ROLE,
        tags=run_tags("churn", other),
    )
    sagemaker.create_processing_job(**request)

    # WHEN / THEN this execution refuses to adopt it
    with pytest.raises(ResourceConflictError, match=f"processing job {name} already exists and was started by"):
        start(sagemaker, execution)


_ENDPOINT = {
    "EndpointName": "churn",
    "EndpointArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/churn",
    "EndpointConfigName": PRODUCTION,
    "EndpointStatus": "InService",
    "CreationTime": NOW,
    "LastModifiedTime": NOW,
}


def test_the_requests_are_valid_for_botocore(execution: Execution, aws_env: None) -> None:
    # GIVEN a SageMaker client whose calls are checked against the service model, and an endpoint serving another
    client = boto3.client("sagemaker")
    production = {
        "ModelName": PRODUCTION,
        "ModelArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model/{PRODUCTION}",
        "CreationTime": NOW,
        "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": PRODUCTION_ARTIFACT},
    }

    # WHEN the step creates the model and starts the job through it / THEN botocore accepts every request
    with Stubber(client) as stubber:
        stubber.add_client_error("describe_model", "ValidationException", "Could not find model")
        stubber.add_response("create_model", {"ModelArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model/m"})
        stubber.add_client_error("describe_processing_job", "ValidationException", "Could not find processing job")
        stubber.add_response("describe_endpoint", _ENDPOINT)
        stubber.add_response(
            "describe_endpoint_config",
            {
                "EndpointConfigName": PRODUCTION,
                "EndpointConfigArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint-config/{PRODUCTION}",
                "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": PRODUCTION}],
                "CreationTime": NOW,
            },
        )
        stubber.add_response("describe_model", production, {"ModelName": PRODUCTION})
        stubber.add_response("create_processing_job", {"ProcessingJobArn": "arn"})
        state = start(client, execution)
        stubber.assert_no_pending_responses()
    assert state.production_model == PRODUCTION
