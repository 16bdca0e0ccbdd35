"""A training job's channels in Pipe mode: the objects streamed one after another into `<channel>_0`, decompressed when
the channel's CompressionType is Gzip; Gzip in File mode refused in SageMaker's words."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

from tests.unit.local_runtime.sagemaker.test_training import (
    channel,
    create_job,
    csv,
    linear_rows,
    put_manifest,
    s3,
    sagemaker,
    server,
    unique,
    wait_for,
    workdir,
)

__all__ = ["s3", "sagemaker", "server", "workdir"]  # the fixtures, shared with the File-mode tests


def gzip_channel(name: str, uri: str, mode: str = "Pipe") -> dict[str, Any]:
    return {**channel(name, uri), "InputMode": mode, "CompressionType": "Gzip"}


def test_linear_learner_trains_on_gzip_files_streamed_through_a_pipe(sagemaker: Any, s3: Any, workdir: Path) -> None:
    # GIVEN rows in two .csv.gz files listed by a manifest, and a validation channel of one more
    rows = linear_rows(400)
    prefix = unique("gzip")
    train = put_manifest(
        s3,
        f"{prefix}/train",
        {"a.csv.gz": gzip.compress(csv(rows[:150])), "b.csv.gz": gzip.compress(csv(rows[150:300]))},
    )
    validation = put_manifest(s3, f"{prefix}/validation", {"c.csv.gz": gzip.compress(csv(rows[300:]))})

    # WHEN a job reads both channels in Pipe mode with CompressionType Gzip
    name = create_job(
        sagemaker,
        channels=[gzip_channel("train", train), gzip_channel("validation", validation)],
        hyperparameters={"predictor_type": "regressor"},
    )
    job = wait_for(sagemaker, name)

    # THEN it trained on the decompressed rows, both files one after another in the pipe, and scored the validation
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    data = workdir / "training" / name / "input" / "data"
    assert (data / "train_0").read_bytes() == csv(rows[:150]) + csv(rows[150:300])
    assert (data / "validation_0").read_bytes() == csv(rows[300:])
    assert not (data / "train").exists()
    metrics = {metric["MetricName"]: metric["Value"] for metric in job["FinalMetricDataList"]}
    assert metrics["train:mse"] < 0.01
    assert metrics["validation:mse"] < 0.01
    log = (workdir / "training" / name / "output" / "training.log").read_text()
    assert "300 records of 4 features" in log


def test_gzip_in_file_mode_fails_the_job_as_sagemaker_refuses_it(sagemaker: Any, s3: Any) -> None:
    manifest = put_manifest(s3, unique("file-gzip"), {"a.csv.gz": gzip.compress(csv(linear_rows(20)))})

    name = create_job(
        sagemaker, channels=[gzip_channel("train", manifest, "File")], hyperparameters={"predictor_type": "regressor"}
    )
    job = wait_for(sagemaker, name)

    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"] == (
        "ClientError: Invalid compression type for channel train: File mode only supports NONE, got Gzip instead"
    )


def test_an_object_that_is_not_gzip_in_a_gzip_channel_fails_the_job_naming_it(sagemaker: Any, s3: Any) -> None:
    prefix = unique("not-gzip")
    manifest = put_manifest(s3, prefix, {"a.csv.gz": csv(linear_rows(20))})

    name = create_job(
        sagemaker, channels=[gzip_channel("train", manifest)], hyperparameters={"predictor_type": "regressor"}
    )
    job = wait_for(sagemaker, name)

    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith(
        f"ClientError: channel train: s3://training-tests/{prefix}/a.csv.gz (listed in the manifest "
    )
    assert "is not gzip data, yet the channel's CompressionType is Gzip" in job["FailureReason"]
