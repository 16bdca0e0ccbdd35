"""Batch transform for real: transform jobs behind the local AWS server, driven with boto3."""

from __future__ import annotations

import io
import json
import logging
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from typing import Any

import boto3
import pytest
from botocore.config import Config

from contract.events import TRANSFORM_JOB_STATE_CHANGE
from contract.names import PIPELINE_TAG
from lambdas.common.transform import transform_job_request
from local_runtime.sagemaker.emulator import LocalSageMaker
from local_runtime.sagemaker.transform import assemble, csv_filter, plan_requests, split_records
from local_runtime.server import LocalAws

REGION, ACCOUNT = "us-east-1", "123456789012"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/my-inference:1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker"
BUCKET = "transform"
NO_RETRIES = Config(retries={"total_max_attempts": 1})
_names = count()

# Doubles each CSV record's numbers, a line per record; a negative number is an error, a "slow" record sleeps.
DOUBLER = """
import time

def model_fn(model_dir):
    return 2.0

def input_fn(body, content_type):
    assert content_type == "text/csv", content_type
    return [line for line in (body.decode() if isinstance(body, bytes) else body).splitlines() if line.strip()]

def predict_fn(data, model):
    rows = []
    for line in data:
        if line == "slow":
            time.sleep(30)
        values = [float(v) for v in line.split(",")]
        if any(v < 0 for v in values):
            raise ValueError(f"negative value in {line!r}")
        rows.append(",".join(str(v * model) for v in values))
    return rows

def output_fn(prediction, accept):
    return "".join(row + "\\n" for row in prediction), "text/csv"
"""
# Turns category names into numbers, for DOUBLER behind it in a serial pipeline.
ENCODER = """
import json, os

def model_fn(model_dir):
    with open(os.path.join(model_dir, "codes.json")) as f:
        return json.load(f)

def input_fn(body, content_type):
    return [line.strip() for line in (body.decode() if isinstance(body, bytes) else body).splitlines() if line.strip()]

def predict_fn(data, model):
    return [str(model[value]) for value in data]

def output_fn(prediction, accept):
    return "".join(row + "\\n" for row in prediction), "text/csv"
"""


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSageMaker]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    emulator = LocalSageMaker(tmp_path_factory.mktemp("transform"), health_check_timeout_seconds=20)
    # The events go nowhere here: the test reads what was sent.
    emulator.status_events._put_events = lambda entries, region: []
    with LocalAws(sagemaker=emulator) as aws:
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        session.client("s3", endpoint_url=aws.endpoint_url).create_bucket(Bucket=BUCKET)
        yield emulator


@dataclass
class Aws:
    sagemaker: Any
    s3: Any
    emulator: LocalSageMaker

    def upload(self, files: dict[str, str]) -> str:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for name, text in files.items():
                data = text.encode()
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        key = f"artifacts/{next(_names)}/model.tar.gz"
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=buffer.getvalue())
        return f"s3://{BUCKET}/{key}"

    def model(self, script: str = DOUBLER) -> str:
        name = f"model-{next(_names)}"
        container = {"Image": IMAGE, "ModelDataUrl": self.upload({"code/inference.py": script})}
        self.sagemaker.create_model(ModelName=name, PrimaryContainer=container, ExecutionRoleArn=ROLE)
        return name

    def pipeline(self, codes: dict[str, int]) -> str:
        name = f"model-{next(_names)}"
        containers = [
            {
                "ContainerHostname": "encode",
                "Image": IMAGE,
                "ModelDataUrl": self.upload({"codes.json": json.dumps(codes), "code/inference.py": ENCODER}),
            },
            {
                "ContainerHostname": "double",
                "Image": IMAGE,
                "ModelDataUrl": self.upload({"code/inference.py": DOUBLER}),
            },
        ]
        self.sagemaker.create_model(
            ModelName=name, Containers=containers, InferenceExecutionConfig={"Mode": "Serial"}, ExecutionRoleArn=ROLE
        )
        return name

    def put(self, files: dict[str, str]) -> str:
        """Objects under a new prefix; return the prefix's URI."""
        prefix = f"input-{next(_names)}/"
        for name, text in files.items():
            self.s3.put_object(Bucket=BUCKET, Key=prefix + name, Body=text.encode())
        return f"s3://{BUCKET}/{prefix}"

    def start(self, model: str, input_uri: str, **changes: Any) -> tuple[str, str]:
        """Create a transform job; (its name, its output URI)."""
        name = f"job-{next(_names)}"
        output = f"s3://{BUCKET}/output-{name}/"
        request = transform_job_request(name, model, input_uri, output, accept="text/csv")
        request.update(changes)
        self.sagemaker.create_transform_job(**request)
        return name, output

    def finish(self, name: str, timeout: float = 60) -> dict[str, Any]:
        assert self.emulator.transform.wait(REGION, name, timeout), f"{name} still running"
        described: dict[str, Any] = self.sagemaker.describe_transform_job(TransformJobName=name)
        return described

    def read(self, uri: str, relative: str) -> str:
        key = uri.removeprefix(f"s3://{BUCKET}/") + relative
        return str(self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode())

    def keys(self, uri: str) -> list[str]:
        prefix = uri.removeprefix(f"s3://{BUCKET}/")
        listed = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
        return sorted(item["Key"][len(prefix) :] for item in listed)

    def events(self, name: str) -> list[dict[str, Any]]:
        return [
            json.loads(entry["Detail"])
            for entry in self.emulator.status_events.sent
            if entry["DetailType"] == TRANSFORM_JOB_STATE_CHANGE
            and json.loads(entry["Detail"])["TransformJobName"] == name
        ]


@pytest.fixture
def aws(emulator: LocalSageMaker, aws_env: None) -> Aws:
    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=emulator.endpoint_url, config=NO_RETRIES)  # type: ignore[call-overload]

    return Aws(client("sagemaker"), client("s3"), emulator)


@pytest.mark.compatibility("sagemaker:CreateTransformJob")
def test_a_job_transforms_every_object_under_the_prefix_a_line_per_record(aws: Aws) -> None:
    # GIVEN two CSV objects under a prefix, one in a sub-folder, and a model that doubles each record
    source = aws.put({"a.csv": "1,2\n3,4\n", "day/b.csv": "5,6\n"})

    # WHEN a transform job runs over the prefix
    name, output = aws.start(aws.model(), source)
    described = aws.finish(name)

    # THEN it is Completed, and each object's predictions are at <output>/<key below the prefix>.out, a line each
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    assert aws.keys(output) == ["a.csv.out", "day/b.csv.out"]
    assert aws.read(output, "a.csv.out") == "2.0,4.0\n6.0,8.0\n"
    assert aws.read(output, "day/b.csv.out") == "10.0,12.0\n"
    # AND DescribeTransformJob has SageMaker's times, and the end was announced
    assert described["TransformStartTime"] <= described["TransformEndTime"]
    assert [event["TransformJobStatus"] for event in aws.events(name)] == ["Completed"]


def test_a_job_is_in_progress_while_it_runs(aws: Aws) -> None:
    # GIVEN a model whose "slow" record takes long
    source = aws.put({"a.csv": "slow\n"})

    # WHEN the job was just created
    name, _ = aws.start(aws.model(), source)
    described = aws.sagemaker.describe_transform_job(TransformJobName=name)

    # THEN it is InProgress, without an end time yet (moto alone says Completed at once)
    assert described["TransformJobStatus"] == "InProgress"
    assert "TransformEndTime" not in described
    aws.sagemaker.stop_transform_job(TransformJobName=name)
    aws.finish(name)


@pytest.mark.parametrize(
    ("strategy", "max_payload_mb"),
    [("SingleRecord", 1), ("MultiRecord", 1)],
)
def test_both_batch_strategies_give_the_same_lines(aws: Aws, strategy: str, max_payload_mb: int) -> None:
    # GIVEN an object of many records
    rows = [f"{i},{i + 1}" for i in range(50)]
    source = aws.put({"rows.csv": "\n".join(rows) + "\n"})

    # WHEN it is transformed one record per request, or in batches
    name, output = aws.start(aws.model(), source, BatchStrategy=strategy, MaxPayloadInMB=max_payload_mb)

    # THEN the output has one line per record, in order
    assert aws.finish(name)["TransformJobStatus"] == "Completed"
    assert aws.read(output, "rows.csv.out").splitlines() == [f"{2.0 * i},{2.0 * (i + 1)}" for i in range(50)]


@pytest.mark.compatibility("sagemaker:CreateTransformJob")
def test_a_serial_pipeline_model_transforms_through_each_container(aws: Aws) -> None:
    # GIVEN raw category records and a two-container pipeline: encode the category, then double it
    source = aws.put({"raw.csv": "red\nblue\nred\n"})
    model = aws.pipeline({"red": 1, "blue": 5})

    # WHEN a transform job runs with the pipeline model
    name, output = aws.start(model, source)

    # THEN each record went through both containers
    assert aws.finish(name)["TransformJobStatus"] == "Completed"
    assert aws.read(output, "raw.csv.out") == "2.0\n10.0\n2.0\n"


def test_a_failing_record_fails_the_job_naming_the_object_and_the_containers_error(aws: Aws) -> None:
    # GIVEN one good object and one whose record the model refuses
    source = aws.put({"good.csv": "1\n", "bad.csv": "2\n-3\n"})

    # WHEN the job runs
    name, output = aws.start(aws.model(), source)
    described = aws.finish(name)

    # THEN it is Failed, the reason names the object and relays the container's error
    assert described["TransformJobStatus"] == "Failed"
    reason = described["FailureReason"]
    assert reason.startswith(f"ClientError: Error processing {source}bad.csv: Received server error (500) from primary")
    assert "negative value in '-3'" in reason
    # AND only the object that succeeded has an output: no partial object is written
    assert aws.keys(output) == ["good.csv.out"]
    assert [event["TransformJobStatus"] for event in aws.events(name)] == ["Failed"]
    assert aws.events(name)[0]["FailureReason"] == reason


def test_a_pipelines_failing_container_is_named(aws: Aws) -> None:
    # GIVEN a pipeline whose encoder does not know "green"
    source = aws.put({"raw.csv": "green\n"})

    # WHEN the job runs
    name, _ = aws.start(aws.pipeline({"red": 1}), source)

    # THEN the reason names the encoder's container by its hostname
    reason = aws.finish(name)["FailureReason"]
    assert "Received server error (500) from encode" in reason
    assert "KeyError" in reason


def test_stop_ends_a_running_job_stopped(aws: Aws) -> None:
    # GIVEN a job busy with a slow record
    source = aws.put({"a.csv": "slow\n"})
    name, output = aws.start(aws.model(), source)
    deadline = time.monotonic() + 20
    while not aws.emulator.transform._runs[(REGION, name)].chain.workers and time.monotonic() < deadline:
        time.sleep(0.05)

    # WHEN it is stopped
    aws.sagemaker.stop_transform_job(TransformJobName=name)
    started = time.monotonic()
    described = aws.finish(name, timeout=20)

    # THEN it ends Stopped soon, writes nothing, and the end is announced
    assert described["TransformJobStatus"] == "Stopped"
    assert time.monotonic() - started < 15
    assert aws.keys(output) == []
    assert [event["TransformJobStatus"] for event in aws.events(name)] == ["Stopped"]


def test_a_stalled_job_stays_in_progress_until_stopped_and_spares_other_pipelines_jobs(aws: Aws) -> None:
    # GIVEN the next transform job of pipeline churn stalls (an injected fault)
    fault = aws.emulator.faults.stall_transform_job(pipeline="churn")
    model, source = aws.model(), aws.put({"a.csv": "1,2\n"})

    # WHEN a job of another pipeline starts, then one of churn
    other, _ = aws.start(model, source, Tags=[{"Key": PIPELINE_TAG, "Value": "demo"}])
    stalled, output = aws.start(model, source, Tags=[{"Key": PIPELINE_TAG, "Value": "churn"}])

    # THEN the other job completes while churn's stays InProgress and writes nothing
    assert aws.finish(other)["TransformJobStatus"] == "Completed"
    assert not aws.emulator.transform.wait(REGION, stalled, timeout=0.5)
    assert aws.sagemaker.describe_transform_job(TransformJobName=stalled)["TransformJobStatus"] == "InProgress"
    # ... until it is stopped: then it ends Stopped, announced, with no output
    aws.sagemaker.stop_transform_job(TransformJobName=stalled)
    assert aws.finish(stalled, timeout=10)["TransformJobStatus"] == "Stopped"
    assert [event["TransformJobStatus"] for event in aws.events(stalled)] == ["Stopped"]
    assert aws.keys(output) == []
    assert fault.fired == 1


def test_an_unknown_model_or_empty_prefix_fails_the_job_saying_so(aws: Aws) -> None:
    # GIVEN a job naming a model that does not exist, and one over an empty prefix
    missing, _ = aws.start("no-such-model", aws.put({"a.csv": "1\n"}))
    empty, _ = aws.start(aws.model(), f"s3://{BUCKET}/nothing-here/")

    # THEN both fail with SageMaker's reasons
    assert (
        'Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/no-such-model"'
        in (aws.finish(missing)["FailureReason"])
    )
    assert f'No S3 objects found under S3 URL "s3://{BUCKET}/nothing-here/"' in aws.finish(empty)["FailureReason"]


def test_an_input_filter_drops_a_label_first_files_label(aws: Aws) -> None:
    # GIVEN a label-first file, as the pipeline's data files are
    source = aws.put({"day.csv": "9,1,2\n8,3,4\n"})

    # WHEN the job's InputFilter keeps every column but the first
    name, output = aws.start(aws.model(), source, DataProcessing={"InputFilter": "$[1:]"})

    # THEN the model saw the features only
    assert aws.finish(name)["TransformJobStatus"] == "Completed"
    assert aws.read(output, "day.csv.out") == "2.0,4.0\n6.0,8.0\n"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [("$", b"a,b,c\n"), ("$[1:]", b"b,c\n"), ("$[:-1]", b"a,b\n"), ("$[0, 2]", b"a,c\n"), ("$[1]", b"b\n")],
)
def test_csv_input_filters_select_columns(expression: str, expected: bytes) -> None:
    assert csv_filter(expression)(b"a,b,c\n") == expected


def test_an_unsupported_input_filter_is_refused() -> None:
    with pytest.raises(ValueError, match="is not emulated"):
        csv_filter("$.features")


def test_data_processing_filters_are_refused_clearly(aws: Aws) -> None:
    # GIVEN a job asking to join the input to the output
    source = aws.put({"a.csv": "1\n"})
    name, _ = aws.start(aws.model(), source, DataProcessing={"JoinSource": "Input"})

    # THEN it fails saying the local runtime does not emulate it
    assert "DataProcessing JoinSource=Input is not emulated" in aws.finish(name)["FailureReason"]


def test_the_output_is_encrypted_with_the_kms_key_and_a_manifest_names_the_objects(aws: Aws) -> None:
    # GIVEN two objects, a manifest listing one of them, and a KMS key for the output
    source = aws.put({"a.csv": "1\n", "b.csv": "2\n"})
    manifest_key = source.removeprefix(f"s3://{BUCKET}/") + "list.manifest"
    aws.s3.put_object(Bucket=BUCKET, Key=manifest_key, Body=json.dumps([{"prefix": source}, "b.csv"]).encode())
    request = transform_job_request(
        f"job-{next(_names)}",
        aws.model(),
        f"s3://{BUCKET}/{manifest_key}",
        f"s3://{BUCKET}/kms/",
        accept="text/csv",
        kms_key_id="alias/k",
    )
    request["TransformInput"]["DataSource"]["S3DataSource"]["S3DataType"] = "ManifestFile"

    # WHEN the job runs
    aws.sagemaker.create_transform_job(**request)
    assert aws.finish(request["TransformJobName"])["TransformJobStatus"] == "Completed"

    # THEN only the listed object is transformed, and its output is stored with SSE-KMS under the key
    head = aws.s3.head_object(Bucket=BUCKET, Key="kms/b.csv.out")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"].endswith("alias/k")
    assert aws.keys(f"s3://{BUCKET}/kms/") == ["b.csv.out"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[{", "is not JSON"),
        (b'["a.csv"]', 'must be a JSON list [{"prefix": "s3://bucket/prefix/"}, "relative/key", ...]'),
    ],
)
def test_a_manifest_sagemaker_would_not_read_fails_the_job_naming_it(aws: Aws, body: bytes, reason: str) -> None:
    # GIVEN a manifest that is not SageMaker's manifest format
    source = aws.put({"a.csv": "1\n"})
    manifest_uri = f"{source}bad.manifest"
    aws.s3.put_object(Bucket=BUCKET, Key=manifest_uri.removeprefix(f"s3://{BUCKET}/"), Body=body)
    request = transform_job_request(f"job-{next(_names)}", aws.model(), manifest_uri, f"s3://{BUCKET}/out/")
    request["TransformInput"]["DataSource"]["S3DataSource"]["S3DataType"] = "ManifestFile"

    # WHEN the job runs / THEN it fails, naming the manifest and what is wrong with it
    aws.sagemaker.create_transform_job(**request)
    described = aws.finish(request["TransformJobName"])
    assert described["TransformJobStatus"] == "Failed"
    assert described["FailureReason"].startswith(f"ClientError: the manifest {manifest_uri} ")
    assert reason in described["FailureReason"]


def test_records_split_batched_and_assembled() -> None:
    # GIVEN three line records of 4 bytes each
    records = split_records(b"1,2\n\n3,4\n5,6\n", "Line")

    # THEN blank lines are no records; batches fill up to the payload; Line assembly ends every answer with \n
    assert records == [b"1,2\n", b"3,4\n", b"5,6\n"]
    assert list(plan_requests(records, "MultiRecord", 8)) == [b"1,2\n3,4\n", b"5,6\n"]
    assert list(plan_requests(records, "SingleRecord", 8)) == records
    assert split_records(b"whole\nobject", "None") == [b"whole\nobject"]
    assert assemble([b"a", b"b\n"], "Line") == b"a\nb\n"
    assert assemble([b"a", b"b"], "None") == b"ab"
