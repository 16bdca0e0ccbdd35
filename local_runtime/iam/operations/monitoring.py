"""CloudWatch's and CloudWatch Logs' requests as `cloudwatch:` and `logs:` actions.

CloudWatch: botocore 1.44 calls it in awsJson 1.0 (`X-Amz-Target: GraniteServiceVersion20100801.<Op>`, with
`x-amzn-query-mode: true`; its model lists smithy-rpc-v2-cbor, json and query, and the client sends JSON), older
clients in the query protocol (`Action=<Op>` form). PutMetricData supports no resource (`*`) and carries
`cloudwatch:namespace` (Service Authorization Reference); alarms are `arn:aws:cloudwatch:<region>:<account>:
alarm:<name>`. Logs (JSON 1.1, `Logs_20140328.<Op>`): a group is `arn:aws:logs:<region>:<account>:log-group:<name>`,
a stream `...:log-group:<group>:log-stream:<stream>`; DescribeLogGroups supports only `*`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from local_runtime.iam.operations.base import Environ, Operation, Protocol, json_body, peek, request

_METRICS_ANY = frozenset({"GetMetricStatistics", "GetMetricData", "ListMetrics", "PutMetricData"})
_ALARMS = frozenset({"PutMetricAlarm", "DeleteAlarms", "DescribeAlarms", "EnableAlarmActions", "DisableAlarmActions"})
_LOG_GROUP = frozenset({"CreateLogGroup", "DeleteLogGroup", "DescribeLogStreams", "FilterLogEvents"})
_LOG_GROUP |= frozenset({"PutRetentionPolicy", "DeleteRetentionPolicy"})
_LOG_STREAM = frozenset({"CreateLogStream", "PutLogEvents", "GetLogEvents", "DeleteLogStream"})


def cloudwatch(region: str, account: str, environ: Environ) -> Operation:
    """The `cloudwatch:` action of a JSON (query-compatible) or query-protocol request."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        protocol, operation = Protocol.QUERY_JSON, target.rsplit(".", 1)[-1]
        body = json_body(environ)
    else:
        protocol = Protocol.QUERY
        form = parse_qs(peek(environ).decode(errors="replace"))
        operation = form.get("Action", [""])[0]
        body = {key: values[0] for key, values in form.items()}
    if body is None:
        return Operation("cloudwatch", operation, None, protocol)
    requests = _cloudwatch_requests(operation, region, account, body)
    return Operation("cloudwatch", operation, requests, protocol)


def _cloudwatch_requests(operation: str, region: str, account: str, body: Mapping[str, Any]) -> tuple[Any, ...] | None:
    action = f"cloudwatch:{operation}"
    if operation == "PutMetricData":
        return (request(action, "*", {"cloudwatch:namespace": str(body.get("Namespace", ""))}),)
    if operation in _METRICS_ANY:
        return (request(action, "*"),)
    if operation not in _ALARMS:
        return None
    alarm = f"arn:aws:cloudwatch:{region}:{account}:alarm:"
    names = body.get("AlarmNames") or [value for key, value in body.items() if key.startswith("AlarmNames.member.")]
    if operation == "PutMetricAlarm":
        names = [body.get("AlarmName", "")]
    if operation == "DescribeAlarms" and not names:
        names = ["*"]
    return tuple(request(action, f"{alarm}{name}") for name in names)


def logs(operation: str, region: str, account: str, environ: Environ) -> Operation:
    """The `logs:` action of a CloudWatch Logs request, on its group or stream."""
    action = f"logs:{operation}"
    if operation == "DescribeLogGroups":
        return Operation("logs", operation, (request(action, "*"),))
    body = json_body(environ)
    if body is None or operation not in _LOG_GROUP | _LOG_STREAM:
        return Operation("logs", operation, None)
    group = f"arn:aws:logs:{region}:{account}:log-group:{body.get('logGroupName', '')}"
    if operation in _LOG_STREAM:
        group = f"{group}:log-stream:{body.get('logStreamName', '')}"
    return Operation("logs", operation, (request(action, group),))
