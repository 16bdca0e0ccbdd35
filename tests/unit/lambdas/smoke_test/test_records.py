"""SmokeTest's records (which file, which rows, which columns) and its reading of the answers, against moto's S3."""

from __future__ import annotations

import gzip
from dataclasses import replace
from typing import Any

import pytest

from lambdas.smoke_test import core
from lambdas.smoke_test.core import (
    SmokeTestInputError,
    SmokeTestSettings,
    count_answers,
    sample_records,
)
from tests.unit.lambdas.smoke_test.scenario import (
    BUCKET,
    ROWS,
    SETTINGS,
    csv_body,
    run_of,
)

# sample_records: which records are sent


def test_the_records_come_from_the_first_held_out_file_when_the_run_has_one(s3: Any) -> None:
    run = run_of(
        s3,
        {"2026-11-19.csv": csv_body(["7,7,7"]), "2026-11-20.csv": csv_body(["8,8,8"])},
        holdout={"2026-11-22.csv": csv_body(["2,2.5,4"]), "2026-11-21.csv": csv_body(ROWS)},
    )

    source, lines = sample_records(s3, run, SETTINGS)

    assert source == f"s3://{BUCKET}/data/churn/2026-11-21.csv"
    assert lines == ["0.5,0", "1.5,2", "2.5,4", "3.5,6", "4.5,8"]


def test_without_held_out_files_the_records_come_from_the_first_training_file(s3: Any) -> None:
    run = run_of(s3, {"2026-11-20.csv": csv_body(["9,9,9"]), "dt=2026-11-19/part-0.csv": csv_body(ROWS)})

    source, lines = sample_records(s3, run, SETTINGS)

    assert source == f"s3://{BUCKET}/data/churn/2026-11-20.csv"  # the manifest's first entry: keys sort "2" < "d"
    assert lines == ["9,9"]


def test_a_header_row_is_skipped_when_the_files_have_one(s3: Any) -> None:
    run = run_of(s3, {"2026-11-20.csv": csv_body(["label,a,b", *ROWS])})

    _, lines = sample_records(s3, run, replace(SETTINGS, header=True, records=2))

    assert lines == ["0.5,0", "1.5,2"]


def test_without_a_header_setting_the_first_row_is_a_record(s3: Any) -> None:
    run = run_of(s3, {"2026-11-20.csv": csv_body(["label,a,b", *ROWS])})

    _, lines = sample_records(s3, run, replace(SETTINGS, records=2))

    assert lines == ["a,b", "0.5,0"]


@pytest.mark.parametrize(
    ("input_filter", "first"),
    [
        ("$[1:]", "x,y z,w"),
        ("$[:-1]", "1,x,y z"),
        ("$[2:]", "y z,w"),
        ("$[0,2]", "1,y z"),
        ("$[3]", "w"),
        ("$[0,9]", "1"),  # an index past the row's end picks nothing, as a JSONPath does
        ("$", "1,x,y z,w"),
        (None, "1,x,y z,w"),
    ],
)
def test_input_filter_picks_the_columns_the_endpoint_takes(s3: Any, input_filter: str | None, first: str) -> None:
    run = run_of(s3, {"2026-11-20.csv": csv_body(["1,x,y z,w", "2,a,b,c"])})

    _, lines = sample_records(s3, run, replace(SETTINGS, input_filter=input_filter))

    assert lines[0] == first
    assert len(lines) == 2


def test_a_quoted_field_stays_one_column(s3: Any) -> None:
    run = run_of(s3, {"2026-11-20.csv": csv_body(['1,"a, b",c'])})

    _, lines = sample_records(s3, run, SETTINGS)

    assert lines == ['"a, b",c']


def test_crlf_rows_and_trailing_blank_lines_are_records_without_their_line_ends(s3: Any) -> None:
    run = run_of(s3, {"2026-11-20.csv": b"1,2,3\r\n4,5,6\r\n\r\n\r\n"})

    _, lines = sample_records(s3, run, SETTINGS)

    assert lines == ["2,3", "5,6"]


def test_a_gzip_file_is_read_as_it_decompresses(s3: Any) -> None:
    run = run_of(s3, {"2026-11-20.csv.gz": gzip.compress(csv_body(ROWS))})

    source, lines = sample_records(s3, run, SETTINGS)

    assert source.endswith("2026-11-20.csv.gz")
    assert lines == ["0.5,0", "1.5,2", "2.5,4", "3.5,6", "4.5,8"]


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_a_file_larger_than_the_read_gives_its_first_whole_records(
    s3: Any, monkeypatch: pytest.MonkeyPatch, compress: bool
) -> None:
    # GIVEN a file of which one ranged read gets only a part (the read made small, not the file large)
    rows = [f"{i},{i}.123456789,{i}.987654321" for i in range(2000)]
    body = gzip.compress(csv_body(rows)) if compress else csv_body(rows)
    monkeypatch.setattr(core, "READ_BYTES", 120)
    assert len(body) > 120
    run = run_of(s3, {"2026-11-20.csv.gz" if compress else "2026-11-20.csv": body})

    # WHEN the records are sampled
    _, lines = sample_records(s3, run, replace(SETTINGS, records=100))

    # THEN only whole rows are sent: the row the read cut is left out
    assert lines
    assert lines == [row.split(",", 1)[1] for row in rows[: len(lines)]]
    assert len(lines) < 100


def test_a_file_with_fewer_records_than_asked_gives_all_it_has(s3: Any) -> None:
    run = run_of(s3, {"2026-11-20.csv": csv_body(ROWS[:3])})

    _, lines = sample_records(s3, run, SETTINGS)

    assert lines == ["0.5,0", "1.5,2", "2.5,4"]


@pytest.mark.parametrize(
    ("body", "settings"),
    [
        (b"", SETTINGS),
        (b"\n\n", SETTINGS),
        (gzip.compress(b""), SETTINGS),
        (b"label,a,b\n", replace(SETTINGS, header=True)),
        (b"1\n2\n", SETTINGS),  # label only: $[1:] leaves nothing to send
    ],
    ids=["empty", "blank lines", "empty gzip", "header only", "filter leaves nothing"],
)
def test_a_file_that_gives_no_record_is_an_input_error_naming_it(
    s3: Any, body: bytes, settings: SmokeTestSettings
) -> None:
    run = run_of(s3, {"2026-11-20.csv": body})

    with pytest.raises(SmokeTestInputError, match=f"s3://{BUCKET}/data/churn/2026-11-20.csv gave no record to send"):
        sample_records(s3, run, settings)


# count_answers: how many predictions an answer holds


@pytest.mark.parametrize(
    ("body", "content_type", "count"),
    [
        (b'{"predictions": [{"score": 1}, {"score": 2}, {"score": 3}]}', "application/json", 3),
        (b'{"predictions": []}', "application/json", 0),
        (b"[0, 1, 1]", "application/json", 3),
        (b"[[0.1, 0.9], [0.8, 0.2]]", "application/json; charset=utf-8", 2),
        (b'{"predictions": [1, 2]}', "Application/JSON", 2),
        (b'{"score": 1}\n{"score": 2}\n', "application/jsonlines", 2),
        (b'{"score": 1}\n\n{"score": 2}', "application/x-jsonlines", 2),
        (b'{"score": 1}\n', "application/jsonl", 1),
        (b"0.1\n0.2\n0.3\n", "text/csv", 3),
        (b"0.1\r\n0.2\r\n", "text/csv; charset=utf-8", 2),
        (b"0.1,0.9\n0.8,0.2\n", "text/csv", 2),  # a row of class probabilities per record
        (b'"a\nb",1\n2,3\n', "text/csv", 2),  # a quoted line break stays in its row
    ],
)
def test_an_answer_is_counted_in_its_content_type(body: bytes, content_type: str, count: int) -> None:
    assert count_answers(body, content_type) == count


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"predictions": [1, 2', "application/json"),
        (b'{"scores": [1, 2]}', "application/json"),
        (b'{"predictions": {"a": 1}}', "application/json"),
        (b"42", "application/json"),
        (b"null", "application/json"),
        (b"", "application/json"),
        (b"\xff\xfe", "application/json"),
        (b'{"score": 1}\nnot json\n', "application/jsonlines"),
        (b"\xff\n", "text/csv"),
        (b"0.1\n0.2\n", "text/plain"),
        (b"0.1\n0.2\n", ""),
    ],
    ids=[
        "cut json",
        "json without predictions",
        "predictions not a list",
        "json number",
        "json null",
        "empty json",
        "not utf-8",
        "bad json line",
        "csv not utf-8",
        "unknown type",
        "no type",
    ],
)
def test_an_answer_that_does_not_parse_counts_none(body: bytes, content_type: str) -> None:
    assert count_answers(body, content_type) is None
