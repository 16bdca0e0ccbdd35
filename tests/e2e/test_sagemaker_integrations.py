"""A workflow written with CDK's `aws_stepfunctions_tasks` SageMaker tasks, synthesized and run in the local runtime
unchanged: the training job trains for real, the endpoint comes up and the batch transform scores the rows."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from local_runtime.deploy import DeployedPipeline, wait_for_execution
from local_runtime.runtime import LocalRuntime
from tests.e2e.sagemaker_tasks_app import STACK, synthesize

pytestmark = pytest.mark.e2e

ROWS = [(x, 2.0 * x + 1.0) for x in range(-10, 30)]  # y = 2x + 1


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return synthesize(str(tmp_path_factory.mktemp("cdk.out")))


@pytest.fixture(scope="module")
def deployed(template: dict[str, Any]) -> Iterator[tuple[LocalRuntime, DeployedPipeline]]:
    with LocalRuntime() as runtime:  # IAM enforced, as by default: the template's own grants must suffice
        pipeline = runtime.deploy_template(template, stack_name=STACK)
        s3, bucket = runtime.client("s3"), pipeline.stack.outputs["BucketName"]
        s3.put_object(Bucket=bucket, Key="train/rows.csv", Body="".join(f"{y},{x}\n" for x, y in ROWS).encode())
        s3.put_object(Bucket=bucket, Key="transform/rows.csv", Body=b"0\n10\n")
        yield runtime, pipeline


def test_the_synthesized_definition_uses_the_optimized_integrations(template: dict[str, Any]) -> None:
    # The parts of the definition that are plain strings name every integration the workflow uses
    (machine,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    text = json.dumps(machine["Properties"]["DefinitionString"])
    for resource in (
        "sagemaker:createTrainingJob.sync",
        "sagemaker:createModel",
        "sagemaker:createEndpointConfig",
        "sagemaker:createEndpoint",
        "aws-sdk:sagemaker:describeEndpoint",
        "sagemaker:createTransformJob.sync",
    ):
        assert f":states:::{resource}" in text, resource


@pytest.mark.compatibility("states:sagemaker.sync", "states:sagemaker")
def test_train_deploy_and_transform_run_locally_unchanged(deployed: tuple[LocalRuntime, DeployedPipeline]) -> None:
    runtime, pipeline = deployed
    name = f"sync-{uuid.uuid4().hex[:8]}"

    # WHEN the workflow runs
    arn = runtime.client("stepfunctions").start_execution(
        stateMachineArn=pipeline.state_machine_arn, name=name, input=json.dumps({"Name": name})
    )["executionArn"]
    record = wait_for_execution(runtime.aws, arn, region=runtime.region, timeout_seconds=180)

    # THEN it succeeds, each .sync task's result the job's Describe answer, each request-response task's the Create one
    assert record.status == "SUCCEEDED", record.cause
    described = runtime.client("stepfunctions").describe_execution(executionArn=arn)
    output = json.loads(described["output"])
    sagemaker = runtime.client("sagemaker")
    assert output["Training"]["TrainingJobStatus"] == "Completed"
    assert (
        output["Training"]["ModelArtifacts"] == sagemaker.describe_training_job(TrainingJobName=name)["ModelArtifacts"]
    )
    assert output["Model"] == {"ModelArn": sagemaker.describe_model(ModelName=name)["ModelArn"]}
    assert output["EndpointConfig"] == {
        "EndpointConfigArn": sagemaker.describe_endpoint_config(EndpointConfigName=name)["EndpointConfigArn"]
    }
    assert output["Endpoint"] == {"EndpointArn": sagemaker.describe_endpoint(EndpointName=name)["EndpointArn"]}
    assert output["EndpointStatus"] == {"Status": "InService"}
    assert output["Transform"]["TransformJobStatus"] == "Completed"
    assert output["Transform"]["TransformJobName"] == name
    # AND the endpoint really serves the model the job trained
    answer = runtime.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=name, ContentType="text/csv", Accept="application/json", Body=b"5\n"
    )
    (prediction,) = json.loads(answer["Body"].read())["predictions"]
    assert prediction["score"] == pytest.approx(11.0, abs=0.2)
    # AND the batch transform scored both rows with it (Linear Learner's JSON answer for the whole file)
    bucket = pipeline.stack.outputs["BucketName"]
    scores = runtime.client("s3").get_object(Bucket=bucket, Key="scores/rows.csv.out")["Body"].read()
    assert [p["score"] for p in json.loads(scores)["predictions"]] == pytest.approx([1.0, 21.0], abs=0.2)
