"""S3 in the state directory: buckets with their versioning, encryption, policy and tags; every object version
with its bytes (a blob), metadata, tags, encryption and dates; delete markers.

Not kept: lifecycle rules, CORS, website, ACLs other than private, public access blocks, bucket notifications
(`deploy` puts the stack's EventBridge notifications again), multipart uploads in progress.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from moto.s3.models import FakeBucket, FakeDeleteMarker, FakeKey, S3Backend, s3_backends
from moto.utilities.tagging_service import TaggingService

from local_runtime.state_dir.codec import decode, encode
from local_runtime.state_dir.store import BlobReader, BlobWriter


def save(blobs: BlobWriter) -> list[dict[str, Any]]:
    return [_bucket(backend, bucket, blobs) for backend, bucket in _buckets()]


def restore(saved: list[dict[str, Any]], blobs: BlobReader) -> int:
    """Create the saved buckets and objects; how many object versions came back."""
    restored = 0
    for entry in saved:
        backend: S3Backend = s3_backends[entry["account"]][entry["partition"]]
        bucket = backend.create_bucket(entry["name"], entry["region"])
        bucket.creation_date = datetime.fromisoformat(entry["created"])
        bucket.versioning_status = entry["versioning"]
        bucket.encryption = decode(entry["encryption"])
        bucket.policy = entry["policy"].encode() if entry["policy"] is not None else None
        _tag(backend.tagger, bucket.arn, entry["tags"])
        for key_name, versions in entry["objects"].items():
            keys: list[Any] = []
            for version in versions:
                keys.append(_object(backend, bucket, key_name, version, blobs, previous=keys[-1] if keys else None))
            bucket.keys.setlist(key_name, keys)
            restored += len(keys)
    return restored


def _buckets() -> Iterator[tuple[S3Backend, FakeBucket]]:
    for partitions in list(s3_backends.values()):
        for backend in list(partitions.values()):
            for bucket in list(backend.buckets.values()):
                yield backend, bucket


def _bucket(backend: S3Backend, bucket: FakeBucket, blobs: BlobWriter) -> dict[str, Any]:
    objects: dict[str, list[dict[str, Any]]] = {}
    for key_name, versions in list(bucket.keys.iterlists()):
        objects[key_name] = [_saved_object(backend, version, blobs) for version in list(versions)]
    return {
        "account": bucket.account_id,
        "partition": bucket.partition,
        "name": bucket.name,
        "region": bucket.region_name,
        "created": bucket.creation_date.isoformat(),
        "versioning": bucket.versioning_status,
        "encryption": encode(bucket.encryption, "encryption"),
        "policy": bucket.policy.decode() if bucket.policy else None,
        "tags": backend.tagger.get_tag_dict_for_resource(bucket.arn),
        "objects": objects,
    }


def _saved_object(backend: S3Backend, version: FakeKey | FakeDeleteMarker, blobs: BlobWriter) -> dict[str, Any]:
    if isinstance(version, FakeDeleteMarker):
        return {"delete_marker": True, "version_id": version.version_id, "modified": version.last_modified.isoformat()}
    return {
        "version_id": version._version_id,
        "blob": blobs.put(version.value),
        "etag": version.etag.strip('"'),
        "modified": version.last_modified.isoformat(),
        "metadata": dict(version._metadata),
        "storage": version._storage_class,
        "encryption": version.encryption,
        "kms_key_id": version.kms_key_id,
        "bucket_key_enabled": version.bucket_key_enabled,
        "checksum_algorithm": version.checksum_algorithm,
        "checksum_value": version.checksum_value,
        "checksum_type": version.checksum_type,
        "tags": backend.tagger.get_tag_dict_for_resource(version.arn),
    }


def _object(
    backend: S3Backend,
    bucket: FakeBucket,
    key_name: str,
    saved: dict[str, Any],
    blobs: BlobReader,
    *,
    previous: FakeKey | FakeDeleteMarker | None,
) -> FakeKey | FakeDeleteMarker:
    modified = datetime.fromisoformat(saved["modified"])
    if saved.get("delete_marker"):
        # A marker refers to the version it hides; one saved first in its list hides an empty placeholder.
        hidden = previous if isinstance(previous, FakeKey) else _key(bucket, key_name, b"", None)
        marker = FakeDeleteMarker(hidden)
        marker._version_id, marker.last_modified = saved["version_id"], modified
        return marker
    key = _key(bucket, key_name, blobs.get(saved["blob"]), saved)
    key._etag, key.last_modified = saved["etag"], modified
    key._metadata.clear()
    key._metadata.update(saved["metadata"])
    key.checksum_algorithm = saved["checksum_algorithm"]
    _tag(backend.tagger, key.arn, saved["tags"])
    return key


def _key(bucket: FakeBucket, key_name: str, body: bytes, saved: dict[str, Any] | None) -> FakeKey:
    saved = saved or {}
    return FakeKey(
        name=key_name,
        value=body,
        account_id=bucket.account_id,
        region_name=bucket.region_name,
        bucket_name=bucket.name,
        storage=saved.get("storage"),
        is_versioned=bucket.is_versioned,
        version_id=saved.get("version_id"),
        encryption=saved.get("encryption"),
        kms_key_id=saved.get("kms_key_id"),
        bucket_key_enabled=saved.get("bucket_key_enabled"),
        checksum_value=saved.get("checksum_value"),
        checksum_type=saved.get("checksum_type"),
    )


def _tag(tagger: TaggingService, arn: str, tags: dict[str, str]) -> None:
    if tags:
        tagger.tag_resource(arn, [{"Key": key, "Value": value} for key, value in tags.items()])
