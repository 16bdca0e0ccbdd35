"""Managed Spot training in the emulator: checkpoints synced with S3, interruptions and restarts, billable time.

What SageMaker documents, and the emulator does:
- CheckpointConfig: "Existing checkpoints in S3 are written to the SageMaker AI container at the start of the job"
  and SageMaker "automatically syncs the checkpoints in that directory with S3 ... If a checkpoint is deleted in the
  SageMaker AI container, it will also be deleted in the S3 folder" (Developer Guide, Checkpoints in Amazon
  SageMaker AI). The emulator restores the folder when an attempt starts and syncs it when an attempt is interrupted
  and when the job uploads its model: what a job wrote before an interruption is what its restart finds.
- The container learns the local path from /opt/ml/input/config/checkpointconfig.json (`{"LocalPath", "S3Uri"}`):
  built-in XGBoost reads it (aws/sagemaker-xgboost-container: the image sets SM_CHECKPOINT_CONFIG_FILE to
  $SM_INPUT/config/checkpointconfig.json and algorithm_mode/train.py takes its LocalPath). The training toolkit
  exports no SM_* variable for it (aws/sagemaker-training-toolkit has none).
- The lifecycle (Developer Guide, Managed Spot Training Lifecycle): an interrupted job stays InProgress, its
  secondary status goes Training -> Interrupted -> Starting -> Downloading -> Training; a job that does not complete
  within MaxWaitTimeInSeconds goes Stopping, then Stopped with secondary status MaxWaitTimeExceeded.
- Savings are `1 - BillableTimeInSeconds / TrainingTimeInSeconds` (Developer Guide, Managed Spot Training). The
  emulator has no spot price: it bills the time its attempts ran and not the time a job waited for capacity, so an
  interrupted job's billable time is below its training time and an uninterrupted job's equals it.
"""

from __future__ import annotations

import json
import math
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local_runtime.fault_records import SpotInterruption
from local_runtime.faults import Faults, pipeline_of
from local_runtime.sagemaker.jobs import split_s3_uri
from local_runtime.sagemaker.training_input import JobLayout

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

CHECKPOINT_CONFIG_FILE = "checkpointconfig.json"  # in /opt/ml/input/config/
CONTAINER_ROOT = "/opt/ml"
DEFAULT_LOCAL_PATH = "/opt/ml/checkpoints"  # CheckpointConfig.LocalPath's default (API reference)
INTERRUPTED, MAX_WAIT_TIME_EXCEEDED = "Interrupted", "MaxWaitTimeExceeded"
# The documented meaning of each secondary status (API reference, SecondaryStatusTransition).
STATUS_MESSAGES = {
    INTERRUPTED: "Training job interrupted: the managed spot training instances were interrupted",
    MAX_WAIT_TIME_EXCEEDED: "Training job stopped: it exceeded the maximum allowed wait time",
}
_WATCH_POLL_SECONDS = 0.02


@dataclass(frozen=True)
class SpotSettings:
    """A Managed Spot training job's settings, from CreateTrainingJob's request (moto's job as a fallback)."""

    max_wait_seconds: float | None
    checkpoint_uri: str | None  # None: the job keeps no checkpoints
    local_path: str = DEFAULT_LOCAL_PATH

    @classmethod
    def of(cls, job: Any, request: Mapping[str, Any]) -> SpotSettings | None:
        """The job's spot settings; None for an on-demand job."""
        if not request.get("EnableManagedSpotTraining", getattr(job, "enable_managed_spot_training", False)):
            return None
        stopping = request.get("StoppingCondition") or job.stopping_condition or {}
        checkpoints = request.get("CheckpointConfig") or getattr(job, "checkpoint_config", None) or {}
        wait = stopping.get("MaxWaitTimeInSeconds")
        return cls(
            max_wait_seconds=float(wait) if wait else None,
            checkpoint_uri=checkpoints.get("S3Uri"),
            local_path=checkpoints.get("LocalPath") or DEFAULT_LOCAL_PATH,
        )


def checkpoint_directory(layout: JobLayout, local_path: str) -> Path:
    """The host directory that stands for the container's checkpoint path (under the job's /opt/ml)."""
    relative = local_path.rstrip("/").removeprefix(CONTAINER_ROOT).strip("/")
    return layout.root / (relative if local_path.startswith(CONTAINER_ROOT + "/") and relative else "checkpoints")


def write_checkpoint_config(layout: JobLayout, directory: Path, uri: str) -> None:
    """checkpointconfig.json, as SageMaker writes it for a job with a CheckpointConfig (the host path locally)."""
    (layout.config / CHECKPOINT_CONFIG_FILE).write_text(json.dumps({"LocalPath": str(directory), "S3Uri": uri}))


def restore_checkpoints(s3: S3Client, uri: str, directory: Path) -> int:
    """Replace the directory's content with the objects under the S3 folder; return how many were restored."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    bucket, prefix = _folder(uri)
    restored = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            relative = item["Key"][len(prefix) :]
            if not relative or relative.endswith("/"):
                continue
            target = directory / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, item["Key"], str(target))
            restored += 1
    return restored


def sync_checkpoints(s3: S3Client, directory: Path, uri: str) -> int:
    """Make the S3 folder hold what the directory holds: upload every file, delete what was deleted locally; return
    how many files were uploaded."""
    bucket, prefix = _folder(uri)
    files = {path.relative_to(directory).as_posix(): path for path in directory.rglob("*") if path.is_file()}
    for relative, path in sorted(files.items()):
        s3.upload_file(str(path), bucket, prefix + relative)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if item["Key"][len(prefix) :] not in files:
                s3.delete_object(Bucket=bucket, Key=item["Key"])
    return len(files)


def _folder(uri: str) -> tuple[str, str]:
    bucket, prefix = split_s3_uri(uri)
    return bucket, (prefix.rstrip("/") + "/") if prefix else ""


class BillableClock:
    """A job's TrainingTimeInSeconds (its start to its end) and BillableTimeInSeconds (while its attempts ran)."""

    def __init__(self) -> None:
        self._started: float | None = None
        self._attempt_started: float | None = None
        self._billed = 0.0

    def attempt_started(self) -> None:
        now = time.monotonic()
        if self._started is None:
            self._started = now
        self._attempt_started = now

    def attempt_ended(self) -> None:
        if self._attempt_started is not None:
            self._billed += time.monotonic() - self._attempt_started
            self._attempt_started = None

    @property
    def billed(self) -> float:
        """The seconds the finished attempts ran."""
        return self._billed

    def seconds(self) -> tuple[int, int] | None:
        """(training, billable) whole seconds, at least 1 each, once the job has started; None before."""
        if self._started is None:
            return None
        self.attempt_ended()
        training = max(1, math.ceil(time.monotonic() - self._started))
        return training, min(training, max(1, math.ceil(self._billed)))


class InterruptionWatch:
    """Interrupts one attempt as the armed SpotInterruption says: once a file appears in the checkpoint directory,
    or `after_seconds` after the watch starts. The firing counts only when it interrupts."""

    def __init__(self, interruption: SpotInterruption, directory: Path, interrupt: Callable[[], None]) -> None:
        self._interruption = interruption
        self._directory = directory
        self._interrupt = interrupt
        self._done = threading.Event()
        self.fired = False
        self._thread = threading.Thread(target=self._watch, name="spot-interruption", daemon=True)

    def __enter__(self) -> InterruptionWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        started = time.monotonic()
        after = self._interruption.after_seconds
        while not self._done.wait(_WATCH_POLL_SECONDS):
            due = time.monotonic() - started >= after if after is not None else self._has_checkpoint()
            if due:
                if self._interruption.fault.take():
                    self.fired = True
                    self._interrupt()
                return

    def _has_checkpoint(self) -> bool:
        return self._directory.is_dir() and any(path.is_file() for path in self._directory.rglob("*"))


class SpotJob:
    """A spot job's part of its worker: the checkpoint folder, the armed interruptions, the wait for capacity
    after one, and the MaxWaitTimeInSeconds timer."""

    def __init__(
        self,
        settings: SpotSettings,
        *,
        layout: JobLayout,
        faults: Faults,
        pipeline: str | None,
        note: Callable[[str], None],
    ) -> None:
        self.settings = settings
        self._layout = layout
        self._faults = faults
        self._pipeline = pipeline
        self._note = note
        uri = settings.checkpoint_uri
        self.checkpoints = checkpoint_directory(layout, settings.local_path) if uri else None
        self._restart_after = 0.0
        self._timer: threading.Timer | None = None

    @classmethod
    def of(
        cls, job: Any, request: Mapping[str, Any], *, layout: JobLayout, faults: Faults, note: Callable[[str], None]
    ) -> SpotJob | None:
        """The spot part of the job's worker; None for an on-demand job."""
        settings = SpotSettings.of(job, request)
        if settings is None:
            return None
        return cls(settings, layout=layout, faults=faults, pipeline=pipeline_of(request.get("Tags")), note=note)

    def start_timer(self, stop: Callable[[str], object]) -> None:
        """Ask for a stop (MaxWaitTimeExceeded) once the job's max wait has passed since now."""
        if self.settings.max_wait_seconds:
            self._timer = threading.Timer(self.settings.max_wait_seconds, stop, args=(MAX_WAIT_TIME_EXCEEDED,))
            self._timer.daemon = True
            self._timer.start()

    def cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def write_config(self) -> None:
        if self.checkpoints is not None and self.settings.checkpoint_uri is not None:
            write_checkpoint_config(self._layout, self.checkpoints, self.settings.checkpoint_uri)

    def restore(self, s3: S3Client) -> None:
        if self.checkpoints is not None and self.settings.checkpoint_uri is not None:
            restored = restore_checkpoints(s3, self.settings.checkpoint_uri, self.checkpoints)
            self._note(f"{restored} checkpoint file(s) restored from {self.settings.checkpoint_uri}")

    def sync(self, s3: S3Client) -> None:
        if self.checkpoints is not None and self.settings.checkpoint_uri is not None:
            synced = sync_checkpoints(s3, self.checkpoints, self.settings.checkpoint_uri)
            self._note(f"{synced} checkpoint file(s) synced to {self.settings.checkpoint_uri}")

    def watch(self, interrupt: Callable[[], None]) -> AbstractContextManager[object]:
        """Around an attempt's process: the interruption armed for it, if any."""
        interruption = self._faults.spot_interruption(self._pipeline)
        if interruption is None:
            return nullcontext()
        self._restart_after = interruption.restart_after_seconds
        directory = self.checkpoints if self.checkpoints is not None else self._layout.root / "checkpoints"
        return InterruptionWatch(interruption, directory, interrupt)

    def wait_for_capacity(self, checkpoint: Callable[[], None]) -> None:
        """The time an interrupted job waits for spot capacity; `checkpoint` raises when the job was stopped."""
        deadline = time.monotonic() + self._restart_after
        while time.monotonic() < deadline:
            checkpoint()
            time.sleep(_WATCH_POLL_SECONDS)
