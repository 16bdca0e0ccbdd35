"""EventBridge delivery in the local runtime: events reach the Lambda functions and state machines rules target.

moto stores rules and targets (PutRule and PutTargets, or deploy.py from the template's AWS::Events::Rule
resources) and answers PutEvents, matching each event against each rule with its EventPattern matcher, but it
delivers to neither Lambda nor Step Functions. `install` hooks that delivery step (moto's Rule.send_to_targets):
a matching event goes to an attached `EventBus`, which, as EventBridge does, calls each target asynchronously
(a background thread) with the event, its `Input`, its `InputPath` or its `InputTransformer`: a Lambda function
through the same in-process invoke as Lambda's Invoke API, a state machine through StartExecution with a unique
name. A failed delivery is tried once more, then logged; the sender never sees it. Other targets (SQS, logs,
archives) stay moto's.

A state machine target starts its execution signed by a session of the target's RoleArn, as EventBridge assumes
that role to call StartExecution; a target without one signs as the account. Lambda targets are invoked by
EventBridge itself, which the function's resource-based policy (AWS::Lambda::Permission) lets in: no role, no
credentials, so no identity policy to judge.

Events come from PutEvents against the local server (boto3 `events.put_events`) and from the runtime's own
emitters through `put_events` here (the SageMaker emulator's "SageMaker Model Package State Change", the local
Step Functions' "Step Functions Execution Status Change": local_runtime.step_functions).
Differences from EventBridge kept on purpose: DISABLED rules and rules with only a schedule match nothing
(moto matches a schedule rule's empty pattern against every event), and `time` is the ISO-8601 text AWS sends.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from jsonpath_ng.parser import parse as jsonpath
from moto.events.models import Rule, events_backends
from moto.events.utils import EventTemplateParser

from local_runtime.iam.principals import Principals, opaque_session_name
from local_runtime.lambda_invoke import LocalLambda

ACCOUNT = "123456789012"  # moto's default account: where the server keeps rules and what the workflow creates
_LOCAL_SERVICES = frozenset({"lambda", "states"})

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """One event handed to one target: what it received and, when every attempt failed, why."""

    rule: str
    target_id: str
    target_arn: str
    event: Mapping[str, Any]
    payload: str
    attempts: int
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.error is None


class DeliveryError(Exception):
    """A target refused an event (throttled, failed, or absent); the bus logs it, the sender never sees it."""


class EventBus:
    """Delivers the events moto matched to local targets; `deliveries` records every outcome, oldest first."""

    def __init__(self, *, retry_delay_seconds: float = 1.0) -> None:
        self.retry_delay_seconds = retry_delay_seconds
        self.deliveries: list[Delivery] = []
        self._functions: LocalLambda | None = None
        self._endpoint_url = ""
        self._principals: Principals | None = None
        self._pending = 0
        self._idle = threading.Condition()

    def bind(self, functions: LocalLambda, endpoint_url: str, *, principals: Principals | None = None) -> None:
        """Learn the functions that answer Lambda targets, where the local Step Functions listens, and the
        principals that issue credentials of the targets' roles (without them, executions start as the account)."""
        self._functions, self._endpoint_url, self._principals = functions, endpoint_url, principals

    def attach(self) -> None:
        """Receive the events moto's rules match from now on (installs the hook on first use)."""
        install()
        with _attached_lock:
            if self not in _attached:
                _attached.append(self)

    def detach(self) -> None:
        with _attached_lock:
            if self in _attached:
                _attached.remove(self)

    def handles(self, target_arn: str) -> bool:
        service = _service(target_arn)
        if service == "lambda":
            return self._functions is not None and self._functions.find(target_arn) is not None
        return service == "states" and bool(self._endpoint_url)

    def deliver(self, rule: str, target: Mapping[str, Any], event: Mapping[str, Any]) -> None:
        """Send the event to the target in a background thread, as EventBridge does: the caller never waits."""
        with self._idle:
            self._pending += 1
        worker = threading.Thread(
            target=self._deliver, args=(rule, dict(target), dict(event)), name=f"eventbridge-{rule}", daemon=True
        )
        worker.start()

    def wait_until_idle(self, timeout_seconds: float = 30.0) -> bool:
        """Wait for every delivery under way to end; False if some are still running at the deadline."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout_seconds)

    def _deliver(self, rule: str, target: dict[str, Any], event: dict[str, Any]) -> None:
        try:
            payload, error, attempts = "", None, 0
            try:
                payload = target_input(target, event)
            except (ValueError, LookupError) as problem:
                error, attempts = f"the target's input cannot be built: {problem}", 2  # no attempt can succeed
            while attempts < 2:
                attempts += 1
                try:
                    self._send(target["Arn"], payload, target.get("RoleArn"))
                except Exception as problem:  # a delivery never fails its sender: EventBridge retries, then drops
                    error = f"{type(problem).__name__}: {problem}"
                    if attempts < 2:
                        time.sleep(self.retry_delay_seconds)
                else:
                    error = None
                    break
            delivery = Delivery(rule, str(target.get("Id", "")), target["Arn"], event, payload, attempts, error)
            if error:
                logger.error("event %s from rule %s not delivered to %s: %s", event["id"], rule, target["Arn"], error)
            with self._idle:
                self.deliveries.append(delivery)
        finally:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    def _send(self, arn: str, payload: str, role_arn: str | None = None) -> None:
        if _service(arn) == "lambda":
            # EventBridge invokes the function itself, let in by the function's resource-based policy
            # (AWS::Lambda::Permission); a Lambda target has no RoleArn to sign with.
            function = self._functions.find(arn) if self._functions else None
            if self._functions is None or function is None:
                raise DeliveryError(f"function {arn} is not registered in the local runtime")
            result = self._functions.invoke(function, payload.encode())
            if result.status != 200 or result.function_error:
                raise DeliveryError(result.error_type or _function_error(result.body))
            return
        sfn = boto3.session.Session().client(  # type: ignore[call-overload]
            "stepfunctions",
            endpoint_url=self._endpoint_url,
            region_name=arn.split(":")[3],
            **signing_credentials(self._principals, role_arn, "events.amazonaws.com"),
        )
        sfn.start_execution(stateMachineArn=arn, name=str(uuid.uuid4()), input=payload)


def signing_credentials(principals: Principals | None, role_arn: str | None, service: str) -> dict[str, str]:
    """boto3's credential arguments for a call `service` makes as a session of `role_arn`; the account's own
    (unrestricted) without a role or principals.

    EventBridge and EventBridge Scheduler name the sessions of a target's role as they like (not documented): here
    32 letters of no meaning, as Step Functions names its own.
    """
    if principals is None or not role_arn:
        return {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    issued = principals.issue(role_arn, opaque_session_name(service, role_arn))
    return {
        "aws_access_key_id": issued.access_key_id,
        "aws_secret_access_key": issued.secret_access_key,
        "aws_session_token": issued.session_token,
    }


def target_input(target: Mapping[str, Any], event: Mapping[str, Any]) -> str:
    """The text EventBridge sends the target: the event, or its Input, InputPath or InputTransformer.

    Raises ValueError for an InputTransformer whose result is not JSON.
    """
    if "Input" in target:
        return str(target["Input"])
    if "InputPath" in target:
        matches = jsonpath(target["InputPath"]).find(event)
        return json.dumps(matches[0].value if matches else None)
    if "InputTransformer" in target:
        transformer = target["InputTransformer"]
        # moto's parser also resolves <aws.events.event.ingestion-time>, which is not part of a delivered event.
        transformed = EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event={**event, "ingestion-time": event["time"]},  # type: ignore[arg-type,typeddict-item]
        )
        return json.dumps(transformed)
    return json.dumps(event)


def put_events(entries: Sequence[Mapping[str, Any]], *, region: str, account: str = ACCOUNT) -> list[dict[str, Any]]:
    """PutEvents for the runtime's own emitters (AWS services): the entries as boto3 takes them.

    Returns PutEvents' result entries (an EventId, or ErrorCode and ErrorMessage for a rejected entry).
    """
    result: list[dict[str, Any]] = events_backends[account][region].put_events([dict(e) for e in entries])
    return result


def aws_time(moment: datetime | float | int | str) -> str:
    """An event's time as EventBridge writes it: `2021-02-24T17:00:14Z` (naive datetimes are UTC)."""
    if isinstance(moment, str):
        return moment
    if isinstance(moment, datetime):
        when = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    else:
        when = datetime.fromtimestamp(moment, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


_attached: list[EventBus] = []
_attached_lock = threading.Lock()
_original_send_to_targets: Callable[..., None] | None = None


def install() -> None:
    """Route the events moto's rules match to the attached buses; calling it again does nothing."""
    global _original_send_to_targets
    if _original_send_to_targets is None:
        _original_send_to_targets = Rule.send_to_targets
        Rule.send_to_targets = _send_to_targets  # type: ignore[method-assign,assignment]


def _send_to_targets(self: Rule, original_event: dict[str, Any], transform_input: bool = True) -> None:
    if self.state == "DISABLED" or not self.event_pattern.get_pattern():
        return
    event = _delivered_event(original_event)
    if not self.event_pattern.matches_event(event):  # type: ignore[arg-type]
        return
    local = [target for target in self.targets if _service(target["Arn"]) in _LOCAL_SERVICES]
    others = [target for target in self.targets if target not in local]
    if others and _original_send_to_targets is not None:
        rule = copy.copy(self)
        rule.targets = others
        _original_send_to_targets(rule, original_event, transform_input)
    for target in local:
        bus = _bus_for(target["Arn"])
        if bus is None:
            logger.error("event %s from rule %s: no local target %s", event["id"], self.name, target["Arn"])
        else:
            bus.deliver(self.name, target, event)


def _bus_for(arn: str) -> EventBus | None:
    with _attached_lock:
        buses = list(reversed(_attached))  # the newest local AWS first: it owns the state moto now holds
    return next((bus for bus in buses if bus.handles(arn)), None)


def _delivered_event(message: Mapping[str, Any]) -> dict[str, Any]:
    """The event as a target receives it: EventBridge's fields, without moto's ingestion time."""
    keys = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")
    event = {key: copy.deepcopy(message[key]) for key in keys if key in message}
    event["time"] = aws_time(message.get("time") or time.time())
    return event


def _function_error(body: bytes) -> str:
    """`errorType: errorMessage` of a failed invocation, without the stack trace."""
    try:
        error = json.loads(body)
        return f"{error.get('errorType')}: {error.get('errorMessage')}"
    except (ValueError, AttributeError):
        return body.decode(errors="replace")


def _service(arn: str) -> str:
    parts = arn.split(":")
    return parts[2] if len(parts) > 2 and parts[0] == "arn" else ""
