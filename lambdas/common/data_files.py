"""The pipeline's data files under its prefix: the two layouts, a window's listing, the keys in no layout, their
compression, and the manifests SageMaker reads them from.

Layouts (`<prefix>/` left out):
- `YYYY-MM-DD.csv` or `YYYY-MM-DD.csv.gz`: one file per day;
- `dt=YYYY-MM-DD/<any>.csv` or `.csv.gz`: Hive-style partitions, any number of files per day, in subfolders too.
A day's `dt=` folder may hold other files (`_SUCCESS`, `README.txt`): in a window they are skipped and reported
with the reason, never read. A key in neither layout (`latest.csv`, `notes.txt`, `2026/12/13.csv`, `dt=latest/`,
an impossible date) is never read either, and is listed wherever it sits, so no file is ignored without a trace.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from lambdas.common.errors import RetrainingError

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

FLAT_KEY = re.compile(r"^(?P<day>\d{4}-\d{2}-\d{2})\.csv(?:\.gz)?$")
HIVE_KEY = re.compile(r"^dt=(?P<day>\d{4}-\d{2}-\d{2})/(?P<file>[^/].*)$")
_HIVE_FOLDER = re.compile(r"^dt=(?P<day>\d{4}-\d{2}-\d{2})/$")
_DATA_FILE = re.compile(r"\.csv(?:\.gz)?$")
GZIP_SUFFIX = ".gz"
# SageMaker's CompressionType values (Channel, TransformInput).
GZIP, NO_COMPRESSION = "Gzip", "None"
# How many keys in no layout a run's state names; the count is always exact. Keeps the state far below 256 KiB.
MAX_LISTED_KEYS = 20


class MixedCompressionError(RetrainingError):
    """The files to read mix gzip-compressed and plain ones: a SageMaker channel or transform input has one
    CompressionType for all its objects."""


class ManifestConflictError(RetrainingError):
    """The manifest's key holds another file list; manifests are never overwritten."""


@dataclass(frozen=True)
class DataFile:
    key: str
    day: date
    size: int

    @property
    def compressed(self) -> bool:
        return self.key.endswith(GZIP_SUFFIX)


@dataclass(frozen=True)
class SkippedKey:
    key: str
    reason: str


@dataclass
class Listing:
    """The data files in a window, the window's keys not read (with the reason), and the keys in no layout."""

    files: list[DataFile] = field(default_factory=list)
    skipped: list[SkippedKey] = field(default_factory=list)
    requests: int = 0
    unrecognised: list[str] = field(default_factory=list)  # the first MAX_LISTED_KEYS
    unrecognised_count: int = 0

    def note_unrecognised(self, key: str) -> None:
        self.unrecognised_count += 1
        if len(self.unrecognised) < MAX_LISTED_KEYS:
            self.unrecognised.append(key)


def list_window_files(s3: S3Client, bucket: str, prefix: str, start: date, end: date) -> Listing:
    """List the data files dated within [start, end] in both layouts, and every key under `prefix` in no layout.

    Requests: the prefix's top level with a `/` delimiter (one entry per day of history in either layout: a 1,000-key
    page holds almost three years of one), every key inside a folder of no layout, and the `dt=` keys of the window
    only: the `dt=` keys sort by date, so that listing starts right before the window (StartAfter) and stops at the
    first key past it. A `dt=` history of many files a day is never walked.
    """
    listing = Listing()
    base = f"{prefix}/"
    _list_top_level(s3, bucket, base, start, end, listing)
    hive = f"{base}dt="
    for key, size in _keys(s3, bucket, hive, listing, start_after=f"{hive}{start.isoformat()}"):
        relative = key[len(base) :]
        if relative[3:13] > end.isoformat():
            break
        # A dt= folder of no valid date is listed by the top-level pass, as a folder of no layout.
        if _valid_day(HIVE_KEY.match(relative)) is not None:
            classify(listing, key, size, relative, start, end)
    return listing


def list_day_files(s3: S3Client, bucket: str, prefix: str, day: date) -> Listing:
    """The data files of one day in both layouts (and the day folder's keys not read): two requests."""
    listing = Listing()
    base = f"{prefix}/"
    for candidates in (f"{base}{day.isoformat()}.csv", f"{base}dt={day.isoformat()}/"):
        for key, size in _keys(s3, bucket, candidates, listing):
            relative = key[len(base) :]
            if FLAT_KEY.match(relative) or HIVE_KEY.match(relative):
                classify(listing, key, size, relative, day, day)
    return listing


def classify(listing: Listing, key: str, size: int, relative: str, start: date, end: date) -> None:
    """File `key` (`relative` to the data prefix): a data file of the window, a key of the window skipped (with
    why), nothing (a layout's key outside the window, a console folder), or a key in no layout."""
    if not relative or relative.endswith("/"):
        return  # a "folder" placeholder made by the console, not data
    flat = FLAT_KEY.match(relative)
    hive = None if flat else HIVE_KEY.match(relative)
    day = _valid_day(flat or hive)
    if day is None:
        listing.note_unrecognised(key)
        return
    if not start <= day <= end:
        return
    if hive is not None and not _DATA_FILE.search(hive["file"]):
        listing.skipped.append(SkippedKey(key, "not a .csv or .csv.gz file"))
    elif size == 0:
        listing.skipped.append(SkippedKey(key, "file is empty"))
    else:
        listing.files.append(DataFile(key=key, day=day, size=size))


def compression_of(files: Sequence[DataFile], *, bucket: str, what: str) -> str:
    """The CompressionType SageMaker reads `files` with: Gzip when all are `.csv.gz`, None when none is.

    Raises MixedCompressionError naming one file of each kind: a channel (and a transform job's input) has one
    CompressionType for all its objects.
    """
    compressed = next((f for f in files if f.compressed), None)
    plain = next((f for f in files if not f.compressed), None)
    if compressed is not None and plain is not None:
        count = sum(f.compressed for f in files)
        raise MixedCompressionError(
            f"{what} mixes gzip-compressed and plain files ({count} of {len(files)} compressed), e.g. "
            f"s3://{bucket}/{compressed.key} and s3://{bucket}/{plain.key}: SageMaker reads a run's files with one "
            "CompressionType, so they must be all .csv.gz or all .csv; compress or decompress the odd ones"
        )
    return GZIP if compressed is not None else NO_COMPRESSION


def write_manifest(s3: S3Client, bucket: str, key: str, data_prefix: str, files: Sequence[DataFile]) -> str:
    """Write a SageMaker manifest listing the files; return its S3 URI.

    The key is unique to the run, so earlier manifests stay as the record of what each run read. Raises
    ManifestConflictError when the key holds another list.
    """
    base = f"{data_prefix}/"
    entries: list[Any] = [{"prefix": f"s3://{bucket}/{base}"}]
    entries.extend(f.key[len(base) :] for f in sorted(files, key=lambda f: f.key))
    body = json.dumps(entries).encode()
    try:
        # IfNoneMatch: S3 itself refuses to overwrite a manifest, whatever names a future change produces.
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json", IfNoneMatch="*")
    except ClientError as error:
        if error.response["Error"]["Code"] != "PreconditionFailed":
            raise
        existing = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        if existing != body:  # a retried attempt writes the same list; anything else is another run's
            raise ManifestConflictError(f"s3://{bucket}/{key} exists with other content; it is kept") from None
    return f"s3://{bucket}/{key}"


def _list_top_level(s3: S3Client, bucket: str, base: str, start: date, end: date, listing: Listing) -> None:
    """The flat layout's files of the window, and the keys in no layout: each top-level object is classified, each
    top-level folder other than a dated `dt=` one is walked (every key in it is in no layout)."""
    for entry, size, is_folder in _entries(s3, bucket, base, listing):
        relative = entry[len(base) :]
        if not is_folder:
            classify(listing, entry, size, relative, start, end)
        elif _valid_day(_HIVE_FOLDER.match(relative)) is None:
            for key, key_size in _keys(s3, bucket, entry, listing):
                classify(listing, key, key_size, key[len(base) :], start, end)


def _entries(s3: S3Client, bucket: str, prefix: str, listing: Listing) -> Iterator[tuple[str, int, bool]]:
    """(key or folder, size, is a folder) of the top level of `prefix`, in key order."""
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "Delimiter": "/"}
        if token:
            kwargs["ContinuationToken"] = token
        page = s3.list_objects_v2(**kwargs)
        listing.requests += 1
        objects = [(obj["Key"], int(obj.get("Size", 0)), False) for obj in page.get("Contents", [])]
        folders = [(entry["Prefix"], 0, True) for entry in page.get("CommonPrefixes", [])]
        yield from sorted(objects + folders)
        if not page.get("IsTruncated"):
            return
        token = page["NextContinuationToken"]


def _keys(
    s3: S3Client, bucket: str, prefix: str, listing: Listing, *, start_after: str | None = None
) -> Iterator[tuple[str, int]]:
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        if token:
            kwargs["ContinuationToken"] = token
        elif start_after:
            kwargs["StartAfter"] = start_after
        page = s3.list_objects_v2(**kwargs)
        listing.requests += 1
        for obj in page.get("Contents", []):
            yield obj["Key"], int(obj.get("Size", 0))
        if not page.get("IsTruncated"):
            return
        token = page["NextContinuationToken"]


def _valid_day(match: re.Match[str] | None) -> date | None:
    if match is None:
        return None
    try:
        return date.fromisoformat(match["day"])
    except ValueError:
        return None
