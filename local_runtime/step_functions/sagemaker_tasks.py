"""Step Functions' optimized SageMaker integrations, run: `arn:aws:states:::sagemaker:<action>` and `<action>.sync`.

moto's interpreter lists SageMaker among the services whose integrations it does not run: it forwards a
request-response task to the service and refuses `.sync` ("Unsupported .sync callback procedure"). Here:

- Request-response (`createModel`, `createEndpointConfig`, `createEndpoint`, `updateEndpoint`, and the job
  creations without `.sync`): the call goes to the local AWS as the state machine's role, so the emulated SageMaker
  acts on it (an endpoint really comes up); the task's result is the Create*/Update* answer.
- Run a Job (`createTrainingJob.sync`, `createProcessingJob.sync`, `createTransformJob.sync`): the job is created
  the same way, the task sleeps until the emulator tells of the job's end (local_runtime.sagemaker.job_ends; no
  polling: a re-read every SAFETY_NET_SECONDS is only a safety net, as AWS polls behind its EventBridge rules), and
  its result is the Describe* answer. A job that ends Failed or Stopped fails the task with JOB_FAILED_ERROR and the
  Describe* answer as the cause, the convention of Step Functions' `.sync` integrations (moto's Glue and LocalStack's
  AWS-validated ECS, Batch and Glue `.sync` fail with `States.TaskFailed` and the job's description as JSON; no
  quote of a real failed SageMaker `.sync` task was found, so that part is inferred).
- A task abandoned while its job runs (StopExecution, the execution's or the task's timeout, a failed sibling
  branch) stops the job: "If such a task is abandoned ... Step Functions tries to stop the job, but only on a
  best-effort basis" (the developer guide on `.sync`); so a StopTrainingJob, StopProcessingJob or StopTransformJob
  whose failure is ignored.

The developer guide's page "Create and manage Amazon SageMaker AI jobs with Step Functions" lists the optimized APIs:
CreateEndpoint, CreateEndpointConfig, CreateHyperParameterTuningJob (.sync), CreateLabelingJob (.sync), CreateModel,
CreateProcessingJob (.sync), CreateTrainingJob (.sync), CreateTransformJob (.sync), UpdateEndpoint; "The Wait for a
Callback with Task Token integration pattern is not supported". The emulator runs no tuning or labeling jobs: their
`.sync` fails the task with a States.Runtime error saying so.

Errors of the SageMaker API: Step Functions names them after the AWS SDK for Java v1 exception class, as users'
Retry lists show: `SageMaker.ResourceLimitExceededException` for an error the operation models, and the generic
`SageMaker.AmazonSageMakerException` for the rest (ValidationException, throttling; aws-samples and AWS blog
workflows retry on exactly these two). The cause is that SDK's message, `<message> (Service: AmazonSageMaker;
Status Code: 400; Error Code: <code>; Request ID: <id>)`, as SageMaker's documentation quotes it.

Output timestamps are epoch milliseconds (numbers), as the Java SDK's objects serialize (not verified against a
real execution's output).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import botocore.session
from botocore.exceptions import ClientError
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory
from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import StateCredentials
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
    ResourceCondition,
    ResourceRuntimePart,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import StateTaskService
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

from local_runtime.sagemaker.job_ends import JOB_ENDS, PROCESSING_JOB, TRAINING_JOB, TRANSFORM_JOB

SERVICE = "sagemaker"
JOB_FAILED_ERROR = StatesErrorNameType.StatesTaskFailed.to_name()  # "States.TaskFailed"
GENERIC_API_ERROR = "SageMaker.AmazonSageMakerException"
# How often a waiting task reads its job again without being told of its end: never needed while the emulator
# tells every end; there in case one is missed.
SAFETY_NET_SECONDS = 30.0
ENDED: Final = frozenset({"Completed", "Failed", "Stopped"})


@dataclass(frozen=True)
class JobKind:
    """How a `.sync` task names, reads and stops its job (boto3 method names)."""

    kind: str  # as job_ends and the job's ARN name it
    name_key: str
    status_key: str
    describe: str
    stop: str


RUN_JOB: Final = {
    "createTrainingJob": JobKind(
        TRAINING_JOB, "TrainingJobName", "TrainingJobStatus", "describe_training_job", "stop_training_job"
    ),
    "createProcessingJob": JobKind(
        PROCESSING_JOB, "ProcessingJobName", "ProcessingJobStatus", "describe_processing_job", "stop_processing_job"
    ),
    "createTransformJob": JobKind(
        TRANSFORM_JOB, "TransformJobName", "TransformJobStatus", "describe_transform_job", "stop_transform_job"
    ),
}
NOT_EMULATED: Final = frozenset({"createHyperParameterTuningJob", "createLabelingJob"})

_installed = False


def install() -> None:
    """Give `sagemaker` Task resources to StateTaskServiceSageMaker; calling it again does nothing."""
    global _installed
    if _installed:
        return
    moto_service_for = state_task_factory.__dict__["state_task_service_for"]

    def service_for(service_name: str) -> StateTaskService:
        if service_name == SERVICE:
            return StateTaskServiceSageMaker()
        service: StateTaskService = moto_service_for(service_name=service_name)
        return service

    state_task_factory.__dict__["state_task_service_for"] = service_for  # what state_task_for calls
    _installed = True


class TaskAbandonedError(Exception):
    """The task stopped running (execution stopped or timed out, task timed out) before its job ended."""


class StateTaskServiceSageMaker(StateTaskServiceCallback):
    def __init__(self) -> None:
        super().__init__(supported_integration_patterns={ResourceCondition(ResourceCondition.Sync)})

    def _validate_service_integration_is_supported(self) -> None:
        """Any action is forwarded, as moto forwards them; `.sync` only where Step Functions offers it."""
        if self.resource.condition == ResourceCondition.Sync and self.resource.api_action not in {
            *RUN_JOB,
            *NOT_EMULATED,
        }:
            raise ValueError(
                f"The resource provided {self.resource.resource_arn} not recognized. "
                "The value is not a valid resource ARN, or the resource is not available in this region."
            )

    def _eval_service_task(
        self,
        env: Environment,
        resource_runtime_part: ResourceRuntimePart,
        normalised_parameters: dict[str, Any],
        state_credentials: StateCredentials,
    ) -> None:
        self._refuse_unrunnable_pattern()  # before the job is created
        client = _client(resource_runtime_part, state_credentials)
        response = getattr(client, self._get_boto_service_action())(**normalised_parameters)
        response.pop("ResponseMetadata", None)
        env.stack.append(json_ready(response))

    def _eval_integration_pattern(
        self,
        env: Environment,
        resource_runtime_part: ResourceRuntimePart,
        normalised_parameters: dict[str, Any],
        state_credentials: StateCredentials,
    ) -> None:
        env.stack.pop()  # the Create* answer: a `.sync` task's result is the Describe* answer instead
        kind = RUN_JOB[self.resource.api_action]  # what _refuse_unrunnable_pattern let through
        client = _client(resource_runtime_part, state_credentials)
        with _woken_when_abandoned(env) as wake:
            description = follow(
                client,
                kind,
                normalised_parameters[kind.name_key],
                region=resource_runtime_part.region,
                wake=wake,
                running=env.is_running,
            )
        if description is None:
            raise TaskAbandonedError(f"the task stopped running; its {kind.kind} was asked to stop")
        if description[kind.status_key] != "Completed":
            raise FailureEventException(self._task_failed(env, JOB_FAILED_ERROR, to_json_str(description)))
        env.stack.append(description)

    def _refuse_unrunnable_pattern(self) -> None:
        condition, action = self.resource.condition, self.resource.api_action
        if condition is None or (condition == ResourceCondition.Sync and action in RUN_JOB):
            return
        if condition == ResourceCondition.Sync:
            raise RuntimeError(f"{action}.sync: the local SageMaker emulator runs no such jobs")
        raise RuntimeError(f"Unsupported {condition} callback procedure in resource {self.resource.resource_arn}")

    def _from_error(self, env: Environment, ex: Exception) -> FailureEvent:
        if isinstance(ex, ClientError):
            return self._task_failed(env, api_error_name(self.resource.api_action, ex), api_error_cause(ex))
        failure: FailureEvent = super()._from_error(env=env, ex=ex)
        return failure

    def _task_failed(self, env: Environment, error: str, cause: str) -> FailureEvent:
        name = StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed) if error == JOB_FAILED_ERROR else None
        return FailureEvent(
            env=env,
            error_name=name or CustomErrorName(error),
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(  # type: ignore[typeddict-item]  # (moto declares every key required)
                taskFailedEventDetails=TaskFailedEventDetails(
                    error=error,
                    cause=cause,
                    resource=self._get_sfn_resource(),
                    resourceType=self._get_sfn_resource_type(),
                )
            ),
        )


def follow(
    client: Any, kind: JobKind, name: str, *, region: str, wake: threading.Event, running: Callable[[], bool]
) -> dict[str, Any] | None:
    """The job's Describe* answer once it has ended; None, after asking for a stop, if `running()` turns false.

    Sleeps on `wake` between reads, set by the job's end and by whatever ends the task.
    """
    describe = getattr(client, kind.describe)
    with JOB_ENDS.watching(region, kind.kind, name, wake):
        while True:
            wake.clear()  # before the read: an end after it sets the event again, and the wait returns at once
            description: dict[str, Any] = describe(**{kind.name_key: name})
            if description[kind.status_key] in ENDED:
                description.pop("ResponseMetadata", None)
                return json_ready(description)  # type: ignore[no-any-return]
            if not running():
                with suppress(ClientError):  # best effort, as on AWS: a job that ended meanwhile refuses the stop
                    getattr(client, kind.stop)(**{kind.name_key: name})
                return None
            wake.wait(SAFETY_NET_SECONDS)


def api_error_name(action: str, error: ClientError) -> str:
    """`SageMaker.<Code>Exception` for an error the operation models, GENERIC_API_ERROR for any other."""
    code = str(error.response.get("Error", {}).get("Code", ""))
    if code and code in _modeled_errors(action[:1].upper() + action[1:]):
        return f"SageMaker.{code.removesuffix('Exception')}Exception"
    return GENERIC_API_ERROR


def api_error_cause(error: ClientError) -> str:
    """The AWS SDK for Java v1's message of a service error, which Step Functions gives as the cause."""
    answer = error.response
    details, metadata = answer.get("Error", {}), answer.get("ResponseMetadata", {})
    return (
        f"{details.get('Message', '')} (Service: AmazonSageMaker; Status Code: {metadata.get('HTTPStatusCode', 400)}; "
        f"Error Code: {details.get('Code', '')}; Request ID: {metadata.get('RequestId', '')})"
    )


def json_ready(value: Any) -> Any:
    """boto3's answer as the task's JSON result: timestamps as epoch milliseconds."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_ready(item) for item in value]
    return value


@functools.cache
def _modeled_errors(operation: str) -> frozenset[str]:
    model = botocore.session.get_session().get_service_model(SERVICE).operation_model(operation)
    return frozenset(shape.name for shape in model.error_shapes)


def _client(runtime_part: ResourceRuntimePart, credentials: StateCredentials) -> Any:
    # The module's boto_client_for, which local_runtime.moto_extensions replaces with its role-signed clients.
    return boto_client_for(region=runtime_part.region, service=SERVICE, state_credentials=credentials)


@contextmanager
def _woken_when_abandoned(env: Environment) -> Iterator[threading.Event]:
    """An event set when the task's environment stops running.

    moto pulses an environment's `program_state_event` (set, then clear) whenever the environment is stopped, timed
    out or ended, its parent passing it down to each frame: the task's frame gets a relay that also sets the event,
    which stays set until the waiter reads it.
    """
    wake = threading.Event()
    original = env.program_state_event
    env.__dict__["program_state_event"] = _Relay(wake)
    try:
        yield wake
    finally:
        env.__dict__["program_state_event"] = original


class _Relay(threading.Event):
    def __init__(self, wake: threading.Event) -> None:
        super().__init__()
        self._wake = wake

    def set(self) -> None:
        super().set()
        self._wake.set()
