"""TriggerRun: each new data object moves the pipeline's one-time schedule, so a burst of uploads starts one run.

A trailing-edge debounce: the run starts once uploads have been quiet for `quiet_seconds`, and at the latest
`max_delay_seconds` after the burst's first object, so a steady trickle still runs. The pending run is an
EventBridge Scheduler one-time schedule, `<pipeline>-new-data`, that starts the state machine with
{"trigger": "new-data"} and deletes itself once it has (ActionAfterCompletion DELETE). Its Description
remembers when the burst's first object was seen: the schedule is the only state, nothing to clean up.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from contract.names import SCHEDULE_NAME
from lambdas.common import env as names
from lambdas.common.errors import InvalidStepEventError, RetrainingError

if TYPE_CHECKING:
    from types_boto3_scheduler import EventBridgeSchedulerClient

NEW_DATA_TRIGGER = "new-data"
RUN_INPUT = {"trigger": NEW_DATA_TRIGGER}
# Scheduler takes at() in whole seconds; a run is never scheduled closer to now than this.
MIN_LEAD_SECONDS = 1
# A schedule whose time passed less than this long ago is starting its run (Scheduler invokes, then deletes it):
# the event is refused and Lambda retries it (after 1 and 2 minutes), by when the schedule is gone. One that
# is older is stale (its run started long ago) and is reused for the new burst.
STARTING_GRACE_SECONDS = 120
# Reads and writes per event at most: a concurrent invocation created, moved or fired the schedule in between.
MAX_ATTEMPTS = 3
_AT = re.compile(r"^at\((?P<when>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_FIRST_SEEN = re.compile(r"first object seen (?P<when>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"


class RunStartingError(RetrainingError):
    """The schedule is starting its run right now; the event is retried once it has (Lambda's async retry)."""


class ScheduleRaceError(RetrainingError):
    """Concurrent invocations kept changing the schedule between a read and a write; Lambda retries the event."""


@dataclass(frozen=True)
class TriggerRunSettings:
    pipeline: str
    state_machine_arn: str
    schedule_group: str
    scheduler_role_arn: str
    quiet_seconds: int
    max_delay_seconds: int
    kms_key_arn: str | None = None

    @property
    def schedule_name(self) -> str:
        return SCHEDULE_NAME.format(pipeline=self.pipeline)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TriggerRunSettings:
        return cls(
            pipeline=names.require_str(env, names.PIPELINE_NAME),
            state_machine_arn=names.require_str(env, names.STATE_MACHINE_ARN),
            schedule_group=names.require_str(env, names.SCHEDULE_GROUP),
            scheduler_role_arn=names.require_str(env, names.SCHEDULER_ROLE_ARN),
            quiet_seconds=names.require_int(env, names.QUIET_SECONDS),
            max_delay_seconds=names.require_int(env, names.MAX_DELAY_SECONDS),
            kms_key_arn=names.optional_str(env, names.SCHEDULE_KMS_KEY_ARN),
        )


@dataclass(frozen=True)
class NewObject:
    """An S3 "Object Created" event as EventBridge delivers it: which object, and when S3 created it."""

    bucket: str
    key: str
    seen: datetime

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> NewObject:
        """Read the event; raise InvalidStepEventError naming what is missing."""
        detail = event.get("detail")
        if not isinstance(detail, Mapping):
            raise InvalidStepEventError("the event has no detail: not an S3 Object Created event")
        bucket = (detail.get("bucket") or {}).get("name")
        key = (detail.get("object") or {}).get("key")
        if not isinstance(bucket, str) or not isinstance(key, str):
            raise InvalidStepEventError("the event's detail names no bucket and object key")
        return cls(bucket=bucket, key=key, seen=_parse_event_time(event.get("time")))


@dataclass(frozen=True)
class PendingRun:
    """A run the schedule will start at `run_at`, for a burst whose first object was seen at `first_seen`."""

    first_seen: datetime
    run_at: datetime

    @property
    def expression(self) -> str:
        return f"at({self.run_at.strftime(_TIME_FORMAT)})"

    def description(self, pipeline: str) -> str:
        return (
            f"Starts a run of pipeline {pipeline} once new data has been quiet; "
            f"first object seen {self.first_seen.strftime(_TIME_FORMAT)}Z"
        )

    @classmethod
    def from_schedule(cls, schedule: Mapping[str, Any]) -> PendingRun | None:
        """The pending run a schedule (GetSchedule's answer) stands for; None if it is not one this step wrote."""
        at = _AT.match(str(schedule.get("ScheduleExpression", "")))
        first_seen = _FIRST_SEEN.search(str(schedule.get("Description", "")))
        if at is None or first_seen is None or schedule.get("ScheduleExpressionTimezone", "UTC") != "UTC":
            return None
        return cls(
            first_seen=datetime.strptime(first_seen["when"], f"{_TIME_FORMAT}Z").replace(tzinfo=UTC),
            run_at=datetime.strptime(at["when"], _TIME_FORMAT).replace(tzinfo=UTC),
        )

    def to_log(self) -> dict[str, str]:
        return {"first_seen": self.first_seen.isoformat(), "run_at": self.run_at.isoformat()}


@dataclass(frozen=True)
class TriggerOutcome:
    action: str  # created, moved or unchanged
    run: PendingRun

    def to_log(self) -> dict[str, str]:
        return {"action": self.action, **self.run.to_log()}


def plan_run(
    pending: PendingRun | None, *, seen: datetime, now: datetime, quiet_seconds: int, max_delay_seconds: int
) -> PendingRun:
    """When the run for an object seen at `seen` starts, given the run already pending (None: a new burst).

    The run moves to `quiet_seconds` after the newest object, never earlier than it was, and never later than
    `max_delay_seconds` after the burst's first object. It is never scheduled in the past: a time that has gone
    by keeps the pending run's (still to come, as the caller ensures), or is moved to just after `now`.
    """
    if pending is None:
        first_seen, run_at = seen, seen + timedelta(seconds=quiet_seconds)
    else:
        first_seen = min(pending.first_seen, seen)
        run_at = max(pending.run_at, seen + timedelta(seconds=quiet_seconds))
    run_at = min(run_at, first_seen + timedelta(seconds=max_delay_seconds))
    soonest = now + timedelta(seconds=MIN_LEAD_SECONDS)
    if run_at < soonest:
        # Pushing a capped run past its cap each time an object lands just before it would let a trickle
        # postpone it forever: the pending time stands.
        run_at = pending.run_at if pending is not None and pending.run_at > now else soonest
    return PendingRun(first_seen=_whole_second(first_seen, up=False), run_at=_whole_second(run_at, up=True))


def trigger_run(
    new_object: NewObject, *, scheduler: EventBridgeSchedulerClient, settings: TriggerRunSettings, now: datetime
) -> TriggerOutcome:
    """Create or move the pipeline's one-time schedule for the new object; return what was done.

    Raises RunStartingError while the schedule starts its run, and ScheduleRaceError if other invocations
    changed the schedule between each read and write (both are retried by Lambda for an asynchronous event).
    """
    for _ in range(MAX_ATTEMPTS):
        schedule = _get_schedule(scheduler, settings)
        pending = PendingRun.from_schedule(schedule) if schedule is not None else None
        if pending is not None and pending.run_at <= now:
            if now - pending.run_at < timedelta(seconds=STARTING_GRACE_SECONDS):
                raise RunStartingError(
                    f"schedule {settings.schedule_name} is starting its run (due {pending.run_at.isoformat()}): "
                    "the new object will schedule the next one"
                )
            pending = None  # its run started long ago: this object begins a new burst
        planned = plan_run(
            pending,
            seen=new_object.seen,
            now=now,
            quiet_seconds=settings.quiet_seconds,
            max_delay_seconds=settings.max_delay_seconds,
        )
        if planned == pending:
            return TriggerOutcome("unchanged", planned)
        request = schedule_request(planned, settings)
        try:
            if schedule is None:
                scheduler.create_schedule(**request)
                return TriggerOutcome("created", planned)
            scheduler.update_schedule(**request)
            return TriggerOutcome("moved", planned)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            # Create: another invocation created it first. Update: it fired and deleted itself, or was changed.
            if code == "ConflictException" or (code == "ResourceNotFoundException" and schedule is not None):
                continue
            raise
    raise ScheduleRaceError(f"schedule {settings.schedule_name} changed under every one of {MAX_ATTEMPTS} attempts")


def schedule_request(run: PendingRun, settings: TriggerRunSettings) -> dict[str, Any]:
    """CreateSchedule's and UpdateSchedule's arguments (an update replaces every field, so both send all)."""
    request: dict[str, Any] = {
        "Name": settings.schedule_name,
        "GroupName": settings.schedule_group,
        "ScheduleExpression": run.expression,
        "ScheduleExpressionTimezone": "UTC",
        "Description": run.description(settings.pipeline),
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "ActionAfterCompletion": "DELETE",
        "State": "ENABLED",
        "Target": {
            "Arn": settings.state_machine_arn,
            "RoleArn": settings.scheduler_role_arn,
            "Input": json.dumps(RUN_INPUT),
        },
    }
    if settings.kms_key_arn:
        request["KmsKeyArn"] = settings.kms_key_arn
    return request


def _get_schedule(scheduler: EventBridgeSchedulerClient, settings: TriggerRunSettings) -> dict[str, Any] | None:
    try:
        schedule = dict(scheduler.get_schedule(Name=settings.schedule_name, GroupName=settings.schedule_group))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise
    return schedule


def _parse_event_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise InvalidStepEventError(f"the event's time must be an ISO-8601 string, got {value!r}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidStepEventError(f"the event's time must be an ISO-8601 string, got {value!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _whole_second(moment: datetime, *, up: bool) -> datetime:
    seconds = moment.timestamp()
    return datetime.fromtimestamp(math.ceil(seconds) if up else math.floor(seconds), UTC)
