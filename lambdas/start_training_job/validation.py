"""Check the run's training data before a training job is paid for: every listed file there, CSV of numbers.

SageMaker's built-in algorithms read CSV with the label first and no header; a malformed row otherwise
surfaces minutes later as a failed training job whose reason names a file inside the container. Here each
object the manifest lists is streamed once, in chunks, and the first problem of each file is reported with
its S3 URI, line and column, before CreateTrainingJob. A `.csv.gz` file is checked as it decompresses (the
training job streams such a window through gzip too); gzip bytes under another name are reported as such.

Throughput and memory (the function runs with one full vCPU and up to 15 minutes):
- Memory is constant whatever the files' sizes: each of at most WORKERS threads holds one chunk
  (CHUNK_BYTES) and one unfinished line (at most MAX_LINE_BYTES); a longer line is reported as an error.
- Checking is CPU-bound and holds the GIL, so the threads do not parse in parallel: they overlap the
  GetObject round trips (tens of milliseconds each), which dominate when a window holds many small files.
- A chunk of well-formed rows is matched by one compiled regular expression for the file's column count
  (50 to 80 MB/s on one core of the machine the tests run on, against about 20 MB/s for split() and
  float() per cell); only a chunk that fails is re-read line by line to name the line and column. That is
  roughly 50 GB of CSV in the 15 minutes; many small files cost one GetObject each, about 8 files per
  round trip, so about 100,000 of them fit too (training.max_files_per_run caps a run at that by default).
  Past the deadline the check stops with DataValidationTimeoutError rather than letting Lambda end the
  function with an anonymous timeout.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
import zlib
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from lambdas.common.data_files import GZIP_SUFFIX
from lambdas.common.errors import RetrainingError
from lambdas.common.gzip_stream import GZIP_MAGIC, Gunzip
from lambdas.common.units import human_bytes

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

WORKERS = 8  # concurrent GetObject streams; boto3's default pool holds 10 connections
CHUNK_BYTES = 1 << 20
MAX_LINE_BYTES = 4 << 20
MAX_REPORTED_PROBLEMS = 5
MAX_SHOWN_VALUE_CHARS = 40
# Step Functions caps a Fail state's cause at 32,768 characters, and the cause carries the Lambda error's
# JSON (message and stack trace): the message stays far below.
MAX_MESSAGE_CHARS = 8_000

# A plain decimal number: what every built-in algorithm parses. Stricter than float(), which also takes
# "nan", "inf" and "1_000". Possessive quantifiers: a failing row fails at once, without backtracking.
_NUMBER_RE = re.compile(rb"[ \t]*+[+-]?+(?:\d++(?:\.\d*+)?+|\.\d++)(?:[eE][+-]?+\d++)?+[ \t]*+")
# The same for whole chunks, narrowed to numbers that cannot overflow float64 (at most 200 integer digits
# and a positive exponent under 100): a chunk holding a longer one (1e400 is infinite) is checked cell by
# cell with float().
_FINITE_NUMBER = rb"[ \t]*+[+-]?+(?:\d{1,200}+(?:\.\d*+)?+|\.\d++)(?:[eE](?:-\d++|\+?+\d{1,2}+))?+[ \t]*+"
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


class InvalidTrainingDataError(RetrainingError):
    """A file of the run's manifest is not CSV of numbers with the same number of columns in every row."""


class DataObjectMissingError(RetrainingError):
    """An object the manifest lists (or the manifest itself) was deleted after CheckData listed it."""


class DataValidationTimeoutError(RetrainingError):
    """The data could not be checked before the function's time ran out."""


@dataclass(frozen=True)
class DataSummary:
    """What the check read: for the logs."""

    files: int
    rows: int
    bytes: int
    columns: int


@dataclass
class FileCheck:
    """One object's outcome: its first problem, and its first row's column count for the cross-file check."""

    uri: str
    missing: bool = False
    columns: int | None = None
    first_row_line: int = 0
    rows: int = 0
    bytes: int = 0
    problem: str | None = None


class _OutOfTimeError(Exception):
    pass


class _CancelledError(Exception):
    pass


@dataclass(frozen=True)
class _Listing:
    """What the checked files are, who listed them, and what brings back one that was deleted since."""

    source: str
    listed_by: str
    remedy: str  # "{them}" becomes "it" or "them"


def validate_training_data(
    s3: S3Client, manifest_uri: str, *, deadline: float | None = None, workers: int = WORKERS
) -> DataSummary:
    """Check every object the manifest lists; return what was read.

    `deadline` is a time.monotonic() value. Raises DataObjectMissingError naming the deleted objects,
    InvalidTrainingDataError naming the first problems (file, line, column, value), and
    DataValidationTimeoutError past the deadline.
    """
    bucket, keys = read_manifest(s3, manifest_uri)
    listing = _Listing(
        f"the manifest {manifest_uri}", "CheckData", "restore {them} or start a new run, which lists the window again"
    )
    return _validate(s3, bucket, keys, listing, deadline=deadline, workers=workers)


def validate_preprocessed_data(
    s3: S3Client, prefix_uri: str, *, deadline: float | None = None, workers: int = WORKERS
) -> DataSummary:
    """Check every object the preprocessing wrote under `prefix_uri`, as validate_training_data does.

    Raises InvalidTrainingDataError when it wrote none: the user's entry point must write CSV files.
    """
    bucket, prefix = _split_uri(prefix_uri)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    keys = sorted(item["Key"] for page in pages for item in page.get("Contents", []) if not item["Key"].endswith("/"))
    if not keys:
        raise InvalidTrainingDataError(
            f"the preprocessing wrote no training data under {prefix_uri}: its entry point must write CSV files "
            "(label first, no header) to the directory named by TRAINING_DATA_DIR"
        )
    # Listed a moment ago by this check: a file gone since then was deleted by someone else while the run went on.
    listing = _Listing(
        f"the preprocessed data {prefix_uri}",
        "StartTrainingJob",
        "start a new run, which preprocesses the window again",
    )
    return _validate(s3, bucket, keys, listing, deadline=deadline, workers=workers)


def _validate(
    s3: S3Client, bucket: str, keys: Sequence[str], listing: _Listing, *, deadline: float | None, workers: int
) -> DataSummary:
    source = listing.source
    checks = _check_all(s3, bucket, keys, source, deadline=deadline, workers=workers)
    missing = [check.uri for check in checks if check.missing]
    if missing:
        raise DataObjectMissingError(_missing_message(missing, len(checks), listing))
    _check_columns_across_files(checks)
    problems = [check.problem for check in checks if check.problem]
    if problems:
        raise InvalidTrainingDataError(_problems_message(problems, len(checks), source))
    return DataSummary(
        files=len(checks),
        rows=sum(check.rows for check in checks),
        bytes=sum(check.bytes for check in checks),
        columns=next((check.columns for check in checks if check.columns is not None), 0),
    )


def check_same_columns(training: DataSummary, holdout: DataSummary, holdout_uri: str) -> None:
    """The holdout (the validation channel) must have the training files' columns, or the algorithm fails on it."""
    if training.columns and holdout.columns and training.columns != holdout.columns:
        raise InvalidTrainingDataError(
            f"the holdout's files ({holdout_uri}) have {holdout.columns} columns, the training files "
            f"{training.columns}: every file of the window must have the same columns"
        )


def read_manifest(s3: S3Client, manifest_uri: str) -> tuple[str, list[str]]:
    """Read a manifest `[{"prefix": "s3://bucket/prefix/"}, "relative/key", ...]`; return the bucket and keys."""
    bucket, key = _split_uri(manifest_uri)
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response["Error"]["Code"] in _MISSING_CODES:
            raise DataObjectMissingError(
                f"the manifest {manifest_uri} was deleted after CheckData wrote it; start a new run"
            ) from None
        raise
    try:
        entries = json.loads(body)
        prefix = entries[0]["prefix"]
        data_bucket, data_prefix = _split_uri(prefix)
        relative = entries[1:]
        if not relative or not all(isinstance(entry, str) and entry for entry in relative):
            raise ValueError("it must list at least one key")
    except (ValueError, TypeError, KeyError, IndexError) as error:
        raise InvalidTrainingDataError(
            f'the manifest {manifest_uri} is not a list [{{"prefix": "s3://bucket/prefix/"}}, "key", ...] as '
            f"CheckData writes it: {error}"
        ) from None
    return data_bucket, [f"{data_prefix}{entry}" for entry in relative]


def _check_all(
    s3: S3Client, bucket: str, keys: Sequence[str], source: str, *, deadline: float | None, workers: int
) -> list[FileCheck]:
    checks: list[FileCheck | None] = [None] * len(keys)
    cancelled = threading.Event()
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(keys))), thread_name_prefix="validate") as pool:
        futures: dict[Future[FileCheck], int] = {
            pool.submit(_check_object, s3, bucket, key, cancelled=cancelled, deadline=deadline): index
            for index, key in enumerate(keys)
        }
        try:
            for future in as_completed(futures):
                checks[futures[future]] = future.result()
        except _OutOfTimeError:
            cancelled.set()
            pool.shutdown(wait=True, cancel_futures=True)
            done = [check for check in checks if check is not None]
            read = sum(check.bytes for check in done)
            raise DataValidationTimeoutError(
                f"checked {len(done)} of {len(keys)} files ({human_bytes(read)}) of {source} "
                "before the function's time ran out; shorten the window or set training.validate_data to false"
            ) from None
        except BaseException:
            cancelled.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return [check for check in checks if check is not None]


def _check_object(
    s3: S3Client, bucket: str, key: str, *, cancelled: threading.Event, deadline: float | None
) -> FileCheck:
    uri = f"s3://{bucket}/{key}"
    _raise_if_stopped(cancelled, deadline)
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response["Error"]["Code"] in _MISSING_CODES:
            return FileCheck(uri=uri, missing=True)
        raise
    gunzip = Gunzip(CHUNK_BYTES) if key.endswith(GZIP_SUFFIX) else None
    checker = CsvChecker(uri, compressed=gunzip is not None)
    body = response["Body"]
    try:
        for chunk in body.iter_chunks(CHUNK_BYTES):
            _raise_if_stopped(cancelled, deadline)
            if gunzip is None:
                checker.feed(chunk)
            else:
                _feed_decompressed(checker, gunzip, chunk)
            if checker.check.problem:
                return checker.check
        if gunzip is not None and not gunzip.complete:
            checker.fail_file("the gzip data ends early: the file is truncated")
            return checker.check
        checker.close()
    finally:
        body.close()  # frees the connection when a problem stops the read early
    return checker.check


def _feed_decompressed(checker: CsvChecker, gunzip: Gunzip, chunk: bytes) -> None:
    try:
        for piece in gunzip.feed(chunk):
            checker.feed(piece)
            if checker.check.problem:
                return
    except zlib.error as error:
        checker.fail_file(f"not gzip data ({error}), yet named .gz: name it .csv if it is plain CSV")


def _raise_if_stopped(cancelled: threading.Event, deadline: float | None) -> None:
    if cancelled.is_set():
        raise _CancelledError
    if deadline is not None and time.monotonic() > deadline:
        raise _OutOfTimeError


class CsvChecker:
    """Checks one file fed in chunks: rows of numbers, as many columns as its first row, no empty line
    but at the end. Stops at the first problem, which names the line (from 1) and column (from 1)."""

    def __init__(self, uri: str, *, compressed: bool = False) -> None:
        self.check = FileCheck(uri=uri)
        self._compressed = compressed  # fed decompressed bytes of a .gz file
        self._pending = b""
        self._line = 0  # lines consumed so far
        self._blank_since: int | None = None  # the first empty line after the last row

    def feed(self, chunk: bytes) -> None:
        if not self._compressed and self.check.bytes == 0 and chunk.startswith(GZIP_MAGIC):
            name = self.check.uri.rsplit("/", 1)[-1]
            self.fail_file(f"is gzip-compressed; name it {name}.gz (.csv.gz) so the run reads it decompressed")
            return
        self.check.bytes += len(chunk)
        data = self._pending + chunk if self._pending else chunk
        cut = data.rfind(b"\n") + 1
        self._pending = data[cut:]
        if cut:
            self._block(data[:cut])
        if not self.check.problem and len(self._pending) > MAX_LINE_BYTES:
            self._fail(f"longer than {human_bytes(MAX_LINE_BYTES)}", line=self._line + 1)

    def close(self) -> None:
        if self.check.problem:
            return
        if self._compressed and self._pending.strip():
            # A gzip window trains in Pipe mode, which streams the files one after another into one pipe.
            self._fail(
                "the last line has no line break: the training job's pipe would join it to the next file's first line",
                line=self._line + 1,
            )
            return
        if self._pending:
            self._block(self._pending + b"\n")
            self._pending = b""
        if self.check.problem:
            return
        if self.check.bytes == 0:
            self.fail_file("the file is empty")
        elif self.check.rows == 0:
            self.fail_file("the file holds no CSV rows, only empty lines")

    def _block(self, block: bytes) -> None:
        """Check complete lines (`block` ends with a newline)."""
        position = 0
        while position < len(block):
            if self.check.columns is not None and self._blank_since is None:
                self._rows(block[position:] if position else block)
                return
            newline = block.index(b"\n", position)
            self._line += 1
            self._check_line(block[position:newline])
            if self.check.problem:
                return
            position = newline + 1

    def _rows(self, rows: bytes) -> None:
        """Rows after the first: one match for all of them; line by line only to name a problem."""
        assert self.check.columns is not None
        if _rows_pattern(self.check.columns).fullmatch(rows):
            count = rows.count(b"\n")
            self._line += count
            self.check.rows += count
            return
        for raw in rows.split(b"\n")[:-1]:
            self._line += 1
            self._check_line(raw)
            if self.check.problem:
                return

    def _check_line(self, raw: bytes) -> None:
        line = raw[:-1] if raw.endswith(b"\r") else raw
        if not line.strip():
            if self._blank_since is None:
                self._blank_since = self._line
            return
        if self._blank_since is not None:
            self._fail("empty line; only the end of a file may hold empty lines", line=self._blank_since)
            return
        cells = line.split(b",")
        first_row = self.check.columns is None
        if first_row:
            self.check.columns = len(cells)
            self.check.first_row_line = self._line
        elif len(cells) != self.check.columns:
            self._fail(
                f"expected {self.check.columns} columns (like line {self.check.first_row_line}), found {len(cells)}"
            )
            return
        for column, cell in enumerate(cells, start=1):
            if not _is_number(cell):
                hint = ""
                if first_row and not any(_is_number(other) for other in cells):
                    hint = "; a header row? SageMaker's built-in algorithms read CSV without a header"
                self._fail(f"{describe_value(cell)}{hint}", column=column)
                return
        self.check.rows += 1

    def _fail(self, problem: str, *, line: int | None = None, column: int | None = None) -> None:
        """Record the file's problem at the current line (or `line`), and column."""
        at = f", column {column}" if column else ""
        self.check.problem = f"{self.check.uri} line {line or self._line}{at}: {problem}"

    def fail_file(self, problem: str) -> None:
        """Record a problem of the whole file."""
        self.check.problem = f"{self.check.uri}: {problem}"


@cache
def _rows_pattern(columns: int) -> re.Pattern[bytes]:
    """Any number of complete rows of exactly `columns` finite numbers, LF or CRLF terminated."""
    row = _FINITE_NUMBER + (rb"(?:," + _FINITE_NUMBER + rb"){%d}" % (columns - 1) if columns > 1 else b"")
    return re.compile(rb"(?:" + row + rb"\r?+\n)*+")


def _is_number(cell: bytes) -> bool:
    return _NUMBER_RE.fullmatch(cell) is not None and math.isfinite(float(cell))


def describe_value(cell: bytes) -> str:
    """Say why a cell is not a number, showing it shortened."""
    text = cell.decode("utf-8", errors="replace").strip()
    if not text:
        return "empty value"
    shown = text if len(text) <= MAX_SHOWN_VALUE_CHARS else f"{text[:MAX_SHOWN_VALUE_CHARS]}…"
    try:
        finite = math.isfinite(float(text))
    except ValueError:
        finite = True
    return f"{shown!r} is not a finite number" if not finite else f"{shown!r} is not a number"


def _check_columns_across_files(checks: Sequence[FileCheck]) -> None:
    """Every file's first row must have the first file's column count: a mismatch there is the file's
    first problem, ahead of any later one its own check found."""
    reference = next((check for check in checks if check.columns is not None), None)
    if reference is None:
        return
    for check in checks:
        if check.columns is not None and check.columns != reference.columns:
            check.problem = (
                f"{check.uri} line {check.first_row_line}: expected {reference.columns} columns (like line "
                f"{reference.first_row_line} of {reference.uri}), found {check.columns}"
            )


def _problems_message(problems: Sequence[str], files: int, source: str) -> str:
    shown = problems[:MAX_REPORTED_PROBLEMS]
    verb = "is" if len(problems) == 1 else "are"
    more = f", the first {len(shown)}" if len(problems) > len(shown) else ""
    header = (
        f"{len(problems)} of {files} files of {source} {verb} not valid training data (CSV "
        f"of numbers, label first, no header, as many columns in every row){more}:"
    )
    return _bounded("\n".join([header, *(f"- {problem}" for problem in shown)]))


def _missing_message(missing: Sequence[str], files: int, listing: _Listing) -> str:
    if len(missing) == 1:
        return _bounded(
            f"{missing[0]} was deleted after {listing.listed_by} listed it in {listing.source} ({files} files); "
            + listing.remedy.format(them="it")
        )
    shown = missing[:MAX_REPORTED_PROBLEMS]
    more = f", the first {len(shown)}" if len(missing) > len(shown) else ""
    listed = "\n".join(f"- {uri}" for uri in shown)
    return _bounded(
        f"{len(missing)} of {files} files of {listing.source} were deleted after {listing.listed_by} listed "
        f"them; {listing.remedy.format(them='them')}{more}:\n{listed}"
    )


def _bounded(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE_CHARS else f"{message[: MAX_MESSAGE_CHARS - 1]}…"


def _split_uri(uri: Any) -> tuple[str, str]:
    if not isinstance(uri, str) or not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ValueError(f"{uri!r} is not an s3://bucket/key URI")
    bucket, _, key = uri[5:].partition("/")
    if not bucket:
        raise ValueError(f"{uri!r} names no bucket")
    return bucket, key
