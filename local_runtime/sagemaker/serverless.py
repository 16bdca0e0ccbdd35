"""A serverless production variant: no worker while idle, a cold start on the first invocation, a stop after idling.

What SageMaker documents (Developer Guide, Serverless Inference): a serverless endpoint "scales your endpoint down to
0" without requests; "if your endpoint does not receive traffic for a while and then your endpoint suddenly receives
new requests, it can take some time for your endpoint to spin up the compute resources" (a cold start, which the
invocation waits out); a create or update "fails ... due to a ping health check failure" (the container is checked
when the config is deployed); "any endpoint invocations beyond the maximum [concurrency] are throttled";
ProvisionedConcurrency keeps that many invocations' compute warm. How long an endpoint idles before it scales to zero
is not documented: here it is `idle_seconds` (the hosting service's setting).

Throttling: the documentation does not name the error, and the runtime API's model lists none for it
(InvokeEndpoint's errors are InternalFailure, ServiceUnavailable, ValidationError, ModelError,
InternalDependencyException and ModelNotReadyException); this answers AWS's common `ThrottlingException` (HTTP 400),
which the SDKs' standard retry mode retries.

The variant's log (the worker.log in its directory, where every endpoint worker writes) records each cold start and
each scale to zero.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from local_runtime.sagemaker.workers import DeploymentError, WorkerChain

# SageMaker does not document its idle period; a few minutes, as commonly observed, unless the service is told.
DEFAULT_SERVERLESS_IDLE_SECONDS = 300.0
LOG_NAME = "worker.log"

# Starts a model's chain into a directory; raises DeploymentError (see ChainLauncher.start).
ChainStarter = Callable[[WorkerChain, Path], None]


class ThrottledError(Exception):
    """An invocation beyond the variant's MaxConcurrency."""


class ServerlessVariant:
    """A serverless variant's worker chain, started on demand and stopped when idle: used where a WorkerChain is."""

    def __init__(
        self,
        variant: str,
        serverless_config: dict[str, Any],
        *,
        directory: Path,
        start: ChainStarter,
        idle_seconds: float,
    ) -> None:
        self.variant = variant
        self.max_concurrency = int(serverless_config.get("MaxConcurrency") or 1)
        # Provisioned concurrency stays warm: no cold start and no scale to zero.
        self.provisioned = bool(serverless_config.get("ProvisionedConcurrency"))
        self.directory = directory
        self._start = start
        self._idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._starting = threading.Lock()  # one cold start at a time; invocations meanwhile wait for it
        self._chain: WorkerChain | None = None  # the running chain, healthy
        self._pending: WorkerChain | None = None  # a chain starting
        self._in_flight = 0
        self._last_used = time.monotonic()
        self._stopped = threading.Event()
        self.cold_starts = 0

    @property
    def log_path(self) -> Path:
        return self.directory / LOG_NAME

    @property
    def workers(self) -> list[Any]:
        """The running chain's workers; none while scaled to zero."""
        chain = self._chain
        return list(chain.workers) if chain is not None else []

    @property
    def url(self) -> str:
        chain = self._chain
        if chain is None:
            raise DeploymentError(f"serverless variant {self.variant} has no running worker")
        return chain.url

    def deploy(self) -> None:
        """Start and health-check the container as a deployment does, then scale to zero unless provisioned.
        Raises DeploymentError when the container does not pass /ping."""
        chain = self._start_chain("deployed: health check")
        if not self.provisioned:
            self._scale_to_zero(chain, "passed the health check; no capacity until the first invocation")
        threading.Thread(target=self._reap_idle, name=f"serverless-idle-{self.variant}", daemon=True).start()

    def post(self, body: bytes, content_type: str, accept: str) -> Any:
        """Invoke the chain, cold-starting it when scaled to zero. Raises ThrottledError beyond MaxConcurrency,
        DeploymentError when the cold start fails, HopError as WorkerChain.post does."""
        with self._lock:
            if self._in_flight >= self.max_concurrency:
                raise ThrottledError(
                    f"serverless variant {self.variant} is at its MaxConcurrency ({self.max_concurrency})"
                )
            self._in_flight += 1
        try:
            return self._warm_chain().post(body, content_type, accept)
        finally:
            with self._lock:
                self._in_flight -= 1
                self._last_used = time.monotonic()

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            chains = [c for c in (self._chain, self._pending) if c is not None]
            self._chain = None
        for chain in chains:
            chain.stop()

    def _warm_chain(self) -> WorkerChain:
        chain = self._chain
        if chain is not None:
            return chain
        with self._starting:
            chain = self._chain
            if chain is None:
                self.cold_starts += 1
                chain = self._start_chain("cold start: the first invocation since scaling to zero starts the container")
            return chain

    def _start_chain(self, reason: str) -> WorkerChain:
        if self._stopped.is_set():
            raise DeploymentError("the endpoint was deleted")
        _clear_except_log(self.directory)
        self._log(reason)
        started = time.monotonic()
        chain = WorkerChain(self.variant)
        with self._lock:
            self._pending = chain  # stop() stops it too
        try:
            self._start(chain, self.directory)
            with self._lock:
                if self._stopped.is_set():
                    raise DeploymentError("the endpoint was deleted")
                self._chain = chain
        except BaseException:
            chain.stop()
            raise
        finally:
            with self._lock:
                self._pending = None
        self._log(f"container ready in {time.monotonic() - started:.1f} s")
        return chain

    def _reap_idle(self) -> None:
        """Scale to zero once no invocation came for `idle_seconds`."""
        tick = min(1.0, max(0.02, self._idle_seconds / 4))
        while not self._stopped.wait(tick):
            if self.provisioned:
                continue
            with self._lock:
                chain = self._chain
                idle = time.monotonic() - self._last_used
                if chain is None or self._in_flight or idle < self._idle_seconds or self._starting.locked():
                    continue
                self._chain = None
            self._scale_to_zero(chain, f"no invocation for {idle:.0f} s")

    def _scale_to_zero(self, chain: WorkerChain, why: str) -> None:
        with self._lock:
            if self._chain is chain:
                self._chain = None
        # Logged as the variant stops taking invocations, before its processes are gone (that may take a while).
        self._log(f"scaled to zero: {why}")
        chain.stop()

    def _log(self, line: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
        with self.log_path.open("a") as log:
            log.write(f"{stamp} serverless variant {self.variant}: {line}\n")


def _clear_except_log(directory: Path) -> None:
    """A cold start fetches the model again into a clean directory; the log goes on."""
    if not directory.exists():
        return
    for entry in directory.iterdir():
        if entry.name == LOG_NAME:
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()
