"""Serving workers: a model's containers as processes on loopback ports, health-checked and called as a chain.

Endpoints' production variants and transform jobs both serve through these. A serial inference pipeline model
(CreateModel with Containers and InferenceExecutionConfig Mode Serial) is served by a chain of workers, one per
container, all of which must pass /ping. An invocation goes to the first; each answer's body and content type are
the next one's request, and the last one's answer is returned. Intermediate containers are asked with `Accept: */*`
(a container picks its answer's type, as SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT does in the inference toolkit); the
last one gets the caller's Accept. A container's error ends the invocation with a ModelError naming that container.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

from local_runtime.sagemaker import serving
from local_runtime.sagemaker.api import S3ClientFactory
from local_runtime.sagemaker.script_mode import REQUIREMENTS_FILE, PythonEnvironments, RequirementsError

DEFAULT_HEALTH_CHECK_TIMEOUT_SECONDS = 30.0
# InvokeEndpoint gives the container 60 seconds to answer.
INVOCATION_TIMEOUT_SECONDS = 60.0
_PORT_ATTEMPTS = 3
_PROJECT_ROOT = Path(__file__).resolve().parents[2]
SUBMIT_DIRECTORY_ENV = "SAGEMAKER_SUBMIT_DIRECTORY"


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

    def __init__(
        self,
        *,
        s3_client_factory: S3ClientFactory,
        environments: PythonEnvironments,
        backend: Callable[[str], Any] | None = None,
    ) -> None:
        """`environments` caches the virtualenvs of serving code with a requirements.txt; `backend(region)` is
        moto's SageMaker, where a container naming a model package finds the package's containers."""
        self._s3 = s3_client_factory
        self._backend = backend
        self._environments = environments
        self._client_lock = threading.Lock()
        self._s3_clients: dict[tuple[str, str | None], Any] = {}

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
        clean: bool = True,
    ) -> None:
        """Start a worker per container of moto's `model` into `chain`, each health-checked in turn.

        `subject` is what errors say the containers serve ("production variant AllTraffic"). Raises DeploymentError
        (the FailureReason) when a model cannot be served, fetched or pass /ping before `deadline`, or the chain was
        stopped meanwhile; the workers already started stay in the chain, for its owner to stop. `clean` empties
        `directory` first; without it the caller has (a serverless variant keeps its log across cold starts).
        """
        containers = model_containers(model, self._package_describer(region))
        # SageMaker fetches the model's artifacts as a session of the model's ExecutionRoleArn.
        role_arn = getattr(model, "execution_role_arn", None)
        if clean and directory.exists():
            shutil.rmtree(directory)
        for index, container in enumerate(containers):
            name = "primary" if len(containers) == 1 else _hostname(container, index)
            # A single container's files stay where they always were; a chain's get a directory each.
            self._start_container(
                region,
                role_arn,
                chain,
                container,
                directory if len(containers) == 1 else directory / name,
                name=name,
                subject=subject,
                deadline=deadline,
                # A scripted fault fails the model's last container: its answer is what the caller sees.
                failing_status=failing_status if index == len(containers) - 1 else None,
            )

    def _package_describer(self, region: str) -> Callable[[str], Any] | None:
        backend = self._backend
        return None if backend is None else lambda name: backend(region).describe_model_package(name)

    def _start_container(
        self,
        region: str,
        role_arn: str | None,
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
            self._fetch_model(region, role_arn, str(container["ModelDataUrl"]), directory, model_dir)
        environment = {str(k): str(v) for k, v in (container.get("Environment") or {}).items()}
        if failing_status is not None:
            environment[serving.INVOCATION_FAULT_ENV] = str(failing_status)
        code_dir, python = self._serving_code(region, role_arn, environment, directory, model_dir)
        for _ in range(_PORT_ATTEMPTS):
            worker = self._spawn(
                variant_name,
                str(container.get("Image", "")),
                model_dir,
                environment,
                directory / "worker.log",
                name,
                code_dir=code_dir,
                python=python,
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

    def _serving_code(
        self, region: str, role_arn: str | None, environment: dict[str, str], directory: Path, model_dir: Path
    ) -> tuple[Path | None, str]:
        """Where the script's code is and which interpreter serves it, as the framework container finds them.

        An S3 SAGEMAKER_SUBMIT_DIRECTORY (the SDK's sourcedir.tar.gz) is downloaded with the model's execution
        role; a requirements.txt in the code is installed into a cached virtualenv. Raises DeploymentError.
        """
        submit = environment.get(SUBMIT_DIRECTORY_ENV, "")
        code_dir = None
        if submit.startswith("s3://") and environment.get(serving.PROGRAM_ENV):
            code_dir = directory / "code"
            code_dir.mkdir(parents=True, exist_ok=True)
            self._fetch_archive(region, role_arn, submit, directory / "sourcedir.tar.gz", code_dir, what="code")
        requirements = (code_dir or model_dir / "code") / REQUIREMENTS_FILE
        if not environment.get(serving.PROGRAM_ENV) or not requirements.is_file():
            return code_dir, sys.executable
        try:
            return code_dir, str(self._environments.ensure(requirements).python)
        except RequirementsError as error:
            raise DeploymentError(str(error)) from None

    def _fetch_model(self, region: str, role_arn: str | None, url: str, directory: Path, model_dir: Path) -> None:
        self._fetch_archive(region, role_arn, url, directory / "model.tar.gz", model_dir, what="model")

    def _fetch_archive(
        self, region: str, role_arn: str | None, url: str, archive: Path, target: Path, *, what: str
    ) -> None:
        """Download a tar.gz and extract it into `target`; raise DeploymentError as SageMaker words it."""
        parsed = urlparse(url)
        bucket, key = parsed.netloc, parsed.path.lstrip("/")
        s3 = self._s3_client(region, role_arn)
        try:
            with archive.open("wb") as out:
                s3.download_fileobj(bucket, key, out)
        except Exception as error:
            raise DeploymentError(
                f"Failed to download {what} data(bucket: {bucket}, key: {key}). Please ensure that there is an "
                f"object located at the URL and that the role passed to CreateModel has permissions to download "
                f"the {what}. ({error})"
            ) from None
        try:
            with tarfile.open(archive, "r:*") as tar:
                tar.extractall(target, filter="data")
        except (tarfile.TarError, OSError) as error:
            raise DeploymentError(
                f'Failed to extract {what} data archive from URL "{url}". Please ensure that the object located at '
                f"the URL is a valid tar.gz archive. ({error})"
            ) from None
        finally:
            archive.unlink(missing_ok=True)

    def _s3_client(self, region: str, role_arn: str | None) -> Any:
        # One client per region and role, made under a lock: boto3 builds clients unsafely across threads, and a
        # client, once built, is safe to share.
        with self._client_lock:
            if (region, role_arn) not in self._s3_clients:
                self._s3_clients[region, role_arn] = self._s3(region, role_arn)
            return self._s3_clients[region, role_arn]

    def _spawn(
        self,
        variant_name: str,
        image: str,
        model_dir: Path,
        environment: dict[str, str],
        log_path: Path,
        name: str = "primary",
        *,
        code_dir: Path | None = None,
        python: str = sys.executable,
    ) -> _Worker:
        port = _free_port()
        env = {**os.environ, **environment}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_PROJECT_ROOT), os.environ.get("PYTHONPATH")) if p)
        log = log_path.open("ab")
        command = [
            python, "-m", "local_runtime.sagemaker.serving",
            "--model-dir", str(model_dir), "--image", image, "--port", str(port), "--watch-stdin",
            *(("--code-dir", str(code_dir)) if code_dir is not None else ()),
        ]  # fmt: skip
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, env=env)
        return _Worker(variant=variant_name, process=process, port=port, log_path=log_path, log=log, name=name)


def _health_check_failed(subject: str, detail: str, worker: _Worker) -> DeploymentError:
    return DeploymentError(
        f"The {worker.name} container for {subject} did not pass the ping health check: "
        f"{detail.strip()} (log: {worker.log_path})"
    )


class _WorkerExitedError(DeploymentError):
    def __init__(self, code: int, output: str) -> None:
        super().__init__(output or f"the container exited with code {code}")
        self.code = code


def model_containers(model: Any, describe_package: Callable[[str], Any] | None = None) -> list[dict[str, Any]]:
    """The containers a model's worker chain runs, in order; raise DeploymentError for what cannot be served.

    A container naming a model package (ModelPackageName) stands for the containers of the package's
    InferenceSpecification, which `describe_package(name or ARN)` (moto's DescribeModelPackage) finds.
    """
    given = [model.primary_container] if model.primary_container else list(model.containers or [])
    containers = [resolved for container in given for resolved in package_containers(dict(container), describe_package)]
    if not containers:
        raise DeploymentError(f"The model {model.model_name} has neither a PrimaryContainer nor Containers.")
    if model.primary_container:
        return containers
    mode = (getattr(model, "inference_execution_config", None) or {}).get("Mode", "Serial")
    if mode != "Serial" and len(containers) > 1:
        raise DeploymentError(
            f"The model {model.model_name} runs its containers in {mode} mode: the local runtime serves serial "
            "inference pipelines only."
        )
    return containers


def package_containers(
    container: dict[str, Any], describe_package: Callable[[str], Any] | None
) -> list[dict[str, Any]]:
    """The containers `container` stands for: itself, or the containers of the model package it names.

    The SageMaker Python SDK's `ModelPackage.deploy` creates `{ModelPackageName, Environment}`; the container's
    Environment is taken to add to (and win over) each package container's own (not verified on AWS).
    Raises DeploymentError when the package is missing or has no InferenceSpecification containers.
    """
    name = container.get("ModelPackageName")
    if not name:
        return [container]
    try:
        package = describe_package(str(name)) if describe_package is not None else None
    except Exception as error:  # moto's ValidationError: no such package
        raise DeploymentError(f"Could not find model package {name}: {error}") from None
    specification = getattr(package, "inference_specification", None) or {}
    if not specification.get("Containers"):
        raise DeploymentError(f"The model package {name} has no InferenceSpecification containers to serve.")
    environment = container.get("Environment") or {}
    return [
        {**dict(packaged), "Environment": {**(packaged.get("Environment") or {}), **environment}}
        for packaged in specification["Containers"]
    ]


def _hostname(container: dict[str, Any], index: int) -> str:
    """How errors name a pipeline's container: its ContainerHostname, or its place in the pipeline."""
    return str(container.get("ContainerHostname") or f"container-{index + 1}")


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
