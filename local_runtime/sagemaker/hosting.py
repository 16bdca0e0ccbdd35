"""SageMaker hosting for real: endpoints serve their models from worker processes, updates without downtime.

moto keeps storing and describing endpoints; this service moves them through SageMaker's states. CreateEndpoint is
Creating until every variant's worker passes its /ping health check, then InService, or Failed with a
FailureReason. UpdateEndpoint is Updating while the new workers start and the old ones keep answering; traffic
switches only once the new ones are healthy. A failed update leaves the endpoint InService on its previous
config with FailureReason set, as DescribeEndpoint documents ("If the status of the endpoint is Failed, or the
status is InService but update operation fails, this provides the reason why it failed").

Each production variant is served by a chain of serving workers, one per container of its model
(local_runtime.sagemaker.workers). An UpdateEndpoint with a DeploymentConfig is a guarded blue/green rollout
(local_runtime.sagemaker.traffic); an alarm in ALARM rolls back: all traffic returns to the old fleet, the new
workers stop, and the endpoint is InService on its old config with FailureReason set. Rollouts run on the local
time scale: `time_scale` seconds here per second of AWS time (LocalRuntime uses 1/60: a minute takes a second).
"""

from __future__ import annotations

import functools
import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from local_runtime.faults import Faults
from local_runtime.sagemaker.api import InvocationResponse, S3ClientFactory, SageMakerApiError
from local_runtime.sagemaker.autoscaling import instance_type_refusal, retain_variant_properties
from local_runtime.sagemaker.cloudwatch import LocalCloudWatch
from local_runtime.sagemaker.jobs import truncate
from local_runtime.sagemaker.script_mode import PythonEnvironments
from local_runtime.sagemaker.serverless import DEFAULT_SERVERLESS_IDLE_SECONDS, ServerlessVariant, ThrottledError
from local_runtime.sagemaker.traffic import (
    Deployment,
    Endpoint,
    GuardedRollout,
    RolloutAbandonedError,
    check_deployment_config,
)
from local_runtime.sagemaker.workers import (
    DEFAULT_HEALTH_CHECK_TIMEOUT_SECONDS,
    INVOCATION_TIMEOUT_SECONDS,
    ChainLauncher,
    DeploymentError,
    HopError,
    WorkerChain,
)

DRAIN_TIMEOUT_SECONDS = INVOCATION_TIMEOUT_SECONDS
_CHANGING = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})

logger = logging.getLogger(__name__)


class HostingService:
    """Endpoints backed by serving workers; the emulator facade calls these methods around moto."""

    def __init__(
        self,
        *,
        s3_client_factory: S3ClientFactory,
        workdir: Path,
        backend: Callable[[str], Any],
        health_check_timeout_seconds: float = DEFAULT_HEALTH_CHECK_TIMEOUT_SECONDS,
        faults: Faults | None = None,
        cloudwatch: LocalCloudWatch | None = None,
        time_scale: float = 1.0,
        on_status: Callable[[str, Any], None] | None = None,
        serverless_idle_seconds: float = DEFAULT_SERVERLESS_IDLE_SECONDS,
    ) -> None:
        """`faults` can make the next deployments slower or their models fail (see local_runtime.faults).

        `cloudwatch` receives every invocation's metrics and evaluates a guarded rollout's alarms; without it an
        UpdateEndpoint with AutoRollbackConfiguration is refused. `time_scale` shortens baking periods and alarm
        periods: local seconds per AWS second. A serverless variant's worker stops after `serverless_idle_seconds`
        (of AWS time, on the time scale too) without invocations (local_runtime.sagemaker.serverless).
        """
        self._serverless_idle_seconds = serverless_idle_seconds * time_scale
        self._faults = faults or Faults()
        self._on_status = on_status  # (region, moto's endpoint): SageMaker's state-change event
        self._cloudwatch = cloudwatch
        self._rollout = GuardedRollout(
            cloudwatch=cloudwatch, time_scale=time_scale, route=self._route, abandoned=self._abandoned
        )
        self._launcher = ChainLauncher(
            s3_client_factory=s3_client_factory,
            environments=PythonEnvironments(workdir / "python-environments"),
            backend=backend,
        )
        self._workdir = workdir
        self._backend = backend
        self._health_check_timeout = health_check_timeout_seconds
        self._endpoints: dict[tuple[str, str], Endpoint] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._closed = False

    def on_endpoint_created(self, region: str, endpoint_name: str) -> None:
        """CreateEndpoint was stored: the endpoint is Creating until its workers pass the health check."""
        record = self._backend(region).endpoints.get(endpoint_name)
        if record is None or self._closed:
            return
        endpoint = Endpoint(region, endpoint_name, record)
        with self._lock:
            previous = self._endpoints.get((region, endpoint_name))
            self._endpoints[(region, endpoint_name)] = endpoint
            self._set_status(region, record, "Creating")
        if previous is not None:
            self._discard(previous)
        self._start(f"create-{endpoint_name}", self._create, endpoint, record.endpoint_config_name)

    def update_endpoint(
        self,
        region: str,
        endpoint_name: str,
        config_name: str,
        deployment_config: dict[str, Any] | None = None,
        *,
        retain: tuple[dict[str, Any], ...] | None = None,
    ) -> dict[str, Any]:
        """UpdateEndpoint: answer at once with the ARN, then roll out in the background.

        With `deployment_config` the rollout shifts traffic in steps and rolls back when an alarm fires. `retain`
        (RetainAllVariantProperties; the tuple holds ExcludeRetainedVariantProperties): same-named variants keep
        their instance count and weight. Raises SageMakerApiError(ValidationException) for an unknown endpoint,
        config or alarm, a malformed DeploymentConfig, an endpoint that is not InService, or an instance type change
        of a variant registered with Application Auto Scaling, as SageMaker does.
        """
        if deployment_config:
            check_deployment_config(region, deployment_config, self._cloudwatch)
        backend = self._backend(region)
        with self._lock:
            record = backend.endpoints.get(endpoint_name)
            if record is None:
                raise SageMakerApiError(
                    "ValidationException", f"Could not find endpoint '{_arn(backend, 'endpoint', endpoint_name)}'."
                )
            status = record.endpoint_status
            if status in _CHANGING:
                raise SageMakerApiError("ValidationException", f"Cannot update in-progress endpoint '{record.arn}'.")
            if status != "InService":
                raise SageMakerApiError(
                    "ValidationException", f"Cannot update endpoint '{record.arn}' in status {status}."
                )
            config = backend.endpoint_configs.get(config_name)
            if config is None:
                raise SageMakerApiError(
                    "ValidationException",
                    f"Could not find endpoint configuration '{_arn(backend, 'endpoint-config', config_name)}'.",
                )
            _refuse_instances_to_serverless(backend, record, config)
            refusal = instance_type_refusal(backend, record, config)
            if refusal is not None:
                raise SageMakerApiError("ValidationException", refusal)
            endpoint = self._endpoints.get((region, endpoint_name))
            stale = None
            if endpoint is None or endpoint.record is not record:
                stale, endpoint = endpoint, Endpoint(region, endpoint_name, record)
                self._endpoints[(region, endpoint_name)] = endpoint
            now = datetime.now(UTC)
            record.failure_reason = None
            self._set_status(region, record, "Updating")
            record.last_modified_time = now
            if deployment_config:
                record.last_deployment_config = deployment_config
            # DescribeEndpoint keeps the serving config and shows the one being rolled out here.
            record.pending_deployment_summary = {
                "EndpointConfigName": config_name,
                "ProductionVariants": record._process_production_variants(config.production_variants),
                "StartTime": now,
            }
        if stale is not None:
            self._discard(stale)
        update = functools.partial(self._update, deployment_config=deployment_config or None, retain=retain)
        self._start(f"update-{endpoint_name}", update, endpoint, config_name)
        return {"EndpointArn": record.arn}

    def on_endpoint_deleted(self, region: str, endpoint_name: str) -> None:
        """DeleteEndpoint was stored: stop the endpoint's workers."""
        with self._lock:
            endpoint = self._endpoints.pop((region, endpoint_name), None)
        if endpoint is not None:
            self._discard(endpoint)

    def invoke(
        self, region: str, endpoint_name: str, body: bytes, content_type: str, accept: str
    ) -> InvocationResponse:
        """sagemaker-runtime InvokeEndpoint on the deployment serving now.

        Raises SageMakerApiError ValidationError when nothing serves the endpoint, ModelError when the model answers
        an error.
        """
        deployment = self._acquire(region, endpoint_name)
        chain = deployment.pick()
        started = time.perf_counter()
        try:
            answer = chain.post(body, content_type, accept)
        except ThrottledError as throttled:
            raise SageMakerApiError("ThrottlingException", str(throttled), 400) from None
        except DeploymentError as error:  # a serverless variant's cold start failed
            self._publish(region, endpoint_name, chain.variant, 500, None)
            raise SageMakerApiError("ModelError", f"The container did not start: {error}", 424) from None
        except HopError as failed:
            self._publish(region, endpoint_name, chain.variant, 500, None)
            raise SageMakerApiError(
                "ModelError",
                f"Received server error (500) from {failed.worker.name} with message "
                f'"the container did not answer: {failed.error}". See {failed.worker.log_path} for more information.',
                424,
            ) from None
        finally:
            deployment.release()
        self._publish(region, endpoint_name, chain.variant, answer.status, (time.perf_counter() - started) * 1e6)
        if answer.status >= 400:
            kind = "client" if answer.status < 500 else "server"
            message = answer.body.decode("utf-8", "replace")
            raise SageMakerApiError(
                "ModelError",
                f'Received {kind} error ({answer.status}) from {answer.worker.name} with message "{message}". '
                f"See {answer.worker.log_path} for more information.",
                424,
            )
        return InvocationResponse(status=200, body=answer.body, content_type=answer.content_type)

    def _publish(self, region: str, endpoint_name: str, variant: str, status: int, latency_us: float | None) -> None:
        if self._cloudwatch is not None:
            self._cloudwatch.publish_invocation(
                region, endpoint_name, variant, status=status, model_latency_us=latency_us
            )

    def serving_config(self, region: str, endpoint_name: str) -> str | None:
        """The endpoint config whose workers answer invocations now, or None."""
        with self._lock:
            endpoint = self._endpoints.get((region, endpoint_name))
            return endpoint.serving.config_name if endpoint and endpoint.serving else None

    def serving_url(self, region: str, endpoint_name: str) -> str | None:
        """The base URL of the worker serving the endpoint's first variant (GET /ping, POST /invocations).

        For a serial inference pipeline, the first container's worker.
        """
        with self._lock:
            endpoint = self._endpoints.get((region, endpoint_name))
            if endpoint is None or endpoint.serving is None or not endpoint.serving.workers:
                return None
            chain = endpoint.serving.workers[0][0]
            return chain.url if chain.workers else None  # a serverless variant scaled to zero has none

    def shutdown(self) -> None:
        """Stop every worker; deployments in progress end without touching their endpoints."""
        with self._lock:
            self._closed = True
            endpoints = list(self._endpoints.values())
            self._endpoints.clear()
            threads = list(self._threads)
        for endpoint in endpoints:
            self._discard(endpoint)
        for thread in threads:
            thread.join(timeout=10)

    def _acquire(self, region: str, endpoint_name: str) -> Deployment:
        # A switch may retire the deployment between the lookup and the acquire: look again.
        for _ in range(5):
            with self._lock:
                endpoint = self._endpoints.get((region, endpoint_name))
                deployment = endpoint.serving if endpoint else None
                if endpoint is not None and endpoint.shifting is not None and random.random() < endpoint.shifted:
                    deployment = endpoint.shifting
            if deployment is None:
                break
            if deployment.acquire():
                return deployment
        account = self._backend(region).account_id
        raise SageMakerApiError("ValidationError", f"Endpoint {endpoint_name} of account {account} not found.", 400)

    def _start(self, name: str, target: Callable[[Endpoint, str], None], endpoint: Endpoint, config: str) -> None:
        thread = threading.Thread(target=target, args=(endpoint, config), name=name, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _create(self, endpoint: Endpoint, config_name: str) -> None:
        try:
            deployment = self._deploy(endpoint, config_name)
        except DeploymentError as error:
            with self._lock:
                if self._current(endpoint):
                    self._set_status(endpoint.region, endpoint.record, "Failed", failure_reason=truncate(str(error)))
            return
        with self._lock:
            if not self._current(endpoint):
                stale = True
            else:
                stale = False
                endpoint.serving = deployment
                self._set_status(endpoint.region, endpoint.record, "InService", failure_reason=None)
        if stale:
            deployment.stop()

    def _update(
        self,
        endpoint: Endpoint,
        config_name: str,
        deployment_config: dict[str, Any] | None = None,
        retain: tuple[dict[str, Any], ...] | None = None,
    ) -> None:
        try:
            deployment = self._deploy(endpoint, config_name)
        except DeploymentError as error:
            with self._lock:
                if self._current(endpoint):
                    endpoint.record.pending_deployment_summary = None
                    self._set_status(endpoint.region, endpoint.record, "InService", failure_reason=truncate(str(error)))
            return
        if deployment_config:
            try:
                rollback = self._rollout.run(endpoint, deployment, deployment_config)
            except RolloutAbandonedError:
                deployment.stop()
                return
            if rollback is not None:
                self._roll_back(endpoint, deployment, rollback)
                return
        with self._lock:
            stale = not self._current(endpoint)
            previous = endpoint.serving
            if not stale:
                endpoint.serving = deployment
                endpoint.shifting, endpoint.shifted = None, 0.0
                record = endpoint.record
                record.endpoint_config_name = config_name
                record.production_variants = (
                    deployment.variants
                    if retain is None
                    else retain_variant_properties(record.production_variants, deployment.variants, retain)
                )
                record.pending_deployment_summary = None
                self._set_status(endpoint.region, record, "InService", failure_reason=None)
        if stale:
            deployment.stop()
        elif previous is not None:
            previous.retire(DRAIN_TIMEOUT_SECONDS)

    def _route(self, endpoint: Endpoint, deployment: Deployment, share: float) -> bool:
        """Put `share` of the endpoint's traffic on a rollout's new fleet; False when the endpoint is not current."""
        with self._lock:
            if not self._current(endpoint):
                return False
            endpoint.shifting, endpoint.shifted = deployment, share
            return True

    def _roll_back(self, endpoint: Endpoint, deployment: Deployment, reason: str) -> None:
        """All traffic back to the old fleet, the new one stopped, InService on the old config with the reason."""
        with self._lock:
            endpoint.shifting, endpoint.shifted = None, 0.0
            current = self._current(endpoint)
            if current:
                self._set_status(endpoint.region, endpoint.record, "RollingBack")
        deployment.retire(DRAIN_TIMEOUT_SECONDS)
        logger.warning("endpoint %s: %s", endpoint.name, reason)
        with self._lock:
            if current and self._current(endpoint):
                endpoint.record.pending_deployment_summary = None
                self._set_status(endpoint.region, endpoint.record, "InService", failure_reason=truncate(reason))

    def _set_status(self, region: str, record: Any, status: str, **changes: Any) -> None:
        """Set the endpoint's status and send SageMaker's state-change event (lost, not raised, if it fails)."""
        _set_status(record, status, **changes)
        if self._on_status is None:
            return
        try:
            self._on_status(region, record)
        except Exception as error:  # EventBridge is best effort; the loop's safety-net checks notice anyway
            logger.warning("endpoint %s: state-change event not sent: %s", record.endpoint_name, error)

    def _abandoned(self, endpoint: Endpoint) -> bool:
        """The endpoint was deleted or the service shut down: its deployments stop where they are."""
        return endpoint.deleted or self._closed

    def _current(self, endpoint: Endpoint) -> bool:
        """Still the endpoint moto holds: not deleted, not re-created, the service not shut down."""
        if self._abandoned(endpoint):
            return False
        return bool(self._backend(endpoint.region).endpoints.get(endpoint.name) is endpoint.record)

    def _deploy(self, endpoint: Endpoint, config_name: str) -> Deployment:
        """Start and health-check a worker per production variant; raise DeploymentError with the reason."""
        backend = self._backend(endpoint.region)
        config = backend.endpoint_configs.get(config_name)
        if config is None:
            raise DeploymentError(
                f"Could not find endpoint configuration '{_arn(backend, 'endpoint-config', config_name)}'."
            )
        variants = list(config.production_variants)
        deployment = Deployment(
            config_name=config_name, variants=endpoint.record._process_production_variants(variants)
        )
        with self._lock:
            if self._abandoned(endpoint):
                raise DeploymentError("the endpoint was deleted")
            endpoint.pending = deployment  # a delete meanwhile stops its workers
        try:
            self._provisioning_delay(endpoint)
            for variant in variants:
                self._start_worker(endpoint, deployment, config_name, variant)
        except BaseException:
            deployment.stop()
            raise
        finally:
            with self._lock:
                endpoint.pending = None
        return deployment

    def _provisioning_delay(self, endpoint: Endpoint) -> None:
        """A scripted slow deployment: wait before starting the workers, unless the endpoint goes away."""
        deadline = time.monotonic() + self._faults.deployment_delay(endpoint.name)
        while time.monotonic() < deadline:
            if self._abandoned(endpoint):
                raise DeploymentError("the endpoint was deleted")
            time.sleep(0.05)

    def _start_worker(
        self, endpoint: Endpoint, deployment: Deployment, config_name: str, variant: dict[str, Any]
    ) -> None:
        """Start the variant's chain: a worker per container of its model, each health-checked in turn."""
        variant_name = str(variant["VariantName"])
        backend = self._backend(endpoint.region)
        model = backend._models.get(variant.get("ModelName"))
        if model is None:
            raise DeploymentError(
                f"Could not find model '{_arn(backend, 'model', str(variant.get('ModelName')))}' "
                f"for production variant {variant_name}."
            )
        weight = float(variant.get("InitialVariantWeight") or 0.0)
        timeout = float(variant.get("ContainerStartupHealthCheckTimeoutInSeconds") or self._health_check_timeout)
        directory = self._workdir / "hosting" / endpoint.name / config_name / variant_name
        start = functools.partial(
            self._launcher.start,
            endpoint.region,
            model,
            subject=f"production variant {variant_name}",
            failing_status=self._faults.invocation_fault(str(variant.get("ModelName")), endpoint.name),
        )
        if variant.get("ServerlessConfig"):
            serverless = ServerlessVariant(
                variant_name,
                dict(variant["ServerlessConfig"]),
                directory=directory,
                # each cold start has the health check's time again
                start=lambda chain, where: start(chain, where, deadline=time.monotonic() + timeout, clean=False),
                idle_seconds=self._serverless_idle_seconds,
            )
            if not deployment.add(serverless, weight):
                raise DeploymentError("the endpoint was deleted")
            serverless.deploy()
            return
        chain = WorkerChain(variant_name)
        if not deployment.add(chain, weight):
            raise DeploymentError("the endpoint was deleted")
        start(chain, directory, deadline=time.monotonic() + timeout)

    def _discard(self, endpoint: Endpoint) -> None:
        with self._lock:
            endpoint.deleted = True
            deployments = [d for d in (endpoint.serving, endpoint.pending, endpoint.shifting) if d is not None]
            endpoint.serving = endpoint.shifting = None
        for deployment in deployments:
            deployment.stop()


def _refuse_instances_to_serverless(backend: Any, record: Any, config: Any) -> None:
    """SageMaker cannot update an instance endpoint to serverless (Developer Guide, Serverless Inference, "Feature
    exclusions": "If you try to update your real-time endpoint to serverless, you receive a ValidationError
    message"); serverless to instances it can. The message is ours: the documentation does not quote SageMaker's."""
    serving = backend.endpoint_configs.get(record.endpoint_config_name)
    serving_variants = serving.production_variants if serving is not None else []
    if any(v.get("ServerlessConfig") for v in config.production_variants) and not any(
        v.get("ServerlessConfig") for v in serving_variants
    ):
        raise SageMakerApiError(
            "ValidationException",
            f"Cannot update endpoint '{record.arn}' from instance-based production variants to serverless: an "
            "instance-based endpoint cannot be converted to a serverless endpoint.",
        )


def _set_status(record: Any, status: str, **changes: Any) -> None:
    record.endpoint_status = status
    for name, value in changes.items():
        setattr(record, name, value)
    record.last_modified_time = datetime.now(UTC)


def _arn(backend: Any, kind: str, name: str) -> str:
    partition = "aws-cn" if backend.region_name.startswith("cn-") else "aws"
    return f"arn:{partition}:sagemaker:{backend.region_name}:{backend.account_id}:{kind}/{name}"
