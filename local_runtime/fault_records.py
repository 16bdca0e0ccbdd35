"""The records of the faults the local runtime scripts (local_runtime.faults): what each fault waits for and how
often it fires."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

DEFAULT_TRAINING_FAILURE_REASON = "AlgorithmError: the algorithm exited with an error (injected by the local runtime)"


@dataclass
class Fault:
    """One scripted fault: fires for the next `times` matching calls, or until cleared when `times` is None."""

    description: str
    times: int | None = 1
    fired: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.times is not None and (isinstance(self.times, bool) or not isinstance(self.times, int)):
            raise ValueError(f"{self.description}: times must be a whole number or None, got {self.times!r}")
        if self.times is not None and self.times < 0:
            raise ValueError(f"{self.description}: times must be at least 0 or None, got {self.times}")

    def to_json(self) -> dict[str, Any]:
        return {"description": self.description, "times": self.times, "fired": self.fired}

    @property
    def exhausted(self) -> bool:
        """True once it has fired `times` times (never for a fault that lasts until cleared)."""
        with self._lock:
            return self.times is not None and self.fired >= self.times

    def take(self) -> bool:
        """Count one firing and return True, or return False when the fault has fired `times` times already."""
        with self._lock:
            if self.times is not None and self.fired >= self.times:
                return False
            self.fired += 1
            return True


class NoLocalSlackError(ValueError):
    """A Slack fault asked of a runtime whose deployments post to no local Slack server (real Slack, or none)."""


class SlackFaults(Protocol):
    """The faults of a Slack server (LocalSlackApi) that `Faults` scripts on its behalf."""

    def rate_limit(self, times: int | None = 1, *, retry_after: int = 1) -> Fault: ...

    def reject_token(self, times: int | None = None, *, error: str = "invalid_auth") -> Fault: ...

    def delay(self, seconds: float, *, times: int | None = 1) -> Fault: ...

    def clear_faults(self) -> None: ...


def function_matches(wanted: str, name: str, arn: str) -> bool:
    """A function named by its name, its ARN, or a part of its name, whatever the case (a step: `StartTrainingJob`)."""
    return wanted in (name, arn) or wanted.lower() in name.lower()


@dataclass(frozen=True)
class LambdaFault:
    """A fault of Lambda's Invoke: `throttle`, or `crash` (with the handler run first when after_side_effects)."""

    kind: str
    function: str
    fault: Fault
    after_side_effects: bool = True

    def matches(self, name: str, arn: str) -> bool:
        """The function given as its name, its ARN, or a part of its name (e.g. a step: `StartTrainingJob`)."""
        return function_matches(self.function, name, arn)


@dataclass(frozen=True)
class ApiError:
    """An AWS error answered for one action, in the JSON protocol's wire format."""

    target: str  # X-Amz-Target: "<targetPrefix>.<Action>", e.g. "SageMaker.CreateTrainingJob"
    code: str
    message: str
    status: int
    json_version: str
    fault: Fault

    def response(self, request_id: str) -> tuple[int, list[tuple[str, str]], bytes]:
        """Status, headers and body as AWS sends them: `{"__type": code, "message": ...}` and x-amzn-ErrorType."""
        headers = [
            ("Content-Type", f"application/x-amz-json-{self.json_version}"),
            ("x-amzn-ErrorType", self.code),
            ("x-amzn-RequestId", request_id),
        ]
        return self.status, headers, json.dumps({"__type": self.code, "message": self.message}).encode()


@dataclass(frozen=True)
class JobStall:
    """The next jobs of one kind (of `pipeline`, or any) stay InProgress until stopped."""

    fault: Fault
    pipeline: str | None = None


@dataclass(frozen=True)
class DeploymentDelay:
    """Extra time the next endpoint deployments take before their instances start."""

    seconds: float
    fault: Fault
    endpoint: str | None = None  # only deployments of this endpoint; any when None


@dataclass(frozen=True)
class InvocationFault:
    """The workers of the next deployments (of `model` and `endpoint`, or any) answer every invocation with `status`."""

    status: int
    model: str | None
    fault: Fault
    endpoint: str | None = None

    def matches(self, model: str, endpoint: str | None) -> bool:
        return self.model in (None, model) and self.endpoint in (None, endpoint)


@dataclass(frozen=True)
class TrainingFault:
    """A fault of the next training jobs: `fail` with `reason`, or `stall` until stopped."""

    kind: str
    fault: Fault
    reason: str = DEFAULT_TRAINING_FAILURE_REASON
    pipeline: str | None = None  # only jobs of this pipeline (their `pipeline` tag); any when None


@dataclass(frozen=True)
class SpotInterruption:
    """An interruption of a spot job's attempt, once it wrote its first checkpoint or `after_seconds` into training:
    secondary status Interrupted, checkpoints kept in S3, a restart `restart_after_seconds` later with them restored.
    On-demand jobs are never interrupted."""

    fault: Fault
    pipeline: str | None = None
    after_seconds: float | None = None
    restart_after_seconds: float = 1.0


# The local Slack server's faults, scripted through `Faults` once a deployment names the server.
