"""Training jobs run for real: channels downloaded into SageMaker's layout, the algorithm run as a subprocess.

moto stores CreateTrainingJob and marks it Completed at once; the service takes it back to InProgress and drives its
statuses, artifacts and metrics from a worker thread, as SageMaker would. What the process finds on disk is laid out
by local_runtime.sagemaker.training_input, what it is told (config files, SM_*) by ...training_environment.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import nullcontext, suppress
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import local_runtime
from local_runtime.fault_records import TrainingFault
from local_runtime.faults import Faults, pipeline_of
from local_runtime.sagemaker import containers, frameworks, jobs, spot
from local_runtime.sagemaker.api import S3ClientFactory, SageMakerApiError
from local_runtime.sagemaker.containers import TrainingContainer, UnknownImageError
from local_runtime.sagemaker.script_mode import (
    REQUIREMENTS_FILE,
    ErrorWatch,
    PythonEnvironments,
    install_failure,
    toolkit_failure,
)
from local_runtime.sagemaker.training_environment import training_environment, write_config
from local_runtime.sagemaker.training_input import JobLayout, download_channel, download_code
from local_runtime.sagemaker.training_metrics import applied_definitions, final_metrics
from local_runtime.sagemaker.training_output import upload_artifacts

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client


logger = logging.getLogger(__name__)

LOG_FILE = "training.log"  # in the job's output/ directory
FAILURE_FILE = "failure"  # SageMaker's convention: the algorithm writes its failure reason to /opt/ml/output/failure
_STALL_POLL_SECONDS = 0.05  # how soon a stalled job notices it was stopped
_PROJECT_ROOT = Path(local_runtime.__file__).resolve().parent.parent
_CONTROL_CHARACTER = re.compile(r"[\x00-\x09\x0b-\x1f]")

_STATUS_MESSAGES = {
    "Starting": "Preparing the instances for training",
    "Downloading": "Downloading input data",
    "Training": "Training image download completed. Training in progress.",
    "Uploading": "Uploading generated training model",
    "Completed": "Training job completed",
    "Failed": "Training job failed",
    "Stopping": "Stopping the training job",
    "Stopped": "Training job stopped",
    "MaxRuntimeExceeded": "Training job stopped: it ran longer than MaxRuntimeInSeconds",
    **spot.STATUS_MESSAGES,
}
STOPPED, MAX_RUNTIME_EXCEEDED = "Stopped", "MaxRuntimeExceeded"


class TrainingService:
    """Runs the training jobs moto stores: one worker thread per job, driving one algorithm subprocess."""

    def __init__(
        self,
        *,
        s3_client_factory: S3ClientFactory,
        workdir: Path,
        backend: Callable[[str], Any],
        faults: Faults | None = None,
        on_ended: Callable[[str, Any], None] | None = None,
    ) -> None:
        """`s3_client_factory(region)` gives an S3 client of the local server; `backend(region)` moto's SageMaker.

        `faults` can make the next jobs fail or stall (see local_runtime.faults). `on_ended(region, job)` is called
        once a job reaches Completed, Failed or Stopped (SageMaker's state-change event).
        """
        self._on_ended = on_ended
        self._s3_client_factory = s3_client_factory
        self._workdir = workdir
        self._backend = backend
        self._faults = faults or Faults()
        self._runs: dict[tuple[str, str], _Run] = {}
        self._lock = threading.Lock()
        self._environments = PythonEnvironments(workdir / "python-environments")

    def on_created(self, region: str, job_name: str, request: Mapping[str, Any] | None = None) -> None:
        """Start the job moto just stored; `request` (CreateTrainingJob's parameters) restores what moto drops.

        moto overwrites AlgorithmSpecification.MetricDefinitions and does not keep Environment: without the
        request, a script-mode job extracts no metrics and gets no extra environment.
        """
        job = self._backend(region).training_jobs[job_name]
        run = _Run(
            region=region,
            job=job,
            request=request or {},
            s3_client_factory=self._s3_client_factory,
            directory=self._workdir / "training" / job_name,
            fault=self._faults.training_fault(pipeline_of((request or {}).get("Tags"))),
            faults=self._faults,
            on_ended=self._on_ended,
            environments=self._environments,
        )
        with self._lock:
            previous = self._runs.get((region, job_name))
            if previous is not None and previous.alive:
                raise SageMakerApiError("ResourceInUse", f"Training job {job_name} is already running.")
            self._runs[(region, job_name)] = run
        run.start()

    def stop(self, region: str, job_name: str) -> None:
        """StopTrainingJob: an InProgress job goes Stopping, its process is killed, it ends Stopped.

        Raises SageMakerApiError (ValidationException) for an unknown job or one that is not InProgress.
        """
        job = self._backend(region).training_jobs.get(job_name)
        if job is None:
            arn = f"arn:aws:sagemaker:{region}:{self._account(region)}:training-job/{job_name}"
            raise SageMakerApiError("ValidationException", f"Could not find training job '{arn}'.")
        with self._lock:
            run = self._runs.get((region, job_name))
        if run is None or not run.request_stop(STOPPED):
            raise SageMakerApiError(
                "ValidationException",
                f"The request was rejected because the training job is in status {job.training_job_status}.",
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
            run.request_stop(STOPPED)
        for run in runs:
            run.join(jobs.READER_JOIN_SECONDS * 2)

    def _account(self, region: str) -> str:
        return str(getattr(self._backend(region), "account_id", "123456789012"))


class _Run(jobs.JobWorker):
    """One training job: the worker thread, its subprocess and the moto object it keeps up to date."""

    def __init__(
        self,
        *,
        region: str,
        job: Any,
        request: Mapping[str, Any],
        s3_client_factory: S3ClientFactory,
        directory: Path,
        fault: TrainingFault | None = None,
        faults: Faults | None = None,
        on_ended: Callable[[str, Any], None] | None = None,
        environments: PythonEnvironments | None = None,
    ) -> None:
        self.region = region
        self._environments = environments or PythonEnvironments(directory / "python-environments")
        self._errors = ErrorWatch()
        self._captured: list[str] | None = None
        self._on_ended = on_ended
        self.job = job
        self.request = request
        self.fault = fault
        self.layout = JobLayout(directory)
        self._s3_client_factory = s3_client_factory
        super().__init__(thread_name=f"training-{job.training_job_name}")
        self._metrics: dict[str, tuple[float, datetime]] = {}
        self._container: TrainingContainer | None = None
        self._image_error: UnknownImageError | None = None
        self._definitions: list[tuple[str, re.Pattern[str]]] = []
        self._spot = spot.SpotJob.of(job, request, layout=self.layout, faults=faults or Faults(), note=self._note)
        self._clock = spot.BillableClock()
        self._interrupted = False  # the running attempt was interrupted (spot), not stopped
        self._prepared = False  # a script's requirements installed and its interpreter chosen

    def start(self) -> None:
        """Take the moto object back to InProgress/Starting at once, then run the job in the worker."""
        job = self.job
        image = (job.algorithm_specification or {}).get("TrainingImage", "")
        try:
            self._container = containers.resolve_training_image(image, job.hyper_parameters or {})
        except UnknownImageError as error:
            self._image_error = error
        self._set_metric_definitions()
        now = jobs.now()
        with self._lock:
            # Every attribute the worker sets exists before DescribeTrainingJob can read the object: a new
            # attribute appearing while moto iterates the object's __dict__ would break that request.
            job.training_job_status = "InProgress"
            job.secondary_status = "Starting"
            job.secondary_status_transitions = [
                {"Status": "Starting", "StartTime": now, "StatusMessage": _STATUS_MESSAGES["Starting"]}
            ]
            job.failure_reason = None
            job.model_artifacts = None
            job.final_metric_data_list = None
            job.training_start_time = None
            job.training_end_time = None
            job.training_time_in_seconds = None
            job.billable_time_in_seconds = None
            job.last_modified_time = now
        if self._spot is not None:
            self._spot.start_timer(self.request_stop)
        self._start_worker((job.stopping_condition or {}).get("MaxRuntimeInSeconds"), MAX_RUNTIME_EXCEEDED)

    def request_stop(self, reason: str) -> bool:
        """Move an InProgress job to Stopping and kill its process; False when the job is not InProgress."""
        with self._lock:
            if self.job.training_job_status != "InProgress":
                return False
            self._stop_reason = reason
            self.job.training_job_status = "Stopping"
            self._transition("Stopping")
        self._kill_running()
        return True

    # --- the worker ---

    def _work(self) -> None:
        try:
            self._execute()
        except jobs.JobInterruptedError:
            self._finish_stopped()
        except jobs.JobFailedError as failure:
            self._finish("Failed", "Failed", failure_reason=str(failure))
        except Exception as error:  # the job must end, whatever went wrong in the runtime itself
            logger.exception("training job %s: the local runtime failed", self.job.training_job_name)
            self._finish("Failed", "Failed", failure_reason=jobs.truncate(f"InternalServerError: {error}"))
        finally:
            if self._spot is not None:
                self._spot.cancel_timer()
            self._close()

    def _execute(self) -> None:
        layout = self.layout
        layout.create()
        self._log = (layout.output / LOG_FILE).open("a", encoding="utf-8")
        if self._image_error is not None:
            raise jobs.JobFailedError(jobs.truncate(f"ClientError: {self._image_error}"))
        container = self._container
        assert container is not None
        write_config(layout, self.job)
        # SageMaker reads the data and code and writes the artifacts as a session of the job's RoleArn.
        s3 = self._s3_client_factory(self.region, self.job.role_arn)
        if self._spot is not None:
            self._spot.write_config()
        while True:
            container, returncode = self._attempt(s3, container)
            if not self._interrupted:
                break
            self._restart(s3)
        self._checkpoint()
        if returncode != 0:
            raise jobs.JobFailedError(self._failure_reason(returncode, container))
        self._transition_if_running("Uploading")
        if self._spot is not None:
            self._spot.sync(s3)
        artifacts = upload_artifacts(s3, self.job, self.layout, note=self._note)
        with self._lock:
            self.job.model_artifacts = artifacts
        self._checkpoint()
        self._finish("Completed", "Completed")

    def _attempt(self, s3: S3Client, container: TrainingContainer) -> tuple[TrainingContainer, int]:
        """One run of the job on its instances: checkpoints restored, data downloaded, the algorithm run; return
        the container (a script's, prepared) and its exit code. A spot job's attempt may be interrupted."""
        layout = self.layout
        with self._lock:
            self._checkpoint()
            if self.job.training_start_time is None:
                self.job.training_start_time = jobs.now()
            self._transition("Downloading")
        self._clock.attempt_started()
        if self._spot is not None:
            self._spot.restore(s3)
        default_mode = (self.job.algorithm_specification or {}).get("TrainingInputMode", "File")
        for channel in self.job.input_data_config or []:
            download_channel(
                s3,
                channel,
                layout=layout,
                region=self.region,
                default_mode=default_mode,
                checkpoint=self._checkpoint,
                note=self._note,
            )
        if container.kind == containers.SCRIPT and not (layout.code / (container.program or "")).is_file():
            download_code(s3, container, layout=layout, note=self._note)
        self._checkpoint()
        self._transition_if_running("Training")
        self._injected_fault()
        if container.kind == containers.SCRIPT and not self._prepared:
            container, self._prepared = self._prepare_script(container), True
        with self._spot.watch(self._interrupt_attempt) if self._spot is not None else nullcontext():
            returncode = self._run_process(container)
        return container, returncode

    def _interrupt_attempt(self) -> None:
        """The spot instances are reclaimed: the running attempt's process dies; the job stays InProgress."""
        with self._lock:
            if self.job.training_job_status != "InProgress":
                return
            self._interrupted = True
        self._note("spot instances interrupted (injected by the local runtime)")
        self._kill_running()

    def _restart(self, s3: S3Client) -> None:
        """After an interruption: the checkpoints kept in S3, Interrupted while spot capacity is found, Starting."""
        assert self._spot is not None
        self._clock.attempt_ended()
        self._set_timer(None, MAX_RUNTIME_EXCEEDED)  # MaxRuntimeInSeconds counts the time the job runs
        self._spot.sync(s3)
        self._transition_if_running(spot.INTERRUPTED)
        self._spot.wait_for_capacity(self._checkpoint)
        if runtime := (self.job.stopping_condition or {}).get("MaxRuntimeInSeconds"):
            self._set_timer(float(runtime) - self._clock.billed, MAX_RUNTIME_EXCEEDED)
        with self._lock:
            self._interrupted = False
        self._transition_if_running("Starting")

    def _injected_fault(self) -> None:
        """A scripted fault: fail as the algorithm would, or hang until something stops the job."""
        if self.fault is None:
            return
        self._note(f"fault injected: {self.fault.kind}")
        if self.fault.kind == "fail":
            raise jobs.JobFailedError(jobs.truncate(self.fault.reason))
        while True:
            self._checkpoint()
            time.sleep(_STALL_POLL_SECONDS)

    def _prepare_script(self, container: TrainingContainer) -> TrainingContainer:
        """Install requirements.txt as the framework container would, check the image's framework is here and
        say when its release differs; the entry point then runs with the interpreter that sees them.

        Raises jobs.JobFailedError naming the requirement pip could not install or the framework package missing.
        """
        requirements = self.layout.code / REQUIREMENTS_FILE
        python, paths = sys.executable, list(sys.path)
        if requirements.is_file():
            with self._environments.locked(requirements) as environment:
                if environment.ready:
                    self._note(f"{REQUIREMENTS_FILE}: reusing the virtualenv {environment.root}")
                else:
                    self._note(f"{REQUIREMENTS_FILE}: installing into the virtualenv {environment.root}")
                    environment.create()
                    command = environment.install_command(requirements)
                    self._captured = []
                    returncode = self._run_logged(command, cwd=self.layout.code, environment=os.environ)
                    output, self._captured = self._captured, None
                    if returncode != 0:
                        environment.discard()
                        self._checkpoint()
                        raise jobs.JobFailedError(jobs.truncate(install_failure(returncode, output, command)))
                    environment.mark_ready()
            python, paths = str(environment.python), environment.sys_path()
        image = container.framework
        if image is not None:
            if not frameworks.importable(image.framework, paths):
                raise jobs.JobFailedError(jobs.truncate(f"ClientError: {frameworks.missing_message(image)}"))
            note = frameworks.version_note(image, frameworks.installed_version(image.framework, paths))
            if note is not None:
                self._note(note)
        self._errors = ErrorWatch()
        return dataclasses.replace(container, command=(python, *container.command[1:]))

    def _run_process(self, container: TrainingContainer) -> int:
        layout = self.layout
        script = container.kind == containers.SCRIPT
        python_path = [str(layout.code) if script else str(_PROJECT_ROOT)]
        if os.environ.get("PYTHONPATH"):
            python_path.append(os.environ["PYTHONPATH"])
        environment = {
            **os.environ,
            **training_environment(
                layout=layout,
                job=self.job,
                region=self.region,
                container=container,
                extra=self.request.get("Environment") or {},
            ),
            "PYTHONPATH": os.pathsep.join(python_path),
        }
        return self._run_logged(container.command, cwd=layout.code if script else layout.root, environment=environment)

    def _on_line(self, line: str, seen: datetime) -> None:
        # SageMaker applies metric definitions to the log as CloudWatch stores it, where the log agent writes a
        # control character as `#` and its octal code: XGBoost's `[0]<TAB>train-rmse:...` reads `[0]#011train-rmse:...`.
        if self._captured is not None:
            self._captured.append(line)
        self._errors.feed(line)
        line = _CONTROL_CHARACTER.sub(lambda match: f"#{ord(match[0]):03o}", line)
        for name, pattern in self._definitions:
            match = pattern.search(line)
            if match is not None:
                with suppress(ValueError, IndexError, TypeError):
                    self._metrics[name] = (float(match.group(1)), seen)

    def _failure_reason(self, returncode: int, container: TrainingContainer) -> str:
        failure_file = self.layout.output / FAILURE_FILE
        with suppress(OSError, UnicodeDecodeError):
            written = failure_file.read_text().strip()
            if written:
                return jobs.truncate(written)
        tail, exit_status = self._stderr_tail_text(), self._exit_status(returncode)
        if container.kind == containers.SCRIPT:
            # As the PyTorch and TensorFlow containers report it (the toolkit's capture_error); the scikit-learn
            # container's ErrorMessage is empty. Without a line naming an error class, the stderr's last lines.
            message = self._errors.message or tail
            return jobs.truncate(toolkit_failure("ExecuteUserScriptError", returncode, message, container.command))
        return jobs.truncate(f"AlgorithmError: {exit_status}: {tail}" if tail else f"AlgorithmError: {exit_status}")

    # --- status bookkeeping (moto's object is read by request threads: reassign, never mutate in place) ---

    def _transition(self, status: str, message: str | None = None, *, final: bool = False) -> None:
        with self._lock:
            now = jobs.now()
            transitions = [dict(entry) for entry in self.job.secondary_status_transitions or []]
            if transitions and "EndTime" not in transitions[-1]:
                transitions[-1]["EndTime"] = now
            entry: dict[str, Any] = {"Status": status, "StartTime": now}
            if final:
                entry["EndTime"] = now
            entry["StatusMessage"] = message or _STATUS_MESSAGES.get(status, status)
            transitions.append(entry)
            self.job.secondary_status_transitions = transitions
            self.job.secondary_status = status
            self.job.last_modified_time = now

    def _transition_if_running(self, status: str) -> None:
        with self._lock:
            self._checkpoint()
            self._transition(status)

    def _finish(self, status: str, secondary: str, *, failure_reason: str | None = None) -> None:
        with self._lock:
            if self._stop_reason is not None:
                self._finish_stopped()
                return
            self._note(f"{status}" + (f": {failure_reason}" if failure_reason else ""))
            self._set_final_metrics()
            self.job.failure_reason = failure_reason
            self.job.training_job_status = status
            self.job.training_end_time = jobs.now()
            self._set_times()
            self._transition(secondary, final=True)
            self._announce()

    def _finish_stopped(self) -> None:
        with self._lock:
            reason = self._stop_reason or STOPPED
            self._note(f"stopped: {reason}")
            self._set_final_metrics()
            self.job.training_job_status = "Stopped"
            self.job.training_end_time = jobs.now()
            self._set_times()
            self._transition(reason, final=True)
            self._announce()

    def _set_times(self) -> None:
        """TrainingTimeInSeconds and BillableTimeInSeconds, once the job has started training (see spot.py)."""
        seconds = self._clock.seconds()
        if seconds is not None:
            self.job.training_time_in_seconds, self.job.billable_time_in_seconds = seconds

    def _announce(self) -> None:
        """SageMaker's state-change event for the job's end (never fails the job: EventBridge is best effort)."""
        if self._on_ended is None:
            return
        try:
            self._on_ended(self.region, self.job)
        except Exception as error:  # an event that cannot be sent is lost, as on AWS; the loop's safety net checks
            logger.warning("training job %s: state-change event not sent: %s", self.job.training_job_name, error)

    def _set_metric_definitions(self) -> None:
        builtin = self._container.metric_definitions if self._container is not None else None
        specification, self._definitions = applied_definitions(
            self.job.training_job_name, self.job.algorithm_specification or {}, self.request, builtin
        )
        self.job.algorithm_specification = specification

    def _set_final_metrics(self) -> None:
        with self._log_lock:
            metrics = dict(self._metrics)
        self.job.final_metric_data_list = final_metrics(metrics, self._definitions)
