"""Faults the local runtime injects on request, answered the way AWS answers them.

Tests script them, and so can a user of `serve` through `LocalRuntime.faults` (or `LocalAws.faults`):

    fault = runtime.faults.aws_error("sagemaker", "CreateTrainingJob", "ResourceLimitExceeded", times=2)
    ...run the pipeline...
    assert fault.fired == 2
    runtime.faults.clear()

- `throttle_lambda`: Lambda's Invoke answers HTTP 429 `TooManyRequestsException`, so Step Functions sees the
  state error `Lambda.TooManyRequestsException`, and the handler does not run.
- `crash_lambda`: the handler runs (its side effects happen), then the invocation reports what Lambda reports
  for a process that died: `Runtime.ExitError`.
- `aws_error`: the next calls of one action of a JSON-protocol service (SageMaker, SSM, Step Functions, Secrets
  Manager...) answer an AWS error in that protocol's wire format, whoever calls (a Lambda, the state machine's
  aws-sdk integrations, a test).
- `fail_training_job` and `stall_training_job`: the next training jobs the SageMaker emulator runs end Failed
  with a given reason, or stay InProgress until something stops them (StopTrainingJob, MaxRuntimeInSeconds).
- `slow_endpoint_deployment`: the next endpoint creations or updates stay Creating / Updating a while longer,
  as SageMaker's do while it provisions instances (minutes on AWS).
- `fail_invocations`: the next endpoint deployments (of one model, if named) start serving workers that pass
  the health check but answer every invocation with an HTTP 5xx: a bad model that a guarded rollout's 5xx
  alarm must catch.

Slack's faults (rate limits, a revoked token, slow answers) are scripted on `LocalSlackApi` itself and return
the same `Fault` objects. Every fault fires for the next `times` matching calls (`None`: until cleared) and
counts its firings in `fired`, so a test can assert that it really happened.

From outside the process (a terminal next to `make serve`), the local AWS takes the same calls over HTTP:

    curl -X POST http://127.0.0.1:4566/_local/faults \
         -d '{"fault": "throttle_lambda", "function": "StartTrainingJob", "times": 2}'
    curl http://127.0.0.1:4566/_local/faults            # every fault scripted since the last clear, with `fired`
    curl -X DELETE http://127.0.0.1:4566/_local/faults  # clear
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import botocore.session
from botocore.exceptions import UnknownServiceError

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


@dataclass(frozen=True)
class LambdaFault:
    """A fault of Lambda's Invoke: `throttle`, or `crash` (with the handler run first when after_side_effects)."""

    kind: str
    function: str
    fault: Fault
    after_side_effects: bool = True

    def matches(self, name: str, arn: str) -> bool:
        """The function given as its name, its ARN, or a part of its name (e.g. a step: `StartTrainingJob`)."""
        wanted = self.function.lower()
        return self.function in (name, arn) or wanted in name.lower()


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
class DeploymentDelay:
    """Extra time the next endpoint deployments take before their instances start."""

    seconds: float
    fault: Fault


@dataclass(frozen=True)
class InvocationFault:
    """The workers of the next deployments (of `model`, or any) answer every invocation with `status`."""

    status: int
    model: str | None
    fault: Fault


@dataclass(frozen=True)
class TrainingFault:
    """A fault of the next training jobs: `fail` with `reason`, or `stall` until stopped."""

    kind: str
    fault: Fault
    reason: str = DEFAULT_TRAINING_FAILURE_REASON


class Faults:
    """The faults armed in one local runtime; the server, Lambda and the SageMaker emulator consult it."""

    # What `script` (and the HTTP API) may call.
    SCRIPTABLE = (
        "throttle_lambda",
        "crash_lambda",
        "aws_error",
        "fail_training_job",
        "stall_training_job",
        "slow_endpoint_deployment",
        "fail_invocations",
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scripted: list[Fault] = []
        self._lambda: list[LambdaFault] = []
        self._api: list[ApiError] = []
        self._training: list[TrainingFault] = []
        self._deployments: list[DeploymentDelay] = []
        self._invocations: list[InvocationFault] = []

    def throttle_lambda(self, function: str, times: int | None = 1) -> Fault:
        """Answer the next `times` invocations of `function` with Lambda's throttling error (HTTP 429).

        `function` is the function's name, its ARN or a part of its name (the step, e.g. `StartTrainingJob`).
        Step Functions sees `Lambda.TooManyRequestsException`; the handler does not run.
        """
        fault = Fault(f"throttle Lambda {function}", times)
        with self._lock:
            self._scripted.append(fault)
            self._lambda.append(LambdaFault("throttle", function, fault))
        return fault

    def crash_lambda(self, function: str, times: int | None = 1, *, after_side_effects: bool = True) -> Fault:
        """Let the next `times` invocations of `function` die as a killed process does.

        With `after_side_effects` the handler runs to its end first (what it created stays created); either
        way the invocation answers `X-Amz-Function-Error: Unhandled` with `Runtime.ExitError`.
        """
        when = "after its side effects" if after_side_effects else "before it runs"
        fault = Fault(f"crash Lambda {function} {when}", times)
        with self._lock:
            self._scripted.append(fault)
            self._lambda.append(LambdaFault("crash", function, fault, after_side_effects))
        return fault

    def aws_error(
        self,
        service: str,
        action: str,
        code: str,
        times: int | None = 1,
        *,
        status: int = 400,
        message: str | None = None,
    ) -> Fault:
        """Answer the next `times` calls of `service`'s `action` with the error `code`, before moto sees them.

        `service` is boto3's name (`sagemaker`, `ssm`, `stepfunctions`, `secretsmanager`...). Raises
        ValueError for an unknown action, or a service that does not speak a JSON protocol (S3, Lambda).
        """
        model = _service_model(service)
        prefix = model.metadata.get("targetPrefix")
        if model.metadata.get("protocol") != "json" or not prefix:
            raise ValueError(
                f"aws_error supports the JSON-protocol services (sagemaker, ssm, stepfunctions, "
                f"secretsmanager...); {service} speaks {model.metadata.get('protocol')}"
            )
        if action not in model.operation_names:
            raise ValueError(f"{service} has no action {action}")
        fault = Fault(f"{service} {action} answers {code}", times)
        error = ApiError(
            target=f"{prefix}.{action}",
            code=code,
            message=message or f"{code} (injected by the local runtime)",
            status=status,
            json_version=str(model.metadata.get("jsonVersion", "1.1")),
            fault=fault,
        )
        with self._lock:
            self._scripted.append(fault)
            self._api.append(error)
        return fault

    def fail_training_job(self, times: int | None = 1, *, reason: str = DEFAULT_TRAINING_FAILURE_REASON) -> Fault:
        """End the next `times` training jobs Failed with `reason` once their data is downloaded.

        Only with the SageMaker emulator (moto alone completes every job at once).
        """
        fault = Fault("fail training jobs", times)
        with self._lock:
            self._scripted.append(fault)
            self._training.append(TrainingFault("fail", fault, reason))
        return fault

    def stall_training_job(self, times: int | None = 1) -> Fault:
        """Keep the next `times` training jobs InProgress (Training) until stopped, as a hung algorithm would.

        StopTrainingJob, the job's MaxRuntimeInSeconds or the runtime's shutdown ends them Stopped.
        """
        fault = Fault("stall training jobs", times)
        with self._lock:
            self._scripted.append(fault)
            self._training.append(TrainingFault("stall", fault))
        return fault

    def slow_endpoint_deployment(self, seconds: float, times: int | None = 1) -> Fault:
        """Keep the next `times` endpoint creations or updates Creating / Updating `seconds` longer.

        Only with the SageMaker emulator; the endpoint keeps serving its current model meanwhile.
        """
        fault = Fault(f"endpoint deployments take {seconds} s longer", times)
        with self._lock:
            self._scripted.append(fault)
            self._deployments.append(DeploymentDelay(seconds, fault))
        return fault

    def fail_invocations(self, times: int | None = 1, *, model: str | None = None, status: int = 500) -> Fault:
        """Let the next `times` endpoint deployments of `model` (any model when None) answer `status` to every call.

        The workers load and pass /ping, so the deployment succeeds; InvokeEndpoint then answers ModelError with
        the status, and the hosting service counts it in Invocation5XXErrors. Only with the SageMaker emulator.
        Raises ValueError for a status that is not an HTTP 5xx.
        """
        if isinstance(status, bool) or not isinstance(status, int) or not 500 <= status <= 599:
            raise ValueError(f"fail_invocations: status must be an HTTP 5xx, got {status!r}")
        fault = Fault(f"invocations of {f'model {model}' if model else 'the next deployments'} answer {status}", times)
        with self._lock:
            self._scripted.append(fault)
            self._invocations.append(InvocationFault(status, model, fault))
        return fault

    def script(self, fault: str, **arguments: Any) -> Fault:
        """Call the method named `fault` (one of SCRIPTABLE) with `arguments`, as the HTTP API does.

        Raises ValueError for another name or arguments the method does not take.
        """
        if fault not in self.SCRIPTABLE:
            raise ValueError(f"unknown fault {fault!r}; one of {', '.join(self.SCRIPTABLE)}")
        try:
            scripted: Fault = getattr(self, fault)(**arguments)
        except TypeError as error:
            raise ValueError(f"{fault}: {error}") from None
        return scripted

    @property
    def scripted(self) -> list[Fault]:
        """Every fault scripted since the last clear, in order, exhausted ones included."""
        with self._lock:
            return list(self._scripted)

    def clear(self) -> None:
        """Disarm every fault; the Fault objects keep their counts."""
        with self._lock:
            self._scripted.clear()
            self._lambda.clear()
            self._api.clear()
            self._training.clear()
            self._deployments.clear()
            self._invocations.clear()

    @property
    def armed(self) -> list[Fault]:
        """The faults that can still fire."""
        return [fault for fault in self.scripted if not fault.exhausted]

    # --- what the runtime asks, once per call; a fault that answers has counted the firing ---

    def lambda_fault(self, name: str, arn: str) -> LambdaFault | None:
        """The Lambda fault that fires on this invocation of the function, if any."""
        with self._lock:
            candidates = [f for f in self._lambda if f.matches(name, arn)]
        return next((f for f in candidates if f.fault.take()), None)

    def api_error(self, target: str) -> ApiError | None:
        """The error to answer for a JSON-protocol call with this X-Amz-Target, if any."""
        with self._lock:
            candidates = [error for error in self._api if error.target == target]
        return next((error for error in candidates if error.fault.take()), None)

    def deployment_delay(self) -> float:
        """How much longer the endpoint deployment starting now takes (0 without a fault)."""
        with self._lock:
            candidates = list(self._deployments)
        return next((delay.seconds for delay in candidates if delay.fault.take()), 0.0)

    def invocation_fault(self, model: str) -> int | None:
        """The HTTP status the workers of a deployment of `model` starting now must answer, if a fault fires."""
        with self._lock:
            candidates = [f for f in self._invocations if f.model in (None, model)]
        return next((f.status for f in candidates if f.fault.take()), None)

    def training_fault(self) -> TrainingFault | None:
        """The fault of the training job starting now, if any."""
        with self._lock:
            candidates = list(self._training)
        return next((f for f in candidates if f.fault.take()), None)


@cache
def _service_model(service: str) -> Any:
    try:
        return botocore.session.get_session().get_service_model(service)
    except UnknownServiceError as error:
        raise ValueError(f"unknown AWS service {service!r}") from error
