"""EventBridge Scheduler in the local runtime: one-time `at()` schedules fire when they are due.

moto stores schedules (CreateSchedule, UpdateSchedule, GetSchedule) but never fires them. `LocalScheduler` looks
through moto's schedules a few times a second, as the scheduler service would: an ENABLED one-time schedule whose
time has come starts its target, a state machine, through StartExecution on the local AWS with the target's
Input and a unique execution name, and is then deleted if its ActionAfterCompletion is DELETE (kept, and not
fired again, otherwise). A schedule updated while it fires is not deleted: it has a new time to fire at.
The execution starts signed by a session of the target's RoleArn, the role the scheduler assumes to call
StartExecution. Recurring schedules (rate, cron) and targets other than Step Functions are not emulated;
`firings` records every firing, oldest first.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import boto3
from moto.scheduler.models import Schedule, scheduler_backends

from local_runtime.event_bus import ACCOUNT, signing_credentials
from local_runtime.iam.principals import Principals

# Every started scheduler, oldest first; the lock also keeps two passes from firing one schedule twice.
_running: list[LocalScheduler] = []
_lock = threading.RLock()
_AT = re.compile(r"^at\((?P<when>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Firing:
    """A schedule that fired: what it started, or why it could not."""

    schedule_arn: str
    target_arn: str
    input: str
    execution_arn: str | None = None
    error: str | None = None


def due_time(schedule: Schedule) -> datetime | None:
    """When a one-time schedule is due (its `at()` in its time zone); None for any other expression."""
    match = _AT.match(schedule.schedule_expression or "")
    if match is None:
        return None
    zone = ZoneInfo(schedule.schedule_expression_timezone or "UTC")
    return datetime.fromisoformat(match["when"]).replace(tzinfo=zone).astimezone(UTC)


class LocalScheduler:
    """Fires the due one-time schedules of moto's account, from a background thread between start and stop."""

    def __init__(self, *, poll_seconds: float = 0.2, clock: Callable[[], datetime] | None = None) -> None:
        self.poll_seconds = poll_seconds
        self.firings: list[Firing] = []
        self._clock = clock or (lambda: datetime.now(UTC))
        self._start_execution: Callable[[str, str, str, str | None], str] | None = None
        self._fired: set[tuple[str, str, float]] = set()  # schedules kept after firing (ActionAfterCompletion NONE)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def bind(self, endpoint_url: str, *, principals: Principals | None = None) -> None:
        """Start executions through the local AWS at `endpoint_url`, signed by sessions of the targets' roles that
        `principals` issues (without them, as the account)."""

        def start_execution(state_machine_arn: str, name: str, execution_input: str, role_arn: str | None) -> str:
            # A client per firing: firings are rare, and the region and role are the target's.
            sfn = boto3.session.Session().client(  # type: ignore[call-overload]
                "stepfunctions",
                endpoint_url=endpoint_url,
                region_name=state_machine_arn.split(":")[3],
                **signing_credentials(principals, role_arn, "scheduler.amazonaws.com"),
            )
            arn: str = sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=execution_input)[
                "executionArn"
            ]
            return arn

        self._start_execution = start_execution

    def start(self) -> None:
        if self._thread is not None:
            return
        with _lock:
            _running.append(self)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="local-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with _lock:
            if self in _running:
                _running.remove(self)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def fire_due(self) -> list[Firing]:
        """Fire every schedule due now; return the firings of this pass."""
        now = self._clock()
        fired: list[Firing] = []
        with _lock:
            for region, backend in list(scheduler_backends[ACCOUNT].items()):
                for group in list(backend.schedule_groups.values()):
                    for schedule in list(group.schedules.values()):
                        when = due_time(schedule)
                        key = (schedule.arn, schedule.schedule_expression, schedule.last_modified_date)
                        # moto leaves State unset when UpdateSchedule omits it; AWS defaults it to ENABLED.
                        if (
                            (schedule.state or "ENABLED") != "ENABLED"
                            or when is None
                            or when > now
                            or key in self._fired
                        ):
                            continue
                        firing = self._fire(schedule)
                        fired.append(firing)
                        self._complete(backend, group.name, schedule, key)
                        logger.debug("schedule %s in %s fired: %s", schedule.arn, region, firing)
            self.firings.extend(fired)
        return fired

    def _fire(self, schedule: Schedule) -> Firing:
        target = schedule.target
        arn, payload = str(target.get("Arn", "")), str(target.get("Input") or "{}")
        if arn.split(":")[2:3] != ["states"] or self._start_execution is None:
            error = "only Step Functions targets are emulated" if self._start_execution else "scheduler not bound"
            logger.error("schedule %s not fired: %s", schedule.arn, error)
            return Firing(schedule.arn, arn, payload, error=error)
        try:
            name = f"{schedule.name}-{uuid.uuid4().hex[:12]}"
            execution = self._start_execution(arn, name, payload, target.get("RoleArn"))
        except Exception as problem:  # the scheduler retries on AWS; here the failure is recorded and logged
            logger.error("schedule %s could not start %s: %s", schedule.arn, arn, problem)
            return Firing(schedule.arn, arn, payload, error=f"{type(problem).__name__}: {problem}")
        return Firing(schedule.arn, arn, payload, execution_arn=execution)

    def _complete(self, backend: Any, group: str, schedule: Schedule, key: tuple[str, str, float]) -> None:
        current = backend.schedule_groups.get(group)
        still = current.schedules.get(schedule.name) if current is not None else None
        unchanged = (schedule.schedule_expression, schedule.last_modified_date) == key[1:]
        if current is None or still is not schedule or not unchanged:
            return  # deleted, replaced or updated while firing: an updated one fires again at its new time
        if schedule.action_after_completion == "DELETE":
            current.schedules.pop(schedule.name, None)
        else:
            self._fired.add(key)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            with _lock:
                # moto's state is the process's: of several local AWSs, the newest one started owns it and fires.
                newest = _running[-1] if _running else None
            if newest is not self:
                continue
            try:
                self.fire_due()
            except Exception:  # a bad schedule must not stop the scheduler
                logger.exception("local scheduler pass failed")
