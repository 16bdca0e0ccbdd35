"""What the emulated training and processing jobs share: a worker thread that runs the job's container as a
subprocess, logs its output, keeps the last lines of its stderr, and is stopped by killing its process group;
and the S3 side of their inputs (downloads, SageMaker's manifest files)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client


FAILURE_REASON_LIMIT = 1024  # FailureReason of a Describe of a job or an endpoint: at most 1024 characters
STDERR_TAIL_LINES = 10
READER_JOIN_SECONDS = 5.0


class JobFailedError(Exception):
    """The job fails; the message is its FailureReason."""


class JobInterruptedError(Exception):
    """A stop was asked for (StopXJob, MaxRuntimeInSeconds): the job ends Stopped."""


# SageMaker's S3Uri pattern is `(https|s3)://([^/]+)/?(.*)` (botocore's service model): an HTTPS URL of an object
# is taken too, as CDK's `S3Location.fromBucket` writes it (`bucket.urlForObject`: path style,
# https://s3.<region>.amazonaws.com/<bucket>/<key>), or virtual-hosted (https://<bucket>.s3.<region>.amazonaws.com/<key>).
_S3_URI = re.compile(r"s3://(?P<bucket>[^/]+)/?(?P<key>.*)")
_PATH_STYLE_URL = re.compile(r"https://s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?/(?P<bucket>[^/]+)/?(?P<key>.*)")
_VIRTUAL_HOSTED_URL = re.compile(
    r"https://(?P<bucket>[^/]+)\.s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?/?(?P<key>.*)"
)


def split_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key) of `s3://bucket/key` or of an S3 HTTPS URL; raise ValueError for anything else."""
    for form in (_S3_URI, _PATH_STYLE_URL, _VIRTUAL_HOSTED_URL):
        match = form.fullmatch(uri)
        if match is not None:
            return match["bucket"], match["key"]
    raise ValueError(f"not an S3 URI: {uri!r}")


def manifest_objects(body: bytes, uri: str) -> list[tuple[str, str, str]]:
    """(bucket, key, relative path) of the entries of SageMaker's manifest `[{"prefix": "s3://b/p/"}, "rel", ...]`.

    Raises ValueError naming what is wrong with the manifest.
    """
    try:
        manifest = json.loads(body)
    except ValueError as error:
        raise ValueError(f"the manifest {uri} is not JSON: {error}") from error
    valid = (
        isinstance(manifest, list)
        and manifest
        and isinstance(manifest[0], dict)
        and isinstance(manifest[0].get("prefix"), str)
        and all(isinstance(entry, str) and entry for entry in manifest[1:])
    )
    if not valid:
        raise ValueError(
            f'the manifest {uri} must be a JSON list [{{"prefix": "s3://bucket/prefix/"}}, "relative/key", ...]'
        )
    try:
        bucket, prefix = split_s3_uri(manifest[0]["prefix"])
    except ValueError as error:
        raise ValueError(f"the manifest {uri}: {error}") from error
    return [(bucket, prefix + relative, relative) for relative in manifest[1:]]


def download(s3: S3Client, bucket: str, key: str, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    with destination.open("wb") as file:
        shutil.copyfileobj(body, file)


def denied_download(error: Exception, what: str) -> str | None:
    """SageMaker's FailureReason for a download its execution role may not make (`what`: "object s3://b/k"); None
    for any other error.

    SageMaker words it `ClientError: Data download failed:Unable to download object s3://<bucket>/<key>
    (AccessDenied: Access Denied)` (github.com/aws/amazon-sagemaker-examples/issues/4384, a training job whose
    role could not read its data); S3's message here names the session, the action and the resource.
    """
    response = getattr(error, "response", None)
    if not isinstance(response, dict) or response.get("Error", {}).get("Code") != "AccessDenied":
        return None
    message = response["Error"].get("Message") or "Access Denied"
    return truncate(f"ClientError: Data download failed:Unable to download {what} (AccessDenied: {message})")


def kill(process: subprocess.Popen[bytes]) -> None:
    """Kill the process and its children; SageMaker's grace period buys nothing locally."""
    if process.poll() is None:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


def truncate(reason: str) -> str:
    return reason if len(reason) <= FAILURE_REASON_LIMIT else reason[: FAILURE_REASON_LIMIT - 3] + "..."


def now() -> datetime:
    # Naive UTC, as moto stores its own times: its List calls compare them with their (naive) time filters.
    return datetime.now(UTC).replace(tzinfo=None)


class JobWorker:
    """The worker thread of one job, its running subprocess and its log; subclasses keep moto's object up to date.

    `_lock` guards the job's status and the process; a stop sets `_stop_reason`, which `_checkpoint` turns into
    JobInterruptedError between the job's steps.
    """

    def __init__(self, *, thread_name: str) -> None:
        self._lock = threading.RLock()
        self._log_lock = threading.Lock()
        self._stop_reason: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._work, name=thread_name, daemon=True)
        self._timer: threading.Timer | None = None
        self._log: IO[str] | None = None
        self._stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def request_stop(self, reason: str) -> bool:
        raise NotImplementedError

    def _work(self) -> None:
        raise NotImplementedError

    def _start_worker(self, max_runtime: Any, reason: str) -> None:
        """Start the worker; with a MaxRuntimeInSeconds, a timer asks for a stop with `reason` when it passes."""
        if max_runtime:
            self._set_timer(float(max_runtime), reason)
        self._thread.start()

    def _set_timer(self, seconds: float | None, reason: str) -> None:
        """Replace the runtime timer: a stop with `reason` `seconds` from now; None pauses it (a spot job waiting
        for capacity is not running)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if seconds is not None:
            self._timer = threading.Timer(max(seconds, 0.0), self.request_stop, args=(reason,))
            self._timer.daemon = True
            self._timer.start()

    def _kill_running(self) -> None:
        """Kill the job's process, if one runs; call after marking the job Stopping under `_lock`."""
        with self._lock:
            process = self._process
        if process is not None:
            kill(process)

    def _close(self) -> None:
        """The worker's end, however the job ended: no timer, no open log."""
        if self._timer is not None:
            self._timer.cancel()
        with self._log_lock:
            if self._log is not None:
                self._log.close()
                self._log = None

    def _run_logged(
        self,
        command: Sequence[str],
        *,
        cwd: Path,
        environment: Mapping[str, str],
        launch_failure: str | None = None,
    ) -> int:
        """Run the container's command to its end, its output in the log; return its exit code.

        `launch_failure` names what could not be started (the job then fails with it); None lets the OSError out.
        """
        with self._lock:
            self._checkpoint()
            self._note(f"running {' '.join(command)}")
            try:
                process = subprocess.Popen(
                    list(command),
                    cwd=cwd,
                    env=dict(environment),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    start_new_session=True,  # its own process group: a stop kills the children too
                )
            except OSError as error:
                if launch_failure is None:
                    raise
                raise JobFailedError(f"ClientError: cannot run {launch_failure} {command[0]}: {error}") from error
            self._process = process
        assert process.stdout is not None
        assert process.stderr is not None
        readers = [
            threading.Thread(target=self._read, args=(process.stdout, False), daemon=True),
            threading.Thread(target=self._read, args=(process.stderr, True), daemon=True),
        ]
        for reader in readers:
            reader.start()
        returncode = process.wait()
        for reader in readers:
            reader.join(READER_JOIN_SECONDS)
        with self._lock:
            self._process = None
        return returncode

    def _read(self, stream: IO[bytes], is_stderr: bool) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            seen = now()
            with self._log_lock:
                if self._log is not None:
                    self._log.write(line + "\n")
                    self._log.flush()
                if is_stderr and line.strip():
                    self._stderr_tail.append(line)
                self._on_line(line, seen)
        stream.close()

    def _on_line(self, line: str, seen: datetime) -> None:
        """A line the container wrote (called under `_log_lock`): training reads its metrics from it."""

    def _stderr_tail_text(self) -> str:
        with self._log_lock:
            return "\n".join(self._stderr_tail)

    @staticmethod
    def _exit_status(returncode: int) -> str:
        return f"killed by signal {-returncode}" if returncode < 0 else f"exit code {returncode}"

    def _checkpoint(self) -> None:
        if self._stop_reason is not None:
            raise JobInterruptedError(self._stop_reason)

    def _note(self, message: str) -> None:
        """A line of the runtime's own in the job's log."""
        with self._log_lock:
            if self._log is not None:
                self._log.write(f"[local-runtime] {message}\n")
                self._log.flush()
