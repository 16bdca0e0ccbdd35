"""ListObjectsV2 for moto at S3's cost: a sorted index of the bucket instead of a scan of it for every page.

moto answers each ListObjectsV2 page by copying, filtering and sorting every key of the bucket, so with 200,000
objects each page costs the emulator about as much as the whole history. S3 serves a page from an index: its
latency does not depend on the keys outside the page. With `fast_listing` a page costs a binary search plus the
page, so the wall time the bench measures is the step's, not the emulator's. Answers are the same as moto's:
the same keys, truncation and continuation tokens (tests/unit/bench/test_s3_listing.py compares them).
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.core import serialize
from moto.s3.models import FakeDeleteMarker, FakeTableStorageBucket, S3Backend

_INDEX_ATTRIBUTE = "_bench_sorted_key_names"
_PARSE_TIMESTAMP = "parse_to_aware_datetime"  # botocore's parser, imported by name into moto's serializer


@contextmanager
def fast_listing() -> Iterator[None]:
    """Serve ListObjectsV2 from an index, and serialize its timestamps without parsing each one again."""
    with indexed_listing(), cached_timestamp_parsing():
        yield


@contextmanager
def cached_timestamp_parsing() -> Iterator[None]:
    """Memoize the timestamp parsing of moto's response serializer.

    moto stores LastModified as a string and parses it back with dateutil for every key of every page (about
    a fifth of a millisecond each); objects put in the same second share the string, and parsing is a pure
    function, so a cache changes no answer.
    """
    original = getattr(serialize, _PARSE_TIMESTAMP)
    setattr(serialize, _PARSE_TIMESTAMP, functools.lru_cache(maxsize=4096)(original))
    try:
        yield
    finally:
        setattr(serialize, _PARSE_TIMESTAMP, original)


@contextmanager
def indexed_listing() -> Iterator[None]:
    """Serve ListObjectsV2 from a sorted index while the context is open.

    A delimited listing folds each common prefix into one entry and jumps past its keys in the index, as S3 does:
    CheckData lists the data prefix's top level so (one entry per day of history). PutObject adds its key to the
    bucket's index, so a run's manifest does not cost a rebuild of it.
    """
    original_list, original_put = S3Backend.list_objects_v2, S3Backend.put_object

    def list_objects_v2(
        self: S3Backend,
        bucket: Any,
        prefix: str | None,
        delimiter: str | None,
        continuation_token: str | None,
        start_after: str | None,
        max_keys: int,
    ) -> Any:
        known_token = continuation_token is None or continuation_token in self._pagination_tokens
        if isinstance(bucket, FakeTableStorageBucket) or not known_token:
            return original_list(self, bucket, prefix, delimiter, continuation_token, start_after, max_keys)
        names = sorted_key_names(bucket)
        position = bisect.bisect_left(names, prefix or "")
        after = self._pagination_tokens[continuation_token] if continuation_token else start_after
        if after:
            position = max(position, bisect.bisect_right(names, after))
        page: list[Any] = []
        # One key more than the page: that is how moto's own truncation knows there is a next page.
        while position < len(names) and len(page) <= max_keys:
            name = names[position]
            if prefix and not name.startswith(prefix):
                break
            cut = name.find(delimiter, len(prefix or "")) if delimiter else -1
            if cut >= 0:
                # moto's answer for every key under the common prefix (delete markers included): the prefix once,
                # when it sorts after the token or StartAfter.
                folder = name[: cut + len(delimiter or "")]
                if not after or folder > after:
                    page.append(folder)
                position = bisect.bisect_left(names, folder[:-1] + chr(ord(folder[-1]) + 1))
                continue
            position += 1
            key = bucket.keys.get(name)
            if key is not None and not isinstance(key, FakeDeleteMarker):
                page.append(key)
        return self._truncate_result(page, max_keys)

    def put_object(self: S3Backend, bucket_name: str, key_name: str, *args: Any, **kwargs: Any) -> Any:
        key = original_put(self, bucket_name, key_name, *args, **kwargs)
        _add_to_index(self.get_bucket(bucket_name), key_name)
        return key

    S3Backend.list_objects_v2 = list_objects_v2  # type: ignore[method-assign]
    S3Backend.put_object = put_object  # type: ignore[method-assign]
    try:
        yield
    finally:
        S3Backend.list_objects_v2 = original_list  # type: ignore[method-assign]
        S3Backend.put_object = original_put  # type: ignore[method-assign]


def sorted_key_names(bucket: Any) -> list[str]:
    """The bucket's key names in order; rebuilt when the bucket's keys changed other than through PutObject."""
    index: _Index | None = getattr(bucket, _INDEX_ATTRIBUTE, None)
    if index is None or len(index.members) != len(bucket.keys):
        names = sorted(dict.keys(bucket.keys))
        index = _Index(names, set(names))
        setattr(bucket, _INDEX_ATTRIBUTE, index)
    return index.names


class _Index:
    def __init__(self, names: list[str], members: set[str]) -> None:
        self.names = names
        self.members = members


def _add_to_index(bucket: Any, name: str) -> None:
    index: _Index | None = getattr(bucket, _INDEX_ATTRIBUTE, None)
    if index is None or name in index.members:
        return
    if len(index.members) + 1 == len(bucket.keys):
        bisect.insort(index.names, name)
        index.members.add(name)
    else:  # keys went or came some other way: let the next listing rebuild it
        delattr(bucket, _INDEX_ATTRIBUTE)
