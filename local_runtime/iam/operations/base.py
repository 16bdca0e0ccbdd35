"""What a request to the local AWS asks of IAM: the action(s), resource(s) and condition keys to authorize.

One module a service maps its requests (s3, ssm, ...); `operation_of` dispatches on the service the request's
signature names. A request no module maps is "not checked" (its `requests` are None), never denied.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from local_runtime.iam.policy import Request

Environ = dict[str, Any]
# Requests reach the local AWS over http: aws:SecureTransport is "false" for every one of them.
TRANSPORT = {"aws:SecureTransport": "false"}


@dataclass(frozen=True)
class Operation:
    """What a request asks IAM: the service's own name for the operation (for the log) and the requests to
    authorize (a copy authorizes reading its source and writing its target); None: not mapped, not checked."""

    service: str
    name: str
    requests: tuple[Request, ...] | None


def peek(environ: Environ) -> bytes:
    """The request's body, put back for whoever reads it next."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body: bytes = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body
