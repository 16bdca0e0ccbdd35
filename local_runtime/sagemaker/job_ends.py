"""The moment an emulated training, processing or transform job ends, told to whoever waits for it in this process.

Step Functions' `.sync` SageMaker tasks wait for their job's end (local_runtime.step_functions.sagemaker_tasks).
On AWS they follow it through EventBridge (the managed rules `StepFunctionsGetEventsForSageMakerTrainingJobsRule`
and the like, which the `.sync` IAM policies must allow) with a slow poll behind; locally the emulator tells them
directly, so a task wakes up within milliseconds of its job's end whether or not the job's state-change event is
delivered (`StatusChangeEvents.suppressed` drops those, never this signal).

One registry for the process, as moto keeps one SageMaker backend per process: the jobs of every local AWS the
process runs live in it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

# The kinds of job, as their ARNs name them.
TRAINING_JOB, PROCESSING_JOB, TRANSFORM_JOB = "training-job", "processing-job", "transform-job"

_Key = tuple[str, str, str]  # (region, kind, job name)


class JobEnds:
    """Waiters register an Event under a job; the job's end sets it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[_Key, set[threading.Event]] = {}

    @contextmanager
    def watching(self, region: str, kind: str, name: str, wake: threading.Event) -> Iterator[None]:
        """Set `wake` when the job ends, for as long as the block runs.

        Register before reading the job's status: an end between the read and the wait then still wakes the waiter.
        """
        key = (region, kind, name)
        with self._lock:
            self._waiters.setdefault(key, set()).add(wake)
        try:
            yield
        finally:
            with self._lock:
                waiters = self._waiters.get(key, set())
                waiters.discard(wake)
                if not waiters:
                    self._waiters.pop(key, None)

    def ended(self, region: str, kind: str, name: str) -> None:
        """The job has reached Completed, Failed or Stopped (its Describe answer says so already)."""
        with self._lock:
            waiters = list(self._waiters.get((region, kind, name), ()))
        for wake in waiters:
            wake.set()


JOB_ENDS = JobEnds()
