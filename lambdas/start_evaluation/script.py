"""The user's evaluation script, run in a SageMaker Processing job with the holdout and both models' artifacts.

The container gets (the README's "Your own evaluate.py" documents it for users):
- the holdout's files under HOLDOUT_DIR, at their keys below the data prefix (as the holdout manifest lists them);
- each model's containers' artifacts under CANDIDATE_MODEL_DIR and PRODUCTION_MODEL_DIR (the latter only when the
  endpoint serves a model), one folder per container named by its hostname (`model` for a lone container), each
  holding `model.tar.gz` and its unpacked files;
- the script's source directory as the working directory.
It writes EVALUATION_DIR/evaluation.json. A script that fails, or ends without writing that file, fails the job
with the last lines of its stderr in /opt/ml/output/message, which DescribeProcessingJob returns as ExitMessage
(SageMaker's convention for a processing container's own failure message, first KB kept).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from contract.evaluation import CANDIDATE, PRODUCTION
from lambdas.common.evaluation import EvaluationScript
from lambdas.common.processing import s3_input

if TYPE_CHECKING:
    from types_boto3_sagemaker.type_defs import TagTypeDef

PROCESSING_ROOT = "/opt/ml/processing"
HOLDOUT_DIR = f"{PROCESSING_ROOT}/holdout"
MODELS_DIR = f"{PROCESSING_ROOT}/models"
CODE_DIR = f"{PROCESSING_ROOT}/input/code"
EVALUATION_DIR = f"{PROCESSING_ROOT}/evaluation"
EVALUATION_FILE = "evaluation.json"
MESSAGE_FILE = "/opt/ml/output/message"
# The script's stderr, kept for the failure message (beside the message, outside every input and output).
STDERR_FILE = "/opt/ml/output/evaluation-script.stderr"
# How much of the stderr's end the message keeps: ExitMessage holds the message's first KB.
STDERR_TAIL_BYTES = 800
# The folder of a model's lone container that names no hostname.
LONE_CONTAINER = "model"
# The output's name in the request, and so the folder of the script's evaluation.json under the run's prefix.
OUTPUT_NAME = "script"


@dataclass(frozen=True)
class ModelArtifacts:
    """One model to score: its name and each container's (folder, model.tar.gz URI)."""

    model: str
    artifacts: tuple[tuple[str, str], ...]


def model_artifacts(model: str, containers: Sequence[Mapping[str, Any]]) -> ModelArtifacts:
    """The artifacts of a model's containers (DescribeModel's Containers or [PrimaryContainer], or the definitions
    it is created from), each in the folder of its hostname; containers without an artifact are left out."""
    artifacts = []
    for position, container in enumerate(containers, start=1):
        uri = container.get("ModelDataUrl")
        if not uri:
            continue
        hostname = container.get("ContainerHostname")
        folder = hostname or (LONE_CONTAINER if len(containers) == 1 else f"container-{position}")
        artifacts.append((str(folder), str(uri)))
    return ModelArtifacts(model=model, artifacts=tuple(artifacts))


def described_containers(described: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A DescribeModel answer's containers: its inference pipeline's, or its primary container alone."""
    containers = described.get("Containers") or []
    if containers:
        return list(containers)
    primary = described.get("PrimaryContainer")
    return [primary] if primary else []


def container_command(entry_point: str) -> str:
    """Unpack the source and the models' archives, run the script, and fail with its stderr's end as the job's
    ExitMessage if it fails or writes no evaluation.json."""
    script = shlex.quote(entry_point)
    result = f"{EVALUATION_DIR}/{EVALUATION_FILE}"
    # The stderr's end, cut at a character: SageMaker fails the job when the message is not UTF-8.
    tail = (
        f'python3 -c \'import sys; sys.stdout.write(open(sys.argv[1], "rb").read()[-{STDERR_TAIL_BYTES}:]'
        f'.decode("utf-8", "ignore"))\' {STDERR_FILE}'
    )
    fail = f'exit_with() {{ {{ echo "$2"; {tail}; }} > {MESSAGE_FILE}; exit "$1"; }}'
    return "\n".join(
        [
            "set -e",
            fail,
            f"mkdir -p /opt/ml/output {EVALUATION_DIR}",
            f"cd {CODE_DIR}",
            # SageMaker downloads the archive under its object key's name: the asset's hash and ".gz".
            'for archive in *.gz; do tar -xzf "$archive"; rm "$archive"; done',
            f"for archive in {MODELS_DIR}/*/*/model.tar.gz; do",
            '  if [ -f "$archive" ]; then tar -xzf "$archive" -C "$(dirname "$archive")"; fi',
            "done",
            "status=0",
            f"python3 {script} 2> {STDERR_FILE} || status=$?",
            f"cat {STDERR_FILE} >&2",
            f'if [ "$status" -ne 0 ]; then exit_with "$status" "{entry_point} exited with status $status:"; fi',
            f'if [ ! -s {result} ]; then exit_with 1 "{entry_point} wrote no {result}"; fi',
        ]
    )


def processing_job_request(
    job_name: str,
    *,
    holdout_manifest: str,
    output_uri: str,
    candidate: ModelArtifacts,
    production: ModelArtifacts | None,
    script: EvaluationScript,
    task: str | None,
    instance_type: str,
    max_runtime_seconds: int,
    role_arn: str,
    tags: Sequence[TagTypeDef],
) -> dict[str, Any]:
    """CreateProcessingJob's request: the holdout, both models' artifacts and the script in, evaluation.json out."""

    inputs = [s3_input("holdout", holdout_manifest, "ManifestFile", HOLDOUT_DIR)]
    environment = {
        "HOLDOUT_DIR": HOLDOUT_DIR,
        "EVALUATION_DIR": EVALUATION_DIR,
        "CANDIDATE_MODEL_DIR": f"{MODELS_DIR}/{CANDIDATE}",
        "CANDIDATE_MODEL_NAME": candidate.model,
    }
    for role, models in ((CANDIDATE, candidate), (PRODUCTION, production)):
        if models is None:
            continue
        for folder, uri in models.artifacts:
            # InputName: 1-64 characters; the folder is a container hostname (at most 63).
            inputs.append(s3_input(f"{role}-{folder}"[:64], uri, "S3Prefix", f"{MODELS_DIR}/{role}/{folder}"))
    if production is not None:
        environment["PRODUCTION_MODEL_DIR"] = f"{MODELS_DIR}/{PRODUCTION}"
        environment["PRODUCTION_MODEL_NAME"] = production.model
    if task:
        environment["MODEL_TASK"] = task
    inputs.append(s3_input("code", script.code_uri, "S3Prefix", CODE_DIR))
    return {
        "ProcessingJobName": job_name,
        "RoleArn": role_arn,
        "AppSpecification": {
            "ImageUri": script.image,
            "ContainerEntrypoint": ["/bin/sh", "-c"],
            "ContainerArguments": [container_command(script.entry_point)],
        },
        "Environment": environment,
        "ProcessingInputs": inputs,
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": OUTPUT_NAME,
                    "S3Output": {"S3Uri": output_uri, "LocalPath": EVALUATION_DIR, "S3UploadMode": "EndOfJob"},
                }
            ]
        },
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": instance_type,
                "VolumeSizeInGB": script.volume_size_gb,
            }
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": max_runtime_seconds},
        "Tags": list(tags),
    }
