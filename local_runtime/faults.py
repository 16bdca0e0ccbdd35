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
- `stall_transform_job`: the next transform jobs (a held-out evaluation's, a batch transform's) stay InProgress
  until StopTransformJob, as one whose model never answers.
- `interrupt_spot`: the next `times` attempts of running Managed Spot training jobs are interrupted, as when
  EC2 reclaims the spot instances: secondary status `Interrupted`, checkpoints kept in S3, then a restart.
- `slow_endpoint_deployment`: the next endpoint creations or updates stay Creating / Updating a while longer,
  as SageMaker's do while it provisions instances (minutes on AWS).
- `fail_invocations`: the next endpoint deployments (of one model, if named) start serving workers that pass
  the health check but answer every invocation with an HTTP 5xx: a bad model that a guarded rollout's 5xx
  alarm must catch.

Slack's faults (`rate_limit`, `reject_token`, `delay`: rate limits, a revoked token, slow answers) are the local
Slack server's (`LocalSlackApi`); once a deployment names that server (SlackTarget.local_server), they are scripted,
listed and cleared here with the others. Every fault fires for the next `times` matching calls (`None`: until
cleared) and counts its firings in `fired`, so a test can assert that it really happened.

From outside the process (a terminal next to `make serve`), the local AWS takes the same calls over HTTP
(local_runtime.faults_api, which also refuses a function, endpoint, model or pipeline that does not exist):

    curl -X POST http://127.0.0.1:4566/_local/faults \
         -d '{"fault": "throttle_lambda", "function": "StartTrainingJob", "times": 2}'
    curl -X POST http://127.0.0.1:4566/_local/faults -d '{"fault": "reject_token", "times": null}'
    curl http://127.0.0.1:4566/_local/faults            # every fault scripted since the last clear, with `fired`
    curl -X DELETE http://127.0.0.1:4566/_local/faults  # clear
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import botocore.session
from botocore.exceptions import UnknownServiceError

from contract.names import PIPELINE_TAG
from local_runtime.fault_records import (
    DEFAULT_TRAINING_FAILURE_REASON,
    ApiError,
    DeploymentDelay,
    Fault,
    InvocationFault,
    JobStall,
    LambdaFault,
    NoLocalSlackError,
    SlackFaults,
    SpotInterruption,
    TrainingFault,
)

SLACK_FAULTS = ("rate_limit", "reject_token", "delay")


class Faults:
    """The faults armed in one local runtime: the server, Lambda and the SageMaker emulator consult it, and it
    scripts Slack's on the attached local Slack server."""

    # What `script` (and the HTTP API) may call.
    SCRIPTABLE = (
        "throttle_lambda",
        "crash_lambda",
        "aws_error",
        "fail_training_job",
        "stall_training_job",
        "stall_transform_job",
        "interrupt_spot",
        "slow_endpoint_deployment",
        "fail_invocations",
        *SLACK_FAULTS,
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scripted: list[Fault] = []
        self._lambda: list[LambdaFault] = []
        self._api: list[ApiError] = []
        self._training: list[TrainingFault] = []
        self._transform_stalls: list[JobStall] = []
        self._spot: list[SpotInterruption] = []
        self._deployments: list[DeploymentDelay] = []
        self._invocations: list[InvocationFault] = []
        self._slack: SlackFaults | None = None

    def attach_slack(self, slack: SlackFaults) -> None:
        """Script `rate_limit`, `reject_token` and `delay` on this Slack server (the one deployments post to)."""
        with self._lock:
            self._slack = slack

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

    def fail_training_job(
        self, times: int | None = 1, *, reason: str = DEFAULT_TRAINING_FAILURE_REASON, pipeline: str | None = None
    ) -> Fault:
        """End the next `times` training jobs (of `pipeline`, or any) Failed with `reason` once their data is in.

        Only with the SageMaker emulator (moto alone completes every job at once).
        """
        fault = Fault(f"fail training jobs{_of('pipeline', pipeline)}", times)
        with self._lock:
            self._scripted.append(fault)
            self._training.append(TrainingFault("fail", fault, reason, pipeline))
        return fault

    def stall_training_job(self, times: int | None = 1, *, pipeline: str | None = None) -> Fault:
        """Keep the next `times` training jobs (of `pipeline`, or any) InProgress until stopped, as a hung algorithm.

        StopTrainingJob, the job's MaxRuntimeInSeconds or the runtime's shutdown ends them Stopped.
        """
        fault = Fault(f"stall training jobs{_of('pipeline', pipeline)}", times)
        with self._lock:
            self._scripted.append(fault)
            self._training.append(TrainingFault("stall", fault, pipeline=pipeline))
        return fault

    def stall_transform_job(self, times: int | None = 1, *, pipeline: str | None = None) -> Fault:
        """Keep the next `times` transform jobs (of `pipeline`, or any) InProgress until StopTransformJob stops them.

        Only with the SageMaker emulator (moto alone completes every job at once).
        """
        fault = Fault(f"stall transform jobs{_of('pipeline', pipeline)}", times)
        with self._lock:
            self._scripted.append(fault)
            self._transform_stalls.append(JobStall(fault, pipeline))
        return fault

    def interrupt_spot(
        self,
        times: int | None = 1,
        *,
        pipeline: str | None = None,
        after_seconds: float | None = None,
        restart_after_seconds: float = 1.0,
    ) -> Fault:
        """Interrupt the next `times` attempts of spot training jobs (of `pipeline`, or any) once they wrote their
        first checkpoint, or `after_seconds` into training: see SpotInterruption. Only with the SageMaker emulator."""
        after = None if after_seconds is None else _seconds("interrupt_spot", "after_seconds", after_seconds)
        restart = _seconds("interrupt_spot", "restart_after_seconds", restart_after_seconds)
        fault = Fault(f"interrupt spot training{_of('pipeline', pipeline)}", times)
        with self._lock:
            self._scripted.append(fault)
            self._spot.append(SpotInterruption(fault, pipeline, after, restart))
        return fault

    def slow_endpoint_deployment(self, seconds: float, times: int | None = 1, *, endpoint: str | None = None) -> Fault:
        """Keep the next `times` creations or updates (of `endpoint`, or any) Creating / Updating `seconds` longer.

        Only with the SageMaker emulator; the endpoint keeps serving its current model meanwhile.
        """
        seconds = _seconds("slow_endpoint_deployment", "seconds", seconds)
        fault = Fault(f"endpoint deployments{_of('endpoint', endpoint)} take {seconds:g} s longer", times)
        with self._lock:
            self._scripted.append(fault)
            self._deployments.append(DeploymentDelay(seconds, fault, endpoint))
        return fault

    def fail_invocations(
        self, times: int | None = 1, *, model: str | None = None, endpoint: str | None = None, status: int = 500
    ) -> Fault:
        """Let the next `times` deployments of `model` to `endpoint` (any when None) answer `status` to every call.

        The workers load and pass /ping, so the deployment succeeds; InvokeEndpoint then answers ModelError with
        the status, and the hosting service counts it in Invocation5XXErrors. Only with the SageMaker emulator.
        Raises ValueError for a status that is not an HTTP 5xx.
        """
        if isinstance(status, bool) or not isinstance(status, int) or not 500 <= status <= 599:
            raise ValueError(f"fail_invocations: status must be an HTTP 5xx, got {status!r}")
        target = f"model {model}" if model else "the next deployments"
        fault = Fault(f"invocations of {target}{_of('endpoint', endpoint)} answer {status}", times)
        with self._lock:
            self._scripted.append(fault)
            self._invocations.append(InvocationFault(status, model, fault, endpoint))
        return fault

    def rate_limit(self, times: int | None = 1, *, retry_after: int = 1) -> Fault:
        """Slack answers the next `times` requests with HTTP 429 and `Retry-After` (LocalSlackApi.rate_limit)."""
        if isinstance(retry_after, bool) or not isinstance(retry_after, int) or retry_after < 0:
            raise ValueError(f"rate_limit: retry_after must be a whole number of seconds, got {retry_after!r}")
        return self._scripted_on_slack(self._attached_slack("rate_limit").rate_limit(times, retry_after=retry_after))

    def reject_token(self, times: int | None = None, *, error: str = "invalid_auth") -> Fault:
        """Slack refuses the token of the next `times` requests, as for a revoked one (LocalSlackApi.reject_token)."""
        if not isinstance(error, str) or not error:
            raise ValueError(f"reject_token: error must be a Slack error code such as invalid_auth, got {error!r}")
        return self._scripted_on_slack(self._attached_slack("reject_token").reject_token(times, error=error))

    def delay(self, seconds: float, *, times: int | None = 1) -> Fault:
        """Slack holds the answers to the next `times` requests for `seconds` (LocalSlackApi.delay)."""
        seconds = _seconds("delay", "seconds", seconds)
        return self._scripted_on_slack(self._attached_slack("delay").delay(seconds, times=times))

    def _attached_slack(self, fault: str) -> SlackFaults:
        with self._lock:
            slack = self._slack
        if slack is None:
            raise NoLocalSlackError(
                f"{fault} is a fault of the local Slack server, and no deployment of this runtime posts to one "
                "(`serve` starts one unless SLACK_BOT_TOKEN sends to real Slack; in Python, deploy with "
                "SlackTarget(local_server=...))"
            )
        return slack

    def _scripted_on_slack(self, fault: Fault) -> Fault:
        with self._lock:
            self._scripted.append(fault)
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
        """Disarm every fault, Slack's included; the Fault objects keep their counts."""
        with self._lock:
            self._scripted.clear()
            self._lambda.clear()
            self._api.clear()
            self._training.clear()
            self._transform_stalls.clear()
            self._spot.clear()
            self._deployments.clear()
            self._invocations.clear()
            slack = self._slack
        if slack is not None:
            slack.clear_faults()

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

    def deployment_delay(self, endpoint: str | None = None) -> float:
        """How much longer the deployment of `endpoint` starting now takes (0 without a fault)."""
        with self._lock:
            candidates = [delay for delay in self._deployments if delay.endpoint in (None, endpoint)]
        return next((delay.seconds for delay in candidates if delay.fault.take()), 0.0)

    def invocation_fault(self, model: str, endpoint: str | None = None) -> int | None:
        """The HTTP status the workers of a deployment of `model` to `endpoint` starting now must answer, if any."""
        with self._lock:
            candidates = [f for f in self._invocations if f.matches(model, endpoint)]
        return next((f.status for f in candidates if f.fault.take()), None)

    def training_fault(self, pipeline: str | None = None) -> TrainingFault | None:
        """The fault of the training job (of `pipeline`, from its tags) starting now, if any."""
        with self._lock:
            candidates = [f for f in self._training if f.pipeline in (None, pipeline)]
        return next((f for f in candidates if f.fault.take()), None)

    def transform_stalled(self, pipeline: str | None = None) -> bool:
        """Whether the transform job (of `pipeline`, from its tags) starting now must stall."""
        with self._lock:
            candidates = [stall for stall in self._transform_stalls if stall.pipeline in (None, pipeline)]
        return any(stall.fault.take() for stall in candidates)

    def spot_interruption(self, pipeline: str | None = None) -> SpotInterruption | None:
        """The interruption armed for an attempt of a spot job (of `pipeline`) starting now, if any; it counts as
        fired only once the attempt is interrupted (SpotInterruption.fault.take)."""
        with self._lock:
            candidates = [f for f in self._spot if f.pipeline in (None, pipeline)]
        return next((f for f in candidates if not f.fault.exhausted), None)


def pipeline_of(tags: Any) -> str | None:
    """The pipeline of a SageMaker resource, from the tag every run puts on what it creates (None without it)."""
    if not isinstance(tags, list):
        return None
    return next(
        (str(tag.get("Value")) for tag in tags if isinstance(tag, dict) and tag.get("Key") == PIPELINE_TAG), None
    )


def _seconds(fault: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < float("inf"):
        raise ValueError(f"{fault}: {name} must be a number of seconds, at least 0, got {value!r}")
    return float(value)


def _of(kind: str, name: str | None) -> str:
    return f" of {kind} {name}" if name else ""


@cache
def _service_model(service: str) -> Any:
    try:
        return botocore.session.get_session().get_service_model(service)
    except UnknownServiceError as error:
        raise ValueError(f"unknown AWS service {service!r}") from error
