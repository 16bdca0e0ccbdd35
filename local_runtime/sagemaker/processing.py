"""Processing jobs run for real: inputs downloaded, the container's command run as a subprocess, outputs uploaded.

moto stores CreateProcessingJob and marks it Completed at once, dropping Environment and ProcessingResources; the
service puts those back, takes the job to InProgress and runs it from a worker thread, as SageMaker would.

There is no Docker: the container is its command. `ContainerEntrypoint` + `ContainerArguments` run on this
machine with every path under `/opt/ml/processing` and `/opt/ml/output` (in the command and in Environment's
values) mapped to the job's directory, and `python3` resolving to this interpreter, so a SageMaker framework
image (sagemaker-scikit-learn...) runs its script with the venv's scikit-learn, numpy and joblib. Any image is
accepted if the request gives an entrypoint; an image's own ENTRYPOINT is unknown locally, so a job without
one fails with a ClientError saying so. Paths written inside the user's files are not mapped: scripts should take
their directories from Environment or arguments, as the workflow's do (RAW_DATA_DIR, MODEL_DIR...), and a
/opt/ml/output/message meant for ExitMessage must be named in the command or an Environment value.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from local_runtime.sagemaker import jobs
from local_runtime.sagemaker.api import S3ClientFactory, SageMakerApiError
from local_runtime.sagemaker.jobs import split_s3_uri

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client


logger = logging.getLogger(__name__)

LOG_FILE = "processing.log"  # in the job's directory, next to the container's mapped /opt/ml
CONTAINER_ROOT = "/opt/ml/processing"  # every input's and output's LocalPath is under it
# SageMaker's convention: the container writes a message to /opt/ml/output/message, ExitMessage keeps its first KB.
MESSAGE_FILE = "/opt/ml/output/message"
MESSAGE_LIMIT = 1024
# Said first in a FailureReason whose error names a container path (a FileNotFoundError on /opt/ml/processing/...).
UNMAPPED_PATH_HINT = (
    "the script used a container path itself: the local runtime maps /opt/ml/processing and /opt/ml/output in the "
    "job's command and Environment, not inside its files; pass the directories as arguments or Environment values"
)
# A container path: /opt/ml/processing or /opt/ml/output, alone or followed by a path, anywhere in a string.
_CONTAINER_PATH = re.compile(r"/opt/ml/(processing|output)(?![\w.-])")


class ProcessingService:
    """Runs the processing jobs moto stores: one worker thread per job, driving one container subprocess."""

    def __init__(
        self,
        *,
        s3_client_factory: S3ClientFactory,
        workdir: Path,
        backend: Callable[[str], Any],
        on_ended: Callable[[str, Any], None] | None = None,
    ) -> None:
        """`s3_client_factory(region)` gives an S3 client of the local server; `backend(region)` moto's SageMaker.

        `on_ended(region, job)` is called once a job reaches Completed, Failed or Stopped (SageMaker's event).
        """
        self._s3_client_factory = s3_client_factory
        self._workdir = workdir
        self._backend = backend
        self._on_ended = on_ended
        self._runs: dict[tuple[str, str], _Run] = {}
        self._lock = threading.Lock()

    def on_created(self, region: str, job_name: str, request: Mapping[str, Any]) -> None:
        """Start the job moto just stored; `request` (CreateProcessingJob's parameters) restores what moto drops."""
        job = self._backend(region).processing_jobs[job_name]
        run = _Run(
            region=region,
            job=job,
            request=request,
            s3_client_factory=self._s3_client_factory,
            directory=self._workdir / "processing" / job_name,
            on_ended=self._on_ended,
        )
        with self._lock:
            previous = self._runs.get((region, job_name))
            if previous is not None and previous.alive:
                raise SageMakerApiError("ResourceInUse", f"Processing job {job_name} is already running.")
            self._runs[(region, job_name)] = run
        run.start()

    def stop(self, region: str, job_name: str) -> None:
        """StopProcessingJob: an InProgress job goes Stopping, its process is killed, it ends Stopped.

        Raises SageMakerApiError (ValidationException) for an unknown job or one that is not InProgress.
        """
        job = self._backend(region).processing_jobs.get(job_name)
        if job is None:
            account = getattr(self._backend(region), "account_id", "123456789012")
            arn = f"arn:aws:sagemaker:{region}:{account}:processing-job/{job_name}"
            raise SageMakerApiError("ValidationException", f"Could not find processing job '{arn}'.")
        with self._lock:
            run = self._runs.get((region, job_name))
        if run is None or not run.request_stop("StopProcessingJob"):
            raise SageMakerApiError(
                "ValidationException",
                f"The request was rejected because the processing job is in status {job.processing_job_status}.",
            )

    def wait(self, region: str, job_name: str, timeout: float | None = None) -> bool:
        """Wait for a job's worker to finish; True when it has (or never ran here)."""
        with self._lock:
            run = self._runs.get((region, job_name))
        return run is None or run.join(timeout)

    def shutdown(self) -> None:
        """Stop every running job and wait for the workers."""
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            run.request_stop("the local runtime shut down")
        for run in runs:
            run.join(jobs.READER_JOIN_SECONDS * 2)


@dataclass(frozen=True)
class ContainerPaths:
    """Where the container's /opt/ml/processing and /opt/ml/output live for one job."""

    root: Path

    def local(self, container_path: str) -> Path:
        """The local path of a container path under /opt/ml/processing; raise ValueError for any other."""
        if not (container_path == CONTAINER_ROOT or container_path.startswith(CONTAINER_ROOT + "/")):
            raise ValueError(f"LocalPath {container_path!r} must be under {CONTAINER_ROOT}/")
        local = Path(self.map(container_path)).resolve()
        if not local.is_relative_to(self.root.resolve()):
            raise ValueError(f"LocalPath {container_path!r} points outside {CONTAINER_ROOT}")
        return local

    def map(self, text: str) -> str:
        """`text` with every /opt/ml/processing and /opt/ml/output path in it made local."""
        return _CONTAINER_PATH.sub(lambda match: f"{self.root}/{match[1]}", text)

    @property
    def message(self) -> Path:
        return Path(self.map(MESSAGE_FILE))


def container_command(app_specification: Mapping[str, Any]) -> list[str]:
    """ContainerEntrypoint + ContainerArguments; raise ValueError when there is no entrypoint to run."""
    entrypoint = list(app_specification.get("ContainerEntrypoint") or [])
    if not entrypoint:
        image = app_specification.get("ImageUri", "")
        raise ValueError(
            f"image {image}: the local runtime does not know the image's own ENTRYPOINT; give "
            'AppSpecification.ContainerEntrypoint (e.g. ["python3", "/opt/ml/processing/input/code/script.py"])'
        )
    return [*entrypoint, *(app_specification.get("ContainerArguments") or [])]


def prefix_objects(s3: S3Client, uri: str) -> Iterator[tuple[str, str, str]]:
    """(bucket, key, relative path) of every object an S3Prefix input downloads.

    An object whose key is the prefix itself keeps its basename; objects below the prefix (as a folder) keep
    their path under it; objects that merely share the prefix's text (`p/train` and `p/training/x`) keep their
    path under the prefix's parent folder, so no two of them collide.
    """
    bucket, prefix = split_s3_uri(uri)
    folder = prefix.rstrip("/") + "/" if prefix.rstrip("/") else ""
    parent = prefix[: prefix.rfind("/") + 1]
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            key: str = item["Key"]
            if key.endswith("/"):
                continue
            if key == prefix:
                yield bucket, key, key.rsplit("/", 1)[-1]
            elif key.startswith(folder):
                yield bucket, key, key[len(folder) :]
            else:
                yield bucket, key, key[len(parent) :]


class _Run(jobs.JobWorker):
    """One processing job: the worker thread, its subprocess and the moto object it keeps up to date."""

    def __init__(
        self,
        *,
        region: str,
        job: Any,
        request: Mapping[str, Any],
        s3_client_factory: S3ClientFactory,
        directory: Path,
        on_ended: Callable[[str, Any], None] | None = None,
    ) -> None:
        self.region = region
        self.job = job
        self.request = request
        self.paths = ContainerPaths(directory)
        self._s3_client_factory = s3_client_factory
        self._on_ended = on_ended
        super().__init__(thread_name=f"processing-{job.processing_job_name}")

    def start(self) -> None:
        """Take the moto object back to InProgress at once, then run the job in the worker."""
        job = self.job
        now = jobs.now()
        with self._lock:
            # Every attribute the worker sets exists before DescribeProcessingJob can read the object: a new
            # attribute appearing while moto iterates the object's __dict__ would break that request. moto
            # leaves out what is None.
            job.processing_job_status = "InProgress"
            job.environment = dict(self.request.get("Environment") or {}) or None
            job.processing_resources = self.request.get("ProcessingResources")
            job.processing_start_time = None
            job.processing_end_time = None
            job.failure_reason = None
            job.exit_message = None
            job.last_modified_time = now
        max_runtime = (job.stopping_condition or {}).get("MaxRuntimeInSeconds")
        self._start_worker(max_runtime, f"MaxRuntimeInSeconds ({max_runtime}) exceeded")

    def request_stop(self, reason: str) -> bool:
        """Move an InProgress job to Stopping and kill its process; False when the job is not InProgress."""
        with self._lock:
            if self.job.processing_job_status != "InProgress":
                return False
            self._stop_reason = reason
            self.job.processing_job_status = "Stopping"
            self.job.last_modified_time = jobs.now()
        self._kill_running()
        return True

    # --- the worker ---

    def _work(self) -> None:
        try:
            self._execute()
        except jobs.JobInterruptedError:
            self._finish("Stopped")
        except jobs.JobFailedError as failure:
            self._finish("Failed", failure_reason=jobs.truncate(str(failure)))
        except Exception as error:  # the job must end, whatever went wrong in the runtime itself
            logger.exception("processing job %s: the local runtime failed", self.job.processing_job_name)
            self._finish("Failed", failure_reason=jobs.truncate(f"InternalServerError: {error}"))
        finally:
            self._close()

    def _execute(self) -> None:
        root = self.paths.root
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        self.paths.message.parent.mkdir(parents=True)
        self._log = (root / LOG_FILE).open("a", encoding="utf-8")
        with self._lock:
            self._checkpoint()
            self.job.processing_start_time = jobs.now()
            self.job.last_modified_time = self.job.processing_start_time
        try:
            command = [self.paths.map(part) for part in container_command(self.job.app_specification or {})]
        except ValueError as error:
            raise jobs.JobFailedError(f"ClientError: {error}") from error
        outputs = self._output_directories()
        # SageMaker reads the inputs and writes the outputs as a session of the job's RoleArn.
        s3 = self._s3_client_factory(self.region, self.job.role_arn)
        for processing_input in self.job.processing_inputs or []:
            self._download_input(s3, processing_input)
        for directory in outputs.values():
            directory.mkdir(parents=True, exist_ok=True)
        self._checkpoint()
        returncode = self._run_process(command)
        self._checkpoint()
        if returncode != 0:
            raise jobs.JobFailedError(self._failure_reason(returncode))
        self._upload(s3, outputs)
        self._finish("Completed")

    def _output_directories(self) -> dict[str, Path]:
        directories: dict[str, Path] = {}
        for output in (self.job.processing_output_config or {}).get("Outputs") or []:
            name = output.get("OutputName", "?")
            s3_output = output.get("S3Output")
            if s3_output is None:
                raise jobs.JobFailedError(f"ClientError: output {name}: only S3Output outputs are supported locally")
            try:
                split_s3_uri(s3_output.get("S3Uri", ""))
                directories[name] = self.paths.local(s3_output.get("LocalPath", ""))
            except ValueError as error:
                raise jobs.JobFailedError(f"ClientError: output {name}: {error}") from error
        return directories

    def _download_input(self, s3: S3Client, processing_input: Mapping[str, Any]) -> None:
        name = processing_input.get("InputName", "?")
        source = processing_input.get("S3Input")
        if source is None:
            raise jobs.JobFailedError(f"ClientError: input {name}: only S3Input inputs are supported locally")
        if source.get("S3InputMode", "File") != "File":
            raise jobs.JobFailedError(f"ClientError: input {name}: Pipe input mode is not supported locally; use File")
        if source.get("S3CompressionType", "None") != "None":
            raise jobs.JobFailedError(f"ClientError: input {name}: S3CompressionType Gzip is not supported locally")
        data_type, uri = source.get("S3DataType", "S3Prefix"), source.get("S3Uri", "")
        try:
            split_s3_uri(uri)
            target = self.paths.local(source.get("LocalPath", ""))
        except ValueError as error:
            raise jobs.JobFailedError(f"ClientError: input {name}: {error}") from error
        target.mkdir(parents=True, exist_ok=True)
        try:
            if data_type == "S3Prefix":
                objects = list(prefix_objects(s3, uri))
                if not objects:
                    raise jobs.JobFailedError(
                        f'ClientError: input {name}: No S3 objects found under S3 URL "{uri}". Please ensure that the '
                        f"bucket exists in the selected region ({self.region}) and that objects exist under that "
                        "S3 prefix."
                    )
            elif data_type == "ManifestFile":
                bucket, key = split_s3_uri(uri)
                objects = jobs.manifest_objects(s3.get_object(Bucket=bucket, Key=key)["Body"].read(), uri)
            else:
                raise jobs.JobFailedError(f"ClientError: input {name}: S3DataType {data_type} is not supported locally")
        except (ClientError, BotoCoreError) as error:
            raise jobs.JobFailedError(
                jobs.denied_download(error, f"objects under {uri}")
                or f"ClientError: input {name}: cannot read {uri}: {error}"
            ) from error
        except ValueError as error:
            raise jobs.JobFailedError(f"ClientError: input {name}: {error}") from error
        listed = f" (listed in the manifest {uri})" if data_type == "ManifestFile" else ""
        for bucket, key, relative in objects:
            self._checkpoint()
            destination = (target / relative).resolve()
            if not destination.is_relative_to(target):
                raise jobs.JobFailedError(f"ClientError: input {name}: {relative} points outside its LocalPath")
            try:
                jobs.download(s3, bucket, key, destination)
            except (ClientError, BotoCoreError) as error:
                raise jobs.JobFailedError(
                    jobs.denied_download(error, f"object s3://{bucket}/{key}")
                    or f"ClientError: input {name}: cannot download s3://{bucket}/{key}{listed}: {error}"
                ) from error
        self._note(f"input {name}: {len(objects)} files from {uri} ({data_type}) into {target}")

    def _run_process(self, command: Sequence[str]) -> int:
        # `python3` in the command is this interpreter: the venv's packages stand in for the image's.
        interpreter_dir = str(Path(sys.executable).parent)
        environment = {
            **os.environ,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "PYTHONUNBUFFERED": "1",
            **{key: self.paths.map(str(value)) for key, value in (self.job.environment or {}).items()},
            "PATH": os.pathsep.join([interpreter_dir, os.environ.get("PATH", os.defpath)]),
        }
        return self._run_logged(command, cwd=self.paths.root, environment=environment, launch_failure="the entrypoint")

    def _failure_reason(self, returncode: int) -> str:
        tail, exit_status = self._stderr_tail_text(), self._exit_status(returncode)
        if _CONTAINER_PATH.search(tail):
            # Every container path in the command was mapped: one left in the error was written in the script.
            exit_status += f" ({UNMAPPED_PATH_HINT})"
        return f"AlgorithmError: {exit_status}: {tail}" if tail else f"AlgorithmError: {exit_status}"

    def _upload(self, s3: S3Client, directories: Mapping[str, Path]) -> None:
        """EndOfJob: every file under each output's LocalPath to its S3Uri, at its path under LocalPath."""
        config = self.job.processing_output_config or {}
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": config["KmsKeyId"]} if config.get("KmsKeyId") else {}
        for output in config.get("Outputs") or []:
            name = output["OutputName"]
            s3_output = output["S3Output"]
            if s3_output.get("S3UploadMode", "EndOfJob") != "EndOfJob":
                self._note(f"output {name}: S3UploadMode {s3_output['S3UploadMode']} uploads at the end locally")
            bucket, prefix = split_s3_uri(s3_output["S3Uri"])
            directory = directories[name]
            files = sorted(path for path in directory.rglob("*") if path.is_file())
            for path in files:
                self._checkpoint()
                key = "/".join(part for part in (prefix.strip("/"), path.relative_to(directory).as_posix()) if part)
                try:
                    s3.upload_file(str(path), bucket, key, ExtraArgs=extra or None)
                except (ClientError, BotoCoreError) as error:
                    raise jobs.JobFailedError(
                        f"ClientError: output {name}: cannot upload to s3://{bucket}/{key}: {error}"
                    ) from error
            self._note(f"output {name}: {len(files)} files uploaded to {s3_output['S3Uri']}")

    # --- status bookkeeping (moto's object is read by request threads: reassign, never mutate in place) ---

    def _finish(self, status: str, *, failure_reason: str | None = None) -> None:
        with self._lock:
            if self._stop_reason is not None:
                status, failure_reason = "Stopped", None
                self._note(f"stopped: {self._stop_reason}")
            else:
                self._note(status + (f": {failure_reason}" if failure_reason else ""))
            exit_message, message_error = self._exit_message()
            if message_error is not None and status == "Completed":
                status, failure_reason = "Failed", message_error
            now = jobs.now()
            self.job.exit_message = exit_message
            self.job.failure_reason = failure_reason
            self.job.processing_end_time = now
            self.job.last_modified_time = now
            self.job.processing_job_status = status
        self._announce()

    def _exit_message(self) -> tuple[str | None, str | None]:
        """(ExitMessage, a FailureReason when the message is not UTF-8): the first KB of /opt/ml/output/message."""
        try:
            data = self.paths.message.read_bytes()
        except OSError:
            return None, None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return None, f"ClientError: {MESSAGE_FILE} is not UTF-8 encoded"
        return text[:MESSAGE_LIMIT] or None, None

    def _announce(self) -> None:
        """SageMaker's state-change event for the job's end (never fails the job: EventBridge is best effort)."""
        if self._on_ended is None:
            return
        try:
            self._on_ended(self.region, self.job)
        except Exception as error:  # an event that cannot be sent is lost, as on AWS
            logger.warning("processing job %s: state-change event not sent: %s", self.job.processing_job_name, error)
