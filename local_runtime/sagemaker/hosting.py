"""SageMaker hosting for real: endpoints serve their models from worker processes, updates without downtime.

moto keeps storing and describing endpoints; this service moves them through SageMaker's states. CreateEndpoint is
Creating until every variant's worker passes its /ping health check, then InService, or Failed with a
FailureReason. UpdateEndpoint is Updating while the new workers start and the old ones keep answering; traffic
switches only once the new ones are healthy. A failed update leaves the endpoint InService on its previous
config with FailureReason set, as DescribeEndpoint documents ("If the status of the endpoint is Failed, or the
status is InService but update operation fails, this provides the reason why it failed").

An UpdateEndpoint with a DeploymentConfig is a guarded blue/green rollout: once the new fleet is healthy, traffic
shifts to it per the TrafficRoutingConfiguration (all at once; a canary, then the rest; or linear steps), each
shift followed by a baking period during which the AutoRollbackConfiguration's alarms are evaluated on the
invocations' metrics (see local_runtime.sagemaker.cloudwatch). An alarm in ALARM rolls back: all traffic returns
to the old fleet, the new workers stop, and the endpoint is InService on its old config with FailureReason set.
Baking periods, the termination wait, the execution timeout and the alarms' periods run on the local time
scale: `time_scale` seconds here per second of AWS time (LocalRuntime uses 1/60: a minute takes a second).

A serial inference pipeline model (CreateModel with Containers and InferenceExecutionConfig Mode Serial) is served
by a chain of workers, one per container, all of which must pass /ping. An invocation goes to the first; each
answer's body and content type are the next one's request, and the last one's answer is returned. Intermediate
containers are asked with `Accept: */*` (a container picks its answer's type, as SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT
does in the inference toolkit); the last one gets the caller's Accept. A container's error ends the invocation
with a ModelError naming that container.
"""

from __future__ import annotations

import functools
import http.client
import logging
import os
import random
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

from local_runtime.faults import Faults
from local_runtime.sagemaker import serving
from local_runtime.sagemaker.api import InvocationResponse, SageMakerApiError
from local_runtime.sagemaker.cloudwatch import LocalCloudWatch
from local_runtime.sagemaker.jobs import truncate

DEFAULT_HEALTH_CHECK_TIMEOUT_SECONDS = 30.0
# InvokeEndpoint gives the container 60 seconds to answer.
INVOCATION_TIMEOUT_SECONDS = 60.0
DRAIN_TIMEOUT_SECONDS = INVOCATION_TIMEOUT_SECONDS
_CHANGING = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})
_PORT_ATTEMPTS = 3
_BAKE_TICK_SECONDS = 0.1  # how often a baking period evaluates its alarms
_ROUTING_TYPES = frozenset({"ALL_AT_ONCE", "CANARY", "LINEAR"})
_PROJECT_ROOT = Path(__file__).resolve().parents[2]

logger = logging.getLogger(__name__)


class DeploymentError(Exception):
    """A deployment could not start serving; the message is the endpoint's FailureReason."""


class _Worker:
    """One serving process on a loopback port, for one container of a production variant's model.

    `name` is how errors name the container: `primary` for a single-container model, as SageMaker words it.
    """

    def __init__(
        self,
        *,
        variant: str,
        process: subprocess.Popen[bytes],
        port: int,
        log_path: Path,
        log: IO[bytes],
        name: str = "primary",
    ):
        self.variant, self.process, self.port, self.log_path, self.name = variant, process, port, log_path, name
        self._log = log

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_healthy(self, deadline: float) -> None:
        """Return once /ping answers 200; raise DeploymentError when the process exits or time runs out."""
        while True:
            code = self.process.poll()
            if code is not None:
                raise _WorkerExitedError(code, _tail(self.log_path))
            if self._ping():
                return
            if time.monotonic() > deadline:
                raise DeploymentError("the container did not answer /ping with 200 in time")
            time.sleep(0.05)

    def _ping(self) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            connection.request("GET", "/ping")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def post(self, body: bytes, content_type: str, accept: str) -> tuple[int, bytes, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=INVOCATION_TIMEOUT_SECONDS)
        try:
            connection.request(
                "POST", "/invocations", body=body, headers={"Content-Type": content_type, "Accept": accept}
            )
            response = connection.getresponse()
            return response.status, response.read(), response.getheader("Content-Type", "application/octet-stream")
        finally:
            connection.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdin is not None:
            self.process.stdin.close()
        self._log.close()


class HopError(Exception):
    """A container of a chain did not answer: which one, and why."""

    def __init__(self, worker: _Worker, error: OSError) -> None:
        super().__init__(str(error))
        self.worker, self.error = worker, error


@dataclass
class _Answer:
    status: int
    body: bytes
    content_type: str
    worker: _Worker  # the container that answered it: the last one, or the one that failed


class WorkerChain:
    """A production variant's serving workers, one per container of its model, called in order."""

    def __init__(self, variant: str) -> None:
        self.variant = variant
        self.workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._stopped = False

    @property
    def url(self) -> str:
        """The first container's URL: where an invocation enters the chain."""
        return self.workers[0].url

    def add(self, worker: _Worker) -> bool:
        """Track a starting worker; False when the chain was stopped meanwhile."""
        with self._lock:
            if self._stopped:
                return False
            self.workers.append(worker)
            return True

    def remove(self, worker: _Worker) -> None:
        with self._lock:
            self.workers = [w for w in self.workers if w is not worker]
        worker.stop()

    def post(self, body: bytes, content_type: str, accept: str) -> _Answer:
        """Invoke the containers in turn; the first error, or the last answer. Raises HopError."""
        answer: _Answer | None = None
        for index, worker in enumerate(self.workers):
            hop_accept = accept if index == len(self.workers) - 1 else "*/*"
            try:
                status, body, content_type = worker.post(body, content_type, hop_accept)
            except OSError as error:
                raise HopError(worker, error) from None
            answer = _Answer(status, body, content_type, worker)
            if status >= 400:
                break
        assert answer is not None, "a chain has at least one worker"
        return answer

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            workers = list(self.workers)
        for worker in workers:
            worker.stop()


class ChainLauncher:
    """Starts a model's containers as a chain of serving workers: endpoints' variants and transform jobs share it."""

    def __init__(self, *, s3_client_factory: Callable[[str], Any]) -> None:
        self._s3 = s3_client_factory
        self._client_lock = threading.Lock()
        self._s3_clients: dict[str, Any] = {}

    def start(
        self,
        region: str,
        model: Any,
        chain: WorkerChain,
        directory: Path,
        *,
        subject: str,
        deadline: float,
        failing_status: int | None = None,
    ) -> None:
        """Start a worker per container of moto's `model` into `chain`, each health-checked in turn.

        `subject` is what errors say the containers serve ("production variant AllTraffic"). Raises DeploymentError
        (the FailureReason) when a model cannot be served, fetched or pass /ping before `deadline`, or the chain was
        stopped meanwhile; the workers already started stay in the chain, for its owner to stop.
        """
        containers = model_containers(model)
        if directory.exists():
            shutil.rmtree(directory)
        for index, container in enumerate(containers):
            name = "primary" if len(containers) == 1 else _hostname(container, index)
            # A single container's files stay where they always were; a chain's get a directory each.
            self._start_container(
                region,
                chain,
                container,
                directory if len(containers) == 1 else directory / name,
                name=name,
                subject=subject,
                deadline=deadline,
                # A scripted fault fails the model's last container: its answer is what the caller sees.
                failing_status=failing_status if index == len(containers) - 1 else None,
            )

    def _start_container(
        self,
        region: str,
        chain: WorkerChain,
        container: dict[str, Any],
        directory: Path,
        *,
        name: str,
        subject: str,
        deadline: float,
        failing_status: int | None,
    ) -> None:
        variant_name = chain.variant
        model_dir = directory / "model"
        model_dir.mkdir(parents=True)
        if container.get("ModelDataUrl"):
            self._fetch_model(region, str(container["ModelDataUrl"]), directory, model_dir)
        environment = {str(k): str(v) for k, v in (container.get("Environment") or {}).items()}
        if failing_status is not None:
            environment[serving.INVOCATION_FAULT_ENV] = str(failing_status)
        for _ in range(_PORT_ATTEMPTS):
            worker = self._spawn(
                variant_name, str(container.get("Image", "")), model_dir, environment, directory / "worker.log", name
            )
            if not chain.add(worker):
                worker.stop()
                raise DeploymentError("the endpoint was deleted")
            try:
                worker.wait_healthy(deadline)
                return
            except _WorkerExitedError as exited:
                chain.remove(worker)
                if exited.code == serving.EXIT_PORT_IN_USE:
                    continue
                raise _health_check_failed(subject, str(exited), worker) from None
            except DeploymentError as error:
                chain.remove(worker)
                raise _health_check_failed(subject, str(error), worker) from None
        raise DeploymentError(f"no free loopback port for {subject}")

    def _fetch_model(self, region: str, url: str, directory: Path, model_dir: Path) -> None:
        """Download model.tar.gz and extract it into model_dir; raise DeploymentError as SageMaker words it."""
        parsed = urlparse(url)
        bucket, key = parsed.netloc, parsed.path.lstrip("/")
        archive = directory / "model.tar.gz"
        s3 = self._s3_client(region)
        try:
            with archive.open("wb") as out:
                s3.download_fileobj(bucket, key, out)
        except Exception as error:
            raise DeploymentError(
                f"Failed to download model data(bucket: {bucket}, key: {key}). Please ensure that there is an "
                f"object located at the URL and that the role passed to CreateModel has permissions to download "
                f"the model. ({error})"
            ) from None
        try:
            with tarfile.open(archive, "r:*") as tar:
                tar.extractall(model_dir, filter="data")
        except (tarfile.TarError, OSError) as error:
            raise DeploymentError(
                f'Failed to extract model data archive from URL "{url}". Please ensure that the object located at '
                f"the URL is a valid tar.gz archive. ({error})"
            ) from None
        finally:
            archive.unlink(missing_ok=True)

    def _s3_client(self, region: str) -> Any:
        # One client per region, made under a lock: boto3 builds clients unsafely across threads, and a
        # client, once built, is safe to share.
        with self._client_lock:
            if region not in self._s3_clients:
                self._s3_clients[region] = self._s3(region)
            return self._s3_clients[region]

    def _spawn(
        self,
        variant_name: str,
        image: str,
        model_dir: Path,
        environment: dict[str, str],
        log_path: Path,
        name: str = "primary",
    ) -> _Worker:
        port = _free_port()
        env = {**os.environ, **environment}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_PROJECT_ROOT), os.environ.get("PYTHONPATH")) if p)
        log = log_path.open("ab")
        command = [
            sys.executable, "-m", "local_runtime.sagemaker.serving",
            "--model-dir", str(model_dir), "--image", image, "--port", str(port), "--watch-stdin",
        ]  # fmt: skip
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, env=env)
        return _Worker(variant=variant_name, process=process, port=port, log_path=log_path, log=log, name=name)


def _health_check_failed(subject: str, detail: str, worker: _Worker) -> DeploymentError:
    return DeploymentError(
        f"The {worker.name} container for {subject} did not pass the ping health check: "
        f"{detail.strip()} (log: {worker.log_path})"
    )


class _RolloutAbandonedError(Exception):
    """The endpoint was deleted, re-created or the service shut down during a rollout."""


class _WorkerExitedError(DeploymentError):
    def __init__(self, code: int, output: str) -> None:
        super().__init__(output or f"the container exited with code {code}")
        self.code = code


@dataclass
class _Deployment:
    """The workers of one endpoint config; counts the invocations in flight so a switch can drain them."""

    config_name: str
    variants: list[dict[str, Any]]  # DescribeEndpoint's ProductionVariants for this config
    workers: list[tuple[WorkerChain, float]] = field(default_factory=list)  # a chain per variant, with its weight
    in_flight: int = 0
    retired: bool = False
    condition: threading.Condition = field(default_factory=threading.Condition)

    def acquire(self) -> bool:
        with self.condition:
            if self.retired:
                return False
            self.in_flight += 1
            return True

    def release(self) -> None:
        with self.condition:
            self.in_flight -= 1
            self.condition.notify_all()

    def pick(self) -> WorkerChain:
        """A worker chosen by variant weight, as SageMaker splits traffic between production variants."""
        if len(self.workers) == 1:
            return self.workers[0][0]
        weights = [weight for _, weight in self.workers]
        if not any(weights):
            weights = [1.0] * len(self.workers)
        return random.choices([worker for worker, _ in self.workers], weights=weights)[0]

    def add(self, worker: WorkerChain, weight: float) -> bool:
        """Track a starting chain; False when the deployment was stopped meanwhile."""
        with self.condition:
            if self.retired:
                return False
            self.workers.append((worker, weight))
            return True

    def remove(self, worker: WorkerChain) -> None:
        with self.condition:
            self.workers = [(w, weight) for w, weight in self.workers if w is not worker]
        worker.stop()

    def retire(self, drain_seconds: float) -> None:
        """Refuse new invocations, let the ones in flight finish, then stop the workers."""
        with self.condition:
            self.retired = True
            self.condition.wait_for(lambda: self.in_flight == 0, timeout=drain_seconds)
        self.stop()

    def stop(self) -> None:
        with self.condition:
            self.retired = True
            workers = [worker for worker, _ in self.workers]
        for worker in workers:
            worker.stop()


@dataclass
class _Endpoint:
    region: str
    name: str
    record: Any  # moto's FakeEndpoint: a delete and re-create under the same name makes a new one
    serving: _Deployment | None = None
    pending: _Deployment | None = None
    shifting: _Deployment | None = None  # a guarded rollout's new fleet, taking `shifted` of the traffic
    shifted: float = 0.0
    deleted: bool = False


@dataclass(frozen=True)
class TrafficShift:
    """One step of a guarded rollout: the new fleet's share of the traffic, then a baking period."""

    share: float
    label: str


def traffic_shifts(routing: dict[str, Any], instance_count: int) -> list[TrafficShift]:
    """The steps of a TrafficRoutingConfiguration, each a share of the traffic on the new fleet.

    A CAPACITY_PERCENT size is the share itself; an INSTANCE_COUNT size is its part of the new fleet's instances.
    """
    kind = routing.get("Type")
    if kind == "ALL_AT_ONCE":
        return [TrafficShift(1.0, "all-at-once")]
    size = routing.get("CanarySize" if kind == "CANARY" else "LinearStepSize") or {}
    value = float(size.get("Value", 0))
    share = value / 100 if size.get("Type") == "CAPACITY_PERCENT" else value / max(instance_count, 1)
    share = min(max(share, 0.0), 1.0)
    if kind == "CANARY":
        return [TrafficShift(share, f"canary ({share:.0%} of traffic)"), TrafficShift(1.0, "final (all traffic)")]
    steps = max(1, -(-100 // max(round(share * 100), 1)))  # ceil, as SageMaker counts linear steps
    return [
        TrafficShift(min(share * step, 1.0) if step < steps else 1.0, f"linear step {step} of {steps}")
        for step in range(1, steps + 1)
    ]


class HostingService:
    """Endpoints backed by serving workers; the emulator facade calls these methods around moto."""

    def __init__(
        self,
        *,
        s3_client_factory: Callable[[str], Any],
        workdir: Path,
        backend: Callable[[str], Any],
        health_check_timeout_seconds: float = DEFAULT_HEALTH_CHECK_TIMEOUT_SECONDS,
        faults: Faults | None = None,
        cloudwatch: LocalCloudWatch | None = None,
        time_scale: float = 1.0,
        on_status: Callable[[str, Any], None] | None = None,
    ) -> None:
        """`faults` can make the next deployments slower or their models fail (see local_runtime.faults).

        `cloudwatch` receives every invocation's metrics and evaluates a guarded rollout's alarms; without it an
        UpdateEndpoint with AutoRollbackConfiguration is refused. `time_scale` shortens baking periods and alarm
        periods: local seconds per AWS second.
        """
        self._faults = faults or Faults()
        self._on_status = on_status  # (region, moto's endpoint): SageMaker's state-change event
        self._cloudwatch = cloudwatch
        self._time_scale = time_scale
        self._launcher = ChainLauncher(s3_client_factory=s3_client_factory)
        self._workdir = workdir
        self._backend = backend
        self._health_check_timeout = health_check_timeout_seconds
        self._endpoints: dict[tuple[str, str], _Endpoint] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._closed = False

    def on_endpoint_created(self, region: str, endpoint_name: str) -> None:
        """CreateEndpoint was stored: the endpoint is Creating until its workers pass the health check."""
        record = self._backend(region).endpoints.get(endpoint_name)
        if record is None or self._closed:
            return
        endpoint = _Endpoint(region, endpoint_name, record)
        with self._lock:
            previous = self._endpoints.get((region, endpoint_name))
            self._endpoints[(region, endpoint_name)] = endpoint
            self._set_status(region, record, "Creating")
        if previous is not None:
            self._discard(previous)
        self._start(f"create-{endpoint_name}", self._create, endpoint, record.endpoint_config_name)

    def update_endpoint(
        self, region: str, endpoint_name: str, config_name: str, deployment_config: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """UpdateEndpoint: answer at once with the ARN, then roll out in the background.

        With `deployment_config` the rollout shifts traffic in steps and rolls back when an alarm fires. Raises
        SageMakerApiError(ValidationException) for an unknown endpoint, config or alarm, a malformed
        DeploymentConfig, or an endpoint that is not InService, as SageMaker does.
        """
        if deployment_config:
            self._check_deployment_config(region, deployment_config)
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
            endpoint = self._endpoints.get((region, endpoint_name))
            stale = None
            if endpoint is None or endpoint.record is not record:
                stale, endpoint = endpoint, _Endpoint(region, endpoint_name, record)
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
        update = functools.partial(self._update, deployment_config=deployment_config or None)
        self._start(f"update-{endpoint_name}", update, endpoint, config_name)
        return {"EndpointArn": record.arn}

    def _check_deployment_config(self, region: str, config: dict[str, Any]) -> None:
        routing = (config.get("BlueGreenUpdatePolicy") or {}).get("TrafficRoutingConfiguration") or {}
        kind = routing.get("Type", "ALL_AT_ONCE")
        if kind not in _ROUTING_TYPES:
            raise SageMakerApiError(
                "ValidationException",
                f"Value '{kind}' at 'deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration.type' "
                f"failed to satisfy constraint: Member must satisfy enum value set: [ALL_AT_ONCE, CANARY, LINEAR]",
            )
        size = {"CANARY": "CanarySize", "LINEAR": "LinearStepSize"}.get(kind)
        if size and not routing.get(size):
            raise SageMakerApiError("ValidationException", f"{size} is required for traffic routing type {kind}.")
        alarms = [a.get("AlarmName", "") for a in (config.get("AutoRollbackConfiguration") or {}).get("Alarms", [])]
        if alarms and self._cloudwatch is None:
            raise SageMakerApiError("ValidationException", "This local runtime evaluates no CloudWatch alarms.")
        missing = self._cloudwatch.missing_alarms(region, alarms) if self._cloudwatch and alarms else []
        if missing:
            raise SageMakerApiError(
                "ValidationException",
                f"The CloudWatch alarm(s) {', '.join(missing)} in AutoRollbackConfiguration do not exist.",
            )

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
            return endpoint.serving.workers[0][0].url

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

    def _acquire(self, region: str, endpoint_name: str) -> _Deployment:
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

    def _start(self, name: str, target: Callable[[_Endpoint, str], None], endpoint: _Endpoint, config: str) -> None:
        thread = threading.Thread(target=target, args=(endpoint, config), name=name, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _create(self, endpoint: _Endpoint, config_name: str) -> None:
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

    def _update(self, endpoint: _Endpoint, config_name: str, deployment_config: dict[str, Any] | None = None) -> None:
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
                rollback = self._shift_traffic(endpoint, deployment, deployment_config)
            except _RolloutAbandonedError:
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
                record.production_variants = deployment.variants
                record.pending_deployment_summary = None
                self._set_status(endpoint.region, record, "InService", failure_reason=None)
        if stale:
            deployment.stop()
        elif previous is not None:
            previous.retire(DRAIN_TIMEOUT_SECONDS)

    def _shift_traffic(self, endpoint: _Endpoint, deployment: _Deployment, config: dict[str, Any]) -> str | None:
        """Shift traffic to the new fleet step by step, baking after each; the rollback's reason, or None.

        Raises _RolloutAbandonedError when the endpoint goes away meanwhile.
        """
        policy = config.get("BlueGreenUpdatePolicy") or {}
        routing = policy.get("TrafficRoutingConfiguration") or {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}
        alarms = [a["AlarmName"] for a in (config.get("AutoRollbackConfiguration") or {}).get("Alarms", [])]
        instances = sum(int(v.get("CurrentInstanceCount") or 1) for v in deployment.variants) or 1
        bake = float(routing.get("WaitIntervalInSeconds") or 0) * self._time_scale
        # Counted from the first shift: provisioning the workers is not on the local time scale.
        timeout = policy.get("MaximumExecutionTimeoutInSeconds")
        deadline = time.monotonic() + float(timeout) * self._time_scale if timeout else None
        for shift in traffic_shifts(routing, instances):
            with self._lock:
                if not self._current(endpoint):
                    raise _RolloutAbandonedError
                endpoint.shifting, endpoint.shifted = deployment, shift.share
            breach = self._bake(endpoint, alarms, bake, deadline)
            if breach is not None:
                return (
                    f"Deployment of endpoint config {deployment.config_name} was rolled back: {breach} during the "
                    f"{shift.label} baking period. All traffic returned to endpoint config "
                    f"{endpoint.record.endpoint_config_name}."
                )
        self._sleep(endpoint, float(policy.get("TerminationWaitInSeconds") or 0) * self._time_scale)
        return None

    def _bake(self, endpoint: _Endpoint, alarms: list[str], seconds: float, deadline: float | None) -> str | None:
        """Watch the alarms for `seconds`; what tripped (an alarm in ALARM, the timeout), or None."""
        end = time.monotonic() + seconds
        while True:
            if alarms and self._cloudwatch is not None:
                states = self._cloudwatch.evaluate(endpoint.region, alarms, time_scale=self._time_scale)
                firing = [state for state in states if state.value == "ALARM"]
                if firing:
                    names = ", ".join(state.name for state in firing)
                    return f"CloudWatch alarm(s) {names} went into ALARM ({firing[0].reason})"
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return "the deployment exceeded MaximumExecutionTimeoutInSeconds"
            if now >= end:
                return None
            self._sleep(endpoint, min(_BAKE_TICK_SECONDS, end - now))

    def _sleep(self, endpoint: _Endpoint, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if endpoint.deleted or self._closed:
                raise _RolloutAbandonedError
            time.sleep(min(left, 0.05))

    def _roll_back(self, endpoint: _Endpoint, deployment: _Deployment, reason: str) -> None:
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

    def _current(self, endpoint: _Endpoint) -> bool:
        """Still the endpoint moto holds: not deleted, not re-created, the service not shut down."""
        if endpoint.deleted or self._closed:
            return False
        return bool(self._backend(endpoint.region).endpoints.get(endpoint.name) is endpoint.record)

    def _deploy(self, endpoint: _Endpoint, config_name: str) -> _Deployment:
        """Start and health-check a worker per production variant; raise DeploymentError with the reason."""
        backend = self._backend(endpoint.region)
        config = backend.endpoint_configs.get(config_name)
        if config is None:
            raise DeploymentError(
                f"Could not find endpoint configuration '{_arn(backend, 'endpoint-config', config_name)}'."
            )
        variants = list(config.production_variants)
        deployment = _Deployment(
            config_name=config_name, variants=endpoint.record._process_production_variants(variants)
        )
        with self._lock:
            if endpoint.deleted or self._closed:
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

    def _provisioning_delay(self, endpoint: _Endpoint) -> None:
        """A scripted slow deployment: wait before starting the workers, unless the endpoint goes away."""
        deadline = time.monotonic() + self._faults.deployment_delay()
        while time.monotonic() < deadline:
            if endpoint.deleted or self._closed:
                raise DeploymentError("the endpoint was deleted")
            time.sleep(0.05)

    def _start_worker(
        self, endpoint: _Endpoint, deployment: _Deployment, config_name: str, variant: dict[str, Any]
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
        chain = WorkerChain(variant_name)
        if not deployment.add(chain, weight):
            raise DeploymentError("the endpoint was deleted")
        self._launcher.start(
            endpoint.region,
            model,
            chain,
            directory,
            subject=f"production variant {variant_name}",
            deadline=time.monotonic() + timeout,
            failing_status=self._faults.invocation_fault(str(variant.get("ModelName"))),
        )

    def _discard(self, endpoint: _Endpoint) -> None:
        with self._lock:
            endpoint.deleted = True
            deployments = [d for d in (endpoint.serving, endpoint.pending, endpoint.shifting) if d is not None]
            endpoint.serving = endpoint.shifting = None
        for deployment in deployments:
            deployment.stop()


def model_containers(model: Any) -> list[dict[str, Any]]:
    """The containers a model's worker chain runs, in order; raise DeploymentError for what cannot be served."""
    if model.primary_container:
        return [dict(model.primary_container)]
    containers = [dict(container) for container in model.containers or []]
    if not containers:
        raise DeploymentError(f"The model {model.model_name} has neither a PrimaryContainer nor Containers.")
    mode = (getattr(model, "inference_execution_config", None) or {}).get("Mode", "Serial")
    if mode != "Serial" and len(containers) > 1:
        raise DeploymentError(
            f"The model {model.model_name} runs its containers in {mode} mode: the local runtime serves serial "
            "inference pipelines only."
        )
    return containers


def _hostname(container: dict[str, Any], index: int) -> str:
    """How errors name a pipeline's container: its ContainerHostname, or its place in the pipeline."""
    return str(container.get("ContainerHostname") or f"container-{index + 1}")


def _set_status(record: Any, status: str, **changes: Any) -> None:
    record.endpoint_status = status
    for name, value in changes.items():
        setattr(record, name, value)
    record.last_modified_time = datetime.now(UTC)


def _arn(backend: Any, kind: str, name: str) -> str:
    partition = "aws-cn" if backend.region_name.startswith("cn-") else "aws"
    return f"arn:{partition}:sagemaker:{backend.region_name}:{backend.account_id}:{kind}/{name}"


def _tail(path: Path, limit: int = 600) -> str:
    """The end of a worker's log: its last line says why it stopped."""
    try:
        text = path.read_text(errors="replace").strip()
    except OSError:
        return ""
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1][-limit:] if lines else ""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
