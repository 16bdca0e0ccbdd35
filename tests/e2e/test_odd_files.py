"""Odd files under the data prefix, through the local runtime: a window of `.csv.gz` files trains (streamed and
decompressed in Pipe mode), is judged on its gzip holdout, deploys; the newest `dt=` day is transformed without the
`_SUCCESS` and `README.txt` beside its data; keys of no layout are named in the run's output and in `runs show`."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pytest

from local_runtime.deploy import ExecutionRecord, wait_for_execution
from local_runtime.runtime import QUIET_FUNCTIONS, LocalRuntime, synthesize
from operator_cli.cli import main

pytestmark = pytest.mark.e2e

PIPELINE = "oddfiles"
STACK = f"SageMakerRetraining-{PIPELINE}"
DATA_PREFIX = f"data/{PIPELINE}"
DAYS = (date(2026, 4, 1), date(2026, 4, 2), date(2026, 4, 3))
NEWEST = DAYS[-1]
# Under the prefix, in no layout: listed by every run, never read.
STRAYS = ("latest.csv", "notes.txt", "2026/12/13.csv")
SIBLINGS = ("_SUCCESS", "README.txt")  # beside the newest day's data, as Spark and people leave them


def day_rows(seed: int, n: int = 30) -> bytes:
    """Label first: y = 3 x1 - 2 x2 + 1 plus a little noise."""
    generator = np.random.default_rng(seed)
    features = generator.normal(size=(n, 2))
    labels = 3 * features[:, 0] - 2 * features[:, 1] + 1 + generator.normal(scale=0.05, size=n)
    return "".join(f"{y:.6f},{a:.6f},{b:.6f}\n" for y, (a, b) in zip(labels, features, strict=True)).encode()


@dataclass(frozen=True)
class Run:
    runtime: LocalRuntime
    bucket: str
    record: ExecutionRecord

    @property
    def output(self) -> dict[str, Any]:
        assert isinstance(self.record.output, dict)
        return self.record.output

    def s3(self) -> Any:
        return self.runtime.client("s3")

    def read(self, uri: str) -> bytes:
        body: bytes = (
            self.s3().get_object(Bucket=self.bucket, Key=uri.removeprefix(f"s3://{self.bucket}/"))["Body"].read()
        )
        return body


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    """A run over three days of .csv.gz files in dt= folders, the newest with siblings, and stray keys."""
    config = {
        "name": PIPELINE,
        "data_prefix": DATA_PREFIX,
        "window_days": len(DAYS),
        "hyperparameters": {"predictor_type": "regressor"},
        "batch_transform": {"predictions_prefix": f"predictions/{PIPELINE}"},
        "polling": {"interval_seconds": 1, "max_training_wait_seconds": 600, "max_deployment_wait_seconds": 300},
    }
    template = synthesize({"pipelines": [config]})[STACK]
    with LocalRuntime() as runtime:
        pipeline = runtime.deploy_template(template, stack_name=STACK, function_environment=QUIET_FUNCTIONS)
        bucket = pipeline.stack.outputs["DataBucketName"]
        s3 = runtime.client("s3")
        for day in DAYS:
            body = gzip.compress(day_rows(day.toordinal()))
            s3.put_object(Bucket=bucket, Key=f"{DATA_PREFIX}/dt={day.isoformat()}/part-0.csv.gz", Body=body)
        for sibling in SIBLINGS:
            s3.put_object(Bucket=bucket, Key=f"{DATA_PREFIX}/dt={NEWEST.isoformat()}/{sibling}", Body=b"not data\n")
        for stray in STRAYS:
            s3.put_object(Bucket=bucket, Key=f"{DATA_PREFIX}/{stray}", Body=b"1,2,3\n")
        arn = runtime.client("stepfunctions").start_execution(
            stateMachineArn=pipeline.state_machine_arn,
            name=f"odd-{uuid.uuid4().hex[:8]}",
            input=json.dumps({"trigger": "manual", "end_date": NEWEST.isoformat()}),
        )["executionArn"]
        record = wait_for_execution(runtime.aws, arn, region=runtime.region, timeout_seconds=240)
        yield Run(runtime, bucket, record)


@pytest.mark.reliability(
    "input",
    "A window of .csv.gz files (a window mixing .csv.gz and plain files, gzip bytes named .csv: unit tests)",
    "Validated streamed through gzip, trained with Gzip channels in Pipe mode, scored on the holdout and "
    "deployed; a mixed window fails before any manifest naming a file of each kind",
)
def test_a_gzip_window_trains_streamed_through_gzip_is_judged_and_deploys(run: Run) -> None:
    # THEN the run succeeded and deployed, the watermark at the newest day
    assert run.record.status == "SUCCEEDED", run.record.cause
    output = run.output
    assert output["watermark"]["newest_data_date"] == NEWEST.isoformat()
    assert output["run"]["compression"] == "Gzip"
    # ... the training job read both channels decompressed, in Pipe mode (File mode takes no Gzip)
    sagemaker = run.runtime.client("sagemaker")
    job = sagemaker.describe_training_job(TrainingJobName=output["training"]["job_name"])
    assert job["TrainingJobStatus"] == "Completed"
    assert {c["ChannelName"]: (c["InputMode"], c["CompressionType"]) for c in job["InputDataConfig"]} == {
        "train": ("Pipe", "Gzip"),
        "validation": ("Pipe", "Gzip"),
    }
    # ... and the model that serves answers like the function it learned
    answer = run.runtime.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=output["deployment"]["endpoint_name"], ContentType="text/csv", Body=b"1.0,1.0\n"
    )
    assert json.loads(answer["Body"].read())["predictions"][0]["score"] == pytest.approx(2.0, abs=0.2)
    # ... after the held-out day was scored decompressed, as the transform jobs read it
    assert output["evaluation"]["holdout_records"] == 30


@pytest.mark.reliability(
    "input",
    "A dt= day folder holding _SUCCESS and README.txt beside its data file",
    "The batch transform reads a manifest of the day's data file alone: predictions for its records, none for "
    "the siblings",
)
def test_the_newest_dt_day_is_transformed_without_the_files_beside_its_data(run: Run) -> None:
    transform = run.output["batch_transform"]
    sagemaker = run.runtime.client("sagemaker")
    job = sagemaker.describe_transform_job(TransformJobName=transform["job_name"])

    # THEN the job read a manifest of the day's one data file, decompressing it
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    assert job["TransformInput"]["DataSource"]["S3DataSource"]["S3DataType"] == "ManifestFile"
    assert job["TransformInput"]["CompressionType"] == "Gzip"
    day_folder = f"dt={NEWEST.isoformat()}"
    assert json.loads(run.read(transform["input_uri"]))[1:] == [f"{day_folder}/part-0.csv.gz"]
    # ... and wrote predictions for it alone: a line per record, none for _SUCCESS or README.txt
    listed = run.s3().list_objects_v2(Bucket=run.bucket, Prefix=f"predictions/{PIPELINE}/")["Contents"]
    assert [item["Key"] for item in listed] == [f"predictions/{PIPELINE}/{DATA_PREFIX}/{day_folder}/part-0.csv.gz.out"]
    assert len(run.read(f"s3://{run.bucket}/{listed[0]['Key']}").splitlines()) == 30


@pytest.mark.reliability(
    "input",
    "Keys under the data prefix in no layout (latest.csv, notes.txt, 2026/12/13.csv) and non-CSV siblings",
    "Each is named in the run's output and in `runs show` (with why for the skipped), never ignored without a trace",
)
def test_the_keys_not_read_are_named_in_the_runs_output_and_in_runs_show(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    # THEN the run's output names the siblings skipped (with why) and the keys in no layout
    section = run.output["run"]
    skipped = {entry["key"]: entry["reason"] for entry in section["skipped_keys"]}
    assert skipped == {
        f"{DATA_PREFIX}/dt={NEWEST.isoformat()}/{name}": "not a .csv or .csv.gz file" for name in SIBLINGS
    }
    assert section["unrecognised_keys"] == sorted(f"{DATA_PREFIX}/{stray}" for stray in STRAYS)
    assert section["unrecognised_count"] == len(STRAYS)

    # WHEN the run is shown
    assert main(["runs", "show", run.record.arn, "--endpoint-url", run.runtime.endpoint_url]) == 0

    # THEN CheckData's row names them too
    out = capsys.readouterr().out
    (row,) = [line for line in out.splitlines() if " CheckData " in line]
    assert f"; 3 in no layout: {', '.join(sorted(f'{DATA_PREFIX}/{s}' for s in STRAYS))}" in row
    assert "; 2 skipped: " in row
