"""EventBridge Scheduler in the local runtime: schedules fire when they are due, retry, and dead-letter.

moto stores schedules (CreateSchedule, UpdateSchedule, GetSchedule) but never fires them. `LocalScheduler` looks
through moto's schedules a few times a second, as the scheduler service would, on its clock (the real one, or one
a test or `serve --clock` sets):
- an ENABLED one-time `at()` schedule whose time has come fires once, then is deleted if its ActionAfterCompletion
  is DELETE (kept, and not fired again, otherwise). A schedule updated while it fires is not deleted: it has a new
  time to fire at.
- with `recurring=True` (`serve` turns it on; tests that deploy pipelines leave it off, so no run starts unasked),
  ENABLED `rate(...)` and `cron(...)` schedules fire at each tick in their time zone
  (local_runtime.schedule_expressions), between their StartDate and EndDate.
A firing starts the target, a state machine, through StartExecution on the local AWS, signed by a session of the
target's RoleArn, with the target's Input after Scheduler's context attributes are substituted
(local_runtime.scheduler_delivery). A failed start is retried per the target's RetryPolicy, then sent to its
DeadLetterConfig queue. Targets other than Step Functions are not emulated; `firings` records every attempt.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boto3
from moto.scheduler.models import Schedule, scheduler_backends

from local_runtime.event_bus import ACCOUNT, signing_credentials
from local_runtime.iam.principals import Principals
from local_runtime.schedule_expressions import is_cron, next_cron_tick, rate_interval
from local_runtime.scheduler_delivery import (
    DeadLetter,
    give_up_reason,
    retry_delay,
    send_dead_letter,
    substitute_context,
)

# Every started scheduler, oldest first; the lock also keeps two passes from firing one schedule twice.
_running: list[LocalScheduler] = []
_lock = threading.RLock()
_AT = re.compile(r"^at\((?P<when>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")

logger = logging.getLogger(__name__)

StartExecution = Callable[[str, str, str, str | None], str]


@dataclass(frozen=True)
class Firing:
    """One attempt to start a schedule's target: what it started, or why it could not."""

    schedule_arn: str
    target_arn: str
    input: str
    execution_arn: str | None = None
    error: str | None = None
    scheduled_time: datetime | None = None
    attempt: int = 1
    dead_lettered: bool = False  # the attempt failed for good and the tick went to the dead-letter queue


@dataclass
class _Delivery:
    """A tick on its way to its target: retried until it starts, its retries run out or it grows too old."""

    schedule: Schedule
    scheduled_time: datetime
    first_attempt: datetime
    execution_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    attempt: int = 1
    due: datetime | None = None  # when the next retry is due; None: now


def due_time(schedule: Schedule) -> datetime | None:
    """When a one-time schedule is due (its `at()` in its time zone); None for any other expression."""
    match = _AT.match(schedule.schedule_expression or "")
    if match is None:
        return None
    zone = ZoneInfo(schedule.schedule_expression_timezone or "UTC")
    return datetime.fromisoformat(match["when"]).replace(tzinfo=zone).astimezone(UTC)


def _instant(value: Any) -> datetime | None:
    """A StartDate or EndDate as moto keeps it (epoch seconds or ISO text), aware; None when unset."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class LocalScheduler:
    """Fires the due schedules of moto's account, from a background thread between start and stop."""

    def __init__(
        self,
        *,
        poll_seconds: float = 0.2,
        clock: Callable[[], datetime] | None = None,
        recurring: bool = False,
        retry_base_seconds: float = 1.0,
    ) -> None:
        self.poll_seconds = poll_seconds
        self.recurring = recurring
        self.retry_base_seconds = retry_base_seconds
        self.firings: list[Firing] = []
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self._start_execution: StartExecution | None = None
        self._send_dead_letter: Callable[[DeadLetter], None] | None = None
        self._fired: set[tuple[str, str, float]] = set()  # schedules kept after firing (ActionAfterCompletion NONE)
        # A recurring schedule's next tick, by the schedule as last modified: an update starts it afresh.
        self._next_tick: dict[tuple[str, str, str, float], datetime | None] = {}
        self._retrying: list[_Delivery] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def bind(self, endpoint_url: str, *, principals: Principals | None = None) -> None:
        """Start executions (and send dead letters) through the local AWS at `endpoint_url`, signed by sessions of
        the targets' roles that `principals` issues (without them, as the account)."""

        def client(service: str, arn: str, role_arn: str | None) -> Any:
            # A client per call: firings are rare, and the region and role are the target's.
            return boto3.session.Session().client(  # type: ignore[call-overload]
                service,
                endpoint_url=endpoint_url,
                region_name=arn.split(":")[3],
                **signing_credentials(principals, role_arn, "scheduler.amazonaws.com"),
            )

        def start_execution(state_machine_arn: str, name: str, execution_input: str, role_arn: str | None) -> str:
            sfn = client("stepfunctions", state_machine_arn, role_arn)
            arn: str = sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=execution_input)[
                "executionArn"
            ]
            return arn

        def dead_letter(letter: DeadLetter) -> None:
            send_dead_letter(client("sqs", letter.queue_arn, letter.role_arn), letter)

        self._start_execution = start_execution
        self._send_dead_letter = dead_letter

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
        """Fire every schedule due now and every retry due now; return the firings of this pass."""
        now = self.clock()
        fired: list[Firing] = []
        with _lock:
            for region, backend in list(scheduler_backends[ACCOUNT].items()):
                for group in list(backend.schedule_groups.values()):
                    for schedule in list(group.schedules.values()):
                        # moto leaves State unset when UpdateSchedule omits it; AWS defaults it to ENABLED.
                        if (schedule.state or "ENABLED") != "ENABLED":
                            continue
                        firing = self._fire_if_due(backend, group.name, schedule, now)
                        if firing is not None:
                            fired.append(firing)
                            logger.debug("schedule %s in %s fired: %s", schedule.arn, region, firing)
            fired.extend(self._retry_due(now))
            self.firings.extend(fired)
        return fired

    def _fire_if_due(self, backend: Any, group: str, schedule: Schedule, now: datetime) -> Firing | None:
        when = due_time(schedule)
        if when is not None:
            key = (schedule.arn, schedule.schedule_expression, schedule.last_modified_date)
            if when > now or key in self._fired:
                return None
            firing = self._deliver(_Delivery(schedule, scheduled_time=when, first_attempt=now), now)
            self._complete(backend, group, schedule, key)
            return firing
        tick = self._recurring_tick(schedule, now) if self.recurring else None
        return None if tick is None else self._deliver(_Delivery(schedule, scheduled_time=tick, first_attempt=now), now)

    def _recurring_tick(self, schedule: Schedule, now: datetime) -> datetime | None:
        """The tick of a rate or cron schedule due now, if any; the schedule then waits for its next one.

        One tick per pass: a clock moved far ahead catches up a tick per pass instead of starting them all at once.
        """
        expression = schedule.schedule_expression or ""
        zone = schedule.schedule_expression_timezone or "UTC"
        interval = rate_interval(expression)
        if interval is None and not is_cron(expression):
            return None
        key = (schedule.arn, expression, zone, schedule.last_modified_date)
        if key not in self._next_tick:
            start = max(now, _instant(schedule.start_date) or now)
            # A rate schedule without a StartDate invokes its target at once; a cron one waits for its first tick.
            self._next_tick[key] = start if interval is not None else next_cron_tick(expression, zone, start)
        tick = self._next_tick[key]
        end = _instant(schedule.end_date)
        if tick is None or tick > now or (end is not None and tick >= end):
            return None
        following = tick + interval if interval is not None else next_cron_tick(expression, zone, tick + _MINUTE)
        self._next_tick[key] = following
        return tick

    def _deliver(self, delivery: _Delivery, now: datetime) -> Firing:
        schedule, target = delivery.schedule, delivery.schedule.target
        arn = str(target.get("Arn", ""))
        payload = substitute_context(
            str(target.get("Input") or "{}"),
            schedule_arn=schedule.arn,
            scheduled_time=delivery.scheduled_time,
            execution_id=delivery.execution_id,
            attempt=delivery.attempt,
        )
        if arn.split(":")[2:3] != ["states"] or self._start_execution is None:
            error = "only Step Functions targets are emulated" if self._start_execution else "scheduler not bound"
            logger.error("schedule %s not fired: %s", schedule.arn, error)
            return _firing(delivery, payload, error=error)
        try:
            name = f"{schedule.name}-{uuid.uuid4().hex[:12]}"
            execution = self._start_execution(arn, name, payload, target.get("RoleArn"))
        except Exception as problem:
            return self._failed(delivery, payload, problem, now)
        return _firing(delivery, payload, execution_arn=execution)

    def _failed(self, delivery: _Delivery, payload: str, problem: Exception, now: datetime) -> Firing:
        """Retry the tick later, or send it to the dead-letter queue when the retry policy says no more."""
        schedule, target = delivery.schedule, delivery.schedule.target
        error = f"{type(problem).__name__}: {problem}"
        failed = _firing(delivery, payload, error=error)
        reason = give_up_reason(
            problem, target.get("RetryPolicy") or {}, delivery.attempt, now - delivery.first_attempt
        )
        if reason is None:
            delivery.attempt += 1
            delivery.due = now + retry_delay(delivery.attempt - 1, self.retry_base_seconds)
            self._retrying.append(delivery)
            logger.warning("schedule %s could not start %s (%s): retrying", schedule.arn, target.get("Arn"), error)
            return failed
        queue = (target.get("DeadLetterConfig") or {}).get("Arn")
        logger.error("schedule %s could not start %s (%s): %s", schedule.arn, target.get("Arn"), error, reason)
        if queue and self._send_dead_letter is not None:
            letter = DeadLetter(
                queue_arn=str(queue),
                role_arn=target.get("RoleArn"),
                body=payload,
                problem=problem,
                exhausted=reason,
                retry_attempts=delivery.attempt - 1,
                schedule_arn=schedule.arn,
                target_arn=str(target.get("Arn")),
                scheduled_time=delivery.scheduled_time,
            )
            try:
                self._send_dead_letter(letter)
            except Exception:  # a dead letter that cannot be sent is lost on AWS too; here it is logged
                logger.exception("schedule %s: dead letter to %s not sent", schedule.arn, queue)
        return replace(failed, dead_lettered=bool(queue))

    def _retry_due(self, now: datetime) -> list[Firing]:
        due = [d for d in self._retrying if d.due is None or d.due <= now]
        self._retrying = [d for d in self._retrying if d not in due]
        return [self._deliver(delivery, now) for delivery in due]

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


_MINUTE = timedelta(minutes=1)


def _firing(delivery: _Delivery, payload: str, *, execution_arn: str | None = None, error: str | None = None) -> Firing:
    schedule = delivery.schedule
    return Firing(
        schedule.arn,
        str(schedule.target.get("Arn", "")),
        payload,
        execution_arn=execution_arn,
        error=error,
        scheduled_time=delivery.scheduled_time,
        attempt=delivery.attempt,
    )
