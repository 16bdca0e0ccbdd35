"""Training jobs through the local AWS server: real boto3 calls, the algorithm run as a subprocess by a worker."""

from __future__ import annotations

import io
import json
import logging
import re
import tarfile
import time
import uuid
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.exceptions import ClientError

from local_runtime.algorithms.linear_learner import LinearLearnerModel
from local_runtime.sagemaker.emulator import LocalSageMaker
from local_runtime.server import LocalAws

REGION, ACCOUNT = "us-east-1", "123456789012"
BUCKET = "training-tests"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker"
LINEAR_LEARNER = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
TERMINAL = ("Completed", "Failed", "Stopped")
TRUE_WEIGHTS, TRUE_BIAS = np.array([2.0, -0.5, 10.0, 1.0]), 3.0


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


def linear_rows(rows: int, *, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, 4)) * [1.0, 10.0, 0.1, 3.0] + [0.0, 5.0, 1.0, -2.0]
    labels = TRUE_BIAS + features @ TRUE_WEIGHTS + rng.normal(scale=0.05, size=rows)
    return np.column_stack([labels, features])


def separable_rows(rows: int, *, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, 3)) * [1.0, 5.0, 2.0]
    margin = features @ np.array([1.0, -0.4, 0.5]) - 0.3
    keep = np.abs(margin) > 0.2
    return np.column_stack([(margin[keep] > 0).astype(float), features[keep]])


def csv(rows: np.ndarray) -> bytes:
    buffer = io.StringIO()
    np.savetxt(buffer, rows, delimiter=",", fmt="%.10g")
    return buffer.getvalue().encode()


def put_manifest(s3: Any, prefix: str, files: dict[str, bytes]) -> str:
    """Upload files under `prefix` and a manifest listing them; return the manifest's URI."""
    for relative, body in files.items():
        s3.put_object(Bucket=BUCKET, Key=f"{prefix}/{relative}", Body=body)
    manifest = [{"prefix": f"s3://{BUCKET}/{prefix}/"}, *files]
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/train.manifest", Body=json.dumps(manifest).encode())
    return f"s3://{BUCKET}/{prefix}/train.manifest"


def channel(name: str, uri: str, data_type: str = "ManifestFile") -> dict[str, Any]:
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {"S3DataType": data_type, "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}
        },
        "ContentType": "text/csv",
    }


def create_job(
    sagemaker: Any,
    *,
    channels: list[dict[str, Any]],
    hyperparameters: dict[str, str],
    image: str = LINEAR_LEARNER,
    max_runtime: int = 600,
    metric_definitions: list[dict[str, str]] | None = None,
) -> str:
    name = unique("job")
    specification: dict[str, Any] = {"TrainingImage": image, "TrainingInputMode": "File"}
    if metric_definitions is not None:
        specification["MetricDefinitions"] = metric_definitions
    sagemaker.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification=specification,
        RoleArn=ROLE,
        HyperParameters=hyperparameters,
        InputDataConfig=channels,
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/models/"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": max_runtime},
    )
    return name


def wait_for(sagemaker: Any, name: str, *, until: tuple[str, ...] = TERMINAL, timeout: float = 20.0) -> dict[str, Any]:
    """Poll DescribeTrainingJob as a client would, until the primary or the secondary status is in `until`."""
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = sagemaker.describe_training_job(TrainingJobName=name)
        if job["TrainingJobStatus"] in until or job["SecondaryStatus"] in until:
            return job
        assert time.monotonic() < deadline, f"{name} still {job['TrainingJobStatus']}/{job['SecondaryStatus']}"
        time.sleep(0.05)


def model_from(s3: Any, uri: str, tmp_path: Path) -> Path:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
        archive.extractall(tmp_path / "model", filter="data")
    return tmp_path / "model"


def script_job(
    s3: Any, sagemaker: Any, source: str, *, hyperparameters: dict[str, str] | None = None, **options: Any
) -> str:
    """Upload a one-file submit directory as the SageMaker Python SDK does, and start a script-mode job."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = source.encode()
        info = tarfile.TarInfo("train.py")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    code_key = f"{unique('code')}/source/sourcedir.tar.gz"
    s3.put_object(Bucket=BUCKET, Key=code_key, Body=buffer.getvalue())
    data_prefix = unique("script-data")
    s3.put_object(Bucket=BUCKET, Key=f"{data_prefix}/train.csv", Body=b"1,2\n3,4\n")
    return create_job(
        sagemaker,
        image=SKLEARN,
        channels=[channel("train", f"s3://{BUCKET}/{data_prefix}/", "S3Prefix")],
        hyperparameters={
            "sagemaker_program": json.dumps("train.py"),
            "sagemaker_submit_directory": json.dumps(f"s3://{BUCKET}/{code_key}"),
            **(hyperparameters or {}),
        },
        **options,
    )


SLEEPER = """
import os, pathlib, time
pathlib.Path(os.environ["SM_OUTPUT_DATA_DIR"], "pid").write_text(str(os.getpid()))
time.sleep(60)
"""


def sleeper_pid(workdir: Path, name: str, timeout: float = 10.0) -> int:
    """The process id the sleeping entry point wrote, once it runs."""
    pid_file = workdir / "training" / name / "output" / "data" / "pid"
    deadline = time.monotonic() + timeout
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, f"{name}: the entry point never started"
        time.sleep(0.02)
    return int(pid_file.read_text())


# --- Linear Learner ---


@pytest.mark.compatibility("sagemaker:CreateTrainingJob")
def test_linear_learner_regressor_trains_on_a_manifest_channel(
    sagemaker: Any, s3: Any, workdir: Path, tmp_path: Path
) -> None:
    # GIVEN 500 rows of a noisy linear function in two daily files listed by a manifest
    rows = linear_rows(500)
    prefix = unique("regression")
    manifest = put_manifest(
        s3, prefix, {"data/2026-11-20.csv": csv(rows[:250]), "data/2026-11-21.csv": csv(rows[250:])}
    )

    # WHEN a Linear Learner regressor job is created
    name = create_job(sagemaker, channels=[channel("train", manifest)], hyperparameters={"predictor_type": "regressor"})
    first = sagemaker.describe_training_job(TrainingJobName=name)
    job = wait_for(sagemaker, name)

    # THEN it is InProgress at once, then Completed through SageMaker's secondary statuses (how long it takes
    # is measured by bench/demo_time.py, not asserted here)
    assert first["TrainingJobStatus"] == "InProgress"
    assert "ModelArtifacts" not in first
    assert "FinalMetricDataList" not in first
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    transitions = job["SecondaryStatusTransitions"]
    assert [entry["Status"] for entry in transitions] == [
        "Starting",
        "Downloading",
        "Training",
        "Uploading",
        "Completed",
    ]
    assert all(entry["StartTime"] <= entry["EndTime"] for entry in transitions)
    assert job["CreationTime"] <= job["TrainingStartTime"] <= job["TrainingEndTime"]
    assert "FailureReason" not in job
    # AND its time on the instances, as SageMaker reports it: billed by the second, all of it (on-demand)
    assert "TrainingTimeInSeconds" not in first
    ran = (job["TrainingEndTime"] - job["TrainingStartTime"]).total_seconds()
    assert job["TrainingTimeInSeconds"] == job["BillableTimeInSeconds"] == max(1, round(ran))
    # AND the model is at <S3OutputPath>/<job>/output/model.tar.gz and predicts the true function
    artifact = job["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifact == f"s3://{BUCKET}/models/{name}/output/model.tar.gz"
    model = LinearLearnerModel.load(model_from(s3, artifact, tmp_path))
    probe = np.array([[0.5, 4.0, 1.2, -1.0], [-1.0, 20.0, 0.9, 0.0]])
    predicted = [record["score"] for record in model.predict(probe)]
    assert predicted == pytest.approx(TRUE_BIAS + probe @ TRUE_WEIGHTS, abs=0.05)
    # AND Linear Learner's metrics are reported
    metrics = {metric["MetricName"]: metric["Value"] for metric in job["FinalMetricDataList"]}
    assert {"train:objective_loss", "train:objective_loss:final", "train:mse", "train:absolute_loss"} <= set(metrics)
    assert metrics["train:mse"] < 0.01
    assert metrics["train:progress"] == 100.0
    definitions = {item["Name"] for item in job["AlgorithmSpecification"]["MetricDefinitions"]}
    assert "test:dcg" not in definitions
    assert "validation:mse" in definitions
    # AND the job ran in SageMaker's layout, its log kept
    root = workdir / "training" / name
    assert json.loads((root / "input" / "config" / "hyperparameters.json").read_text()) == {
        "predictor_type": "regressor"
    }
    assert (root / "input" / "data" / "train" / "data" / "2026-11-20.csv").read_bytes() == csv(rows[:250])
    assert "#quality_metric: host=algo-1, train mse <loss>=" in (root / "output" / "training.log").read_text()


def test_linear_learner_binary_classifier_separates_the_classes(sagemaker: Any, s3: Any, tmp_path: Path) -> None:
    # GIVEN a linearly separable set
    prefix = unique("binary")
    manifest = put_manifest(s3, prefix, {"part-0.csv": csv(separable_rows(400))})

    # WHEN a binary classifier is trained
    name = create_job(
        sagemaker, channels=[channel("train", manifest)], hyperparameters={"predictor_type": "binary_classifier"}
    )
    job = wait_for(sagemaker, name)

    # THEN it classifies unseen points of the same set accurately
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    model = LinearLearnerModel.load(model_from(s3, job["ModelArtifacts"]["S3ModelArtifacts"], tmp_path))
    unseen = separable_rows(400, seed=7)
    labels = [record["predicted_label"] for record in model.predict(unseen[:, 1:])]
    assert np.mean(np.array(labels) == unseen[:, 0]) >= 0.97
    metrics = {metric["MetricName"]: metric["Value"] for metric in job["FinalMetricDataList"]}
    assert metrics["train:binary_classification_accuracy"] >= 0.98
    assert {"train:objective_loss", "train:binary_f_beta", "train:precision", "train:recall"} <= set(metrics)


def test_an_s3_prefix_channel_downloads_every_object_under_the_prefix(sagemaker: Any, s3: Any, workdir: Path) -> None:
    # GIVEN objects under a prefix, one of them in a sub-folder
    prefix = unique("prefix")
    rows = linear_rows(300)
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/train/a.csv", Body=csv(rows[:100]))
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/train/2026/b.csv", Body=csv(rows[100:]))

    # WHEN a job reads the prefix
    name = create_job(
        sagemaker,
        channels=[channel("train", f"s3://{BUCKET}/{prefix}/train/", "S3Prefix")],
        hyperparameters={"predictor_type": "regressor"},
    )
    job = wait_for(sagemaker, name)

    # THEN every object lands below the channel directory at its path under the prefix
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    channel_dir = workdir / "training" / name / "input" / "data" / "train"
    assert sorted(path.relative_to(channel_dir).as_posix() for path in channel_dir.rglob("*.csv")) == [
        "2026/b.csv",
        "a.csv",
    ]


def test_validation_and_test_channels_add_their_metrics(sagemaker: Any, s3: Any) -> None:
    rows = linear_rows(600)
    prefix = unique("channels")
    train = put_manifest(s3, f"{prefix}/train", {"a.csv": csv(rows[:400])})
    validation = put_manifest(s3, f"{prefix}/validation", {"a.csv": csv(rows[400:500])})
    test = put_manifest(s3, f"{prefix}/test", {"a.csv": csv(rows[500:])})

    name = create_job(
        sagemaker,
        channels=[channel("train", train), channel("validation", validation), channel("test", test)],
        hyperparameters={"predictor_type": "regressor"},
    )
    job = wait_for(sagemaker, name)

    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    names = {metric["MetricName"] for metric in job["FinalMetricDataList"]}
    assert {"validation:objective_loss", "validation:mse", "test:objective_loss", "test:mse", "test:absolute_loss"} <= (
        names
    )


def test_list_training_jobs_filters_on_the_jobs_real_status_and_times(sagemaker: Any, s3: Any) -> None:
    # GIVEN a job that completed just now
    manifest = put_manifest(s3, unique("listed"), {"a.csv": csv(linear_rows(50))})
    name = create_job(sagemaker, channels=[channel("train", manifest)], hyperparameters={"predictor_type": "regressor"})
    wait_for(sagemaker, name)
    five_minutes = timedelta(minutes=5)

    # WHEN jobs are listed by status and modification time, as a CLI would
    listed = sagemaker.list_training_jobs(
        NameContains=name,
        StatusEquals="Completed",
        LastModifiedTimeAfter=datetime.now(UTC) - five_minutes,
        CreationTimeBefore=datetime.now(UTC) + five_minutes,
        MaxResults=100,
    )

    # THEN the job is found with the times the worker set
    [summary] = listed["TrainingJobSummaries"]
    assert summary["TrainingJobStatus"] == "Completed"
    assert summary["CreationTime"] <= summary["TrainingEndTime"]


@pytest.mark.parametrize(
    ("third_line", "reason"),
    [
        ("1,2,3,4", "ClientError: data/2026-11-20.csv line 3: expected 5 columns, got 4"),
        ("1,2,x,4,5", "ClientError: data/2026-11-20.csv line 3, column 3: 'x' is not a number"),
    ],
)
def test_bad_data_fails_the_job_naming_the_file_and_the_line(
    sagemaker: Any, s3: Any, third_line: str, reason: str
) -> None:
    # GIVEN a file whose third line is malformed
    body = csv(linear_rows(2)) + third_line.encode() + b"\n"
    manifest = put_manifest(s3, unique("bad"), {"data/2026-11-20.csv": body})

    # WHEN a job trains on it
    name = create_job(sagemaker, channels=[channel("train", manifest)], hyperparameters={"predictor_type": "regressor"})
    job = wait_for(sagemaker, name)

    # THEN it fails with the algorithm's ClientError, and no model
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"] == reason
    assert job["SecondaryStatus"] == "Failed"
    assert "ModelArtifacts" not in job


def test_an_empty_channel_fails_the_job(sagemaker: Any, s3: Any) -> None:
    manifest = put_manifest(s3, unique("empty"), {"data/2026-11-20.csv": b""})

    name = create_job(sagemaker, channels=[channel("train", manifest)], hyperparameters={"predictor_type": "regressor"})
    job = wait_for(sagemaker, name)

    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"] == "ClientError: channel train has no records: data/2026-11-20.csv hold no CSV rows"


def test_a_job_that_ends_sends_sagemakers_state_change_event(server: LocalAws, sagemaker: Any, s3: Any) -> None:
    # GIVEN a job that will fail (no rows), WHEN it ends
    manifest = put_manifest(s3, unique("event"), {"data/2026-11-20.csv": b""})
    name = create_job(sagemaker, channels=[channel("train", manifest)], hyperparameters={"predictor_type": "regressor"})
    wait_for(sagemaker, name)

    # THEN the emulator sent the event the wait/poll loops' rule matches, once, with the job's name and status
    assert isinstance(server.sagemaker, LocalSageMaker)
    sent = [json.loads(e["Detail"]) for e in server.sagemaker.status_events.sent if name in e["Detail"]]
    assert [(d["TrainingJobName"], d["TrainingJobStatus"]) for d in sent] == [(name, "Failed")]
    assert "channel train has no records" in sent[0]["FailureReason"]
    assert int(sent[0]["TrainingEndTime"]) >= int(sent[0]["CreationTime"])


def test_an_empty_s3_prefix_fails_the_job_while_downloading(sagemaker: Any) -> None:
    name = create_job(
        sagemaker,
        channels=[channel("train", f"s3://{BUCKET}/{unique('nothing')}/", "S3Prefix")],
        hyperparameters={"predictor_type": "regressor"},
    )
    job = wait_for(sagemaker, name)

    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: No S3 objects found under S3 URL")
    assert [entry["Status"] for entry in job["SecondaryStatusTransitions"]] == ["Starting", "Downloading", "Failed"]


@pytest.mark.parametrize(
    ("manifest", "reason"),
    [
        (
            ["data/missing.csv"],
            "ClientError: channel train: cannot download s3://{bucket}/{prefix}/data/missing.csv "
            "(listed in the manifest {uri})",
        ),
        (["../../escape.csv"], "ClientError: channel train: ../../escape.csv points outside the channel directory"),
        (None, "ClientError: the manifest {uri} must be a JSON list"),
    ],
)
def test_a_broken_manifest_fails_the_job_while_downloading(
    sagemaker: Any, s3: Any, manifest: list[str] | None, reason: str
) -> None:
    # GIVEN a manifest that lists an absent object, escapes its channel, or is no manifest at all
    prefix = unique("manifest")
    uri = f"s3://{BUCKET}/{prefix}/train.manifest"
    document = {"not": "a list"} if manifest is None else [{"prefix": f"s3://{BUCKET}/{prefix}/"}, *manifest]
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/train.manifest", Body=json.dumps(document).encode())

    # WHEN a job reads it
    name = create_job(sagemaker, channels=[channel("train", uri)], hyperparameters={"predictor_type": "regressor"})
    job = wait_for(sagemaker, name)

    # THEN it fails with a ClientError that says what is wrong
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith(reason.format(bucket=BUCKET, prefix=prefix, uri=uri))


def test_a_missing_predictor_type_fails_with_a_client_error(sagemaker: Any, s3: Any) -> None:
    manifest = put_manifest(s3, unique("no-type"), {"a.csv": csv(linear_rows(20))})

    name = create_job(sagemaker, channels=[channel("train", manifest)], hyperparameters={"epochs": "5"})
    job = wait_for(sagemaker, name)

    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: hyperparameter predictor_type is required")


def test_an_image_without_a_local_implementation_fails_the_job(sagemaker: Any) -> None:
    image = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/my-algorithm:3"

    name = create_job(
        sagemaker, image=image, channels=[channel("train", f"s3://{BUCKET}/x.manifest")], hyperparameters={}
    )
    job = wait_for(sagemaker, name)

    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith(f"ClientError: image {image} has no local implementation; ")
    assert [entry["Status"] for entry in job["SecondaryStatusTransitions"]] == ["Starting", "Failed"]


# --- script mode ---

ENTRY_POINT = """
import argparse, json, os, pathlib, sys

parser = argparse.ArgumentParser()
parser.add_argument("--alpha", type=float)
parser.add_argument("--name")
args = parser.parse_args()
rows = (pathlib.Path(os.environ["SM_CHANNEL_TRAIN"]) / "train.csv").read_text().split()
seen = {key: os.environ[key] for key in os.environ if key.startswith("SM_")}
seen["argv"] = sys.argv[1:]
seen["cwd"] = os.getcwd()
pathlib.Path(os.environ["SM_MODEL_DIR"], "model.json").write_text(json.dumps({"alpha": args.alpha, "env": seen}))
print(f"rows={len(rows)}")
print("validation-accuracy: 0.5")
print("validation-accuracy: 0.93")
print("train-loss: 0.12", file=sys.stderr)
"""


def test_script_mode_runs_the_users_entry_point_unchanged(sagemaker: Any, s3: Any, tmp_path: Path) -> None:
    # GIVEN a scikit-learn script-mode job as the SageMaker Python SDK creates it
    name = script_job(
        s3,
        sagemaker,
        ENTRY_POINT,
        hyperparameters={"alpha": "0.5", "name": json.dumps("churn")},
        metric_definitions=[
            {"Name": "validation:accuracy", "Regex": r"validation-accuracy: (\S+)"},
            {"Name": "train:loss", "Regex": r"train-loss: (\S+)"},
            {"Name": "never:printed", "Regex": r"nothing (\S+)"},
        ],
    )

    # WHEN it runs
    job = wait_for(sagemaker, name)

    # THEN the entry point read its channel, got its arguments and SM_* environment, and wrote the model
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    model_dir = model_from(s3, job["ModelArtifacts"]["S3ModelArtifacts"], tmp_path)
    written = json.loads((model_dir / "model.json").read_text())
    env = written["env"]
    assert written["alpha"] == 0.5
    assert env["argv"] == ["--alpha", "0.5", "--name", "churn"]
    assert env["SM_CHANNEL_TRAIN"].endswith(f"training/{name}/input/data/train")
    assert env["SM_MODEL_DIR"].endswith(f"training/{name}/model")
    assert env["cwd"].endswith(f"training/{name}/code")
    assert json.loads(env["SM_CHANNELS"]) == ["train"]
    assert json.loads(env["SM_HPS"]) == {"alpha": 0.5, "name": "churn"}
    assert json.loads(env["SM_HOSTS"]) == ["algo-1"]
    assert env["SM_CURRENT_HOST"] == "algo-1"
    assert int(env["SM_NUM_CPUS"]) >= 1
    assert {"SM_OUTPUT_DATA_DIR", "SM_INPUT_DIR", "SM_INPUT_CONFIG_DIR", "SM_OUTPUT_DIR"} <= set(env)
    training_env = json.loads(env["SM_TRAINING_ENV"])
    assert training_env["job_name"] == name
    assert training_env["user_entry_point"] == "train.py"
    # AND metrics come from the caller's definitions over stdout and stderr, the last match winning
    metrics = [(metric["MetricName"], metric["Value"]) for metric in job["FinalMetricDataList"]]
    assert metrics == [("validation:accuracy", 0.93), ("train:loss", 0.12)]
    names = [item["Name"] for item in job["AlgorithmSpecification"]["MetricDefinitions"]]
    assert names == ["validation:accuracy", "train:loss", "never:printed"]


def test_a_failing_entry_point_fails_the_job_with_its_error(sagemaker: Any, s3: Any) -> None:
    # GIVEN an entry point that raises
    name = script_job(s3, sagemaker, "raise ValueError('the data has no churn column')\n")

    # WHEN it runs
    job = wait_for(sagemaker, name)

    # THEN the reason reads as the training toolkit's failure, as SageMaker shows it
    assert job["TrainingJobStatus"] == "Failed"
    reason = job["FailureReason"]
    # (its ErrorMessage starts at the first line naming an error class, here the raising line of the traceback)
    assert reason.startswith(
        "AlgorithmError: ExecuteUserScriptError:\nExitCode 1\n"
        "ErrorMessage \"raise ValueError('the data has no churn column')\n ValueError: the data has no churn column\"\n"
    ), reason
    assert re.search(r'\nCommand "\S*python\S* train\.py", exit code: 1$', reason), reason


def test_an_entry_point_names_its_own_failure_in_the_failure_file(sagemaker: Any, s3: Any) -> None:
    source = (
        "import os, pathlib, sys\n"
        "pathlib.Path(os.environ['SM_OUTPUT_DIR'], 'failure').write_text('ClientError: column churn is missing')\n"
        "sys.exit(3)\n"
    )
    name = script_job(s3, sagemaker, source)

    job = wait_for(sagemaker, name)

    assert (job["TrainingJobStatus"], job["FailureReason"]) == ("Failed", "ClientError: column churn is missing")


# --- stopping ---


def test_stop_training_job_kills_the_process_and_ends_stopped(sagemaker: Any, s3: Any, workdir: Path) -> None:
    # GIVEN a job whose entry point trains for a minute
    name = script_job(s3, sagemaker, SLEEPER)
    pid = sleeper_pid(workdir, name)

    # WHEN it is stopped
    started = time.monotonic()
    sagemaker.stop_training_job(TrainingJobName=name)
    stopping = sagemaker.describe_training_job(TrainingJobName=name)
    job = wait_for(sagemaker, name)

    # THEN it goes Stopping, then Stopped within moments
    assert stopping["TrainingJobStatus"] in ("Stopping", "Stopped")
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopped", "Stopped")
    assert time.monotonic() - started < 5
    statuses = [entry["Status"] for entry in job["SecondaryStatusTransitions"]]
    assert statuses[-2:] == ["Stopping", "Stopped"]
    assert "FailureReason" not in job
    assert "TrainingEndTime" in job
    assert job["BillableTimeInSeconds"] >= 1  # a stopped job is billed for the time it ran
    assert not Path(f"/proc/{pid}").exists()


def test_max_runtime_stops_the_job_with_max_runtime_exceeded(sagemaker: Any, s3: Any) -> None:
    name = script_job(s3, sagemaker, SLEEPER, max_runtime=1)

    job = wait_for(sagemaker, name, timeout=10)

    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopped", "MaxRuntimeExceeded")
    assert [entry["Status"] for entry in job["SecondaryStatusTransitions"]][-1] == "MaxRuntimeExceeded"


def test_a_finished_job_cannot_be_stopped(sagemaker: Any, s3: Any) -> None:
    manifest = put_manifest(s3, unique("done"), {"a.csv": csv(linear_rows(20))})
    name = create_job(sagemaker, channels=[channel("train", manifest)], hyperparameters={"predictor_type": "regressor"})
    wait_for(sagemaker, name)

    with pytest.raises(ClientError) as raised:
        sagemaker.stop_training_job(TrainingJobName=name)

    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "in status Completed" in raised.value.response["Error"]["Message"]


def test_stopping_an_unknown_job_is_a_validation_error(sagemaker: Any) -> None:
    with pytest.raises(ClientError) as raised:
        sagemaker.stop_training_job(TrainingJobName="no-such-job")

    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert raised.value.response["Error"]["Message"] == (
        f"Could not find training job 'arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/no-such-job'."
    )


def test_shutting_the_server_down_kills_running_jobs(tmp_path: Path, aws_env: None) -> None:
    # GIVEN a server of its own running a job that trains for a minute
    emulator = LocalSageMaker(tmp_path)
    aws = LocalAws(sagemaker=emulator).start()
    try:
        s3 = boto3.client("s3", endpoint_url=aws.endpoint_url)
        with suppress(s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
            s3.create_bucket(Bucket=BUCKET)
        name = script_job(s3, boto3.client("sagemaker", endpoint_url=aws.endpoint_url), SLEEPER)
        pid = sleeper_pid(tmp_path, name)

        # WHEN the server stops
        aws.stop()
    finally:
        aws.stop()

    # THEN the worker has ended and the process is gone
    assert emulator.training.wait(REGION, name, timeout=0)
    assert not Path(f"/proc/{pid}").exists()
