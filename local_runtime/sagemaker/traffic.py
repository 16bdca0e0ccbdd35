"""Where an endpoint's traffic goes: its deployments, weighted picks, draining, and guarded blue/green shifts.

An UpdateEndpoint with a DeploymentConfig is a guarded blue/green rollout: once the new fleet is healthy, traffic
shifts to it per the TrafficRoutingConfiguration (all at once; a canary, then the rest; or linear steps), each
shift followed by a baking period during which the AutoRollbackConfiguration's alarms are evaluated on the
invocations' metrics (see local_runtime.sagemaker.cloudwatch). Baking periods, the termination wait, the execution
timeout and the alarms' periods run on the local time scale: `time_scale` seconds here per second of AWS time.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local_runtime.sagemaker.api import SageMakerApiError
from local_runtime.sagemaker.cloudwatch import LocalCloudWatch
from local_runtime.sagemaker.serverless import ServerlessVariant
from local_runtime.sagemaker.workers import WorkerChain

# What serves a production variant: its chain of workers, or a serverless variant that starts one on demand.
VariantServer = WorkerChain | ServerlessVariant

_BAKE_TICK_SECONDS = 0.1  # how often a baking period evaluates its alarms
_ROUTING_TYPES = frozenset({"ALL_AT_ONCE", "CANARY", "LINEAR"})


class RolloutAbandonedError(Exception):
    """The endpoint was deleted, re-created or the service shut down during a rollout."""


@dataclass
class Deployment:
    """The workers of one endpoint config; counts the invocations in flight so a switch can drain them."""

    config_name: str
    variants: list[dict[str, Any]]  # DescribeEndpoint's ProductionVariants for this config
    workers: list[tuple[VariantServer, float]] = field(default_factory=list)  # a chain per variant, with its weight
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

    def pick(self) -> VariantServer:
        """A worker chosen by variant weight, as SageMaker splits traffic between production variants."""
        if len(self.workers) == 1:
            return self.workers[0][0]
        weights = [weight for _, weight in self.workers]
        if not any(weights):
            weights = [1.0] * len(self.workers)
        return random.choices([worker for worker, _ in self.workers], weights=weights)[0]

    def add(self, worker: VariantServer, weight: float) -> bool:
        """Track a starting chain; False when the deployment was stopped meanwhile."""
        with self.condition:
            if self.retired:
                return False
            self.workers.append((worker, weight))
            return True

    def remove(self, worker: VariantServer) -> None:
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
class Endpoint:
    """An endpoint as the hosting service tracks it: the deployment serving it, and the ones starting or shifting."""

    region: str
    name: str
    record: Any  # moto's FakeEndpoint: a delete and re-create under the same name makes a new one
    serving: Deployment | None = None
    pending: Deployment | None = None
    shifting: Deployment | None = None  # a guarded rollout's new fleet, taking `shifted` of the traffic
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


def check_deployment_config(region: str, config: dict[str, Any], cloudwatch: LocalCloudWatch | None) -> None:
    """Refuse a DeploymentConfig as UpdateEndpoint does: raise SageMakerApiError(ValidationException).

    An unknown routing type, a CANARY or LINEAR routing without its size, or alarms that do not exist (or any alarm
    when no `cloudwatch` evaluates them) are refused.
    """
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
    if alarms and cloudwatch is None:
        raise SageMakerApiError("ValidationException", "This local runtime evaluates no CloudWatch alarms.")
    missing = cloudwatch.missing_alarms(region, alarms) if cloudwatch and alarms else []
    if missing:
        raise SageMakerApiError(
            "ValidationException",
            f"The CloudWatch alarm(s) {', '.join(missing)} in AutoRollbackConfiguration do not exist.",
        )


class GuardedRollout:
    """Shifts an endpoint's traffic to a new fleet step by step, baking after each while its alarms are watched."""

    def __init__(
        self,
        *,
        cloudwatch: LocalCloudWatch | None,
        time_scale: float,
        route: Callable[[Endpoint, Deployment, float], bool],
        abandoned: Callable[[Endpoint], bool],
    ) -> None:
        """`route` puts a share of the endpoint's traffic on the new fleet, False once the endpoint is no longer
        the one being rolled out; `abandoned` says the endpoint went away (deleted, or the service shut down).
        """
        self._cloudwatch = cloudwatch
        self._time_scale = time_scale
        self._route = route
        self._abandoned = abandoned

    def run(self, endpoint: Endpoint, deployment: Deployment, config: dict[str, Any]) -> str | None:
        """Shift traffic to the new fleet step by step, baking after each; the rollback's reason, or None.

        Raises RolloutAbandonedError when the endpoint goes away meanwhile.
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
            if not self._route(endpoint, deployment, shift.share):
                raise RolloutAbandonedError
            breach = self._bake(endpoint, alarms, bake, deadline)
            if breach is not None:
                return (
                    f"Deployment of endpoint config {deployment.config_name} was rolled back: {breach} during the "
                    f"{shift.label} baking period. All traffic returned to endpoint config "
                    f"{endpoint.record.endpoint_config_name}."
                )
        self._sleep(endpoint, float(policy.get("TerminationWaitInSeconds") or 0) * self._time_scale)
        return None

    def _bake(self, endpoint: Endpoint, alarms: list[str], seconds: float, deadline: float | None) -> str | None:
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

    def _sleep(self, endpoint: Endpoint, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self._abandoned(endpoint):
                raise RolloutAbandonedError
            time.sleep(min(left, 0.05))
