"""StartEvaluation against moto's SageMaker: the new model, the transform jobs scoring it and the production model
on the holdout, their adoption on retry, and the settings from the environment."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from contract.names import EXECUTION_TAG
from lambdas.common.errors import ConfigurationError, InvalidStepEventError, ResourceConflictError
from lambdas.common.evaluation import EvaluationSettings
from lambdas.common.events import Execution
from lambdas.common.models import HoldoutEvaluationState, RunState, TrainingJobState
from lambdas.common.names import run_job_name, run_resource_name, run_tags
from lambdas.common.transform import transform_job_request
from lambdas.deploy_model.core import DeploySettings, deploy_model
from lambdas.start_evaluation.core import StartEvaluationSettings, start_evaluation
from tests.conftest import ACCOUNT
from tests.unit.lambdas.states import run_section, training_section

NOW = datetime(2026, 11, 22, 7, 0, 5, tzinfo=UTC)
BUCKET = "data"
IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/churn-sagemaker"
EVALUATION = EvaluationSettings(
    task="binary",
    algorithm="linear-learner",
    hyperparameters={"predictor_type": "binary_classifier"},
    accept="application/jsonlines",
    instance_type="ml.m5.xlarge",
    output_prefix="evaluation/churn",
    max_wait_seconds=3600,
)
SETTINGS = StartEvaluationSettings(
    pipeline="churn",
    bucket=BUCKET,
    endpoint_name="churn",
    image=IMAGE,
    role_arn=ROLE,
    poll_interval_seconds=60,
    evaluation=EVALUATION,
    environment={"INFERENCE_PREFERRED_MODE": "batch"},
)
SPEC = {
    "task": "binary",
    "algorithm": "linear-learner",
    "hyperparameters": {"predictor_type": "binary_classifier"},
    "accept": "application/jsonlines",
    "instance_type": "ml.m5.xlarge",
    "output_prefix": "/evaluation/churn/",
    "max_wait_seconds": 3600,
}
ENVIRONMENT = {
    "PIPELINE_NAME": "churn",
    "DATA_BUCKET": BUCKET,
    "ENDPOINT_NAME": "churn",
    "INFERENCE_IMAGE": IMAGE,
    "SAGEMAKER_ROLE_ARN": ROLE,
    "POLL_INTERVAL_SECONDS": "60",
    "MODEL_ENVIRONMENT": json.dumps({"INFERENCE_PREFERRED_MODE": "batch"}),
    "EVALUATION": json.dumps(SPEC),
}
PRODUCTION = "churn-20261121060000-0badc0de"

_ENDPOINT = {
    "EndpointName": "churn",
    "EndpointArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/churn",
    "EndpointStatus": "InService",
    "CreationTime": NOW,
    "LastModifiedTime": NOW,
}


@pytest.fixture
def sagemaker(aws: None) -> Any:
    return boto3.client("sagemaker")


def sections(execution: Execution, **run: Any) -> tuple[RunState, TrainingJobState]:
    """The run (with its holdout manifest) and its completed training job, named as the run names them."""
    run_id = run_resource_name("churn", execution)
    holdout = f"s3://{BUCKET}/manifests/churn/{run_id}.holdout.manifest"
    return (
        run_section(run_id=run_id, holdout_manifest_uri=holdout, evaluate=True, **run),
        training_section(job_name=run_id, model_artifact=f"s3://{BUCKET}/models/churn/{run_id}/output/model.tar.gz"),
    )


def serve(sagemaker: Any, model: str) -> None:
    """An endpoint `churn` serving `model`."""
    sagemaker.create_model(ModelName=model, PrimaryContainer={"Image": IMAGE}, ExecutionRoleArn=ROLE)
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": model,
        "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large",
    }
    sagemaker.create_endpoint_config(EndpointConfigName=model, ProductionVariants=[variant])
    sagemaker.create_endpoint(EndpointName="churn", EndpointConfigName=model)


def start(sagemaker: Any, execution: Execution, **run: Any) -> HoldoutEvaluationState:
    return start_evaluation(*sections(execution, **run), execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)


def transform_jobs(sagemaker: Any) -> list[str]:
    return sorted(j["TransformJobName"] for j in sagemaker.list_transform_jobs()["TransformJobSummaries"])


def test_the_requests_are_valid_for_botocore(execution: Execution, aws_env: None) -> None:
    # GIVEN a SageMaker client whose calls are checked against the service model, and an endpoint serving another
    client = boto3.client("sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")

    # WHEN the step creates the model and starts both jobs through it / THEN botocore accepts every request
    with Stubber(client) as stubber:
        stubber.add_client_error("describe_model", "ValidationException", "Could not find model")
        stubber.add_response("create_model", {"ModelArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model/m"})
        stubber.add_client_error("describe_transform_job", "ValidationException", "Could not find requested job")
        stubber.add_response("create_transform_job", {"TransformJobArn": "arn"})
        stubber.add_client_error("describe_transform_job", "ValidationException", "Could not find requested job")
        stubber.add_response("describe_endpoint", {**_ENDPOINT, "EndpointConfigName": PRODUCTION})
        stubber.add_response(
            "describe_endpoint_config",
            {
                "EndpointConfigName": PRODUCTION,
                "EndpointConfigArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint-config/{PRODUCTION}",
                "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": PRODUCTION}],
                "CreationTime": NOW,
            },
        )
        stubber.add_response("create_transform_job", {"TransformJobArn": "arn"})
        start(client, execution)
        stubber.assert_no_pending_responses()


def test_the_new_model_is_created_under_the_runs_name_as_deploy_model_creates_it(
    sagemaker: Any, execution: Execution
) -> None:
    # WHEN the first run of a pipeline (no endpoint yet) starts its evaluation
    state = start(sagemaker, execution)

    # THEN the model is named after the run, from the training job's artifact, the serving image and environment
    run, training = sections(execution)
    model = sagemaker.describe_model(ModelName=run.run_id)
    assert state.candidate_model == run.run_id
    assert model["PrimaryContainer"]["ModelDataUrl"] == training.model_artifact
    assert model["PrimaryContainer"]["Image"] == IMAGE
    assert model["PrimaryContainer"]["Environment"] == {"INFERENCE_PREFERRED_MODE": "batch"}
    assert model["ExecutionRoleArn"] == ROLE
    assert {"Key": EXECUTION_TAG, "Value": execution.id} in sagemaker.list_tags(ResourceArn=model["ModelArn"])["Tags"]
    # AND DeployModel, later in the run, adopts it rather than creating a second one
    deploy = DeploySettings(
        pipeline="churn",
        endpoint_name="churn",
        instance_type="ml.m5.large",
        instance_count=1,
        image=IMAGE,
        role_arn=ROLE,
        poll_interval_seconds=60,
        environment={"INFERENCE_PREFERRED_MODE": "batch"},
    )
    deploy_model(training, execution, sagemaker=sagemaker, settings=deploy, now=NOW)
    assert [m["ModelName"] for m in sagemaker.list_models()["Models"]] == [run.run_id]


def test_the_new_model_is_scored_over_the_holdout_without_its_labels(sagemaker: Any, execution: Execution) -> None:
    # WHEN a run of a pipeline with no endpoint yet starts its evaluation
    state = start(sagemaker, execution)

    # THEN one transform job reads the files the holdout manifest lists, each record without its first column
    run, _ = sections(execution)
    name = run_job_name("churn", execution, "new")
    assert transform_jobs(sagemaker) == [name]
    job = sagemaker.describe_transform_job(TransformJobName=name)
    assert job["ModelName"] == run.run_id
    assert job["TransformInput"]["DataSource"]["S3DataSource"] == {
        "S3DataType": "ManifestFile",
        "S3Uri": run.holdout_manifest_uri,
    }
    assert (job["TransformInput"]["ContentType"], job["TransformInput"]["SplitType"]) == ("text/csv", "Line")
    assert job["DataProcessing"] == {"InputFilter": "$[1:]"}
    # ... answering in the format the evaluator reads, a line a record, under the run's candidate folder
    output = f"s3://{BUCKET}/evaluation/churn/{run.run_id}/candidate/"
    assert job["TransformOutput"] == {"S3OutputPath": output, "Accept": "application/jsonlines", "AssembleWith": "Line"}
    assert job["TransformResources"] == {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1}
    assert {"Key": EXECUTION_TAG, "Value": execution.id} in sagemaker.list_tags(ResourceArn=job["TransformJobArn"])[
        "Tags"
    ]
    # AND the state names it, no production model, and the loop's first wait
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
    )


def test_the_model_an_endpoint_serves_is_scored_on_the_same_holdout(sagemaker: Any, execution: Execution) -> None:
    # GIVEN an endpoint serving an earlier run's model
    serve(sagemaker, PRODUCTION)

    # WHEN the run starts its evaluation
    state = start(sagemaker, execution)

    # THEN a second job scores the production model on the same records, the same way, into its own folder
    run, _ = sections(execution)
    candidate, production = run_job_name("churn", execution, "new"), run_job_name("churn", execution, "prod")
    assert transform_jobs(sagemaker) == sorted([candidate, production])
    new, old = (sagemaker.describe_transform_job(TransformJobName=name) for name in (candidate, production))
    assert old["ModelName"] == PRODUCTION
    output = f"s3://{BUCKET}/evaluation/churn/{run.run_id}/production/"
    assert old["TransformOutput"]["S3OutputPath"] == output
    for field in ("TransformInput", "DataProcessing", "TransformResources", "BatchStrategy", "MaxPayloadInMB"):
        assert old[field] == new[field], field
    assert old["TransformOutput"]["Accept"] == new["TransformOutput"]["Accept"]
    # AND the state names both, awaiting the new model's job first
    assert (state.production_model, state.production_job, state.production_output_uri) == (
        PRODUCTION,
        production,
        output,
    )
    assert (state.candidate_job, state.job_name) == (candidate, candidate)
    assert state.jobs() == [candidate, production]


@pytest.mark.parametrize("compression", ["Gzip", "None"])
def test_both_models_read_the_holdout_with_the_windows_compression(
    sagemaker: Any, execution: Execution, compression: str
) -> None:
    # GIVEN an endpoint serving an earlier run's model, and a window of .csv.gz files (or plain ones)
    serve(sagemaker, PRODUCTION)

    start(sagemaker, execution, compression=compression)

    # THEN both transform jobs decompress the held-out files as SageMaker reads them (or read them as they are)
    jobs = [sagemaker.describe_transform_job(TransformJobName=name) for name in transform_jobs(sagemaker)]
    assert [job["TransformInput"]["CompressionType"] for job in jobs] == [compression, compression]


def test_an_endpoint_already_serving_the_new_model_is_not_scored_twice(sagemaker: Any, execution: Execution) -> None:
    # GIVEN an endpoint serving the run's own model (created under its name, as DeployModel does)
    serve(sagemaker, run_resource_name("churn", execution))

    state = start(sagemaker, execution)

    assert (state.production_model, state.production_job, state.production_output_uri) == (None, None, None)
    assert transform_jobs(sagemaker) == [run_job_name("churn", execution, "new")]


def test_a_retried_attempt_adopts_the_model_and_the_jobs(sagemaker: Any, execution: Execution) -> None:
    # GIVEN an attempt that created the model and started both jobs before it failed
    serve(sagemaker, PRODUCTION)
    first = start(sagemaker, execution)

    # WHEN the step is retried
    again = start(sagemaker, execution)

    # THEN it starts nothing new and reports the same jobs
    assert again == first
    assert len(transform_jobs(sagemaker)) == 2
    assert len(sagemaker.list_models()["Models"]) == 2  # the run's and production's


def test_a_retried_attempt_reports_the_model_its_adopted_production_job_scores(
    sagemaker: Any, execution: Execution
) -> None:
    # GIVEN an attempt that started the production job on PRODUCTION, and the endpoint switched since (a rollback)
    serve(sagemaker, PRODUCTION)
    start(sagemaker, execution)
    earlier = "churn-20261120060000-0dd0c0de"
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": earlier,
        "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large",
    }
    sagemaker.create_model(ModelName=earlier, PrimaryContainer={"Image": IMAGE}, ExecutionRoleArn=ROLE)
    sagemaker.create_endpoint_config(EndpointConfigName=earlier, ProductionVariants=[variant])
    sagemaker.update_endpoint(EndpointName="churn", EndpointConfigName=earlier)

    # WHEN the step is retried
    again = start(sagemaker, execution)

    # THEN the state names the model the adopted job scores: EvaluateModel reports it beside that job's metrics
    job = sagemaker.describe_transform_job(TransformJobName=run_job_name("churn", execution, "prod"))
    assert again.production_model == job["ModelName"] == PRODUCTION


@pytest.mark.parametrize("role", ["new", "prod"])
def test_a_job_of_the_runs_name_started_by_another_execution_is_a_conflict(
    sagemaker: Any, execution: Execution, role: str
) -> None:
    # GIVEN a job carrying one of this run's evaluation names, tagged by another execution
    serve(sagemaker, PRODUCTION)
    other = replace(execution, id=execution.id + "-other", name="other")
    name = run_job_name("churn", execution, role)
    request = transform_job_request(
        name, PRODUCTION, "s3://data/h.manifest", "s3://data/out/", tags=run_tags("churn", other)
    )
    sagemaker.create_transform_job(**request)

    # WHEN / THEN this execution refuses to adopt it
    with pytest.raises(ResourceConflictError, match=f"transform job {name} already exists and was started by"):
        start(sagemaker, execution)


@pytest.mark.parametrize(
    ("run", "training", "message"),
    [
        ({"holdout_manifest_uri": None}, {}, r"run\.holdout_manifest_uri"),
        ({"holdout_manifest_uri": ""}, {}, r"run\.holdout_manifest_uri"),
        ({}, {"model_artifact": None}, "reported no model artifact"),
    ],
    ids=["no-holdout", "empty-holdout", "no-artifact"],
)
def test_a_run_without_a_holdout_or_a_model_is_an_invalid_event_and_starts_nothing(
    sagemaker: Any, execution: Execution, run: dict[str, Any], training: dict[str, Any], message: str
) -> None:
    held, trained = sections(execution)

    with pytest.raises(InvalidStepEventError, match=message):
        start_evaluation(
            replace(held, **run),
            replace(trained, **training),
            execution,
            sagemaker=sagemaker,
            settings=SETTINGS,
            now=NOW,
        )
    assert sagemaker.list_models()["Models"] == []
    assert transform_jobs(sagemaker) == []


def test_settings_come_from_the_environment() -> None:
    # WHEN the stack's variables are read / THEN every field is taken, the output prefix without its slashes
    assert StartEvaluationSettings.from_env(ENVIRONMENT) == SETTINGS


def test_without_the_evaluation_variable_there_is_nothing_to_start() -> None:
    environment = {k: v for k, v in ENVIRONMENT.items() if k != "EVALUATION"}

    assert EvaluationSettings.from_env(environment) is None
    with pytest.raises(ConfigurationError, match="EVALUATION is not set"):
        StartEvaluationSettings.from_env(environment)


_REQUIRED = ("task", "algorithm", "accept", "instance_type", "output_prefix", "max_wait_seconds")


@pytest.mark.parametrize(
    "raw",
    [
        "{not json",
        '["a list"]',
        "null",
        *[json.dumps({k: v for k, v in SPEC.items() if k != key}) for key in _REQUIRED],
        json.dumps({**SPEC, "max_wait_seconds": "an hour"}),
        json.dumps({**SPEC, "hyperparameters": ["predictor_type"]}),
    ],
    ids=[
        "not-json",
        "not-an-object",
        "null",
        *[f"missing-{key}" for key in _REQUIRED],
        "wait-not-a-number",
        "hyperparameters-not-an-object",
    ],
)
def test_a_malformed_evaluation_variable_is_a_configuration_error_naming_it(raw: str) -> None:
    with pytest.raises(ConfigurationError, match="environment variable EVALUATION must be a JSON object"):
        EvaluationSettings.from_env({"EVALUATION": raw})
