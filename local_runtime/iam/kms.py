"""KMS keys for IAM: the template's keys created in moto's KMS under their template ARNs, their key policies read at
check time, and the KMS permissions S3 asks of a caller on an SSE-KMS bucket.

What S3 asks for (Amazon S3 User Guide, "Using server-side encryption with AWS KMS keys (SSE-KMS)", and the
"Permissions" of PutObject, GetObject, CopyObject and CreateMultipartUpload in the S3 API Reference; checked 2026-12):
- PutObject of an object encrypted with a KMS key: kms:GenerateDataKey on the key;
- GetObject of such an object: kms:Decrypt on the key (HeadObject reads no data and needs neither);
- CopyObject: kms:Decrypt on the source's key and kms:GenerateDataKey on the target's;
- CreateMultipartUpload: kms:GenerateDataKey and kms:Decrypt (the parts and the completion are not checked again);
- S3 calls KMS on the caller's behalf, so the request carries kms:ViaService = `s3.<region>.amazonaws.com` and
  kms:CallerAccount, and the encryption context `aws:s3:arn`: the object's ARN, or the bucket's with an S3 Bucket Key.
A denial is S3's 403 AccessDenied naming the KMS action and the key ARN, unquoted: `User: arn:aws:sts::<account>:
assumed-role/<role>/<session> is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:<region>:<account>:
key/<id> because no identity-based policy allows the kms:Decrypt action`, status 403 (github.com/ministryofjustice/
modernisation-platform/pull/11726, an S3 read; pull/10745 in modernisation-platform-environments alike).

An object encrypted with the AWS managed key aws/s3 (SSE-KMS without a key id) asks for nothing here: that key's policy
lets every principal of the account use it through S3 (KMS Developer Guide, "AWS managed keys").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, unquote

from moto.kms.models import KmsBackend, kms_backends

from local_runtime.iam import s3_objects
from local_runtime.iam.operations.base import TRANSPORT
from local_runtime.iam.policy import Request
from local_runtime.template import KmsKey

_OBJECT_READS = frozenset({"s3:GetObject", "s3:GetObjectVersion"})


def put_key(key: KmsKey, *, region: str, account: str) -> None:
    """Create the template's key in moto's KMS under the id its ARN names (KMS lets no caller choose a key id, so the
    key is created by moto and then filed under the template's id); a key already there keeps its policy, as
    CloudFormation leaves an unchanged resource."""
    backend: KmsBackend = kms_backends[account][region]
    if key.key_id in backend.keys:
        return
    created = backend.create_key(
        policy=json.dumps(key.policy),
        key_usage="ENCRYPT_DECRYPT",
        key_spec="SYMMETRIC_DEFAULT",
        description=key.description,
        tags=None,
    )
    del backend.keys[created.id]
    created.id, created.arn = key.key_id, key.arn
    backend.keys[key.key_id] = created


def key_policy(key_arn: str) -> Mapping[str, Any] | None:
    """The key policy of the key an ARN names (`arn:aws:kms:<region>:<account>:key/<id>`), None if the local KMS does
    not hold that key."""
    _, _, _, region, account, resource = key_arn.split(":", 5)
    backend = _backend(account, region)
    found = backend.keys.get(resource.removeprefix("key/")) if backend is not None else None
    if found is None:
        return None
    return _parsed(str(found.policy))


def requests_via_s3(
    environ: Mapping[str, Any], requests: tuple[Request, ...], *, region: str, account: str
) -> tuple[Request, ...]:
    """The KMS requests S3 makes on the caller's behalf for an S3 request already mapped to `requests`."""
    method = environ.get("REQUEST_METHOD")
    query = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
    via: list[Request] = []
    for request in requests:
        bucket, _, key = request.resource.removeprefix("arn:aws:s3:::").partition("/")
        if not key:
            continue
        if request.action in _OBJECT_READS and method in ("GET", "PUT"):  # GetObject, or a copy's source
            source_version = _copy_source_version(environ) if method == "PUT" else _first(query, "versionId")
            encryption = s3_objects.object_encryption(bucket, key, source_version)
            via += _kms(["kms:Decrypt"], encryption, bucket, key, region=region, account=account)
        elif request.action == "s3:PutObject" and "uploadId" not in query:
            actions = ["kms:GenerateDataKey", "kms:Decrypt"] if method == "POST" else ["kms:GenerateDataKey"]
            via += _kms(actions, _new_object_encryption(environ, bucket), bucket, key, region=region, account=account)
    return tuple(via)


def _new_object_encryption(environ: Mapping[str, Any], bucket: str) -> s3_objects.Encryption | None:
    """How S3 encrypts the object a PutObject, CopyObject or CreateMultipartUpload writes: as its headers ask, else as
    the bucket's default encryption (moto stores it so, and GetObject then reads that key)."""
    algorithm = str(environ.get("HTTP_X_AMZ_SERVER_SIDE_ENCRYPTION", ""))
    default = s3_objects.default_encryption(bucket)
    if not algorithm:
        return default
    if not algorithm.startswith("aws:kms"):
        return None
    key_id = environ.get("HTTP_X_AMZ_SERVER_SIDE_ENCRYPTION_AWS_KMS_KEY_ID") or (
        default.kms_key_id if default else None
    )
    bucket_key = str(environ.get("HTTP_X_AMZ_SERVER_SIDE_ENCRYPTION_BUCKET_KEY_ENABLED", "")).lower() == "true"
    return s3_objects.Encryption(key_id, bucket_key or bool(default and default.bucket_key))


def _kms(
    actions: list[str],
    encryption: s3_objects.Encryption | None,
    bucket: str,
    key: str,
    *,
    region: str,
    account: str,
) -> list[Request]:
    if encryption is None or encryption.kms_key_id is None:
        return []
    arn = _key_arn(encryption.kms_key_id, region=region, account=account)
    context_arn = f"arn:aws:s3:::{bucket}" if encryption.bucket_key else f"arn:aws:s3:::{bucket}/{key}"
    context = {
        **TRANSPORT,
        "kms:ViaService": f"s3.{region}.amazonaws.com",
        "kms:CallerAccount": account,
        "kms:EncryptionContext:aws:s3:arn": context_arn,
        "kms:EncryptionContextKeys": ["aws:s3:arn"],
    }
    return [Request(action, arn, context) for action in actions]


def _key_arn(key_id: str, *, region: str, account: str) -> str:
    """The key ARN for any way S3 may name a key: its ARN, its id, an alias name or an alias ARN."""
    if key_id.startswith("arn:") and ":key/" in key_id:
        return key_id
    if key_id.startswith("arn:") and ":alias/" in key_id:
        _, _, _, region, account, alias = key_id.split(":", 5)
        key_id = alias
    if key_id.startswith("alias/"):
        backend = _backend(account, region)
        found = next((k for k in backend.keys.values() if key_id in k.aliases), None) if backend else None
        if found is not None:
            return str(found.arn)
    return f"arn:aws:kms:{region}:{account}:key/{key_id}"


def _copy_source_version(environ: Mapping[str, Any]) -> str | None:
    source = unquote(str(environ.get("HTTP_X_AMZ_COPY_SOURCE", "")))
    return source.partition("?versionId=")[2] or None


def _first(query: Mapping[str, list[str]], name: str) -> str | None:
    return query[name][0] if name in query else None


def _backend(account: str, region: str) -> KmsBackend | None:
    """moto's KMS of that account and region if it has been used (looking a key up must not create one)."""
    for backend_account, backend_region, backend in kms_backends.iter_backends():
        if (backend_account, backend_region) == (account, region):
            return backend  # type: ignore[return-value]
    return None


@lru_cache(maxsize=256)
def _parsed(policy: str) -> Mapping[str, Any]:
    document: Mapping[str, Any] = json.loads(policy)
    return document
