"""Lambda's Invoke (REST-JSON, `POST /2015-03-31/functions/<name or ARN>/invocations`) as `lambda:InvokeFunction`.

The resource is the function's ARN, `arn:aws:lambda:<region>:<account>:function:<name>`, qualified
(`...:<name>:<version or alias>`) when the call names a qualifier, in the `Qualifier` query parameter or after the
name (the Lambda Developer Guide, "Resource-based policies": an unqualified ARN in a grant does not allow invoking
a qualified one, hence CDK's grants name both `<arn>` and `<arn>:*`; airbnb/streamalert PR 289).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote

from local_runtime.iam.operations.base import Environ, Operation, Protocol, request

SERVICE = "lambda"
_INVOKE = re.compile(r"^/2015-03-31/functions/(?P<function>[^/]+)/invocations/?$")


def operation(region: str, account: str, environ: Environ) -> Operation:
    """lambda:InvokeFunction on the function an Invoke names; other Lambda requests are not mapped here."""
    method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
    invoked = _INVOKE.match(path)
    if method != "POST" or invoked is None:
        return Operation(
            SERVICE, f"{method} /{path.lstrip('/').split('/', 2)[-1].split('/', 1)[0]}", None, Protocol.REST_JSON
        )
    function = unquote(invoked["function"])
    qualifier = parse_qs(environ.get("QUERY_STRING", "")).get("Qualifier", [None])[0]
    if function.startswith("arn:"):
        parts = function.split(":")
        region, account, name = parts[3], parts[4], parts[6]
        qualifier = qualifier or (parts[7] if len(parts) > 7 else None)
    else:  # a name, `<name>:<qualifier>`, or a partial ARN `<account>:function:<name>`
        parts = function.split(":")
        if len(parts) >= 3 and parts[1] == "function":
            account, name, rest = parts[0], parts[2], parts[3:]
        else:
            name, rest = parts[0], parts[1:]
        qualifier = qualifier or (rest[0] if rest else None)
    arn = f"arn:aws:lambda:{region}:{account}:function:{name}" + (f":{qualifier}" if qualifier else "")
    return Operation(SERVICE, "Invoke", (request("lambda:InvokeFunction", arn),), Protocol.REST_JSON)
