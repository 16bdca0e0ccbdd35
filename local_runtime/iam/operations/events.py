"""EventBridge's PutEvents (JSON 1.1, `AWSEvents.PutEvents`) and EventBridge Scheduler's requests (REST-JSON).

PutEvents acts on each event bus its entries name (`arn:aws:events:<region>:<account>:event-bus/<name>`, `default`
when unnamed) with `events:source` and `events:detail-type` (Service Authorization Reference). Scheduler: a schedule
is `arn:aws:scheduler:<region>:<account>:schedule/<group>/<name>` (group `default` when the `groupName` query
parameter is missing), a group `...:schedule-group/<name>`; CreateSchedule and UpdateSchedule also pass the target's
role (`iam:PassRole`, `iam:PassedToService` `scheduler.amazonaws.com`); ListSchedules supports only `*`.
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote

from local_runtime.iam.operations.base import Environ, Operation, Protocol, json_body, pass_role, request

_SCHEDULE_ACTIONS = {
    "POST": "CreateSchedule",
    "GET": "GetSchedule",
    "PUT": "UpdateSchedule",
    "DELETE": "DeleteSchedule",
}
_GROUP_ACTIONS = {"POST": "CreateScheduleGroup", "GET": "GetScheduleGroup", "DELETE": "DeleteScheduleGroup"}


def put_events(region: str, account: str, environ: Environ) -> Operation:
    """events:PutEvents on each bus the entries name, with each entry's source and detail type."""
    body = json_body(environ)
    if body is None:
        return Operation("events", "PutEvents", None)
    requests = {}
    for entry in body.get("Entries", []) or []:
        bus = str(entry.get("EventBusName") or "default")
        arn = bus if bus.startswith("arn:") else f"arn:aws:events:{region}:{account}:event-bus/{bus}"
        context = {
            "events:source": str(entry.get("Source", "")),
            "events:detail-type": str(entry.get("DetailType", "")),
        }
        requests[(arn, *context.values())] = request("events:PutEvents", arn, context)
    return Operation("events", "PutEvents", tuple(requests.values()))


def scheduler(region: str, account: str, environ: Environ) -> Operation:
    """The `scheduler:` action of a Scheduler REST request, on its schedule or group."""
    method = environ.get("REQUEST_METHOD", "")
    segments = [unquote(part) for part in environ.get("PATH_INFO", "").strip("/").split("/")]
    prefix = f"arn:aws:scheduler:{region}:{account}"
    if segments == ["schedules"] and method == "GET":
        return Operation("scheduler", "ListSchedules", (request("scheduler:ListSchedules", "*"),), Protocol.REST_JSON)
    if segments == ["schedule-groups"] and method == "GET":
        action = "scheduler:ListScheduleGroups"
        return Operation("scheduler", "ListScheduleGroups", (request(action, "*"),), Protocol.REST_JSON)
    if len(segments) == 2 and segments[0] == "schedule-groups" and method in _GROUP_ACTIONS:
        operation = _GROUP_ACTIONS[method]
        authorized = (request(f"scheduler:{operation}", f"{prefix}:schedule-group/{segments[1]}"),)
        return Operation("scheduler", operation, authorized, Protocol.REST_JSON)
    if len(segments) != 2 or segments[0] != "schedules" or method not in _SCHEDULE_ACTIONS:
        return Operation("scheduler", f"{method} /{segments[0]}", None, Protocol.REST_JSON)
    operation = _SCHEDULE_ACTIONS[method]
    query = parse_qs(environ.get("QUERY_STRING", ""))
    body = json_body(environ) if method in ("POST", "PUT") else {}
    if body is None:
        return Operation("scheduler", operation, None, Protocol.REST_JSON)
    group = query.get("groupName", [None])[0] or str(body.get("GroupName") or "default")
    requests = [request(f"scheduler:{operation}", f"{prefix}:schedule/{group}/{segments[1]}")]
    role = (body.get("Target") or {}).get("RoleArn")
    if role:
        requests.append(pass_role(str(role), "scheduler.amazonaws.com"))
    return Operation("scheduler", operation, tuple(requests), Protocol.REST_JSON)
