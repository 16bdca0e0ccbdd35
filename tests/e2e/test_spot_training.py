"""Managed Spot training through the local runtime: a spot job interrupted mid-training resumes from its
checkpoint, bills less than it took, and the run deploys its model."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator

import pytest

from local_runtime.deploy import DeployedPipeline, run_execution
from local_runtime.runtime import QUIET_FUNCTIONS, LocalRuntime, synthesize
from tests.e2e.test_local_runtime import day, rows

pytestmark = pytest.mark.e2e

PIPELINE = "spot"
STACK = f"SageMakerRetraining-{PIPELINE}"
MODEL = "tests/e2e/models/spot_checkpoints"


@pytest.fixture(scope="module")
def runtime() -> Iterator[tuple[LocalRuntime, DeployedPipeline]]:
    config = {
        "name": PIPELINE,
        "data_prefix": f"data/{PIPELINE}",
        "window_days": 3,
        "algorithm": {"framework": "sklearn", "version": "1.2-1", "source_dir": MODEL},
        "training": {"max_runtime_seconds": 300, "spot": {"max_wait_seconds": 600}},
        "evaluation": {"holdout": "none"},
        "polling": {"interval_seconds": 1, "max_deployment_wait_seconds": 300},
    }
    template = synthesize({"pipelines": [config]})[STACK]
    with LocalRuntime() as local:
        yield local, local.deploy_template(template, stack_name=STACK, function_environment=QUIET_FUNCTIONS)


def test_an_interrupted_spot_job_resumes_from_its_checkpoint_and_the_run_deploys(
    runtime: tuple[LocalRuntime, DeployedPipeline],
) -> None:
    # GIVEN two days of data and a spot interruption armed for the pipeline's job, with 2 s to find capacity again
    local, pipeline = runtime
    bucket = pipeline.stack.outputs["DataBucketName"]
    for offset in (1, 2):
        local.client("s3").put_object(Bucket=bucket, Key=f"data/{PIPELINE}/{day(offset)}.csv", Body=rows(offset))
    fault = local.faults.interrupt_spot(pipeline=PIPELINE, restart_after_seconds=2)

    # WHEN a run trains and deploys
    record = run_execution(local.aws, pipeline, name=f"{PIPELINE}-interrupted", timeout_seconds=180)

    # THEN the job was interrupted once, restarted with its checkpoint restored, and completed from there
    assert record.status == "SUCCEEDED", record.cause
    assert fault.fired == 1
    sagemaker, s3 = local.client("sagemaker"), local.client("s3")
    job = sagemaker.describe_training_job(TrainingJobName=record.output["training"]["job_name"])
    assert job["EnableManagedSpotTraining"] is True
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 300, "MaxWaitTimeInSeconds": 600}
    transitions = [entry["Status"] for entry in job["SecondaryStatusTransitions"]]
    assert transitions.count("Interrupted") == 1
    assert transitions[transitions.index("Interrupted") + 1] == "Starting"
    assert job["BillableTimeInSeconds"] < job["TrainingTimeInSeconds"]
    artifact = job["ModelArtifacts"]["S3ModelArtifacts"].removeprefix("s3://").split("/", 1)
    body = s3.get_object(Bucket=artifact[0], Key=artifact[1])["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
        member = archive.extractfile("resumed_at.txt")
        assert member is not None
        assert int(member.read()) >= 1  # not from scratch
    # the checkpoints stay in the run's own folder beside its model
    checkpoints = job["CheckpointConfig"]["S3Uri"].removeprefix(f"s3://{bucket}/")
    assert checkpoints == f"models/{PIPELINE}/{job['TrainingJobName']}/checkpoints/"
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=checkpoints)["Contents"]
    assert sorted(item["Key"].rsplit("/", 1)[1] for item in listed) == [f"epoch-{n}.npy" for n in range(6)]
    # and the endpoint serves the model: y = 3 x1 - 2 x2 + 1
    answer = local.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=PIPELINE, ContentType="text/csv", Body=b"1.0,1.0\n"
    )
    assert float(answer["Body"].read()) == pytest.approx(2.0, abs=0.1)
