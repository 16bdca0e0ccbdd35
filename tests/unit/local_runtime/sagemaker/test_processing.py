"""Processing jobs through the local AWS server: real boto3 calls, the container's command run by a worker."""

from __future__ import annotations

import io
import json
import logging
import sys
import tarfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import joblib
import pytest

from local_runtime.sagemaker.emulator import LocalSageMaker
from local_runtime.sagemaker.processing import UNMAPPED_PATH_HINT
from local_runtime.server import LocalAws

REGION, ACCOUNT = "us-east-1", "123456789012"
BUCKET = "processing-tests"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker"
SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
TERMINAL = ("Completed", "Failed", "Stopped")
COMMAND = (
    "set -e; cd /opt/ml/processing/input/code && tar -xzf sourcedir.tar.gz && python3 preprocess.py && "
    "cd /opt/ml/processing/model && tar -czf /opt/ml/processing/output/model/model.tar.gz ."
)

# The user's preprocessing, as the workflow runs it: fit a one-hot encoder on the raw rows, write the
# transformed training data and the fitted encoder.
PREPROCESS = """
import glob, os, pathlib, sys
import joblib, numpy as np
from sklearn.preprocessing import OneHotEncoder

rows = []
for path in sorted(glob.glob(os.path.join(os.environ["RAW_DATA_DIR"], "**", "*.csv"), recursive=True)):
    rows += [line.split(",") for line in pathlib.Path(path).read_text().split()]
labels = np.array([float(row[0]) for row in rows])
encoder = OneHotEncoder(handle_unknown="ignore").fit([[row[1]] for row in rows])
features = encoder.transform([[row[1]] for row in rows]).toarray()
pathlib.Path(os.environ["TRAINING_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
np.savetxt(os.path.join(os.environ["TRAINING_DATA_DIR"], "train.csv"), np.column_stack([labels, features]),
           delimiter=",", fmt="%g")
pathlib.Path(os.environ["MODEL_DIR"]).mkdir(parents=True, exist_ok=True)
joblib.dump(encoder, os.path.join(os.environ["MODEL_DIR"], "encoder.joblib"))
print(f"rows={len(rows)} python={sys.executable}")
"""

FAILING = """
import sys
print("reading the raw data")
print("Traceback (most recent call last):", file=sys.stderr)
print("ValueError: column 'colour' is missing", file=sys.stderr)
sys.exit(3)
"""

SLEEPER = """
import os, pathlib, time
pathlib.Path(os.environ["MODEL_DIR"]).mkdir(parents=True, exist_ok=True)
pathlib.Path(os.environ["MODEL_DIR"], "pid").write_text(str(os.getpid()))
time.sleep(60)
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sagemaker")


@pytest.fixture(scope="module")
def server(workdir: Path) -> Iterator[LocalAws]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    aws = LocalAws(sagemaker=LocalSageMaker(workdir))
    with aws:
        boto3.client(
            "s3", endpoint_url=aws.endpoint_url, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t"
        ).create_bucket(Bucket=BUCKET)
        yield aws


@pytest.fixture
def sagemaker(server: LocalAws, aws_env: None) -> Any:
    return boto3.client("sagemaker", endpoint_url=server.endpoint_url)


@pytest.fixture
def s3(server: LocalAws, aws_env: None) -> Any:
    return boto3.client("s3", endpoint_url=server.endpoint_url)


# --- helpers ---


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def put_code(s3: Any, source: str) -> str:
    """A sourcedir.tar.gz holding preprocess.py, as one object; its URI."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = source.encode()
        info = tarfile.TarInfo("preprocess.py")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    key = f"{unique('code')}/sourcedir.tar.gz"
    s3.put_object(Bucket=BUCKET, Key=key, Body=buffer.getvalue())
    return f"s3://{BUCKET}/{key}"


def put_manifest(s3: Any, prefix: str, files: dict[str, bytes], *, listed: list[str] | None = None) -> str:
    """Upload files under `prefix` and a manifest listing them (or `listed`); the manifest's URI."""
    for relative, body in files.items():
        s3.put_object(Bucket=BUCKET, Key=f"{prefix}/{relative}", Body=body)
    manifest = [{"prefix": f"s3://{BUCKET}/{prefix}/"}, *(listed if listed is not None else files)]
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/raw.manifest", Body=json.dumps(manifest).encode())
    return f"s3://{BUCKET}/{prefix}/raw.manifest"


def s3_input(name: str, uri: str, local_path: str, data_type: str) -> dict[str, Any]:
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri": uri,
            "S3DataType": data_type,
            "LocalPath": local_path,
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }


def create_job(
    sagemaker: Any,
    *,
    raw: str,
    code: str,
    raw_type: str = "ManifestFile",
    max_runtime: int = 600,
    kms_key: str | None = None,
    command: str = COMMAND,
) -> tuple[str, str]:
    """The request the workflow sends; (job name, output prefix)."""
    name, prefix = unique("run") + "-prep", unique("out")
    output_config: dict[str, Any] = {
        "Outputs": [
            {
                "OutputName": name_,
                "S3Output": {
                    "S3Uri": f"s3://{BUCKET}/{prefix}/{name_}",
                    "LocalPath": f"/opt/ml/processing/output/{name_}",
                    "S3UploadMode": "EndOfJob",
                },
            }
            for name_ in ("train", "model")
        ]
    }
    if kms_key:
        output_config["KmsKeyId"] = kms_key
    sagemaker.create_processing_job(
        ProcessingJobName=name,
        RoleArn=ROLE,
        Tags=[{"Key": "pipeline", "Value": "churn"}],
        StoppingCondition={"MaxRuntimeInSeconds": max_runtime},
        ProcessingResources={
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30}
        },
        AppSpecification={
            "ImageUri": SKLEARN,
            "ContainerEntrypoint": ["/bin/sh", "-c"],
            "ContainerArguments": [command],
        },
        Environment={
            "RAW_DATA_DIR": "/opt/ml/processing/input/raw",
            "TRAINING_DATA_DIR": "/opt/ml/processing/output/train",
            "MODEL_DIR": "/opt/ml/processing/model",
            "TARGET": "label",
        },
        ProcessingInputs=[
            s3_input("raw", raw, "/opt/ml/processing/input/raw", raw_type),
            s3_input("code", code, "/opt/ml/processing/input/code", "S3Prefix"),
        ],
        ProcessingOutputConfig=output_config,
    )
    return name, prefix


def wait_for(sagemaker: Any, name: str, *, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = sagemaker.describe_processing_job(ProcessingJobName=name)
        if job["ProcessingJobStatus"] in TERMINAL:
            return job
        assert time.monotonic() < deadline, f"{name} still {job['ProcessingJobStatus']}"
        time.sleep(0.05)


def keys_under(s3: Any, prefix: str) -> list[str]:
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


RAW = {"2026/11/20.csv": b"1,red\n0,blue\n", "2026/11/21.csv": b"1,green\n1,red\n"}


# --- tests ---


@pytest.mark.compatibility("sagemaker:CreateProcessingJob")
def test_a_preprocessing_job_fits_on_the_manifests_rows_and_uploads_its_outputs(
    sagemaker: Any, s3: Any, workdir: Path, tmp_path: Path
) -> None:
    # GIVEN raw rows in two daily files listed by a manifest, and the user's code as one sourcedir.tar.gz
    manifest = put_manifest(s3, unique("raw"), RAW)
    code = put_code(s3, PREPROCESS)

    # WHEN the workflow's processing job is created
    name, prefix = create_job(sagemaker, raw=manifest, code=code)
    first = sagemaker.describe_processing_job(ProcessingJobName=name)
    job = wait_for(sagemaker, name)

    # THEN it is InProgress at once, then Completed with its times, and Describe shows what moto drops
    assert first["ProcessingJobStatus"] == "InProgress"
    assert "ProcessingEndTime" not in first
    assert job["ProcessingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["CreationTime"] <= job["ProcessingStartTime"] <= job["ProcessingEndTime"]
    assert "FailureReason" not in job
    assert job["Environment"]["RAW_DATA_DIR"] == "/opt/ml/processing/input/raw"
    assert job["ProcessingResources"]["ClusterConfig"]["VolumeSizeInGB"] == 30
    # AND the manifest's entries landed at their relative paths, the code object under its basename
    root = workdir / "processing" / name / "processing"
    assert (root / "input" / "raw" / "2026" / "11" / "21.csv").read_bytes() == RAW["2026/11/21.csv"]
    assert (root / "input" / "code" / "sourcedir.tar.gz").is_file()
    # AND every file under each output's LocalPath is at S3Uri/<relative path>
    assert keys_under(s3, prefix) == [f"{prefix}/model/model.tar.gz", f"{prefix}/train/train.csv"]
    train = s3.get_object(Bucket=BUCKET, Key=f"{prefix}/train/train.csv")["Body"].read().decode().split()
    assert sorted(train) == sorted(["1,0,0,1", "0,1,0,0", "1,0,1,0", "1,0,0,1"])  # blue, green, red columns
    body = s3.get_object(Bucket=BUCKET, Key=f"{prefix}/model/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
        archive.extractall(tmp_path, filter="data")
    encoder = joblib.load(tmp_path / "encoder.joblib")
    assert encoder.transform([["green"]]).toarray().tolist() == [[0.0, 1.0, 0.0]]
    # AND python3 was this interpreter, and the job's log kept the script's output
    log = (workdir / "processing" / name / "processing.log").read_text()
    ran_with = log.split("rows=4 python=", 1)[1].splitlines()[0]
    assert Path(ran_with).parent == Path(sys.executable).parent


def test_an_s3_prefix_input_downloads_every_object_under_it(sagemaker: Any, s3: Any, workdir: Path) -> None:
    # GIVEN raw files under a prefix, one in a sub-folder, and a sibling prefix sharing its text
    prefix = unique("raw")
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/day/a.csv", Body=b"1,red\n")
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/day/2026/b.csv", Body=b"0,blue\n")

    # WHEN the raw input is that prefix (no trailing slash)
    name, _ = create_job(
        sagemaker, raw=f"s3://{BUCKET}/{prefix}/day", raw_type="S3Prefix", code=put_code(s3, PREPROCESS)
    )
    job = wait_for(sagemaker, name)

    # THEN the objects keep their paths under the prefix
    assert job["ProcessingJobStatus"] == "Completed", job.get("FailureReason")
    raw_dir = workdir / "processing" / name / "processing" / "input" / "raw"
    assert sorted(path.relative_to(raw_dir).as_posix() for path in raw_dir.rglob("*.csv")) == ["2026/b.csv", "a.csv"]


def test_a_failing_script_fails_the_job_with_its_stderr_tail_and_uploads_nothing(sagemaker: Any, s3: Any) -> None:
    # GIVEN a script that exits 3 after a traceback on stderr
    manifest = put_manifest(s3, unique("raw"), RAW)

    # WHEN it runs
    name, prefix = create_job(sagemaker, raw=manifest, code=put_code(s3, FAILING))
    job = wait_for(sagemaker, name)

    # THEN the job is Failed with the exit code and the last lines of stderr, and no output reached S3
    assert job["ProcessingJobStatus"] == "Failed"
    assert job["FailureReason"] == (
        "AlgorithmError: exit code 3: Traceback (most recent call last):\nValueError: column 'colour' is missing"
    )
    assert "ProcessingEndTime" in job
    assert keys_under(s3, prefix) == []


def test_a_script_that_names_a_container_path_itself_fails_saying_the_local_runtime_maps_only_the_command(
    sagemaker: Any, s3: Any
) -> None:
    # GIVEN a script that opens /opt/ml/processing/input/raw itself, as many examples' scripts do
    code = put_code(s3, "open('/opt/ml/processing/input/raw/2026/11/20.csv').read()\n")

    # WHEN it runs
    name, _ = create_job(sagemaker, raw=put_manifest(s3, unique("raw"), RAW), code=code)
    job = wait_for(sagemaker, name)

    # THEN the job's FailureReason says first why the path is missing locally, then the script's error
    assert job["ProcessingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith(f"AlgorithmError: exit code 1 ({UNMAPPED_PATH_HINT}): ")
    assert "No such file or directory: '/opt/ml/processing/input/raw/2026/11/20.csv'" in job["FailureReason"]


@pytest.mark.compatibility("sagemaker:CreateProcessingJob")
def test_the_message_file_becomes_the_exit_message(sagemaker: Any, s3: Any) -> None:
    # GIVEN a container command that explains its failure in /opt/ml/output/message, as SageMaker documents
    command = (
        "cd /opt/ml/processing/input/code && tar -xzf sourcedir.tar.gz && python3 preprocess.py "
        "|| { printf 'preprocess.py failed: colour missing' > /opt/ml/output/message; exit 1; }"
    )

    # WHEN the script fails
    name, _ = create_job(
        sagemaker, raw=put_manifest(s3, unique("raw"), RAW), code=put_code(s3, FAILING), command=command
    )
    job = wait_for(sagemaker, name)

    # THEN the message is DescribeProcessingJob's ExitMessage, next to the FailureReason
    assert job["ProcessingJobStatus"] == "Failed"
    assert job["ExitMessage"] == "preprocess.py failed: colour missing"
    assert job["FailureReason"].startswith("AlgorithmError: exit code 1: Traceback")


@pytest.mark.parametrize("listed", [["2026/11/22.csv"], ["../../escape.csv"]])
def test_a_manifest_entry_that_cannot_be_downloaded_fails_the_job(sagemaker: Any, s3: Any, listed: list[str]) -> None:
    # GIVEN a manifest that lists an absent object, or one outside the input's directory
    prefix = unique("raw")
    manifest = put_manifest(s3, prefix, RAW, listed=["2026/11/20.csv", *listed])

    # WHEN the job downloads its inputs
    name, out = create_job(sagemaker, raw=manifest, code=put_code(s3, PREPROCESS))
    job = wait_for(sagemaker, name)

    # THEN it fails with a ClientError naming the object, before running anything
    assert job["ProcessingJobStatus"] == "Failed"
    expected = (
        f"ClientError: input raw: cannot download s3://{BUCKET}/{prefix}/2026/11/22.csv (listed in the manifest "
        f"{manifest})"
        if listed == ["2026/11/22.csv"]
        else "ClientError: input raw: ../../escape.csv points outside its LocalPath"
    )
    assert job["FailureReason"].startswith(expected)
    assert keys_under(s3, out) == []


def test_an_empty_code_prefix_fails_the_job(sagemaker: Any, s3: Any) -> None:
    missing = f"s3://{BUCKET}/{unique('nothing')}/sourcedir.tar.gz"

    name, _ = create_job(sagemaker, raw=put_manifest(s3, unique("raw"), RAW), code=missing)
    job = wait_for(sagemaker, name)

    assert job["ProcessingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith(f'ClientError: input code: No S3 objects found under S3 URL "{missing}"')


def sleeper_pid(workdir: Path, name: str, timeout: float = 10.0) -> int:
    pid_file = workdir / "processing" / name / "processing" / "model" / "pid"
    deadline = time.monotonic() + timeout
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, f"{name}: the script never started"
        time.sleep(0.02)
    return int(pid_file.read_text())


def process_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return True
        if stat.split(") ", 1)[1].startswith("Z"):
            return True
        time.sleep(0.02)
    return False


def test_stop_processing_job_kills_the_script_and_ends_the_job_stopped(
    server: LocalAws, sagemaker: Any, s3: Any, workdir: Path
) -> None:
    # GIVEN a running job
    name, prefix = create_job(sagemaker, raw=put_manifest(s3, unique("raw"), RAW), code=put_code(s3, SLEEPER))
    pid = sleeper_pid(workdir, name)

    # WHEN it is stopped
    sagemaker.stop_processing_job(ProcessingJobName=name)
    stopping = sagemaker.describe_processing_job(ProcessingJobName=name)["ProcessingJobStatus"]
    job = wait_for(sagemaker, name)

    # THEN it goes Stopping, then Stopped; the script is dead, nothing uploaded; the end is announced
    assert stopping in ("Stopping", "Stopped")
    assert job["ProcessingJobStatus"] == "Stopped"
    assert process_gone(pid)
    assert keys_under(s3, prefix) == []
    assert isinstance(server.sagemaker, LocalSageMaker)
    sent = [json.loads(e["Detail"]) for e in server.sagemaker.status_events.sent if name in e["Detail"]]
    assert [d["ProcessingJobStatus"] for d in sent] == ["Stopped"]
    # AND a stopped job cannot be stopped again
    with pytest.raises(sagemaker.exceptions.ClientError, match="ValidationException"):
        sagemaker.stop_processing_job(ProcessingJobName=name)


def test_max_runtime_stops_the_job(sagemaker: Any, s3: Any) -> None:
    name, _ = create_job(sagemaker, raw=put_manifest(s3, unique("raw"), RAW), code=put_code(s3, SLEEPER), max_runtime=1)

    job = wait_for(sagemaker, name)

    assert job["ProcessingJobStatus"] == "Stopped"
    assert (job["ProcessingEndTime"] - job["ProcessingStartTime"]).total_seconds() < 10


def test_a_job_that_ends_sends_sagemakers_state_change_event(server: LocalAws, sagemaker: Any, s3: Any) -> None:
    # GIVEN a job that will fail, WHEN it ends
    name, _ = create_job(sagemaker, raw=put_manifest(s3, unique("raw"), RAW), code=put_code(s3, FAILING))
    wait_for(sagemaker, name)

    # THEN one event with DescribeProcessingJob's fields, times as epoch millis
    assert isinstance(server.sagemaker, LocalSageMaker)
    entries = [e for e in server.sagemaker.status_events.sent if name in e["Detail"]]
    assert [(e["Source"], e["DetailType"]) for e in entries] == [
        ("aws.sagemaker", "SageMaker Processing Job State Change")
    ]
    detail = json.loads(entries[0]["Detail"])
    assert detail["ProcessingJobName"] == name
    assert detail["ProcessingJobArn"] == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/{name}"
    assert detail["ProcessingJobStatus"] == "Failed"
    assert "exit code 3" in detail["FailureReason"]
    assert detail["CreationTime"] <= detail["ProcessingStartTime"] <= detail["ProcessingEndTime"]
    assert "Environment" not in detail


def test_list_processing_jobs_shows_the_emulated_status(sagemaker: Any, s3: Any) -> None:
    name, _ = create_job(sagemaker, raw=put_manifest(s3, unique("raw"), RAW), code=put_code(s3, FAILING))
    wait_for(sagemaker, name)

    listed = sagemaker.list_processing_jobs(NameContains=name, StatusEquals="Failed")["ProcessingJobSummaries"]

    assert [(summary["ProcessingJobName"], summary["ProcessingJobStatus"]) for summary in listed] == [(name, "Failed")]


def test_outputs_are_encrypted_with_the_kms_key_when_given(sagemaker: Any, s3: Any) -> None:
    key_id = boto3.client("kms", endpoint_url=sagemaker.meta.endpoint_url).create_key()["KeyMetadata"]["KeyId"]

    name, prefix = create_job(
        sagemaker, raw=put_manifest(s3, unique("raw"), RAW), code=put_code(s3, PREPROCESS), kms_key=key_id
    )
    job = wait_for(sagemaker, name)

    assert job["ProcessingJobStatus"] == "Completed", job.get("FailureReason")
    head = s3.head_object(Bucket=BUCKET, Key=f"{prefix}/train/train.csv")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"].endswith(key_id)
