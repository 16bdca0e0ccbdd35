"""The training data check against moto's S3: every listed file there, numeric CSV, problems named precisely."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import boto3
import pytest

from lambdas.start_training_job import validation
from lambdas.start_training_job.validation import (
    CsvChecker,
    DataObjectMissingError,
    DataValidationTimeoutError,
    InvalidTrainingDataError,
    validate_training_data,
)

BUCKET = "churn-data"
PREFIX = "data/churn/"
MANIFEST = f"s3://{BUCKET}/manifests/churn/run-1.manifest"
GOOD = b"3.0,1.0,2.0\n1.0,0.0,1.0\n"


@pytest.fixture
def s3(aws: None) -> Any:
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def given_files(s3: Any, files: Mapping[str, bytes], *, listed: list[str] | None = None) -> None:
    """Upload the files and a manifest listing them (or `listed`) the way CheckData writes it."""
    for relative, body in files.items():
        s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}{relative}", Body=body)
    entries = [{"prefix": f"s3://{BUCKET}/{PREFIX}"}, *(listed if listed is not None else sorted(files))]
    s3.put_object(Bucket=BUCKET, Key=MANIFEST.removeprefix(f"s3://{BUCKET}/"), Body=json.dumps(entries).encode())


def uri(relative: str) -> str:
    return f"s3://{BUCKET}/{PREFIX}{relative}"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"1,2,3\n4,5,6,7\n", " line 2: expected 3 columns (like line 1), found 4"),
        (b"1,2,3\n4,5\n", " line 2: expected 3 columns (like line 1), found 2"),
        (b"1,2,3\n4,5,6\n7,abc,9\n", " line 3, column 2: 'abc' is not a number"),
        (b"1,2,3\n4,,6\n", " line 2, column 2: empty value"),
        (b"1,2,3\n4,5,NaN\n", " line 2, column 3: 'NaN' is not a finite number"),
        (b"1,2,3\n-inf,5,6\n", " line 2, column 1: '-inf' is not a finite number"),
        (b"1,2,3\n4,1e999x,6\n", " line 2, column 2: '1e999x' is not a number"),
        (b"1,2,3\n4,5,1e999\n", " line 2, column 3: '1e999' is not a finite number"),  # overflows float64
        (b"1,2,3\n4,5,6_0\n", " line 2, column 3: '6_0' is not a number"),  # float() would take it
        (b"1,2,3\r\n4,5,6\r\n7,8\r\n", " line 3: expected 3 columns (like line 1), found 2"),
        (b"1,2,3\n\n4,5,6\n", " line 2: empty line; only the end of a file may hold empty lines"),
        (b"\n1,2,3\n", " line 1: empty line; only the end of a file may hold empty lines"),
        (
            b"label,x1,x2\n1,2,3\n",
            " line 1, column 1: 'label' is not a number; a header row? SageMaker's built-in algorithms read CSV "
            "without a header",
        ),
        (b"1,2,3\n4,5,6\n7,8,x", " line 3, column 3: 'x' is not a number"),  # last line without newline
        (b"", ": the file is empty"),
        (b"\n\n", ": the file holds no CSV rows, only empty lines"),
    ],
    ids=[
        "extra-column",
        "missing-column",
        "non-numeric",
        "empty-value",
        "nan",
        "infinity",
        "garbage-after-number",
        "overflow",
        "underscore",
        "crlf-missing-column",
        "empty-line-between-rows",
        "leading-empty-line",
        "header-row",
        "no-final-newline",
        "empty-file",
        "only-empty-lines",
    ],
)
def test_a_bad_file_is_named_with_its_line_and_column(s3: Any, body: bytes, problem: str) -> None:
    # GIVEN a good file and a bad one in the manifest
    given_files(s3, {"2026-11-20.csv": GOOD, "2026-11-21.csv": body})

    # WHEN the data is checked
    with pytest.raises(InvalidTrainingDataError) as raised:
        validate_training_data(s3, MANIFEST)

    # THEN the message names the manifest, then the file and where in it the problem is
    message = str(raised.value)
    assert message.startswith(f"1 of 2 files of the manifest {MANIFEST} is not valid training data")
    assert message.splitlines()[1:] == [f"- {uri('2026-11-21.csv')}{problem}"]


@pytest.mark.parametrize(
    "body",
    [
        b"3.0,1.0,2.0\n1.0,0.0,1.0\n",
        b"3.0,1.0,2.0\r\n1.0,0.0,1.0\r\n",  # Windows line ends
        b"3.0,1.0,2.0\n1.0,0.0,1.0",  # no final newline
        b"3.0,1.0,2.0\n1.0,0.0,1.0\n\n\r\n",  # empty lines at the end
        b"+3,-1.,.5\n1e3, 2.5E-2 ,-0\n",  # signs, exponents, spaces around values
        b"1e300,1E-400,1e+100\n" + b"9" * 308 + b",0,0\n",  # large but finite (the slow path)
    ],
    ids=["lf", "crlf", "no-final-newline", "trailing-empty-lines", "number-forms", "large-numbers"],
)
def test_well_formed_csv_passes_and_is_counted(s3: Any, body: bytes) -> None:
    given_files(s3, {"2026-11-20.csv": body, "dt=2026-11-21/part-0.csv": GOOD})

    summary = validate_training_data(s3, MANIFEST)

    assert (summary.files, summary.rows, summary.columns) == (2, 4, 3)
    assert summary.bytes == len(body) + len(GOOD)


def test_a_file_whose_rows_differ_from_the_first_files_is_named_at_its_first_row(s3: Any) -> None:
    # GIVEN a second file whose every row has one column more than the first file's
    given_files(s3, {"2026-11-20.csv": GOOD, "2026-11-21.csv": b"1,2,3,4\n5,6,7,8\n"})

    with pytest.raises(InvalidTrainingDataError) as raised:
        validate_training_data(s3, MANIFEST)

    assert (
        f"{uri('2026-11-21.csv')} line 1: expected 3 columns (like line 1 of {uri('2026-11-20.csv')}), found 4"
        in str(raised.value)
    )


def test_many_bad_files_report_the_first_five_in_manifest_order_and_count_them_all(s3: Any) -> None:
    # GIVEN 12 files of which 7 are bad, each at a different line
    files = {f"2026-11-{day:02d}.csv": GOOD for day in range(1, 13)}
    bad_days = [2, 3, 5, 7, 8, 10, 12]
    for day in bad_days:
        files[f"2026-11-{day:02d}.csv"] = GOOD * day + b"1,x,2\n"

    given_files(s3, files)
    with pytest.raises(InvalidTrainingDataError) as raised:
        validate_training_data(s3, MANIFEST, workers=4)

    # THEN the count is exact, and the first five bad files appear in the manifest's order
    lines = str(raised.value).splitlines()
    assert lines[0].startswith(f"7 of 12 files of the manifest {MANIFEST} are not valid training data")
    assert lines[0].endswith(", the first 5:")
    assert lines[1:] == [
        f"- {uri(f'2026-11-{day:02d}.csv')} line {2 * day + 1}, column 2: 'x' is not a number" for day in bad_days[:5]
    ]


def test_a_long_value_is_shortened_and_the_message_stays_far_below_the_cause_limit(s3: Any) -> None:
    # GIVEN rows of a megabyte-long value in many files with long keys
    long_name = "x" * 900
    files = {f"dt=2026-11-{day:02d}/{long_name}.csv": b"1,2\n" + b"a" * 1_000_000 + b",3\n" for day in range(1, 9)}
    given_files(s3, files)

    with pytest.raises(InvalidTrainingDataError) as raised:
        validate_training_data(s3, MANIFEST)

    message = str(raised.value)
    assert f"'{'a' * 40}…' is not a number" in message
    assert len(message) <= validation.MAX_MESSAGE_CHARS < 32_768


def test_a_line_longer_than_the_limit_is_a_problem_not_a_memory_spike(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validation, "MAX_LINE_BYTES", 1000)
    checker = CsvChecker("s3://b/k.csv")

    checker.feed(b"1,2\n" + b"3," * 300)
    checker.feed(b"4," * 300)

    assert checker.check.problem == "s3://b/k.csv line 2: longer than 1.0 kB"


def test_rows_split_across_chunks_are_checked_whole() -> None:
    checker = CsvChecker("s3://b/k.csv")
    body = b"1,2,3\n" * 1000 + b"4,5\n"

    for start in range(0, len(body), 7):  # chunk edges fall everywhere, also between \r and \n
        checker.feed(body[start : start + 7])
    checker.close()

    assert checker.check.problem == "s3://b/k.csv line 1001: expected 3 columns (like line 1), found 2"


def test_crlf_split_between_chunks_is_one_line_end() -> None:
    checker = CsvChecker("s3://b/k.csv")

    for chunk in (b"1,2\r", b"\n3,4\r", b"\n"):
        checker.feed(chunk)
    checker.close()

    assert (checker.check.problem, checker.check.rows) == (None, 2)


def test_an_object_deleted_after_checkdata_listed_it_is_named(s3: Any) -> None:
    # GIVEN a manifest listing a file that is no longer there
    given_files(s3, {"2026-11-20.csv": GOOD, "2026-11-21.csv": GOOD})
    s3.delete_object(Bucket=BUCKET, Key=f"{PREFIX}2026-11-21.csv")

    with pytest.raises(DataObjectMissingError) as raised:
        validate_training_data(s3, MANIFEST)

    assert str(raised.value).startswith(
        f"{uri('2026-11-21.csv')} was deleted after CheckData listed it in the manifest {MANIFEST} (2 files)"
    )


def test_deleted_objects_take_precedence_over_bad_rows_and_are_listed(s3: Any) -> None:
    given_files(s3, {"a.csv": GOOD, "b.csv": b"x\n"}, listed=["a.csv", "b.csv", "gone-1.csv", "gone-2.csv"])

    with pytest.raises(DataObjectMissingError) as raised:
        validate_training_data(s3, MANIFEST)

    assert str(raised.value).splitlines()[1:] == [f"- {uri('gone-1.csv')}", f"- {uri('gone-2.csv')}"]
    assert str(raised.value).startswith("2 of 4 files of the manifest")


def test_a_deleted_manifest_is_named(s3: Any) -> None:
    with pytest.raises(DataObjectMissingError, match=f"the manifest {MANIFEST} was deleted"):
        validate_training_data(s3, MANIFEST)


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'["a.csv"]', b'[{"prefix": "s3://churn-data/data/churn/"}]', b'[{"prefix": "x/"}, "a"]'],
)
def test_a_manifest_not_written_by_checkdata_is_refused(s3: Any, body: bytes) -> None:
    s3.put_object(Bucket=BUCKET, Key=MANIFEST.removeprefix(f"s3://{BUCKET}/"), Body=body)

    with pytest.raises(InvalidTrainingDataError, match=f"the manifest {MANIFEST} is not a list"):
        validate_training_data(s3, MANIFEST)


def test_past_the_deadline_the_check_stops_with_a_clear_error(s3: Any) -> None:
    given_files(s3, {f"2026-11-{day:02d}.csv": GOOD for day in range(1, 6)})

    with pytest.raises(DataValidationTimeoutError) as raised:
        validate_training_data(s3, MANIFEST, deadline=time.monotonic() - 1)

    assert str(raised.value).startswith(f"checked 0 of 5 files (0 bytes) of the manifest {MANIFEST}")
    assert "training.validate_data" in str(raised.value)


PREPROCESSED = f"s3://{BUCKET}/preprocessed/churn/run-1/train/"


def test_preprocessed_data_is_every_file_under_its_prefix(s3: Any) -> None:
    # GIVEN the files the preprocessing wrote, and a folder marker S3 consoles create
    for key in ("part-0.csv", "part-1.csv", "nested/part-2.csv"):
        s3.put_object(Bucket=BUCKET, Key=f"preprocessed/churn/run-1/train/{key}", Body=GOOD)
    s3.put_object(Bucket=BUCKET, Key="preprocessed/churn/run-1/train/nested/", Body=b"")

    # WHEN it is checked / THEN every file counts, the marker does not
    summary = validation.validate_preprocessed_data(s3, PREPROCESSED)

    assert (summary.files, summary.rows) == (3, 6)


def test_preprocessing_that_wrote_nothing_is_told_where_to_write(s3: Any) -> None:
    # GIVEN another run's data next to this run's empty prefix
    s3.put_object(Bucket=BUCKET, Key="preprocessed/churn/run-10/train/part-0.csv", Body=GOOD)

    with pytest.raises(InvalidTrainingDataError, match="TRAINING_DATA_DIR") as raised:
        validation.validate_preprocessed_data(s3, PREPROCESSED)

    assert PREPROCESSED in str(raised.value)


def test_a_bad_row_of_the_preprocessed_data_names_it_and_the_file(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="preprocessed/churn/run-1/train/part-0.csv", Body=b"1.0,2.0\n1.0,yes\n")

    with pytest.raises(InvalidTrainingDataError) as raised:
        validation.validate_preprocessed_data(s3, PREPROCESSED)

    message = str(raised.value)
    assert f"1 of 1 files of the preprocessed data {PREPROCESSED} is not valid training data" in message
    assert f"{PREPROCESSED}part-0.csv line 2" in message


class ListsAGoneFile:
    """The S3 client, whose listing still shows a file deleted right after it: the reads find it gone."""

    def __init__(self, s3: Any, gone_key: str) -> None:
        self._s3 = s3
        self._gone_key = gone_key

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)

    def get_paginator(self, operation: str) -> Any:
        paginator = self._s3.get_paginator(operation)
        gone = {"Key": self._gone_key, "Size": len(GOOD)}

        class WithTheGoneFile:
            @staticmethod
            def paginate(**arguments: Any) -> Any:
                for page in paginator.paginate(**arguments):
                    yield {**page, "Contents": [*page.get("Contents", []), gone]}

        return WithTheGoneFile()


def test_a_preprocessed_file_deleted_during_the_check_names_who_listed_it_and_how_to_recover(s3: Any) -> None:
    # GIVEN the preprocessing's two files, one of them deleted between the check's listing and its reads
    s3.put_object(Bucket=BUCKET, Key="preprocessed/churn/run-1/train/part-0.csv", Body=GOOD)
    listed = ListsAGoneFile(s3, "preprocessed/churn/run-1/train/part-1.csv")

    with pytest.raises(DataObjectMissingError) as raised:
        validation.validate_preprocessed_data(listed, PREPROCESSED)

    # THEN the message names the file and this step's listing (CheckData never listed it), and a run that redoes it
    assert str(raised.value) == (
        f"{PREPROCESSED}part-1.csv was deleted after StartTrainingJob listed it in the preprocessed data "
        f"{PREPROCESSED} (2 files); start a new run, which preprocesses the window again"
    )
