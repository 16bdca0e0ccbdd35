"""The bench's indexed ListObjectsV2 answers exactly as moto's own does, page for page."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.core import serialize
from moto.s3.models import s3_backends

from bench.s3_listing import cached_timestamp_parsing, fast_listing, indexed_listing, sorted_key_names
from tests.conftest import ACCOUNT

BUCKET = "listing"


def random_keys(seed: int) -> list[str]:
    """Keys of both layouts and some strangers, under two prefixes, in no order."""
    rng = random.Random(seed)
    keys = set()
    for _ in range(400):
        day = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        prefix = rng.choice(["data/a", "data/a", "data/ab", "other"])
        keys.add(
            rng.choice(
                [f"{prefix}/{day}.csv", f"{prefix}/dt={day}/part-{rng.randint(0, 99):05d}.csv", f"{prefix}/{day}/x"]
            )
        )
    shuffled = sorted(keys)
    rng.shuffle(shuffled)
    return shuffled


@pytest.fixture
def s3(aws: None) -> Iterator[Any]:
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    backend = s3_backends[ACCOUNT]["aws"]
    for key in random_keys(seed=7):  # straight into the backend: 400 PUTs per test would take seconds
        backend.put_object(BUCKET, key, b"1\n")
    return client


def all_pages(s3: Any, **kwargs: Any) -> list[tuple[list[str], bool]]:
    """Every page of a listing: its keys and whether it says more follow."""
    pages = []
    token = None
    while True:
        page = s3.list_objects_v2(Bucket=BUCKET, **kwargs, **({"ContinuationToken": token} if token else {}))
        pages.append(([item["Key"] for item in page.get("Contents", [])], page["IsTruncated"]))
        if not page["IsTruncated"]:
            return pages
        token = page["NextContinuationToken"]


@pytest.mark.parametrize(
    ("request_", "listed"),
    [
        ({}, True),
        ({"Prefix": "data/a"}, True),
        ({"Prefix": "data/a/"}, True),
        ({"Prefix": "data/a/", "StartAfter": "data/a/2026-06-01"}, True),
        ({"Prefix": "data/a/dt=", "StartAfter": "data/a/dt=2026-11-15", "MaxKeys": 7}, True),
        ({"StartAfter": "data/ab/", "MaxKeys": 50}, True),
        ({"Prefix": "data/a/", "StartAfter": "data/a/zzz"}, False),
        ({"Prefix": "data/a/", "MaxKeys": 0}, False),
        ({"Prefix": "nothing/"}, False),
    ],
)
def test_indexed_pages_equal_moto_pages(s3: Any, request_: dict[str, Any], listed: bool) -> None:
    expected = all_pages(s3, **request_)

    with indexed_listing():
        indexed = all_pages(s3, **request_)

    assert indexed == expected
    assert any(keys for keys, _ in expected) == listed


def test_index_follows_keys_added_and_removed_between_listings(s3: Any) -> None:
    with indexed_listing():
        before = all_pages(s3, Prefix="data/a/")
        s3.put_object(Bucket=BUCKET, Key="data/a/0000-new.csv", Body=b"1\n")
        s3.delete_object(Bucket=BUCKET, Key=before[0][0][1])
        s3.delete_object(Bucket=BUCKET, Key=before[0][0][2])
        after = all_pages(s3, Prefix="data/a/")

    keys = [key for page, _ in after for key in page]
    assert keys[0] == "data/a/0000-new.csv"
    assert before[0][0][1] not in keys
    assert before[0][0][2] not in keys
    assert len(keys) == sum(len(page) for page, _ in before) - 1


def delimited_pages(s3: Any, **kwargs: Any) -> list[tuple[list[str], list[str], bool]]:
    """Every page of a delimited listing: its keys, its common prefixes and whether more follow."""
    pages = []
    token = None
    while True:
        page = s3.list_objects_v2(Bucket=BUCKET, **kwargs, **({"ContinuationToken": token} if token else {}))
        keys = [item["Key"] for item in page.get("Contents", [])]
        pages.append((keys, [item["Prefix"] for item in page.get("CommonPrefixes", [])], page["IsTruncated"]))
        if not page["IsTruncated"]:
            return pages
        token = page["NextContinuationToken"]


@pytest.mark.parametrize(
    "request_",
    [
        {"Prefix": "data/a/", "Delimiter": "/"},
        {"Prefix": "data/a/", "Delimiter": "/", "MaxKeys": 9},
        {"Prefix": "data/", "Delimiter": "/"},
        {"Delimiter": "/", "MaxKeys": 2},
        {"Prefix": "data/a/", "Delimiter": "/", "StartAfter": "data/a/dt=2026-06-01", "MaxKeys": 5},
        {"Prefix": "data/a/dt=", "Delimiter": "-", "MaxKeys": 3},
    ],
)
def test_indexed_delimited_pages_equal_moto_pages(s3: Any, request_: dict[str, Any]) -> None:
    # GIVEN a console folder placeholder besides the keys
    s3.put_object(Bucket=BUCKET, Key="data/a/dt=2026-03-03/", Body=b"")
    expected = delimited_pages(s3, **request_)

    with indexed_listing():
        indexed = delimited_pages(s3, **request_)

    assert indexed == expected
    assert any(prefixes for _, prefixes, _ in expected)


def test_patches_are_undone_on_exit(s3: Any) -> None:
    from moto.s3.models import S3Backend

    listing, parsing = S3Backend.list_objects_v2, serialize.parse_to_aware_datetime

    with fast_listing():
        assert S3Backend.list_objects_v2 is not listing
        assert serialize.parse_to_aware_datetime is not parsing

    assert S3Backend.list_objects_v2 is listing
    assert serialize.parse_to_aware_datetime is parsing


def test_cached_timestamp_parsing_serializes_the_same_times(s3: Any) -> None:
    expected = s3.list_objects_v2(Bucket=BUCKET)["Contents"]

    with cached_timestamp_parsing():
        assert s3.list_objects_v2(Bucket=BUCKET)["Contents"] == expected


def test_put_object_adds_to_the_index_without_rebuilding_it(s3: Any) -> None:
    bucket = s3_backends[ACCOUNT]["aws"].get_bucket(BUCKET)
    with indexed_listing():
        index = sorted_key_names(bucket)
        count = len(index)

        s3.put_object(Bucket=BUCKET, Key="data/a/2026-12-31.csv", Body=b"1\n")

        assert sorted_key_names(bucket) is index  # the same list, grown in place
        assert len(index) == count + 1
        assert index == sorted(index)
        assert "data/a/2026-12-31.csv" in all_pages(s3, Prefix="data/a/2026-12")[0][0]
