"""What a finished training job leaves in S3: model/ as model.tar.gz and output/data/ as output.tar.gz, under
`<S3OutputPath>/<job>/output/`, as SageMaker uploads them."""

from __future__ import annotations

import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from local_runtime.sagemaker import jobs
from local_runtime.sagemaker.jobs import split_s3_uri
from local_runtime.sagemaker.training_input import JobLayout

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client


def artifact_location(output_path: str, job_name: str, file_name: str) -> tuple[str, str]:
    """(bucket, key) of `<S3OutputPath>/<job>/output/<file_name>`; raise ValueError for a non-S3 path."""
    bucket, prefix = split_s3_uri(output_path)
    key = "/".join(part for part in (prefix.strip("/"), job_name, "output", file_name) if part)
    return bucket, key


def upload_artifacts(s3: S3Client, job: Any, layout: JobLayout, *, note: Callable[[str], None]) -> dict[str, str]:
    """Upload model/ as model.tar.gz and, when the algorithm wrote any, output/data/ as output.tar.gz; return the
    job's ModelArtifacts. Raises jobs.JobFailedError when the output path is not S3 or an upload fails."""
    output_path = (job.output_data_config or {}).get("S3OutputPath", "")
    name = job.training_job_name
    try:
        bucket, key = artifact_location(output_path, name, "model.tar.gz")
    except ValueError as error:
        raise jobs.JobFailedError(f"ClientError: OutputDataConfig.S3OutputPath: {error}") from error
    archive = _tar_gz(layout.model, layout.root / "model.tar.gz")
    try:
        s3.upload_file(str(archive), bucket, key)
        if any(layout.output_data.iterdir()):
            data_bucket, data_key = artifact_location(output_path, name, "output.tar.gz")
            s3.upload_file(str(_tar_gz(layout.output_data, layout.root / "output.tar.gz")), data_bucket, data_key)
    except (ClientError, BotoCoreError) as error:
        raise jobs.JobFailedError(f"ClientError: cannot upload the model to s3://{bucket}/{key}: {error}") from error
    note(f"model uploaded to s3://{bucket}/{key}")
    return {"S3ModelArtifacts": f"s3://{bucket}/{key}"}


def _tar_gz(directory: Path, archive: Path) -> Path:
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(directory.rglob("*")):
            tar.add(path, arcname=path.relative_to(directory).as_posix(), recursive=False)
    return archive
