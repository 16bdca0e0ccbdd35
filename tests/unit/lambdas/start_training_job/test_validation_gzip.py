"""The data check on gzip: `.csv.gz` files are checked as they decompress, and gzip under another name is named."""

from __future__ import annotations

import gzip
from typing import Any

import pytest

from lambdas.start_training_job import validation
from lambdas.start_training_job.validation import InvalidTrainingDataError, validate_training_data
from tests.unit.lambdas.start_training_job.test_validation import GOOD, MANIFEST, given_files, s3, uri

__all__ = ["s3"]  # the fixture, shared with the plain-CSV tests


def test_gzip_files_are_checked_decompressed_and_counted(s3: Any) -> None:
    # GIVEN a window of .csv.gz files, one of two gzip members (as `cat a.gz b.gz` makes)
    two_members = gzip.compress(b"3.0,1.0,2.0\n") + gzip.compress(b"1.0,0.0,1.0\n")
    given_files(s3, {"2026-11-20.csv.gz": gzip.compress(GOOD), "dt=2026-11-21/part-0.csv.gz": two_members})

    summary = validate_training_data(s3, MANIFEST)

    # THEN the rows of both were read, the bytes counted decompressed
    assert (summary.files, summary.rows, summary.columns, summary.bytes) == (2, 4, 3, 2 * len(GOOD))


def test_a_bad_row_in_a_gzip_file_is_named_with_its_line_and_column(s3: Any) -> None:
    given_files(s3, {"2026-11-20.csv.gz": gzip.compress(GOOD), "2026-11-21.csv.gz": gzip.compress(b"1,2,3\n4,x,6\n")})

    with pytest.raises(InvalidTrainingDataError) as raised:
        validate_training_data(s3, MANIFEST)

    assert str(raised.value).splitlines()[1:] == [f"- {uri('2026-11-21.csv.gz')} line 2, column 2: 'x' is not a number"]


def test_a_gzip_file_decompressing_in_many_pieces_is_checked_whole(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN rows that decompress to far more than one piece (pieces of 64 bytes here)
    monkeypatch.setattr(validation, "CHUNK_BYTES", 64)
    rows = b"".join(b"%d.0,1.0,2.0\n" % n for n in range(500))
    given_files(s3, {"2026-11-21.csv.gz": gzip.compress(rows + b"1,2\n")})

    with pytest.raises(InvalidTrainingDataError) as raised:
        validate_training_data(s3, MANIFEST)

    assert "line 501: expected 3 columns (like line 1), found 2" in str(raised.value)


@pytest.mark.reliability(
    "input",
    "Gzip bytes under a .csv name, plain bytes under .csv.gz, a truncated .csv.gz, one without its final newline",
    "The data check names the file and says what is wrong with it (gzip under .csv, not gzip, cut short, no last "
    "line break), never a column-count error",
)
@pytest.mark.parametrize(
    ("name", "body", "problem"),
    [
        (
            "2026-11-21.csv",
            gzip.compress(GOOD),
            ": is gzip-compressed; name it 2026-11-21.csv.gz (.csv.gz) so the run reads it decompressed",
        ),
        ("2026-11-21.csv.gz", GOOD, ": not gzip data (Error -3 while decompressing data: incorrect header check), "),
        ("2026-11-21.csv.gz", gzip.compress(GOOD)[:-12], ": the gzip data ends early: the file is truncated"),
        (
            "2026-11-21.csv.gz",
            gzip.compress(b"1,2,3\n4,5,6"),
            " line 2: the last line has no line break: the training job's pipe would join it to the next file's "
            "first line",
        ),
    ],
    ids=["gzip-named-csv", "plain-named-gz", "truncated-gzip", "gzip-without-final-newline"],
)
def test_compression_that_does_not_match_the_name_is_reported_as_such(
    s3: Any, name: str, body: bytes, problem: str
) -> None:
    given_files(s3, {"2026-11-20.csv": GOOD, name: body})

    with pytest.raises(InvalidTrainingDataError) as raised:
        validate_training_data(s3, MANIFEST)

    (reported,) = str(raised.value).splitlines()[1:]
    assert reported.startswith(f"- {uri(name)}{problem}")
    assert "columns" not in reported
