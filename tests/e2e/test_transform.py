"""`sagemaker-retraining transform` against the local runtime, after a real run deployed a model."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date

import numpy as np
import pytest

from local_runtime.deploy import wait_for_execution
from local_runtime.runtime import QUIET_FUNCTIONS, LocalRuntime, synthesize
from operator_cli.cli import main

pytestmark = pytest.mark.e2e

PIPELINE = "transform"
STACK = f"SageMakerRetraining-{PIPELINE}"
DATA_PREFIX = f"data/{PIPELINE}"
DAYS = (date(2026, 4, 1), date(2026, 4, 2))


def day_rows(seed: int, n: int = 30) -> str:
    """Label first, as the pipeline's data files are: y = 3 x1 - 2 x2 + 1 plus a little noise."""
    generator = np.random.default_rng(seed)
    features = generator.normal(size=(n, 2))
    labels = 3 * features[:, 0] - 2 * features[:, 1] + 1 + generator.normal(scale=0.05, size=n)
    return "".join(f"{y:.6f},{a:.6f},{b:.6f}\n" for y, (a, b) in zip(labels, features, strict=True))


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[LocalRuntime, dict[str, str]]]:
    """The pipeline, after a run trained on two days and deployed the model; its stack's outputs."""
    config = {
        "name": PIPELINE,
        "data_prefix": DATA_PREFIX,
        "window_days": 2,
        "hyperparameters": {"predictor_type": "regressor"},
        "polling": {"interval_seconds": 1, "max_training_wait_seconds": 600, "max_deployment_wait_seconds": 300},
    }
    template = synthesize({"pipelines": [config]})[STACK]
    with LocalRuntime() as runtime:
        pipeline = runtime.deploy_template(template, stack_name=STACK, function_environment=QUIET_FUNCTIONS)
        outputs = dict(pipeline.stack.outputs)
        for day in DAYS:
            runtime.client("s3").put_object(
                Bucket=outputs["DataBucketName"],
                Key=f"{DATA_PREFIX}/{day.isoformat()}.csv",
                Body=day_rows(day.toordinal()).encode(),
            )
        arn = runtime.client("stepfunctions").start_execution(
            stateMachineArn=pipeline.state_machine_arn,
            name=f"transform-{uuid.uuid4().hex[:8]}",
            input=json.dumps({"trigger": "manual", "end_date": DAYS[-1].isoformat()}),
        )["executionArn"]
        record = wait_for_execution(runtime.aws, arn, region=runtime.region, timeout_seconds=120)
        assert record.status == "SUCCEEDED", record.cause
        yield runtime, outputs


def test_a_days_file_is_transformed_a_prediction_per_row_equal_to_the_endpoints(
    served: tuple[LocalRuntime, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    runtime, outputs = served
    bucket, day = outputs["DataBucketName"], DAYS[-1]

    # WHEN the day's file is transformed through the CLI with the model the endpoint serves
    code = main(
        [
            "transform",
            "--pipeline", PIPELINE,
            "--endpoint-url", runtime.endpoint_url,
            "--day", day.isoformat(),
            "--data-prefix", DATA_PREFIX,
            "--wait",
            "--json",
        ]
    )  # fmt: skip

    # THEN the job completed and wrote the predictions next to the day's data, outside the data prefix
    captured = capsys.readouterr()
    assert code == 0, captured.err
    job = json.loads(captured.out)
    assert job["status"] == "Completed"
    assert job["input"] == f"s3://{bucket}/{DATA_PREFIX}/{day.isoformat()}.csv"
    assert job["outputs"] == [f"s3://{bucket}/predictions/{DATA_PREFIX}/{day.isoformat()}.csv.out"]
    # AND each line is what InvokeEndpoint answers for that row's features (the label column dropped)
    key = job["outputs"][0].removeprefix(f"s3://{bucket}/")
    lines = runtime.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines()
    rows = day_rows(day.toordinal()).splitlines()
    assert len(lines) == len(rows)
    runtime_client = runtime.client("sagemaker-runtime")
    for line, row in zip(lines, rows, strict=True):
        answer = runtime_client.invoke_endpoint(
            EndpointName=outputs["EndpointName"], ContentType="text/csv", Body=row.split(",", 1)[1].encode()
        )
        expected = json.loads(answer["Body"].read())["predictions"][0]
        # A batch and a single row are multiplied by different BLAS kernels: equal up to the last bits.
        assert json.loads(line) == pytest.approx(expected, rel=1e-12)


def test_a_day_without_data_is_an_input_error(
    served: tuple[LocalRuntime, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    runtime, _ = served
    code = main(
        [
            "transform",
            "--pipeline", PIPELINE,
            "--endpoint-url", runtime.endpoint_url,
            "--day", "2020-01-01",
            "--data-prefix", DATA_PREFIX,
        ]
    )  # fmt: skip

    assert code == 2
    assert "no data for 2020-01-01: neither s3://" in capsys.readouterr().err
