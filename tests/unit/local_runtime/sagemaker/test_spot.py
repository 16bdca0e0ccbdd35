"""Managed Spot training in the SageMaker emulator: checkpoints restored after an interruption, the documented
lifecycle, billable time below training time, and the end of a job past its max wait."""

from __future__ import annotations

import io
import json
import logging
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from local_runtime.faults import Faults
from local_runtime.sagemaker.emulator import LocalSageMaker
from local_runtime.sagemaker.spot import BillableClock, checkpoint_directory, restore_checkpoints, sync_checkpoints
from local_runtime.sagemaker.training_input import JobLayout
from local_runtime.server import LocalAws
from tests.unit.local_runtime.sagemaker.test_training import BUCKET, REGION, ROLE, SKLEARN, channel, unique, wait_for

# A script that checkpoints one epoch a step into the folder checkpointconfig.json names, and resumes after the
# last one it finds: what a Script Mode script does to survive spot interruptions.
CHECKPOINTING = """
import json, os, pathlib, time
config = json.loads(pathlib.Path(os.environ["SM_INPUT_CONFIG_DIR"], "checkpointconfig.json").read_text())
checkpoints = pathlib.Path(config["LocalPath"])
done = sorted(int(path.name.split("-")[1]) for path in checkpoints.glob("epoch-*"))
start = done[-1] + 1 if done else 0
print(f"resuming at epoch {start}", flush=True)
for epoch in range(start, 4):
    time.sleep(0.3)
    (checkpoints / f"epoch-{epoch}").write_text(str(epoch))
pathlib.Path(os.environ["SM_MODEL_DIR"], "model.txt").write_text(f"started at epoch {start}")
"""
SLEEPER = "import time\ntime.sleep(60)\n"
PLAIN = """
import os, pathlib, time
time.sleep(1.2)
pathlib.Path(os.environ["SM_MODEL_DIR"], "model.txt").write_text("trained on demand")
"""


@pytest.fixture(scope="module")
def faults() -> Faults:
    return Faults()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, faults: Faults) -> Iterator[LocalAws]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    aws = LocalAws(faults=faults, sagemaker=LocalSageMaker(tmp_path_factory.mktemp("spot"), faults=faults))
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


@pytest.fixture(autouse=True)
def disarmed(faults: Faults) -> Iterator[None]:
    yield
    faults.clear()


def start_job(s3: Any, sagemaker: Any, source: str, *, spot: bool = True, max_wait: int = 60, runtime: int = 60) -> str:
    """A Script Mode job of one train.py, on spot capacity with checkpoints in its own folder (or on demand)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("train.py")
        info.size = len(source.encode())
        archive.addfile(info, io.BytesIO(source.encode()))
    name = unique("spot")
    s3.put_object(Bucket=BUCKET, Key=f"{name}/source/sourcedir.tar.gz", Body=buffer.getvalue())
    s3.put_object(Bucket=BUCKET, Key=f"{name}/data/train.csv", Body=b"1,2\n3,4\n")
    options: dict[str, Any] = {"StoppingCondition": {"MaxRuntimeInSeconds": runtime}}
    if spot:
        options = {
            "EnableManagedSpotTraining": True,
            "StoppingCondition": {"MaxRuntimeInSeconds": runtime, "MaxWaitTimeInSeconds": max_wait},
            "CheckpointConfig": {
                "S3Uri": f"s3://{BUCKET}/models/{name}/checkpoints/",
                "LocalPath": "/opt/ml/checkpoints",
            },
        }
    sagemaker.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": SKLEARN, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        HyperParameters={
            "sagemaker_program": json.dumps("train.py"),
            "sagemaker_submit_directory": json.dumps(f"s3://{BUCKET}/{name}/source/sourcedir.tar.gz"),
        },
        InputDataConfig=[channel("train", f"s3://{BUCKET}/{name}/data/", "S3Prefix")],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/models/"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        **options,
    )
    return name


def statuses(job: dict[str, Any]) -> list[str]:
    return [entry["Status"] for entry in job["SecondaryStatusTransitions"]]


def model_text(s3: Any, job: dict[str, Any]) -> str:
    bucket, key = job["ModelArtifacts"]["S3ModelArtifacts"].removeprefix("s3://").split("/", 1)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
        member = archive.extractfile("model.txt")
        assert member is not None
        return member.read().decode()


@pytest.mark.compatibility("sagemaker:CreateTrainingJob")
def test_an_interrupted_spot_job_restarts_from_its_checkpoints_and_bills_less_than_it_took(
    faults: Faults, s3: Any, sagemaker: Any
) -> None:
    # GIVEN an interruption armed for the next spot attempt, 1.5 s to find capacity again
    fault = faults.interrupt_spot(restart_after_seconds=1.5)

    # WHEN a spot job that checkpoints each epoch runs
    name = start_job(s3, sagemaker, CHECKPOINTING)
    job = wait_for(sagemaker, name, timeout=60)

    # THEN it was interrupted after its first checkpoint, restarted with it restored, and completed from epoch 1
    assert (job["TrainingJobStatus"], fault.fired) == ("Completed", 1)
    assert statuses(job) == [
        "Starting", "Downloading", "Training", "Interrupted", "Starting", "Downloading", "Training", "Uploading",
        "Completed",
    ]  # fmt: skip
    interrupted = next(entry for entry in job["SecondaryStatusTransitions"] if entry["Status"] == "Interrupted")
    assert (
        interrupted["StatusMessage"] == "Training job interrupted: the managed spot training instances were interrupted"
    )
    assert model_text(s3, job) == "started at epoch 1"
    # every checkpoint is in the job's folder; the time waiting for capacity was not billed
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"models/{name}/checkpoints/")["Contents"]
    assert sorted(item["Key"].rsplit("/", 1)[1] for item in listed) == [f"epoch-{n}" for n in range(4)]
    assert job["BillableTimeInSeconds"] < job["TrainingTimeInSeconds"]


def test_an_on_demand_job_is_never_interrupted_and_bills_its_training_time(
    faults: Faults, s3: Any, sagemaker: Any
) -> None:
    fault = faults.interrupt_spot(after_seconds=0)

    job = wait_for(sagemaker, start_job(s3, sagemaker, PLAIN, spot=False), timeout=60)

    assert (job["TrainingJobStatus"], fault.fired) == ("Completed", 0)
    assert "Interrupted" not in statuses(job)
    assert job["BillableTimeInSeconds"] == job["TrainingTimeInSeconds"]
    assert model_text(s3, job) == "trained on demand"


def test_a_spot_job_past_its_max_wait_ends_stopped_with_max_wait_time_exceeded(
    faults: Faults, s3: Any, sagemaker: Any
) -> None:
    # GIVEN a spot job interrupted at once, with no capacity for a minute
    faults.interrupt_spot(after_seconds=0.2, restart_after_seconds=60)

    # WHEN its 3 s of max wait pass while it waits (its runtime counts only while it runs)
    job = wait_for(sagemaker, start_job(s3, sagemaker, SLEEPER, max_wait=3, runtime=2), timeout=20)

    # THEN it ends as SageMaker's lifecycle documents it: Stopping, then Stopped / MaxWaitTimeExceeded
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopped", "MaxWaitTimeExceeded")
    assert statuses(job)[-3:] == ["Interrupted", "Stopping", "MaxWaitTimeExceeded"]
    assert job["SecondaryStatusTransitions"][-1]["StatusMessage"] == (
        "Training job stopped: it exceeded the maximum allowed wait time"
    )
    assert "FailureReason" not in job


def test_the_container_is_told_the_checkpoint_folder_in_checkpointconfig_json(tmp_path: Path) -> None:
    # /opt/ml/checkpoints stands for the job directory's checkpoints/, as /opt/ml/model for its model/
    layout = JobLayout(tmp_path)

    assert checkpoint_directory(layout, "/opt/ml/checkpoints") == tmp_path / "checkpoints"
    assert checkpoint_directory(layout, "/opt/ml/checkpoints/") == tmp_path / "checkpoints"
    assert checkpoint_directory(layout, "/opt/ml/state/ckpt") == tmp_path / "state" / "ckpt"


def test_a_sync_mirrors_the_folder_and_a_restore_brings_it_back(s3: Any, tmp_path: Path) -> None:
    # GIVEN a checkpoint folder synced once, then one file deleted and one added locally
    uri = f"s3://{BUCKET}/{unique('sync')}/checkpoints/"
    folder = tmp_path / "checkpoints"
    (folder / "nested").mkdir(parents=True)
    for name in ("a", "b", "nested/c"):
        (folder / name).write_text(name)
    assert sync_checkpoints(s3, folder, uri) == 3
    (folder / "a").unlink()
    (folder / "d").write_text("d")

    # WHEN it is synced again, and restored into a fresh container
    sync_checkpoints(s3, folder, uri)
    restored = tmp_path / "restored"
    (restored).mkdir()
    (restored / "stale").write_text("from an earlier attempt")
    count = restore_checkpoints(s3, uri, restored)

    # THEN S3 deleted what the container deleted, and the restore holds exactly the synced files
    assert count == 3
    assert sorted(path.relative_to(restored).as_posix() for path in restored.rglob("*") if path.is_file()) == [
        "b", "d", "nested/c",
    ]  # fmt: skip


def test_the_clock_bills_the_attempts_not_the_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    now = iter([0.0, 10.0, 25.0, 40.0, 40.0])
    monkeypatch.setattr("local_runtime.sagemaker.spot.time.monotonic", lambda: next(now))
    clock = BillableClock()

    clock.attempt_started()  # 0
    clock.attempt_ended()  # 10: interrupted
    clock.attempt_started()  # 25: capacity again after 15 s
    assert clock.seconds() == (40, 25)  # 40: done; 10 + 15 s ran
