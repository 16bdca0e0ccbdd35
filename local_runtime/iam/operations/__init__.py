"""Requests to the local AWS as IAM sees them: which actions on which resources, with which condition keys.

`operation_of` dispatches on the service named by the request's signature to that service's module. A service
without a module, or an operation its module does not map, is "not checked": allowed, and reported once.
"""

from __future__ import annotations

import re

from local_runtime.iam.operations import (
    awslambda,
    events,
    monitoring,
    s3,
    sagemaker,
    secretsmanager,
    ssm,
    stepfunctions,
)
from local_runtime.iam.operations.base import Environ, Lookups, Operation, Protocol, peek
from local_runtime.iam.principals import RoleSession

__all__ = ["Lookups", "Operation", "Protocol", "operation_of"]

_INVOKE_ENDPOINT = re.compile(r"^/endpoints/(?P<endpoint>[^/]+)/invocations/?$")


def operation_of(
    service: str, region: str, session: RoleSession, environ: Environ, lookups: Lookups | None = None
) -> Operation:
    """What `session`'s request asks of IAM; `service` and `region` are those its signature names, `lookups`
    what the mappings may ask of the local AWS's state (without them, what depends on it is not checked)."""
    lookups = lookups or Lookups()
    account = session.role_arn.split(":")[4]
    if service == "s3":
        return s3.operation(environ)
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    prefix, _, name = target.rpartition(".")
    if service == "ssm" and prefix == "AmazonSSM":
        return ssm.operation(name, region, account, environ)
    if service == "sagemaker" and prefix == "SageMaker":
        return sagemaker.operation(name, region, account, environ, lookups)
    invocation = _INVOKE_ENDPOINT.match(environ.get("PATH_INFO", ""))
    if service == "sagemaker" and not target and invocation and environ.get("REQUEST_METHOD") == "POST":
        return sagemaker.invoke_endpoint(invocation["endpoint"], region, account, lookups)
    if service == "states" and prefix == "AWSStepFunctions":
        return stepfunctions.operation(name, region, account, environ, lookups)
    if service == "secretsmanager" and prefix == "secretsmanager":
        return secretsmanager.operation(name, region, account, environ, lookups)
    if service == "lambda":
        return awslambda.operation(region, account, environ)
    if service == "monitoring":
        return monitoring.cloudwatch(region, account, environ)
    if service == "logs" and prefix == "Logs_20140328":
        return monitoring.logs(name, region, account, environ)
    if service == "events" and target == "AWSEvents.PutEvents":
        return events.put_events(region, account, environ)
    if service == "scheduler":
        return events.scheduler(region, account, environ)
    if service == "sts":
        return _sts(environ)
    if not target and "PATH_INFO" in environ:  # REST APIs: name the first path segment, not every resource
        name = f"{environ.get('REQUEST_METHOD')} /{environ['PATH_INFO'].lstrip('/').split('/', 1)[0]}"
    return Operation(service, name or f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}", None)


def _sts(environ: Environ) -> Operation:
    """GetCallerIdentity needs no permission: "No permissions are required to perform this operation" (its API
    reference), even under an explicit deny. Other STS requests are not mapped here."""
    body = peek(environ).decode(errors="replace")
    if "Action=GetCallerIdentity" in body or "GetCallerIdentity" in environ.get("QUERY_STRING", ""):
        return Operation("sts", "GetCallerIdentity", (), Protocol.QUERY)
    return Operation("sts", "STS request", None, Protocol.QUERY)
