"""Requests to the local AWS as IAM sees them: which actions on which resources, with which condition keys.

`operation_of` dispatches on the service named by the request's signature to that service's module. A service
without a module, or an operation its module does not map, is "not checked": allowed, and reported once.
"""

from __future__ import annotations

from local_runtime.iam.operations import s3, ssm
from local_runtime.iam.operations.base import Environ, Operation
from local_runtime.iam.principals import RoleSession

__all__ = ["Operation", "operation_of"]


def operation_of(service: str, region: str, session: RoleSession, environ: Environ) -> Operation:
    """What `session`'s request asks of IAM; `service` and `region` are those its signature names."""
    account = session.role_arn.split(":")[4]
    if service == "s3":
        return s3.operation(environ)
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if service == "ssm" and target.startswith("AmazonSSM."):
        return ssm.operation(target.split(".", 1)[1], region, account, environ)
    name = target.rsplit(".", 1)[-1] if target else f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"
    if not target and "PATH_INFO" in environ:  # REST APIs: name the first path segment, not every resource
        name = f"{environ.get('REQUEST_METHOD')} /{environ['PATH_INFO'].lstrip('/').split('/', 1)[0]}"
    return Operation(service, name, None)
