"""SageMaker batch transform for real: the job's model serves from a chain of workers, S3 objects in, `.out` out.

moto stores CreateTransformJob as given (every field comes back in DescribeTransformJob) but marks it Completed at
once and runs nothing; it has no StopTransformJob. This service moves a job through SageMaker's states:
InProgress while the model's containers start (as hosting starts them: one serving worker per container, a serial
pipeline as a chain) and every object under TransformInput's S3Uri (S3Prefix, or a ManifestFile's list) goes
through them, then Completed, Failed or Stopped.

- SplitType Line cuts an object into records a line each; None sends the object as one record. BatchStrategy
  MultiRecord packs as many records as fit in MaxPayloadInMB (default 6) into one request, SingleRecord sends one.
  CompressionType Gzip objects are decompressed first.
- The answers are assembled (AssembleWith Line: each answer ends with a newline; None: bytes as they come) into
  `<S3OutputPath>/<key below the input prefix's folder>.out`, written only once the whole object succeeded, with
  SSE-KMS under TransformOutput.KmsKeyId when given.
- An object whose request fails does not stop the others: SageMaker "uploads only the output for successfully
  processed objects" and marks the job Failed; FailureReason names the first failed object and the container's
  error.
- DataProcessing's InputFilter selects CSV columns before the model sees a record (`$[1:]` drops a label-first
  file's label; `$[0,2]`, `$[3]`, `$` as SageMaker reads them). JoinSource and OutputFilter, an InputFilter on
  other content, and SplitType RecordIO/TFRecord are not emulated: a job asking for them ends Failed saying so.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.common.transform import output_key, split_s3_uri
from local_runtime.sagemaker import jobs
from local_runtime.sagemaker.api import S3ClientFactory, SageMakerApiError
from local_runtime.sagemaker.script_mode import PythonEnvironments
from local_runtime.sagemaker.workers import (
    DEFAULT_HEALTH_CHECK_TIMEOUT_SECONDS,
    ChainLauncher,
    DeploymentError,
    HopError,
    WorkerChain,
)

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client


logger = logging.getLogger(__name__)

DEFAULT_MAX_PAYLOAD_MB = 6  # CreateTransformJob's default MaxPayloadInMB
_SPLIT_TYPES = frozenset({"None", "Line"})
_SLICE = re.compile(r"^\$\[(-?\d*):(-?\d*)\]$")
_INDEXES = re.compile(r"^\$\[(-?\d+(?:\s*,\s*-?\d+)*)\]$")


class _JobFailedError(Exception):
    """Ends the job Failed with this FailureReason."""


class _StoppedError(Exception):
    """StopTransformJob (or shutdown) arrived while the job ran."""


@dataclass(frozen=True)
class InputObject:
    bucket: str
    key: str
    base: str  # the prefix (up to its last `/`) the output's name is relative to

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def split_records(data: bytes, split_type: str) -> list[bytes]:
    """The records of an object: a line each (without blank lines) for Line, the whole object for None."""
    if split_type != "Line":
        return [data] if data else []
    return [line for line in data.splitlines(keepends=True) if line.strip()]


def plan_requests(records: list[bytes], strategy: str, max_bytes: int) -> Iterator[bytes]:
    """Request bodies: one record each (SingleRecord), or records packed up to `max_bytes` (MultiRecord).

    Raises _JobFailedError when a record alone exceeds `max_bytes`, as SageMaker refuses it.
    """
    batch: list[bytes] = []
    size = 0
    for number, record in enumerate(records, start=1):
        if len(record) > max_bytes:
            raise _JobFailedError(
                f"record {number} is {len(record)} bytes, more than MaxPayloadInMB allows ({max_bytes} bytes)"
            )
        if strategy == "SingleRecord":
            yield record
            continue
        if batch and size + len(record) > max_bytes:
            yield b"".join(batch)
            batch, size = [], 0
        batch.append(record)
        size += len(record)
    if batch:
        yield b"".join(batch)


def csv_filter(expression: str) -> Callable[[bytes], bytes]:
    """An InputFilter on CSV records: `$` keeps a record, `$[a:b]` a slice of its columns, `$[i,j]` some of them.

    Raises ValueError for any other JSONPath expression.
    """
    expression = expression.strip()
    if expression == "$":
        return lambda record: record
    if match := _SLICE.match(expression):
        start, stop = (int(part) if part else None for part in match.groups())

        def pick(cells: list[str]) -> list[str]:
            return cells[start:stop]

    elif match := _INDEXES.match(expression):
        indexes = [int(part) for part in match.group(1).split(",")]

        def pick(cells: list[str]) -> list[str]:
            return [cells[index] for index in indexes]

    else:
        raise ValueError(f"InputFilter {expression} is not emulated: use $, $[a:b] or $[i,j,...]")

    def apply(record: bytes) -> bytes:
        ending = b"\n" if record.endswith(b"\n") else b""
        rows = list(csv.reader(io.StringIO(record.decode())))
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        try:
            writer.writerows(pick(cells) for cells in rows if cells)
        except IndexError:
            raise ValueError(f"InputFilter {expression} selects a column the record does not have") from None
        return out.getvalue().encode().removesuffix(b"\n") + ending

    return apply


def assemble(answers: list[bytes], assemble_with: str) -> bytes:
    """The output object: answers a line-terminated piece each (Line), or concatenated as they are (None)."""
    if assemble_with != "Line":
        return b"".join(answers)
    return b"".join(answer if answer.endswith(b"\n") else answer + b"\n" for answer in answers if answer)


class TransformService:
    """Runs the transform jobs moto stores: one thread per job, driving the model's chain of serving workers."""

    def __init__(
        self,
        *,
        s3_client_factory: S3ClientFactory,
        workdir: Path,
        backend: Callable[[str], Any],
        health_check_timeout_seconds: float = DEFAULT_HEALTH_CHECK_TIMEOUT_SECONDS,
        on_ended: Callable[[str, Any], None] | None = None,
    ) -> None:
        """`on_ended(region, job)` is called once a job is Completed, Failed or Stopped (SageMaker's event)."""
        self._s3 = s3_client_factory
        self._launcher = ChainLauncher(
            s3_client_factory=s3_client_factory,
            environments=PythonEnvironments(workdir / "python-environments"),
            backend=backend,
        )
        self._workdir = workdir
        self._backend = backend
        self._health_check_timeout = health_check_timeout_seconds
        self._on_ended = on_ended
        self._runs: dict[tuple[str, str], _Run] = {}
        self._lock = threading.Lock()

    def on_created(self, region: str, job_name: str, *, stalled: bool = False) -> None:
        """CreateTransformJob was stored: the job is InProgress from now on, and runs in the background.

        A `stalled` job (an injected fault) stays InProgress, sending nothing, until StopTransformJob.
        """
        job = self._backend(region).transform_jobs[job_name]
        now = _now()
        job.transform_job_status = "InProgress"
        job.failure_reason = None
        job.transform_start_time, job.transform_end_time, job.last_modified_time = now, None, now
        run = _Run(self, region, job, stalled=stalled)
        with self._lock:
            self._runs[(region, job_name)] = run
        run.thread.start()

    def stop(self, region: str, job_name: str) -> None:
        """StopTransformJob: an InProgress job goes Stopping, its workers stop, it ends Stopped.

        A job that already ended stays as it is (SageMaker answers without error). Raises SageMakerApiError
        (ValidationException) for an unknown job.
        """
        backend = self._backend(region)
        job = backend.transform_jobs.get(job_name)
        if job is None:
            arn = f"arn:aws:sagemaker:{region}:{backend.account_id}:transform-job/{job_name}"
            raise SageMakerApiError("ValidationException", f"Could not find job to update with name {arn}")
        with self._lock:
            run = self._runs.get((region, job_name))
        if run is not None:
            run.request_stop()

    def wait(self, region: str, job_name: str, timeout: float | None = None) -> bool:
        """Wait for a job's thread; True when it has finished (or never ran here)."""
        with self._lock:
            run = self._runs.get((region, job_name))
        if run is None:
            return True
        run.thread.join(timeout)
        return not run.thread.is_alive()

    def shutdown(self) -> None:
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            run.request_stop()
        for run in runs:
            run.thread.join(timeout=10)


class _Run:
    """One transform job: start the model's chain, send every object through it, write the outputs."""

    def __init__(self, service: TransformService, region: str, job: Any, *, stalled: bool = False) -> None:
        self.service, self.region, self.job = service, region, job
        self.stalled = stalled
        self.name: str = job.transform_job_name
        self.chain = WorkerChain(self.name)
        self.thread = threading.Thread(target=self._work, name=f"transform-{self.name}", daemon=True)
        self._lock = threading.Lock()
        self._stop_requested = False
        self._stopped = threading.Event()  # set with _stop_requested: what a stalled job waits for
        self._ended = False
        self._input_filter: Callable[[bytes], bytes] = lambda record: record

    def request_stop(self) -> None:
        with self._lock:
            if self._ended or self._stop_requested:
                return
            self._stop_requested = True
            self._stopped.set()
            self.job.transform_job_status = "Stopping"
            self.job.last_modified_time = _now()
        self.chain.stop()  # an invocation in flight fails at once; the run then ends Stopped

    def _work(self) -> None:
        try:
            self._execute()
            self._end("Completed")
        except _StoppedError:
            self._end("Stopped")
        except _JobFailedError as failed:
            self._end("Failed", str(failed))
        except Exception as error:  # an emulator bug must still end the job, not leave it InProgress
            logger.exception("transform job %s", self.name)
            self._end("Failed", f"InternalServerError: {error}")
        finally:
            self.chain.stop()

    def _execute(self) -> None:
        if self.stalled:
            self._stopped.wait()
            raise _StoppedError
        job = self.job
        source = (job.transform_input or {}).get("DataSource", {}).get("S3DataSource", {})
        split_type = (job.transform_input or {}).get("SplitType") or "None"
        self._refuse_unsupported(split_type)
        model = self.service._backend(self.region)._models.get(job.model_name)
        if model is None:
            raise _JobFailedError(f'ClientError: Could not find model "{_arn(job, "model", job.model_name)}".')
        # A transform job names no role: SageMaker reads and writes S3 with the model's ExecutionRoleArn.
        s3 = self.service._s3(self.region, model.execution_role_arn)
        objects = self._objects(s3, str(source.get("S3DataType") or "S3Prefix"), str(source.get("S3Uri") or ""))
        self._start_chain(model)
        failures: list[str] = []
        for item in objects:
            self._checkpoint()
            try:
                self._transform(s3, item, split_type)
            except _JobFailedError as failed:
                failures.append(f"{item.uri}: {failed}")
        if failures:
            more = f" ({len(failures) - 1} more object(s) failed)" if len(failures) > 1 else ""
            raise _JobFailedError(f"ClientError: Error processing {failures[0]}{more}")

    def _refuse_unsupported(self, split_type: str) -> None:
        processing = self.job.data_processing or {}
        filters = {
            key: value
            for key, value in processing.items()
            if key != "InputFilter" and (key, value) not in {("OutputFilter", "$"), ("JoinSource", "None")}
        }
        if filters:
            raise _JobFailedError(
                "ClientError: DataProcessing "
                + ", ".join(f"{key}={value}" for key, value in sorted(filters.items()))
                + " is not emulated by the local runtime: transform the whole records, or filter them before and "
                "after the job"
            )
        if split_type not in _SPLIT_TYPES:
            raise _JobFailedError(f"ClientError: SplitType {split_type} is not emulated by the local runtime: use Line")
        expression = processing.get("InputFilter")
        if expression:
            content_type = (self.job.transform_input or {}).get("ContentType") or ""
            if content_type.split(";")[0].strip() != "text/csv" and expression.strip() != "$":
                raise _JobFailedError(
                    f"ClientError: InputFilter {expression} on {content_type or 'unknown'} content is not emulated by "
                    "the local runtime: only text/csv records are filtered"
                )
            try:
                self._input_filter = csv_filter(expression)
            except ValueError as error:
                raise _JobFailedError(f"ClientError: {error}") from None

    def _objects(self, s3: S3Client, data_type: str, uri: str) -> list[InputObject]:
        try:
            bucket, key = split_s3_uri(uri)
        except ValueError as error:
            raise _JobFailedError(f"ClientError: {error}") from None
        if data_type == "ManifestFile":
            return self._manifest_objects(s3, bucket, key, uri)
        if data_type != "S3Prefix":
            raise _JobFailedError(f"ClientError: S3DataType {data_type} is not emulated by the local runtime")
        base = key[: key.rfind("/") + 1]
        found: list[InputObject] = []
        try:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
                found += [InputObject(bucket, o["Key"], base) for o in page.get("Contents", []) if o["Key"][-1] != "/"]
        except (ClientError, BotoCoreError) as error:
            raise _JobFailedError(f"ClientError: cannot list {uri}: {error}") from None
        if not found:
            raise _JobFailedError(
                f'ClientError: No S3 objects found under S3 URL "{uri}" given in input data source. Please ensure '
                "that the bucket exists in the selected region, that objects exist under that S3 prefix."
            )
        return found

    def _manifest_objects(self, s3: S3Client, bucket: str, key: str, uri: str) -> list[InputObject]:
        """`[{"prefix": "s3://bucket/p/"}, "relative/key", ...]`, read as training and processing read it (each
        object is the prefix followed by its relative key); outputs are named as for an S3Prefix of the manifest's
        prefix: by the key below the prefix's folder, which is the relative key when the prefix ends in `/`."""
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except (ClientError, BotoCoreError) as error:
            raise _JobFailedError(f"ClientError: cannot read the manifest {uri}: {error}") from None
        try:
            entries = jobs.manifest_objects(body, uri)
        except ValueError as error:
            raise _JobFailedError(f"ClientError: {error}") from None
        return [InputObject(entry_bucket, key, key.removesuffix(relative)) for entry_bucket, key, relative in entries]

    def _start_chain(self, model: Any) -> None:
        deadline = time.monotonic() + self.service._health_check_timeout
        try:
            self.service._launcher.start(
                self.region,
                model,
                self.chain,
                self.service._workdir / "transform" / self.name,
                subject=f"transform job {self.name}",
                deadline=deadline,
            )
        except DeploymentError as error:
            self._checkpoint()
            raise _JobFailedError(f"ClientError: {error}") from None

    def _transform(self, s3: S3Client, item: InputObject, split_type: str) -> None:
        job = self.job
        data = self._read(s3, item)
        content_type = (job.transform_input or {}).get("ContentType") or "application/octet-stream"
        output = job.transform_output or {}
        accept = output.get("Accept") or "*/*"
        max_bytes = int(job.max_payload_in_mb or DEFAULT_MAX_PAYLOAD_MB) * 1024 * 1024
        answers: list[bytes] = []
        answer_type = accept
        try:
            records = [self._input_filter(record) for record in split_records(data, split_type)]
        except (ValueError, UnicodeDecodeError) as error:
            raise _JobFailedError(str(error)) from None
        for body in plan_requests(records, job.batch_strategy or "MultiRecord", max_bytes):
            self._checkpoint()
            try:
                answer = self.chain.post(body, content_type, accept)
            except HopError as failed:
                self._checkpoint()
                raise _JobFailedError(
                    f'Received server error (500) from {failed.worker.name} with message "the container did not '
                    f'answer: {failed.error}". See {failed.worker.log_path} for more information.'
                ) from None
            if answer.status >= 400:
                kind = "client" if answer.status < 500 else "server"
                raise _JobFailedError(
                    f"Received {kind} error ({answer.status}) from {answer.worker.name} with message "
                    f'"{answer.body.decode("utf-8", "replace")}". See {answer.worker.log_path} for more information.'
                )
            answers.append(answer.body)
            answer_type = answer.content_type
        self._checkpoint()
        key = output_key(str(output["S3OutputPath"]), item.base, item.key)
        out_bucket, _ = split_s3_uri(str(output["S3OutputPath"]))
        put: dict[str, Any] = {
            "Bucket": out_bucket,
            "Key": key,
            "Body": assemble(answers, output.get("AssembleWith") or "None"),
            "ContentType": answer_type,
        }
        if output.get("KmsKeyId"):
            put.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=output["KmsKeyId"])
        try:
            s3.put_object(**put)
        except (ClientError, BotoCoreError) as error:
            raise _JobFailedError(f"cannot write s3://{out_bucket}/{key}: {error}") from None

    def _read(self, s3: S3Client, item: InputObject) -> bytes:
        try:
            data: bytes = s3.get_object(Bucket=item.bucket, Key=item.key)["Body"].read()
        except (ClientError, BotoCoreError) as error:
            raise _JobFailedError(f"cannot read the object: {error}") from None
        if (self.job.transform_input or {}).get("CompressionType") == "Gzip":
            try:
                return gzip.decompress(data)
            except (OSError, EOFError) as error:
                raise _JobFailedError(f"CompressionType is Gzip but the object is not gzip: {error}") from None
        return data

    def _checkpoint(self) -> None:
        with self._lock:
            if self._stop_requested:
                raise _StoppedError

    def _end(self, status: str, failure_reason: str | None = None) -> None:
        with self._lock:
            if self._stop_requested and status != "Completed":
                status, failure_reason = "Stopped", None
            self._ended = True
            now = _now()
            self.job.transform_job_status = status
            self.job.failure_reason = jobs.truncate(failure_reason) if failure_reason else None
            self.job.transform_end_time = self.job.last_modified_time = now
        if failure_reason:
            logger.warning("transform job %s failed: %s", self.name, failure_reason)
        if self.service._on_ended is None:
            return
        try:
            self.service._on_ended(self.region, self.job)
        except Exception as error:  # EventBridge is best effort: a lost event never fails the job
            logger.warning("transform job %s: state-change event not sent: %s", self.name, error)


def _arn(job: Any, kind: str, name: str) -> str:
    prefix = str(job.arn).split(":transform-job/")[0]
    return f"{prefix}:{kind}/{name}"


def _now() -> datetime:
    return datetime.now(UTC)
