"""The SageMaker emulator the local runtime plugs into its server: real training, processing and transform jobs,
real endpoints.

It also sends the model registry's EventBridge events (local_runtime.sagemaker.registry_events) and the
state changes of training, processing and transform jobs and of endpoints (local_runtime.sagemaker.status_events), which
the local event bus delivers to the rules' targets.
"""

from __future__ import annotations

import re
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from moto.cloudwatch.models import cloudwatch_backends
from moto.sagemaker.models import sagemaker_backends

from local_runtime.faults import Faults, pipeline_of
from local_runtime.iam.principals import Principals
from local_runtime.sagemaker.api import InvocationResponse, SageMakerApiError
from local_runtime.sagemaker.cloudwatch import LocalCloudWatch
from local_runtime.sagemaker.hosting import HostingService
from local_runtime.sagemaker.job_ends import JOB_ENDS, PROCESSING_JOB, TRAINING_JOB, TRANSFORM_JOB
from local_runtime.sagemaker.processing import ProcessingService
from local_runtime.sagemaker.registry_events import ModelPackageEvents
from local_runtime.sagemaker.serverless import DEFAULT_SERVERLESS_IDLE_SECONDS
from local_runtime.sagemaker.status_events import StatusChangeEvents
from local_runtime.sagemaker.training import TrainingService
from local_runtime.sagemaker.transform import TransformService

ACCOUNT = "123456789012"  # moto's default account: where the server stores what the workflow creates
# The session SageMaker opens of the execution role a job or model names, as AccessDenied messages name its caller:
# `assumed-role/AmazonSageMaker-ExecutionRole-20200202T132997/SageMaker` (github.com/wpilibsuite/DetectCoral/
# issues/20; `assumed-role/MysfitsNotbookRole/SageMaker` in aws-samples/aws-modern-application-workshop/issues/253).
# Those callers are notebook instances; jobs and endpoints are taken to name theirs alike (not verified).
SESSION_NAME = "SageMaker"
# moto gives a model created without ExecutionRoleArn the role `arn:test`: no role to issue credentials for.
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/")


class LocalSageMaker:
    """Training jobs run the algorithm in a worker; endpoints serve the model from a worker over HTTP."""

    _ANSWERED = frozenset({"StopTrainingJob", "StopProcessingJob", "StopTransformJob", "UpdateEndpoint"})

    def __init__(
        self,
        workdir: Path | None = None,
        *,
        health_check_timeout_seconds: float = 30.0,
        faults: Faults | None = None,
        time_scale: float = 1.0,
        serverless_idle_seconds: float = DEFAULT_SERVERLESS_IDLE_SECONDS,
    ) -> None:
        """`faults` makes training jobs fail or stall and deployments slow on request; give it LocalAws.faults.

        `time_scale` is how many local seconds a second of a guarded rollout's baking periods and alarm periods
        takes (1/60: a minute of AWS time in a second), and of a serverless endpoint's `serverless_idle_seconds`
        before its worker stops.
        """
        self._temporary = None if workdir else tempfile.TemporaryDirectory(prefix="local-sagemaker-")
        self.workdir = workdir or Path(self._temporary.name)  # type: ignore[union-attr]
        self.faults = faults or Faults()
        self._endpoint_url = ""
        self._principals: Principals | None = None
        self._s3_clients: dict[tuple[str, str, str], Any] = {}
        self._s3_lock = threading.Lock()
        self.status_events = StatusChangeEvents()
        self.training = TrainingService(
            s3_client_factory=self._s3,
            workdir=self.workdir,
            backend=_backend,
            faults=self.faults,
            on_ended=_told(TRAINING_JOB, "training_job_name", self.status_events.training_job_ended),
        )
        self.processing = ProcessingService(
            s3_client_factory=self._s3,
            workdir=self.workdir,
            backend=_backend,
            on_ended=_told(PROCESSING_JOB, "processing_job_name", self.status_events.processing_job_ended),
        )
        self.hosting = HostingService(
            s3_client_factory=self._s3,
            workdir=self.workdir,
            backend=_backend,
            health_check_timeout_seconds=health_check_timeout_seconds,
            faults=self.faults,
            cloudwatch=LocalCloudWatch(_cloudwatch_backend),
            time_scale=time_scale,
            on_status=self.status_events.endpoint_changed,
            serverless_idle_seconds=serverless_idle_seconds,
        )
        self.transform = TransformService(
            s3_client_factory=self._s3,
            workdir=self.workdir,
            backend=_backend,
            health_check_timeout_seconds=health_check_timeout_seconds,
            on_ended=_told(TRANSFORM_JOB, "transform_job_name", self.status_events.transform_job_ended),
        )
        self.model_package_events = ModelPackageEvents()

    @property
    def endpoint_url(self) -> str:
        """Where the local AWS serving this emulator listens (empty until the server starts)."""
        return self._endpoint_url

    def bind(self, endpoint_url: str, *, principals: Principals | None = None) -> None:
        """Call S3 at `endpoint_url`, signed by sessions of the execution roles `principals` issues (when given)."""
        self._endpoint_url = endpoint_url
        self._principals = principals

    def handles(self, action: str) -> bool:
        return action in self._ANSWERED

    def handle(self, action: str, region: str, params: dict[str, Any]) -> dict[str, Any]:
        if action == "StopTrainingJob":
            self.training.stop(region, _required(params, "TrainingJobName"))
            return {}
        if action == "StopProcessingJob":
            self.processing.stop(region, _required(params, "ProcessingJobName"))
            return {}
        if action == "StopTransformJob":
            self.transform.stop(region, _required(params, "TransformJobName"))
            return {}
        if action == "UpdateEndpoint":
            return self.hosting.update_endpoint(
                region,
                _required(params, "EndpointName"),
                _required(params, "EndpointConfigName"),
                params.get("DeploymentConfig"),
                retain=tuple(params.get("ExcludeRetainedVariantProperties") or ())
                if params.get("RetainAllVariantProperties")
                else None,
            )
        raise SageMakerApiError("UnknownOperationException", f"{action} is not emulated")

    def after(self, action: str, region: str, params: dict[str, Any]) -> None:
        if action == "CreateTrainingJob":
            # moto keeps neither MetricDefinitions nor Environment as given: the worker reads the request.
            self.training.on_created(region, params["TrainingJobName"], params)
        elif action == "CreateProcessingJob":
            # moto keeps neither Environment nor ProcessingResources: the worker reads the request.
            self.processing.on_created(region, params["ProcessingJobName"], params)
        elif action == "CreateTransformJob":
            stalled = self.faults.transform_stalled(pipeline_of(params.get("Tags")))
            self.transform.on_created(region, params["TransformJobName"], stalled=stalled)
        elif action == "CreateEndpoint":
            self.hosting.on_endpoint_created(region, params["EndpointName"])
        elif action == "DeleteEndpoint":
            self.hosting.on_endpoint_deleted(region, params["EndpointName"])
        elif action == "CreateModelPackage":
            # A versioned package's group name (an unversioned one's own name) maps to the package just created.
            name = params.get("ModelPackageGroupName") or params["ModelPackageName"]
            self.model_package_events.on_created(region, _model_package(region, name))
        elif action == "UpdateModelPackage" and "ModelApprovalStatus" in params:
            self.model_package_events.on_updated(region, _model_package(region, params["ModelPackageArn"]))

    def invoke_endpoint(
        self, region: str, endpoint_name: str, body: bytes, content_type: str, accept: str
    ) -> InvocationResponse:
        return self.hosting.invoke(region, endpoint_name, body, content_type, accept)

    def shutdown(self) -> None:
        self.training.shutdown()
        self.processing.shutdown()
        self.transform.shutdown()
        self.hosting.shutdown()
        if self._temporary is not None:
            self._temporary.cleanup()

    def _s3(self, region: str, role_arn: str | None = None) -> Any:
        """An S3 client of the local server signed by SageMaker's session of `role_arn` (the job's RoleArn, the
        model's ExecutionRoleArn), as SageMaker reads and writes S3; without a role or principals, the account's."""
        credentials = (
            self._principals.issue(role_arn, SESSION_NAME)
            if role_arn and _ROLE_ARN.match(role_arn) and self._principals is not None
            else None
        )
        key = (self._endpoint_url, region, credentials.access_key_id if credentials else "local")
        # One client per server, region and credentials, built under a lock in a session of its own: boto3 builds
        # clients unsafely across threads, and a client, once built, is safe to share. Building one costs far more
        # CPU than a training job's downloads.
        with self._s3_lock:
            if key not in self._s3_clients:
                self._s3_clients[key] = boto3.session.Session().client(  # type: ignore[call-overload]
                    "s3",
                    endpoint_url=self._endpoint_url,
                    region_name=region,
                    aws_access_key_id=credentials.access_key_id if credentials else "local",
                    aws_secret_access_key=credentials.secret_access_key if credentials else "local",
                    aws_session_token=credentials.session_token if credentials else None,
                )
            return self._s3_clients[key]


def _told(kind: str, name_attribute: str, announce: Callable[[str, Any], None]) -> Callable[[str, Any], None]:
    """A job's end: first to the tasks waiting for it in this process (local_runtime.sagemaker.job_ends), then as
    SageMaker's state-change event, which may fail or be suppressed without keeping a waiter asleep."""

    def ended(region: str, job: Any) -> None:
        JOB_ENDS.ended(region, kind, getattr(job, name_attribute))
        announce(region, job)

    return ended


def _backend(region: str) -> Any:
    return sagemaker_backends[ACCOUNT][region]


def _model_package(region: str, name_or_arn: str) -> dict[str, Any]:
    description: dict[str, Any] = _backend(region).describe_model_package(name_or_arn).gen_response_object()
    return description


def _cloudwatch_backend(region: str) -> Any:
    return cloudwatch_backends[ACCOUNT][region]


def _required(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise SageMakerApiError("ValidationException", f"1 validation error detected: {name} is required")
    return value
