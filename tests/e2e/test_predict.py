"""`sagemaker-retraining predict` against the local runtime, after a real run deployed a model."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from local_runtime.deploy import DeployedPipeline, wait_for_execution
from local_runtime.runtime import LocalRuntime
from operator_cli.cli import main
from tests.e2e.quiet_pipeline import PIPELINE, STACK, deployed_quiet_pipeline

pytestmark = pytest.mark.e2e

DAYS = (date(2026, 3, 1), date(2026, 3, 2))


def training_rows(seed: int, n: int = 40) -> bytes:
    """Label first: y = 3 x1 - 2 x2 + 1 plus a little noise."""
    generator = np.random.default_rng(seed)
    features = generator.normal(size=(n, 2))
    labels = 3 * features[:, 0] - 2 * features[:, 1] + 1 + generator.normal(scale=0.05, size=n)
    return "".join(f"{y:.6f},{a:.6f},{b:.6f}\n" for y, (a, b) in zip(labels, features, strict=True)).encode()


class Deployed:
    def __init__(self, runtime: LocalRuntime, pipeline: DeployedPipeline) -> None:
        self.runtime, self.pipeline = runtime, pipeline
        self.endpoint = pipeline.stack.outputs["EndpointName"]

    def predict(self, *args: str) -> int:
        return main(["predict", "--pipeline", PIPELINE, "--endpoint-url", self.runtime.endpoint_url, *args])

    def invoke(self, body: str, content_type: str = "text/csv") -> list[dict[str, float]]:
        answer = self.runtime.client("sagemaker-runtime").invoke_endpoint(
            EndpointName=self.endpoint, ContentType=content_type, Body=body.encode()
        )
        predictions: list[dict[str, float]] = json.loads(answer["Body"].read())["predictions"]
        return predictions

    def invocations_since(self, start: datetime) -> int:
        statistics = self.runtime.client("cloudwatch").get_metric_statistics(
            Namespace="AWS/SageMaker",
            MetricName="Invocations",
            Dimensions=[
                {"Name": "EndpointName", "Value": self.endpoint},
                {"Name": "VariantName", "Value": "AllTraffic"},
            ],
            StartTime=start,
            EndTime=datetime.now(UTC) + timedelta(minutes=1),
            Period=3600,
            Statistics=["Sum"],
        )
        return int(sum(point["Sum"] for point in statistics["Datapoints"]))


@pytest.fixture(scope="module")
def deployed() -> Iterator[Deployed]:
    with deployed_quiet_pipeline() as (runtime, pipeline):
        yield Deployed(runtime, pipeline)


@pytest.fixture(scope="module")
def served(deployed: Deployed) -> Deployed:
    """The pipeline after a run trained on two days and deployed the model."""
    s3 = deployed.runtime.client("s3")
    for day in DAYS:
        s3.put_object(
            Bucket=deployed.pipeline.stack.outputs["DataBucketName"],
            Key=f"data/{PIPELINE}/{day.isoformat()}.csv",
            Body=training_rows(day.toordinal()),
        )
    arn = deployed.runtime.client("stepfunctions").start_execution(
        stateMachineArn=deployed.pipeline.state_machine_arn,
        name=f"predict-{uuid.uuid4().hex[:8]}",
        input=json.dumps({"trigger": "manual", "end_date": DAYS[-1].isoformat()}),
    )["executionArn"]
    record = wait_for_execution(deployed.runtime.aws, arn, region=deployed.runtime.region, timeout_seconds=120)
    assert record.status == "SUCCEEDED", record.cause
    return deployed


def feature_rows(n: int) -> list[str]:
    generator = np.random.default_rng(7)
    return [f"{a:.4f},{b:.4f}" for a, b in generator.normal(size=(n, 2))]


def test_predictions_are_the_endpoints_answers_one_per_record_in_batches(
    served: Deployed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN seven rows of features in a CSV file
    rows = feature_rows(7)
    path = tmp_path / "rows.csv"
    path.write_text("\n".join(rows) + "\n")
    # (counted from the first invocation on: the run's smoke test invoked the endpoint in the same minute)
    start = datetime(2000, 1, 1, tzinfo=UTC)
    before = served.invocations_since(start)

    # WHEN predict sends them three at a time, printing JSON
    assert served.predict("--csv", str(path), "--batch-size", "3", "--json") == 0
    printed = json.loads(capsys.readouterr().out)

    # THEN each record's prediction is the endpoint's answer for that row, in order, from three invocations
    direct = served.invoke("\n".join(rows) + "\n")
    assert [row["record"] for row in printed["predictions"]] == list(range(1, 8))
    assert [row["input"] for row in printed["predictions"]] == [row.split(",") for row in rows]
    assert [row["prediction"] for row in printed["predictions"]] == [answer["score"] for answer in direct]
    assert [row["answer"] for row in printed["predictions"]] == direct
    assert printed["endpoint"] == served.endpoint
    assert printed["unsplit_answers"] == []
    # 3 + 3 + 1 records, then the direct invocation
    assert served.invocations_since(start) == before + 4


def test_the_table_shows_each_record_and_its_score(
    served: Deployed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN JSON Lines records, arrays of features
    rows = feature_rows(2)
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps([float(v) for v in row.split(",")]) + "\n" for row in rows))

    # WHEN predict sends them as the built-in algorithms' JSON
    assert served.predict("--json-records", str(path)) == 0
    lines = capsys.readouterr().out.splitlines()

    # THEN a header and one line per record: its number, the record and the endpoint's score
    direct = served.invoke("\n".join(rows) + "\n")
    assert lines[0].split() == ["#", "record", "prediction"]
    assert len(lines) == 3
    for number, (line, row, answer) in enumerate(zip(lines[1:], rows, direct, strict=True), 1):
        assert line.split()[0] == str(number)
        assert json.dumps([float(v) for v in row.split(",")], separators=(",", ":")) in line
        assert line.split()[-1] == json.dumps(answer["score"])


def test_a_ragged_csv_exits_2_naming_the_file_and_line(
    served: Deployed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("1.0,2.0\n0.5,0.1\n3.0\n")

    assert served.predict("--csv", str(path)) == 2

    assert f"--csv {path} line 3: 1 field, line 1 has 2" in capsys.readouterr().err


def test_the_models_error_is_shown_with_exit_1(
    served: Deployed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN rows with three features where the model takes two
    path = tmp_path / "rows.csv"
    path.write_text("1.0,2.0,3.0\n")

    # WHEN they are sent, THEN the endpoint's message says what is wrong
    assert served.predict("--csv", str(path)) == 1
    error = capsys.readouterr().err
    assert f"endpoint {served.endpoint} answered an error for record 1" in error
    assert "row 1 has 3 features, the model expects 2" in error


def test_a_pipeline_without_a_deployed_endpoint_exits_1(
    deployed: Deployed, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the stack names an endpoint no run has created
    monkeypatch.setitem(deployed.runtime.aws.stacks[STACK], "EndpointName", "never-deployed")
    path = tmp_path / "rows.csv"
    path.write_text("1.0,2.0\n")

    # WHEN predict is asked, THEN it says the endpoint does not exist, and where
    assert deployed.predict("--csv", str(path)) == 1
    error = capsys.readouterr().err
    assert "endpoint never-deployed does not exist in the local runtime at http://" in error


def test_a_pipeline_that_is_not_deployed_exits_1(
    deployed: Deployed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("1.0,2.0\n")

    assert (
        main(["predict", "--pipeline", "nope", "--endpoint-url", deployed.runtime.endpoint_url, "--csv", str(path)])
        == 1
    )

    assert "SageMakerRetraining-nope" in capsys.readouterr().err
