"""The evaluation script's processing job: its request (the holdout, each model's artifacts and the script in,
evaluation.json out), the models' artifacts it reads from their containers, and its container command run for
real by /bin/sh with a temporary directory standing in for /opt/ml."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from lambdas.common.evaluation import EvaluationScript
from lambdas.start_evaluation.script import (
    STDERR_TAIL_BYTES,
    ModelArtifacts,
    container_command,
    described_containers,
    model_artifacts,
    processing_job_request,
)
from tests.conftest import ACCOUNT

HOLDOUT = "s3://data/manifests/churn/churn-20261122060000-1a2b3c4d.holdout.manifest"
OUTPUT = "s3://data/evaluation/churn/churn-20261122060000-1a2b3c4d/script"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/churn-sagemaker"
SCRIPT = EvaluationScript(code_uri="s3://assets/0f3c9a.gz", entry_point="evaluate.py", image=IMAGE, volume_size_gb=30)
CANDIDATE_ARTIFACT = "s3://data/models/churn/churn-20261122060000-1a2b3c4d/output/model.tar.gz"
CANDIDATE = ModelArtifacts(model="churn-20261122060000-1a2b3c4d", artifacts=(("model", CANDIDATE_ARTIFACT),))
PRODUCTION = ModelArtifacts(
    model="churn-20261121060000-0badc0de",
    artifacts=(
        ("preprocess", "s3://data/preprocessed/churn/churn-20261121060000-0badc0de/model/model.tar.gz"),
        ("model", "s3://data/models/churn/churn-20261121060000-0badc0de/output/model.tar.gz"),
    ),
)
TAGS: list[Any] = [{"Key": "sagemaker-retraining:execution", "Value": "run-1"}]


def request(*, production: ModelArtifacts | None = PRODUCTION, task: str | None = "regression") -> dict[str, Any]:
    return processing_job_request(
        "churn-20261122060000-1a2b3c4d-eval",
        holdout_manifest=HOLDOUT,
        output_uri=OUTPUT,
        candidate=CANDIDATE,
        production=production,
        script=SCRIPT,
        task=task,
        instance_type="ml.m5.xlarge",
        max_runtime_seconds=3600,
        role_arn=ROLE,
        tags=TAGS,
    )


def inputs(job: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    """Each input's name -> (S3 URI, data type, local path)."""
    return {
        item["InputName"]: (item["S3Input"]["S3Uri"], item["S3Input"]["S3DataType"], item["S3Input"]["LocalPath"])
        for item in job["ProcessingInputs"]
    }


def test_the_holdout_manifest_is_read_as_a_manifest_of_files() -> None:
    holdout = request()["ProcessingInputs"][0]

    assert holdout == {
        "InputName": "holdout",
        "S3Input": {
            "S3Uri": HOLDOUT,
            "S3DataType": "ManifestFile",
            "LocalPath": "/opt/ml/processing/holdout",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }


def test_each_containers_artifact_lands_in_its_models_folder_and_the_code_in_its_own() -> None:
    # WHEN both models are scored, the production one an inference pipeline
    job = request()

    # THEN every artifact is an input of its own, in models/<role>/<container>, and the script's source comes last
    assert inputs(job) == {
        "holdout": (HOLDOUT, "ManifestFile", "/opt/ml/processing/holdout"),
        "candidate-model": (CANDIDATE_ARTIFACT, "S3Prefix", "/opt/ml/processing/models/candidate/model"),
        "production-preprocess": (
            PRODUCTION.artifacts[0][1],
            "S3Prefix",
            "/opt/ml/processing/models/production/preprocess",
        ),
        "production-model": (PRODUCTION.artifacts[1][1], "S3Prefix", "/opt/ml/processing/models/production/model"),
        "code": (SCRIPT.code_uri, "S3Prefix", "/opt/ml/processing/input/code"),
    }
    assert job["ProcessingInputs"][-1]["InputName"] == "code"


def test_the_environment_names_both_models_and_where_everything_is() -> None:
    assert request()["Environment"] == {
        "HOLDOUT_DIR": "/opt/ml/processing/holdout",
        "EVALUATION_DIR": "/opt/ml/processing/evaluation",
        "CANDIDATE_MODEL_DIR": "/opt/ml/processing/models/candidate",
        "CANDIDATE_MODEL_NAME": CANDIDATE.model,
        "PRODUCTION_MODEL_DIR": "/opt/ml/processing/models/production",
        "PRODUCTION_MODEL_NAME": PRODUCTION.model,
        "MODEL_TASK": "regression",
    }


def test_without_a_production_model_nothing_of_production_is_given() -> None:
    job = request(production=None)

    assert not [name for name in job["Environment"] if name.startswith("PRODUCTION_")]
    assert list(inputs(job)) == ["holdout", "candidate-model", "code"]


@pytest.mark.parametrize("task", [None, ""])
def test_the_task_is_told_only_when_known(task: str | None) -> None:
    assert "MODEL_TASK" not in request(task=task)["Environment"]


def test_the_script_runs_in_its_image_on_the_evaluations_instance_and_writes_to_the_runs_output() -> None:
    job = request()

    assert job["AppSpecification"] == {
        "ImageUri": IMAGE,
        "ContainerEntrypoint": ["/bin/sh", "-c"],
        "ContainerArguments": [container_command("evaluate.py")],
    }
    assert job["ProcessingOutputConfig"] == {
        "Outputs": [
            {
                "OutputName": "script",
                "S3Output": {"S3Uri": OUTPUT, "LocalPath": "/opt/ml/processing/evaluation", "S3UploadMode": "EndOfJob"},
            }
        ]
    }
    assert job["ProcessingResources"] == {
        "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}
    }
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    assert (job["ProcessingJobName"], job["RoleArn"], job["Tags"]) == ("churn-20261122060000-1a2b3c4d-eval", ROLE, TAGS)


def test_an_input_named_after_a_long_hostname_keeps_to_sagemakers_64_characters() -> None:
    hostname = "h" * 63
    job = request(production=ModelArtifacts(model="m", artifacts=((hostname, "s3://data/m.tar.gz"),)))

    assert f"production-{hostname}"[:64] in inputs(job)
    assert all(len(item["InputName"]) <= 64 for item in job["ProcessingInputs"])


def test_the_request_is_valid_for_botocore(aws_env: None) -> None:
    client = boto3.client("sagemaker")
    job = request()

    with Stubber(client) as stubber:
        stubber.add_response("create_processing_job", {"ProcessingJobArn": "arn"}, job)
        client.create_processing_job(**job)
        stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("containers", "expected"),
    [
        ([{"Image": IMAGE, "ModelDataUrl": "s3://d/a.tar.gz"}], (("model", "s3://d/a.tar.gz"),)),
        (
            [{"Image": IMAGE, "ModelDataUrl": "s3://d/a.tar.gz", "ContainerHostname": "xgb"}],
            (("xgb", "s3://d/a.tar.gz"),),
        ),
        (
            [
                {"ContainerHostname": "preprocess", "Image": IMAGE, "ModelDataUrl": "s3://d/p.tar.gz"},
                {"ContainerHostname": "model", "Image": IMAGE, "ModelDataUrl": "s3://d/a.tar.gz"},
                {"ContainerHostname": "postprocess", "Image": IMAGE},
            ],
            (("preprocess", "s3://d/p.tar.gz"), ("model", "s3://d/a.tar.gz")),
        ),
        (
            [{"Image": IMAGE}, {"Image": IMAGE, "ModelDataUrl": "s3://d/a.tar.gz"}],
            (("container-2", "s3://d/a.tar.gz"),),
        ),
        ([{"Image": IMAGE, "ModelDataUrl": ""}], ()),
        ([], ()),
    ],
    ids=[
        "lone-container",
        "lone-container-with-hostname",
        "pipeline-by-hostname",
        "pipeline-without-hostnames",
        "no-artifact",
        "no-container",
    ],
)
def test_a_models_artifacts_are_its_containers_in_the_folder_of_each(
    containers: list[dict[str, Any]], expected: tuple[tuple[str, str], ...]
) -> None:
    assert model_artifacts("m", containers) == ModelArtifacts(model="m", artifacts=expected)


@pytest.mark.parametrize(
    ("described", "expected"),
    [
        ({"Containers": [{"Image": "a"}, {"Image": "b"}], "PrimaryContainer": {"Image": "p"}}, ["a", "b"]),
        ({"Containers": [], "PrimaryContainer": {"Image": "p"}}, ["p"]),
        ({"PrimaryContainer": {"Image": "p"}}, ["p"]),
        ({}, []),
    ],
    ids=["pipeline", "empty-pipeline-list", "primary", "neither"],
)
def test_a_described_models_containers_are_its_pipelines_or_its_primary_one(
    described: dict[str, Any], expected: list[str]
) -> None:
    assert [container["Image"] for container in described_containers(described)] == expected


# The container command, run by /bin/sh with `root` standing in for /opt/ml: SageMaker has put the script's source
# (packed, named by its hash) in input/code and each model's archive in its folder.
EVALUATE_WRITES_SCORES = """\
import json, os, pathlib
from helpers import weight
pathlib.Path(os.environ["EVALUATION_DIR"], "evaluation.json").write_text(
    json.dumps({"candidate": {"rmse": weight("CANDIDATE_MODEL_DIR")}, "production": None})
)
"""
HELPERS = """\
import os, pathlib
def weight(variable):
    return float(pathlib.Path(os.environ[variable], "model", "weights.txt").read_text())
"""


def packed(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
    return buffer.getvalue()


def run_job(
    root: Path, evaluate: str, *, models: dict[str, dict[str, bytes]] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run the job's command with `evaluate` as evaluate.py (beside a helpers.py it may import) and each model
    folder's archive (default: the new model's, holding weights.txt)."""
    code = root / "processing" / "input" / "code"
    code.mkdir(parents=True)
    (code / "0f3c9a.gz").write_bytes(packed({"evaluate.py": evaluate.encode(), "helpers.py": HELPERS.encode()}))
    for folder, files in (models or {"candidate/model": {"weights.txt": b"0.25"}}).items():
        (root / "processing" / "models" / folder).mkdir(parents=True)
        (root / "processing" / "models" / folder / "model.tar.gz").write_bytes(packed(files))
    environment = {
        name: value.replace("/opt/ml", str(root)) for name, value in request(production=None)["Environment"].items()
    }
    return subprocess.run(
        ["/bin/sh", "-c", container_command("evaluate.py").replace("/opt/ml", str(root))],
        env={**os.environ, **environment},
        capture_output=True,
        timeout=60,
        check=False,
    )


def message(root: Path) -> bytes:
    return (root / "output" / "message").read_bytes()


def test_a_script_that_writes_its_scores_succeeds_without_a_message(tmp_path: Path) -> None:
    # WHEN the script reads the new model's unpacked artifact (through a module of its source) and writes its scores
    completed = run_job(tmp_path, EVALUATE_WRITES_SCORES)

    # THEN the job succeeds with evaluation.json where the output is uploaded from, and leaves no failure message
    assert completed.returncode == 0, completed.stderr.decode()
    written = (tmp_path / "processing" / "evaluation" / "evaluation.json").read_text()
    assert written == '{"candidate": {"rmse": 0.25}, "production": null}'
    assert not (tmp_path / "output" / "message").exists()
    # AND the source's archive was unpacked in place of itself
    assert sorted(path.name for path in (tmp_path / "processing" / "input" / "code").glob("*.*")) == [
        "evaluate.py",
        "helpers.py",
    ]


def test_each_models_archive_is_unpacked_beside_itself(tmp_path: Path) -> None:
    folders = ("candidate/preprocess", "candidate/model", "production/model")
    models = {folder: {"weights.txt": b"0.5", "folder.txt": folder.encode()} for folder in folders}

    completed = run_job(tmp_path, EVALUATE_WRITES_SCORES, models=models)

    assert completed.returncode == 0, completed.stderr.decode()
    for folder in folders:
        assert (tmp_path / "processing" / "models" / folder / "folder.txt").read_text() == folder


def test_a_script_that_raises_fails_the_job_with_its_tracebacks_end(tmp_path: Path) -> None:
    completed = run_job(tmp_path, "raise ValueError('the holdout has no label column')\n")

    # THEN the job fails with the script's status, and the message SageMaker returns as ExitMessage says why
    assert completed.returncode == 1
    said = message(tmp_path).decode()
    assert said.startswith("evaluate.py exited with status 1:\n")
    assert said.rstrip().splitlines()[-1] == "ValueError: the holdout has no label column"
    # AND the traceback still reaches the job's log
    assert b"Traceback (most recent call last)" in completed.stderr


@pytest.mark.parametrize(
    "evaluate",
    [
        "print('scored')\n",
        "import os, pathlib\npathlib.Path(os.environ['EVALUATION_DIR'], 'evaluation.json').touch()\n",
    ],
    ids=["nothing", "empty-file"],
)
def test_a_script_that_writes_no_scores_fails_the_job_saying_so(tmp_path: Path, evaluate: str) -> None:
    completed = run_job(tmp_path, evaluate)

    assert completed.returncode == 1
    result = tmp_path / "processing" / "evaluation" / "evaluation.json"
    assert message(tmp_path).decode().startswith(f"evaluate.py wrote no {result}\n")


def test_a_stderr_cut_inside_a_character_still_gives_a_utf8_message_of_at_most_a_kilobyte(tmp_path: Path) -> None:
    # GIVEN a script failing with a stderr whose kept tail starts in the middle of a two-byte character
    stderr = "é".encode() * 1000 + b"x"
    with pytest.raises(UnicodeDecodeError):
        stderr[-STDERR_TAIL_BYTES:].decode()

    completed = run_job(tmp_path, f"import sys\nsys.stderr.buffer.write({stderr!r})\nsys.exit(3)\n")

    # THEN the message is UTF-8 (SageMaker fails a job whose message is not), the stderr's end, within ExitMessage's KB
    assert completed.returncode == 3
    said = message(tmp_path)
    text = said.decode("utf-8")
    assert text.startswith("evaluate.py exited with status 3:\n")
    assert text.endswith("éx")
    assert len(said) <= 1024
