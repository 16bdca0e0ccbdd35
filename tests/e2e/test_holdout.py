"""The held-out newest day through the local runtime: split by CheckData, read by Linear Learner as its validation
channel, and judged by a gate on `validation:objective_loss`, the README's example of a threshold gate."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest

from local_runtime.deploy import DeployedPipeline, ExecutionRecord, run_execution
from local_runtime.runtime import QUIET_FUNCTIONS, LocalRuntime, synthesize
from tests.e2e.test_local_runtime import day, rows

pytestmark = pytest.mark.e2e

PIPELINE = "holdout"
STACK = f"SageMakerRetraining-{PIPELINE}"
GATE = {"metric": "validation:objective_loss", "direction": "minimize", "threshold": 0.5}


@pytest.fixture(scope="module")
def runtime() -> Iterator[tuple[LocalRuntime, DeployedPipeline]]:
    config = {
        "name": PIPELINE,
        "data_prefix": f"data/{PIPELINE}",
        "window_days": 4,
        "hyperparameters": {"predictor_type": "regressor"},
        "polling": {"interval_seconds": 1, "max_training_wait_seconds": 600, "max_deployment_wait_seconds": 300},
        "quality_gate": GATE,
    }
    template = synthesize({"pipelines": [config]})[STACK]
    with LocalRuntime() as local:
        yield local, local.deploy_template(template, stack_name=STACK, function_environment=QUIET_FUNCTIONS)


def noisy(seed: int) -> bytes:
    """Rows whose labels have nothing to do with their features: no model predicts them."""
    generator = np.random.default_rng(seed)
    return "".join(
        f"{generator.normal(scale=20):.6f},{a:.6f},{b:.6f}\n" for a, b in generator.normal(size=(40, 2))
    ).encode()


def upload_and_run(runtime: tuple[LocalRuntime, DeployedPipeline], days: dict[int, bytes]) -> ExecutionRecord:
    local, pipeline = runtime
    for offset, body in days.items():
        local.client("s3").put_object(
            Bucket=pipeline.stack.outputs["DataBucketName"], Key=f"data/{PIPELINE}/{day(offset)}.csv", Body=body
        )
    record = run_execution(local.aws, pipeline, name=f"{PIPELINE}-{len(days)}-{min(days)}", timeout_seconds=120)
    assert record.status == "SUCCEEDED", record.cause
    return record


def final_metrics(local: LocalRuntime, job_name: str) -> dict[str, float]:
    job = local.client("sagemaker").describe_training_job(TrainingJobName=job_name)
    return {metric["MetricName"]: metric["Value"] for metric in job["FinalMetricDataList"]}


def test_the_newest_day_is_the_validation_channel_and_the_gate_reads_its_loss(
    runtime: tuple[LocalRuntime, DeployedPipeline],
) -> None:
    # GIVEN three days of the same clean relation
    local, _ = runtime

    # WHEN a run trains
    record = upload_and_run(runtime, {3: rows(3), 2: rows(2), 1: rows(1)})

    # THEN the two older days trained the model and the newest judged it: Linear Learner reported its loss on the
    # held-out day under SageMaker's name, and the gate passed the model on that number
    state = record.output
    assert (state["run"]["file_count"], state["run"]["holdout_file_count"]) == (2, 1)
    metrics = final_metrics(local, state["training"]["job_name"])
    assert {"validation:objective_loss", "validation:mse", "train:objective_loss:final"} <= set(metrics)
    evaluation = state["evaluation"]
    assert (evaluation["metric"], evaluation["passed"]) == ("validation:objective_loss", True)
    assert evaluation["value"] == pytest.approx(metrics["validation:objective_loss"])
    assert evaluation["value"] < GATE["threshold"]
    assert record.states_entered()[-1] == "Deployed"


def test_a_model_that_fails_on_the_held_out_day_is_rejected_though_it_fits_its_training_data(
    runtime: tuple[LocalRuntime, DeployedPipeline],
) -> None:
    # GIVEN a newest day that breaks the relation the older days follow
    local, pipeline = runtime
    serving = local.client("sagemaker").describe_endpoint(EndpointName=PIPELINE)["EndpointConfigName"]

    # WHEN the next run trains on the clean days and is judged on that one
    record = upload_and_run(runtime, {0: noisy(0)})

    # THEN its training loss is as low as ever, yet the held-out loss fails the threshold: the model is rejected
    # and the endpoint keeps serving the first model
    metrics = final_metrics(local, record.output["training"]["job_name"])
    assert metrics["train:objective_loss:final"] < 0.01
    evaluation = record.output["evaluation"]
    assert evaluation["passed"] is False
    assert evaluation["value"] == pytest.approx(metrics["validation:objective_loss"])
    assert evaluation["value"] > GATE["threshold"]
    assert record.states_entered()[-1] == "ModelRejected"
    assert local.client("sagemaker").describe_endpoint(EndpointName=PIPELINE)["EndpointConfigName"] == serving
    assert (
        json.loads(
            local.client("ssm").get_parameter(Name=pipeline.stack.outputs["WatermarkParameterName"])["Parameter"][
                "Value"
            ]
        )["outcome"]
        == "rejected"
    )
