"""What a training job's process finds on disk: SageMaker's /opt/ml layout, its channels and its submit directory.

Channels come from S3 (an S3Prefix, or the objects a ManifestFile lists). In File mode each object lands at its path
below the prefix's last `/`, as SageMaker lays them out. In Pipe mode SageMaker streams the objects, one after another,
into the named pipe `<channel>_<epoch>` beside the channels' folders, decompressing each when the channel's
CompressionType is Gzip (the only mode that takes Gzip); here that stream is written, before the algorithm starts, to
a regular file `<channel>_0`: the algorithm reads it as it would read the pipe's first epoch (the local algorithms read
their data once), without a pipe's blocking or later epochs. A script-mode job's submit directory goes into code/.
"""

from __future__ import annotations

import shutil
import tarfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.common.gzip_stream import Gunzip
from local_runtime.sagemaker import jobs
from local_runtime.sagemaker.containers import TrainingContainer
from local_runtime.sagemaker.jobs import split_s3_uri

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

_PIPE_CHUNK_BYTES = 1 << 20  # read and decompressed a megabyte at a time


@dataclass(frozen=True)
class JobLayout:
    """SageMaker's /opt/ml layout, under one directory per job."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "input" / "config"

    @property
    def data(self) -> Path:
        return self.root / "input" / "data"

    @property
    def model(self) -> Path:
        return self.root / "model"

    @property
    def output(self) -> Path:
        return self.root / "output"

    @property
    def output_data(self) -> Path:
        return self.root / "output" / "data"

    @property
    def code(self) -> Path:
        return self.root / "code"

    def channel(self, name: str) -> Path:
        return self.data / name

    def create(self) -> None:
        if self.root.exists():
            shutil.rmtree(self.root)
        for directory in (
            self.config,
            self.data,
            self.model,
            self.output_data,
            self.output / "intermediate",
            self.code,
        ):
            directory.mkdir(parents=True)


def download_channel(
    s3: S3Client,
    channel: Mapping[str, Any],
    *,
    layout: JobLayout,
    region: str,
    default_mode: str,
    checkpoint: Callable[[], None],
    note: Callable[[str], None],
) -> None:
    """Download a channel's objects into its directory; raise jobs.JobFailedError as SageMaker words the failure.

    `default_mode` is the job's TrainingInputMode; `checkpoint` is called before each object (it raises when the
    job was stopped) and `note` gets a line for the job's log.
    """
    name = channel["ChannelName"]
    mode = channel.get("InputMode") or default_mode
    gzip = (channel.get("CompressionType") or "None") == "Gzip"
    if gzip and mode != "Pipe":
        # SageMaker refuses this at CreateTrainingJob (ValidationException, aws/sagemaker-python-sdk issue 716); the
        # local runtime sees the request after moto stored it, so the job fails with SageMaker's words instead.
        raise jobs.JobFailedError(
            f"ClientError: Invalid compression type for channel {name}: {mode} mode only supports NONE, "
            "got Gzip instead"
        )
    source = channel.get("DataSource", {}).get("S3DataSource")
    if source is None:
        raise jobs.JobFailedError(f"ClientError: channel {name}: only S3DataSource channels are supported locally")
    data_type, uri = source.get("S3DataType", "S3Prefix"), source["S3Uri"]
    try:
        split_s3_uri(uri)
    except ValueError as error:
        raise jobs.JobFailedError(f"ClientError: channel {name}: {error}") from error
    if data_type == "S3Prefix":
        objects = list(_prefix_objects(s3, uri))
        if not objects:
            raise jobs.JobFailedError(
                f'ClientError: No S3 objects found under S3 URL "{uri}" given in input data source. Please '
                f"ensure that the bucket exists in the selected region ({region}) and that objects exist "
                "under that S3 prefix."
            )
    elif data_type == "ManifestFile":
        objects = _manifest_objects(s3, uri)
    else:
        raise jobs.JobFailedError(f"ClientError: channel {name}: S3DataType {data_type} is not supported locally")
    listed = f" (listed in the manifest {uri})" if data_type == "ManifestFile" else ""
    if mode == "Pipe":
        _stream_to_pipe(s3, name, objects, layout.data / f"{name}_0", gzip=gzip, listed=listed, checkpoint=checkpoint)
        note(f"channel {name}: {len(objects)} files from {uri} ({data_type}), streamed into {name}_0 (Pipe mode)")
        return
    target = layout.channel(name)
    target.mkdir(parents=True, exist_ok=True)
    for bucket, key, relative in objects:
        checkpoint()
        destination = (target / relative).resolve()
        if not destination.is_relative_to(target.resolve()):
            raise jobs.JobFailedError(f"ClientError: channel {name}: {relative} points outside the channel directory")
        try:
            jobs.download(s3, bucket, key, destination)
        except (ClientError, BotoCoreError) as error:
            raise jobs.JobFailedError(
                jobs.denied_download(error, f"object s3://{bucket}/{key}")
                or f"ClientError: channel {name}: cannot download s3://{bucket}/{key}{listed}: {error}"
            ) from error
    note(f"channel {name}: {len(objects)} files from {uri} ({data_type})")


def _stream_to_pipe(
    s3: S3Client,
    name: str,
    objects: list[tuple[str, str, str]],
    destination: Path,
    *,
    gzip: bool,
    listed: str,
    checkpoint: Callable[[], None],
) -> None:
    """Write the channel's objects one after another, each decompressed when `gzip`, as SageMaker streams a pipe."""
    with destination.open("wb") as pipe:
        for bucket, key, _ in objects:
            checkpoint()
            uri = f"s3://{bucket}/{key}{listed}"
            try:
                body = s3.get_object(Bucket=bucket, Key=key)["Body"]
                gunzip = Gunzip(_PIPE_CHUNK_BYTES) if gzip else None
                for chunk in body.iter_chunks(_PIPE_CHUNK_BYTES):
                    pipe.writelines(gunzip.feed(chunk) if gunzip else [chunk])
                if gunzip is not None and not gunzip.complete:
                    raise jobs.JobFailedError(f"ClientError: channel {name}: {uri} ends inside its gzip data")
            except zlib.error as error:
                raise jobs.JobFailedError(
                    f"ClientError: channel {name}: {uri} is not gzip data, yet the channel's CompressionType is Gzip: "
                    f"{error}"
                ) from error
            except (ClientError, BotoCoreError) as error:
                raise jobs.JobFailedError(
                    jobs.denied_download(error, f"object s3://{bucket}/{key}")
                    or f"ClientError: channel {name}: cannot download {uri}: {error}"
                ) from error


def _prefix_objects(s3: S3Client, uri: str) -> Iterator[tuple[str, str, str]]:
    """Every object under an S3 prefix, at its path below the prefix's last `/` (SageMaker's layout)."""
    bucket, prefix = split_s3_uri(uri)
    base = prefix[: prefix.rfind("/") + 1]
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                if not item["Key"].endswith("/"):
                    yield bucket, item["Key"], item["Key"][len(base) :]
    except ClientError as error:
        # A listing denied is worded as a download denied: SageMaker's own words for it are not known here.
        denied = jobs.denied_download(error, f"objects under s3://{bucket}/{prefix}")
        raise jobs.JobFailedError(denied or f"ClientError: cannot list {uri}: {error}") from error


def _manifest_objects(s3: S3Client, uri: str) -> list[tuple[str, str, str]]:
    """The objects a manifest lists: `[{"prefix": "s3://bucket/p/"}, "relative/key", ...]`."""
    bucket, key = split_s3_uri(uri)
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        denied = jobs.denied_download(error, f"object {uri}")
        raise jobs.JobFailedError(denied or f"ClientError: cannot read the manifest {uri}: {error}") from error
    try:
        return jobs.manifest_objects(body, uri)
    except ValueError as error:
        raise jobs.JobFailedError(f"ClientError: {error}") from error


def download_code(
    s3: S3Client, container: TrainingContainer, *, layout: JobLayout, note: Callable[[str], None]
) -> None:
    """Fetch and unpack the submit directory (a tar.gz on S3) into code/, as the toolkit does.

    Raises jobs.JobFailedError when it cannot be fetched or unpacked, or lacks the entry point.
    """
    uri = container.submit_directory or ""
    code = layout.code
    code.mkdir(parents=True, exist_ok=True)
    archive = layout.root / "sourcedir.tar.gz"
    try:
        bucket, key = split_s3_uri(uri)
        jobs.download(s3, bucket, key, archive)
        with tarfile.open(archive, "r:*") as tar:
            tar.extractall(code, filter="data")
    except ValueError as error:
        raise jobs.JobFailedError(f"ClientError: sagemaker_submit_directory must be an S3 URI: {error}") from error
    except (ClientError, BotoCoreError) as error:
        raise jobs.JobFailedError(
            jobs.denied_download(error, f"object {uri}")
            or f"ClientError: cannot download sagemaker_submit_directory {uri}: {error}"
        ) from error
    except tarfile.TarError as error:
        raise jobs.JobFailedError(f"ClientError: sagemaker_submit_directory {uri} is not a tar.gz: {error}") from error
    program = container.program or ""
    if not (code / program).is_file():
        raise jobs.JobFailedError(f"ClientError: the entry point {program} is not in {uri}")
    if (code / "requirements.txt").exists():
        note("requirements.txt found: the local runtime does not install it (the venv's packages apply)")
