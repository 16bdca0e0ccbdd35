"""SSM's JSON-protocol requests as IAM actions on parameter ARNs."""

from __future__ import annotations

import json

from local_runtime.iam.operations.base import TRANSPORT, Environ, Operation, peek
from local_runtime.iam.policy import Request

# SSM operations by the request field naming the parameter(s): the action is the operation's name.
_SSM_BY_NAME = frozenset(
    {"GetParameter", "PutParameter", "DeleteParameter", "GetParameterHistory", "LabelParameterVersion"}
    | {"UnlabelParameterVersion"}
)
_SSM_BY_NAMES = frozenset({"GetParameters", "DeleteParameters"})


def operation(operation: str, region: str, account: str, environ: Environ) -> Operation:
    """The SSM action of a JSON-protocol request: the operation's name, on the parameter(s) its body names."""
    if operation == "DescribeParameters":
        return Operation("ssm", operation, (Request("ssm:DescribeParameters", "*", TRANSPORT),))
    if operation not in _SSM_BY_NAME | _SSM_BY_NAMES | {"GetParametersByPath"}:
        return Operation("ssm", operation, None)
    try:
        body = json.loads(peek(environ) or b"{}")
    except ValueError:
        return Operation("ssm", operation, None)  # the service answers a malformed body itself
    if operation == "GetParametersByPath":
        names = [str(body.get("Path", ""))]
    elif operation in _SSM_BY_NAMES:
        names = [str(name) for name in body.get("Names", [])]
    else:
        names = [str(body.get("Name", ""))]
    resources = [_parameter_arn(name, region, account) for name in names]
    return Operation("ssm", operation, tuple(Request(f"ssm:{operation}", arn, TRANSPORT) for arn in resources))


def _parameter_arn(name: str, region: str, account: str) -> str:
    """`/a/b` and `a/b` are both `arn:aws:ssm:<region>:<account>:parameter/a/b`; a version or label selector
    (`name:3`, `name:prod`) is not part of it; a name given as an ARN is that ARN."""
    if name.startswith("arn:"):
        return name.split(":parameter/", 1)[0] + ":parameter/" + name.split(":parameter/", 1)[-1].split(":", 1)[0]
    return f"arn:aws:ssm:{region}:{account}:parameter/{name.split(':', 1)[0].lstrip('/')}"
