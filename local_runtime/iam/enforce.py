"""IAM enforced at the local AWS's door: S3 and SSM requests signed with a role session's credentials are
authorized against that role's identity policies, and a denied one is answered as AWS answers it.

What is checked in this increment: identity policies only (inline, AWS::IAM::Policy, the template's managed policies)
of the roles the template defines, for S3 and SSM. Bucket policies, KMS key policies, other services and the
account's own credentials are not checked; a request this module cannot judge (another service, an S3 or SSM
operation without a mapping here, a condition key the request does not carry) is allowed and logged once as
"IAM not checked".

The denials' wording is AWS's, as users report it (checked 2026-12):
- S3, HTTP 403, XML: `User: arn:aws:sts::<account>:assumed-role/<role>/<session> is not authorized to perform:
  s3:ListBucket on resource: "arn:aws:s3:::<bucket>" because no identity-based policy allows the s3:ListBucket
  action` (github.com/schubergphilis/terraform-aws-mcaf-securityhub-findings-manager/pull/64, from a Lambda;
  github.com/aws-ia/terraform-aws-bedrock/issues/41 for s3:GetObject: "Status Code: 403");
- SSM, HTTP 400, JSON `AccessDeniedException`: `User: ... is not authorized to perform: ssm:GetParametersByPath on
  resource: arn:aws:ssm:<region>:<account>:parameter/aft/account-request/custom-fields/ because no identity-based
  policy allows the ssm:GetParametersByPath action` (github.com/aws-ia/terraform-aws-control_tower_account_factory/
  issues/174; the 400 status: github.com/github-aws-runners/terraform-aws-github-runner/issues/1279);
- an explicit deny ends in `with an explicit deny in an identity-based policy` (the IAM User Guide's
  "Troubleshoot access denied error messages"; `... in a resource-based policy` for S3 in
  github.com/noobaa/noobaa-core/issues/10060).
"""

from __future__ import annotations

import html
import io
import json
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

from local_runtime.iam.policy import Decision, Effect, NamedPolicy, Request, evaluate
from local_runtime.iam.principals import Principals, RoleSession
from local_runtime.iam.roles import TemplateRole

logger = logging.getLogger("local_runtime.iam")

_CREDENTIAL = re.compile(r"Credential=(?P<key>[^/]+)/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/")
# Requests reach the local AWS over http: aws:SecureTransport is "false" for every one of them.
_TRANSPORT = {"aws:SecureTransport": "false"}
# The ListObjects(V2) parameters that are condition keys of s3:ListBucket (Service Authorization Reference).
_LIST_BUCKET_KEYS = {"prefix": "s3:prefix", "delimiter": "s3:delimiter", "max-keys": "s3:max-keys"}
_LIST_PARAMETERS = frozenset(
    {"prefix", "delimiter", "marker", "max-keys", "list-type", "continuation-token", "start-after", "encoding-type"}
    | {"fetch-owner", "x-id"}
)
_OBJECT_GET = {"tagging": "GetObjectTagging", "acl": "GetObjectAcl", "uploadId": "ListMultipartUploadParts"}
_OBJECT_PUT = {"tagging": "PutObjectTagging", "acl": "PutObjectAcl"}
_OBJECT_DELETE = {"tagging": "DeleteObjectTagging", "uploadId": "AbortMultipartUpload"}
_BUCKET_GET = {
    "versions": "ListBucketVersions",
    "uploads": "ListBucketMultipartUploads",
    "location": "GetBucketLocation",
    "tagging": "GetBucketTagging",
    "notification": "GetBucketNotification",
    "policy": "GetBucketPolicy",
    "versioning": "GetBucketVersioning",
    "acl": "GetBucketAcl",
    "encryption": "GetEncryptionConfiguration",
    "lifecycle": "GetLifecycleConfiguration",
}
_BUCKET_PUT = {
    "notification": "PutBucketNotification",
    "tagging": "PutBucketTagging",
    "policy": "PutBucketPolicy",
    "versioning": "PutBucketVersioning",
    "acl": "PutBucketAcl",
    "encryption": "PutEncryptionConfiguration",
    "lifecycle": "PutLifecycleConfiguration",
}
# DeleteBucketTagging, ...Encryption and ...Lifecycle are authorized by the Put action (Service Authorization Ref.).
_BUCKET_DELETE = {
    "policy": "DeleteBucketPolicy",
    "tagging": "PutBucketTagging",
    "encryption": "PutEncryptionConfiguration",
    "lifecycle": "PutLifecycleConfiguration",
}
# SSM operations by the request field naming the parameter(s): the action is the operation's name.
_SSM_BY_NAME = frozenset(
    {"GetParameter", "PutParameter", "DeleteParameter", "GetParameterHistory", "LabelParameterVersion"}
    | {"UnlabelParameterVersion"}
)
_SSM_BY_NAMES = frozenset({"GetParameters", "DeleteParameters"})


@dataclass(frozen=True)
class Denial:
    """A denied request's answer: status, headers and body as AWS sends them."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class _Operation:
    """What a request asks IAM: the service's own name for the operation (for the log) and the requests to
    authorize (a copy authorizes reading its source and writing its target); None: not mapped, not checked."""

    service: str
    name: str
    requests: tuple[Request, ...] | None


class IamEnforcement:
    """Authorizes requests signed by the role sessions of `principals` against their roles' identity policies."""

    def __init__(self, principals: Principals) -> None:
        self.principals = principals
        self._policies: dict[str, tuple[NamedPolicy, ...]] = {}
        self._logged: set[tuple[str, ...]] = set()
        self._lock = threading.Lock()

    def add_roles(self, roles: Iterable[TemplateRole]) -> None:
        """Enforce these roles' identity policies (a deployed stack's roles); a role added again is replaced."""
        for role in roles:
            self._policies[role.arn] = tuple(NamedPolicy(p.arn or p.name, p.document) for p in role.policies)

    def check(self, environ: dict[str, Any]) -> Denial | None:
        """The answer to a denied request, or None to let it through (unrestricted, allowed or not checked).

        Reads the body of an SSM request or of an S3 DeleteObjects and puts it back for the services to read.
        """
        signed = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
        if signed is None:
            return None
        session = self.principals.find(signed["key"])
        if session is None:  # the account's own credentials: unrestricted, as an administrator's
            return None
        operation = _operation(signed["service"], signed["region"], session, environ)
        if operation.requests is None:
            self._not_checked(operation.service, operation.name, "no IAM mapping for it here")
            return None
        policies = self._policies.get(session.role_arn)
        if policies is None:
            self._not_checked(operation.service, operation.name, f"the policies of {session.role_arn} are not known")
            return None
        for request in operation.requests:
            decision = evaluate(policies, request)
            for key in sorted(decision.unchecked):
                self._not_checked(operation.service, f"{request.action} condition {key}", "not in the request")
            if not decision.allowed:
                _drain(environ)  # a client still sending its body must not see the connection reset
                return _denial(operation.service, session, request, decision)
        return None

    def _not_checked(self, service: str, what: str, why: str) -> None:
        with self._lock:
            if (service, what) in self._logged:
                return
            self._logged.add((service, what))
        logger.warning("IAM not checked: %s %s (%s); allowed", service, what, why)


def _operation(service: str, region: str, session: RoleSession, environ: dict[str, Any]) -> _Operation:
    if service == "s3":
        return _s3_operation(environ)
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if service == "ssm" and target.startswith("AmazonSSM."):
        account = session.role_arn.split(":")[4]
        return _ssm_operation(target.split(".", 1)[1], region, account, environ)
    name = target.rsplit(".", 1)[-1] if target else f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"
    if not target and "PATH_INFO" in environ:  # REST APIs: name the first path segment, not every resource
        name = f"{environ.get('REQUEST_METHOD')} /{environ['PATH_INFO'].lstrip('/').split('/', 1)[0]}"
    return _Operation(service, name, None)


def _s3_operation(environ: dict[str, Any]) -> _Operation:
    """The S3 action(s) of a path-style request (`/<bucket>/<key>`, as boto3 sends to an address) or of a
    virtual-hosted one (`<bucket>.localhost`), with their resources and condition keys."""
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "/")  # WSGI gives it percent-decoded: the key as the client named it
    host = environ.get("HTTP_HOST", "").rsplit(":", 1)[0]
    if host.endswith(".localhost"):
        bucket, key = host.removesuffix(".localhost"), path.lstrip("/")
    else:
        bucket, _, key = path.lstrip("/").partition("/")
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if not bucket:
        action = "ListAllMyBuckets" if method == "GET" else None
        return _s3(f"{method} /", [(action, "*")] if action else None)
    if key:
        return _s3_object(method, bucket, key, query, environ)
    return _s3_bucket(method, bucket, query, environ)


def _s3_object(
    method: str, bucket: str, key: str, query: Mapping[str, list[str]], environ: dict[str, Any]
) -> _Operation:
    resource = f"arn:aws:s3:::{bucket}/{key}"
    version = "versionId" in query
    subresource = next((name for name in query if name not in ("versionId", "partNumber", "x-id")), None)
    action: str | None
    if method in ("GET", "HEAD"):
        action = _OBJECT_GET.get(subresource) if subresource else ("GetObjectVersion" if version else "GetObject")
        if action == "GetObjectTagging" and version:
            action = "GetObjectVersionTagging"
    elif method == "PUT":
        action = _OBJECT_PUT.get(subresource) if subresource and subresource != "uploadId" else "PutObject"
    elif method == "POST":
        action = "PutObject" if subresource in ("uploads", "uploadId") else None
    elif method == "DELETE":
        action = (
            _OBJECT_DELETE.get(subresource) if subresource else ("DeleteObjectVersion" if version else "DeleteObject")
        )
    else:
        action = None
    name = f"{method} object{'?' + subresource if subresource else ''}"
    if action is None:
        return _s3(name, None)
    requests = [(action, resource)]
    source = environ.get("HTTP_X_AMZ_COPY_SOURCE")
    if method == "PUT" and source:  # CopyObject, UploadPartCopy: the source is read, the target written
        source_path, _, source_query = source.lstrip("/").partition("?versionId=")
        read = "GetObjectVersion" if source_query else "GetObject"
        requests.insert(0, (read, f"arn:aws:s3:::{unquote(source_path)}"))
    return _s3(name, requests)


def _s3_bucket(method: str, bucket: str, query: Mapping[str, list[str]], environ: dict[str, Any]) -> _Operation:
    resource = f"arn:aws:s3:::{bucket}"
    subresource = next((name for name in query if name not in _LIST_PARAMETERS), None)
    name = f"{method} bucket{'?' + subresource if subresource else ''}"
    if method == "POST" and subresource == "delete":
        # DeleteObjects is authorized as s3:DeleteObject on each key it names.
        keys = re.findall(r"<Key>(.*?)</Key>", _peek(environ).decode(errors="replace"), re.DOTALL)
        return _s3(name, [("DeleteObject", f"{resource}/{html.unescape(key)}") for key in keys])
    if method in ("GET", "HEAD") and subresource is None:  # ListObjects, ListObjectsV2 and HeadBucket alike
        context = {key: query[parameter][0] for parameter, key in _LIST_BUCKET_KEYS.items() if parameter in query}
        absent = frozenset(key for parameter, key in _LIST_BUCKET_KEYS.items() if parameter not in query)
        return _Operation("s3", name, (Request("s3:ListBucket", resource, {**_TRANSPORT, **context}, absent),))
    action: str | None
    if method == "GET":
        action = _BUCKET_GET.get(subresource or "")
    elif method == "PUT":
        action = _BUCKET_PUT.get(subresource or "") if subresource else "CreateBucket"
    elif method == "DELETE":
        action = _BUCKET_DELETE.get(subresource or "") if subresource else "DeleteBucket"
    else:
        action = None
    return _s3(name, [(action, resource)] if action else None)


def _s3(name: str, requests: list[tuple[str, str]] | None) -> _Operation:
    """The operation authorized as these (action, resource) pairs, or not checked (None)."""
    if requests is None:
        return _Operation("s3", name, None)
    return _Operation("s3", name, tuple(Request(f"s3:{action}", resource, _TRANSPORT) for action, resource in requests))


def _ssm_operation(operation: str, region: str, account: str, environ: dict[str, Any]) -> _Operation:
    """The SSM action of a JSON-protocol request: the operation's name, on the parameter(s) its body names."""
    if operation == "DescribeParameters":
        return _Operation("ssm", operation, (Request("ssm:DescribeParameters", "*", _TRANSPORT),))
    if operation not in _SSM_BY_NAME | _SSM_BY_NAMES | {"GetParametersByPath"}:
        return _Operation("ssm", operation, None)
    try:
        body = json.loads(_peek(environ) or b"{}")
    except ValueError:
        return _Operation("ssm", operation, None)  # the service answers a malformed body itself
    if operation == "GetParametersByPath":
        names = [str(body.get("Path", ""))]
    elif operation in _SSM_BY_NAMES:
        names = [str(name) for name in body.get("Names", [])]
    else:
        names = [str(body.get("Name", ""))]
    resources = [_parameter_arn(name, region, account) for name in names]
    return _Operation("ssm", operation, tuple(Request(f"ssm:{operation}", arn, _TRANSPORT) for arn in resources))


def _parameter_arn(name: str, region: str, account: str) -> str:
    """`/a/b` and `a/b` are both `arn:aws:ssm:<region>:<account>:parameter/a/b`; a version or label selector
    (`name:3`, `name:prod`) is not part of it; a name given as an ARN is that ARN."""
    if name.startswith("arn:"):
        return name.split(":parameter/", 1)[0] + ":parameter/" + name.split(":parameter/", 1)[-1].split(":", 1)[0]
    return f"arn:aws:ssm:{region}:{account}:parameter/{name.split(':', 1)[0].lstrip('/')}"


def _denial(service: str, session: RoleSession, request: Request, decision: Decision) -> Denial:
    reason = (
        "with an explicit deny in an identity-based policy"
        if decision.effect is Effect.EXPLICIT_DENY
        else f"because no identity-based policy allows the {request.action} action"
    )
    if service == "s3":
        message = (
            f"User: {session.arn} is not authorized to perform: {request.action} "
            f'on resource: "{request.resource}" {reason}'
        )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>AccessDenied</Code><Message>{html.escape(message, quote=False)}</Message>"
            "<RequestId>0000000000000000</RequestId><HostId>local</HostId></Error>"
        ).encode()
        return Denial(403, [("Content-Type", "application/xml")], body)
    message = (
        f"User: {session.arn} is not authorized to perform: {request.action} on resource: {request.resource} {reason}"
    )
    body = json.dumps({"__type": "AccessDeniedException", "message": message}).encode()
    return Denial(400, [("Content-Type", "application/x-amz-json-1.1")], body)


def _peek(environ: dict[str, Any]) -> bytes:
    """The request's body, put back for whoever reads it next."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body: bytes = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _drain(environ: dict[str, Any]) -> None:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
