"""What moto's S3 holds that an IAM decision depends on: a bucket's policy, its default encryption, whether an object
exists and which KMS key encrypts it. Read at check time, without side effects on moto's state.

Also S3's answer to reading a key that does not exist, which depends on a permission (S3 API Reference, GetObject and
HeadObject, "Permissions", checked 2026-12): with s3:ListBucket on the bucket, 404 NoSuchKey; without it, 403
AccessDenied, so that a caller who may not list cannot learn which keys exist. That 403's message names no action:
"Access Denied" (github.com/aws/aws-cli/issues/2041, a role allowed s3:GetObject only).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from moto.iam.access_control import PermissionResult
from moto.s3.models import FakeBucket, FakeKey, s3_backends

from local_runtime.iam.operations.base import TRANSPORT
from local_runtime.iam.policy import Request

# The message of the 403 that stands for a 404 (see the module docstring).
MISSING_KEY_DENIED = "Access Denied"
_READS = frozenset({"s3:GetObject"})


@dataclass(frozen=True)
class Encryption:
    """How an object is, or a bucket's new objects are, encrypted with SSE-KMS: the key as S3 names it (an ARN, a key
    id or an alias; None for the AWS managed key aws/s3) and whether an S3 Bucket Key is used."""

    kms_key_id: str | None
    bucket_key: bool


def leave_bucket_policies_to_iam() -> None:
    """Stop moto judging bucket policies itself: its evaluator ignores Principal and treats a condition key missing
    from the request as matching, so CDK's enforceSSL Deny (`aws:SecureTransport` false) would deny every object
    request, the account's own included. local_runtime.iam judges them, with the identity policies, when enforced."""
    FakeBucket.get_permission = _neutral  # type: ignore[method-assign]


def _neutral(self: FakeBucket, action: str, resource: str) -> PermissionResult:
    return PermissionResult.NEUTRAL


def bucket_policy(name: str) -> Mapping[str, Any] | None:
    """The bucket's policy (PutBucketPolicy's, or the template's AWS::S3::BucketPolicy), None without one."""
    bucket = _bucket(name)
    if bucket is None or not bucket.policy:
        return None
    return _parsed(bytes(bucket.policy))


def default_encryption(name: str) -> Encryption | None:
    """The bucket's default encryption when it is SSE-KMS (aws:kms or aws:kms:dsse), else None."""
    bucket = _bucket(name)
    if bucket is None or not bucket.encryption:
        return None
    rule = bucket.encryption.get("Rule", {})
    default = rule.get("ApplyServerSideEncryptionByDefault", {})
    if not str(default.get("SSEAlgorithm", "")).startswith("aws:kms"):
        return None
    return Encryption(default.get("KMSMasterKeyID"), str(rule.get("BucketKeyEnabled", "false")).lower() == "true")


def stored_object(bucket_name: str, key: str, version_id: str | None = None) -> FakeKey | None:
    """The object (the version asked for, else the latest), None when there is none or the latest is a delete
    marker; also None when the bucket does not exist."""
    bucket = _bucket(bucket_name)
    if bucket is None:
        return None
    if version_id is None:
        found = bucket.keys.get(key)
    else:
        found = next((v for v in bucket.keys.getlist(key, default=[]) if str(v.version_id) == version_id), None)
    return found if isinstance(found, FakeKey) else None


def object_encryption(bucket_name: str, key: str, version_id: str | None = None) -> Encryption | None:
    """The SSE-KMS encryption of a stored object, None when it is not stored or not encrypted with KMS."""
    found = stored_object(bucket_name, key, version_id)
    if found is None or not str(found.encryption or "").startswith("aws:kms"):
        return None
    return Encryption(found.kms_key_id, str(found.bucket_key_enabled).lower() == "true")


def listing_to_tell_missing(environ: Mapping[str, Any], requests: tuple[Request, ...]) -> Request | None:
    """For a GetObject or HeadObject of a key the bucket does not hold, the s3:ListBucket request whose answer decides
    between 404 and 403; None for any other request (an existing key, another operation, a missing bucket).

    Which s3:prefix the listing check carries is not documented: the request names none, so a grant conditioned on
    s3:prefix is reported as not checked rather than guessed.
    """
    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD") or len(requests) != 1 or requests[0].action not in _READS:
        return None
    bucket_name, _, key = requests[0].resource.removeprefix("arn:aws:s3:::").partition("/")
    if not key or _bucket(bucket_name) is None or stored_object(bucket_name, key) is not None:
        return None
    return Request("s3:ListBucket", f"arn:aws:s3:::{bucket_name}", TRANSPORT)


def _bucket(name: str) -> FakeBucket | None:
    located = s3_backends.bucket_accounts.get(name)
    if located is None:
        return None
    partition, account = located
    bucket: FakeBucket | None = s3_backends[account][partition].buckets.get(name)
    return bucket


@lru_cache(maxsize=256)
def _parsed(policy: bytes) -> Mapping[str, Any]:
    document: Mapping[str, Any] = json.loads(policy)
    return document
