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
# aws:SecureTransport is "true": the local AWS listens on loopback over plain http, as the stand-in for AWS's TLS
# endpoints (every SDK call to AWS uses https), so a policy denying insecure transport (CDK's enforceSSL) denies here
# what it denies on AWS: nothing the code under test sends.
TRANSPORT = {"aws:SecureTransport": "true"}


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
