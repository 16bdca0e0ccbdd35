"""The data files under a pipeline's prefix against moto's S3: both layouts plain and gzip, the window's keys skipped,
every key in no layout listed, compression, and a day's files."""

from __future__ import annotations

from datetime import date
from typing import Any

import boto3
import pytest

from lambdas.common.data_files import (
    GZIP,
    MAX_LISTED_KEYS,
    NO_COMPRESSION,
    DataFile,
    MixedCompressionError,
    SkippedKey,
    compression_of,
    list_day_files,
    list_window_files,
)

BUCKET = "churn-data"
PREFIX = "data/churn"
START, END = date(2026, 11, 16), date(2026, 11, 22)


@pytest.fixture
def s3(aws: None) -> Any:
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def put(s3: Any, *keys: str, body: bytes = b"1.0,2.0\n") -> None:
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{key}", Body=body)


def keys_of(files: list[DataFile]) -> list[str]:
    return sorted(f.key.removeprefix(f"{PREFIX}/") for f in files)


@pytest.mark.parametrize(
    "names",
    [
        ["2026-11-20.csv.gz", "2026-11-21.csv.gz"],
        ["dt=2026-11-20/part-0.csv.gz", "dt=2026-11-21/part-0.csv.gz", "dt=2026-11-21/sub/part-1.csv.gz"],
    ],
    ids=["one-file-per-day", "dt-partitions"],
)
def test_gzip_files_are_data_files_of_their_day(s3: Any, names: list[str]) -> None:
    # GIVEN .csv.gz files in the window
    put(s3, *names)

    # WHEN the window is listed
    listing = list_window_files(s3, BUCKET, PREFIX, START, END)

    # THEN each is a data file of its day, none skipped or unrecognised
    assert keys_of(listing.files) == sorted(names)
    assert {f.day for f in listing.files} == {date(2026, 11, 20), date(2026, 11, 21)}
    assert all(f.compressed for f in listing.files)
    assert (listing.skipped, listing.unrecognised, listing.unrecognised_count) == ([], [], 0)


def test_a_dt_folders_siblings_in_the_window_are_skipped_with_the_reason(s3: Any) -> None:
    # GIVEN a day folder as Spark writes it, a README beside it, and an empty data file
    put(s3, "dt=2026-11-21/part-0.csv", "dt=2026-11-21/_SUCCESS", "dt=2026-11-21/README.txt")
    put(s3, "dt=2026-11-20/part-0.csv", body=b"")

    listing = list_window_files(s3, BUCKET, PREFIX, START, END)

    assert keys_of(listing.files) == ["dt=2026-11-21/part-0.csv"]
    assert sorted(listing.skipped, key=lambda s: s.key) == [
        SkippedKey(f"{PREFIX}/dt=2026-11-20/part-0.csv", "file is empty"),
        SkippedKey(f"{PREFIX}/dt=2026-11-21/README.txt", "not a .csv or .csv.gz file"),
        SkippedKey(f"{PREFIX}/dt=2026-11-21/_SUCCESS", "not a .csv or .csv.gz file"),
    ]
    assert listing.unrecognised_count == 0


def test_keys_in_no_layout_are_listed_wherever_they_sort(s3: Any) -> None:
    # GIVEN data in the window, and keys of no layout before, among, after and beside the dated keys
    put(s3, "2026-11-21.csv", "dt=2026-11-21/part-0.csv")
    strays = [
        "_tmp/upload.csv",
        "2026/12/13.csv",
        "2026-02-30.csv",
        "2026-11-21.txt",
        "20261121.csv",
        "dt=latest/part-0.csv",
        "dt=2026-13-01/part-0.csv",
        "latest.csv",
        "notes.txt",
    ]
    put(s3, *strays)
    put(s3, "archive/")  # a console folder placeholder holds nothing

    # WHEN a window that holds none of their dates is listed
    listing = list_window_files(s3, BUCKET, PREFIX, START, END)

    # THEN every one is named, in key order, and the data files are found as before
    assert listing.unrecognised == sorted(f"{PREFIX}/{key}" for key in strays)
    assert listing.unrecognised_count == len(strays)
    assert keys_of(listing.files) == ["2026-11-21.csv", "dt=2026-11-21/part-0.csv"]
    assert listing.skipped == []


def test_the_count_of_keys_in_no_layout_is_exact_and_the_first_names_are_kept(s3: Any) -> None:
    put(s3, *(f"exports/file-{n:02d}.json" for n in range(MAX_LISTED_KEYS + 5)))

    listing = list_window_files(s3, BUCKET, PREFIX, START, END)

    assert listing.unrecognised_count == MAX_LISTED_KEYS + 5
    assert listing.unrecognised == [f"{PREFIX}/exports/file-{n:02d}.json" for n in range(MAX_LISTED_KEYS)]


def test_the_dt_history_is_not_walked_only_its_days(s3: Any) -> None:
    # GIVEN 400 days of history, 3 files a day in dt= folders (1,200 keys) and one flat file a day
    backend_put = boto3.client("s3").put_object
    for offset in range(400):
        day = date.fromordinal(END.toordinal() - offset).isoformat()
        backend_put(Bucket=BUCKET, Key=f"{PREFIX}/{day}.csv", Body=b"1\n")
        for part in range(3):
            backend_put(Bucket=BUCKET, Key=f"{PREFIX}/dt={day}/part-{part}.csv", Body=b"1\n")

    # WHEN the 7-day window is listed
    listing = list_window_files(s3, BUCKET, PREFIX, START, END)

    # THEN one page holds the top level (one entry per day and layout), one the window's dt= keys
    assert len(listing.files) == 7 * 4
    assert listing.requests == 2


def test_a_days_files_in_both_layouts_plain_or_gzip(s3: Any) -> None:
    put(s3, "2026-11-21.csv.gz", "2026-11-21.csv.tmp", "dt=2026-11-21/a.csv", "dt=2026-11-21/_SUCCESS")
    put(s3, "2026-11-20.csv", "dt=2026-11-22/a.csv")

    listing = list_day_files(s3, BUCKET, PREFIX, date(2026, 11, 21))

    assert keys_of(listing.files) == ["2026-11-21.csv.gz", "dt=2026-11-21/a.csv"]
    assert [s.key for s in listing.skipped] == [f"{PREFIX}/dt=2026-11-21/_SUCCESS"]
    assert listing.requests == 2


def _file(key: str) -> DataFile:
    return DataFile(key=f"{PREFIX}/{key}", day=date(2026, 11, 21), size=10)


@pytest.mark.parametrize(
    ("keys", "expected"),
    [(["a.csv", "b.csv"], NO_COMPRESSION), (["a.csv.gz", "b.csv.gz"], GZIP), ([], NO_COMPRESSION)],
)
def test_the_compression_of_files_all_of_one_kind(keys: list[str], expected: str) -> None:
    assert compression_of([_file(key) for key in keys], bucket=BUCKET, what="the window") == expected


def test_mixed_compression_names_one_file_of_each_kind() -> None:
    files = [_file("dt=2026-11-21/a.csv.gz"), _file("dt=2026-11-21/b.csv"), _file("dt=2026-11-21/c.csv.gz")]

    with pytest.raises(MixedCompressionError) as raised:
        compression_of(files, bucket=BUCKET, what="the window 2026-11-16…2026-11-22")

    message = str(raised.value)
    assert message.startswith("the window 2026-11-16…2026-11-22 mixes gzip-compressed and plain files (2 of 3")
    assert f"s3://{BUCKET}/{PREFIX}/dt=2026-11-21/a.csv.gz and s3://{BUCKET}/{PREFIX}/dt=2026-11-21/b.csv" in message
