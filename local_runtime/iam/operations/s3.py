"""S3's REST requests as IAM actions (the Service Authorization Reference's names), resources and condition keys."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from urllib.parse import parse_qs, unquote

from local_runtime.iam.operations.base import TRANSPORT, Environ, Operation, Protocol, peek
from local_runtime.iam.policy import Request

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


def operation(environ: Environ) -> Operation:
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


def _s3_object(method: str, bucket: str, key: str, query: Mapping[str, list[str]], environ: Environ) -> Operation:
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


def _s3_bucket(method: str, bucket: str, query: Mapping[str, list[str]], environ: Environ) -> Operation:
    resource = f"arn:aws:s3:::{bucket}"
    subresource = next((name for name in query if name not in _LIST_PARAMETERS), None)
    name = f"{method} bucket{'?' + subresource if subresource else ''}"
    if method == "POST" and subresource == "delete":
        # DeleteObjects is authorized as s3:DeleteObject on each key it names.
        keys = re.findall(r"<Key>(.*?)</Key>", peek(environ).decode(errors="replace"), re.DOTALL)
        return _s3(name, [("DeleteObject", f"{resource}/{html.unescape(key)}") for key in keys])
    if method in ("GET", "HEAD") and subresource is None:  # ListObjects, ListObjectsV2 and HeadBucket alike
        context = {key: query[parameter][0] for parameter, key in _LIST_BUCKET_KEYS.items() if parameter in query}
        absent = frozenset(key for parameter, key in _LIST_BUCKET_KEYS.items() if parameter not in query)
        listing = Request("s3:ListBucket", resource, {**TRANSPORT, **context}, absent)
        return Operation("s3", name, (listing,), Protocol.REST_XML)
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


def _s3(name: str, requests: list[tuple[str, str]] | None) -> Operation:
    """The operation authorized as these (action, resource) pairs, or not checked (None)."""
    if requests is None:
        return Operation("s3", name, None, Protocol.REST_XML)
    authorized = tuple(Request(f"s3:{action}", resource, TRANSPORT) for action, resource in requests)
    return Operation("s3", name, authorized, Protocol.REST_XML)
