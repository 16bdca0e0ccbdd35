"""The churn example's raw data: reproducible daily exports with categories, gaps and a header, and their upload."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from demo.churn_data import FIELDS, HEADER, PLANS, churn_days, main, sample_records
from local_runtime.server import LocalAws
from tests.local_aws import local_client

END = date(2026, 11, 22)


def rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode())))


def test_each_day_is_a_raw_export_with_a_header_text_categories_and_some_empty_fields() -> None:
    files = churn_days(days=3, end=END, prefix="data/churn/", rows_per_day=200)

    assert [f.key for f in files] == [f"data/churn/2026-11-{day}.csv" for day in (20, 21, 22)]
    table = [row for f in files for row in rows(f.body)[1:]]
    assert all(rows(f.body)[0] == list(HEADER) for f in files)
    assert {row[0] for row in table} == {"churns", "stays"}
    assert {row[1] for row in table} == set(PLANS)
    assert any(row[3] == "" for row in table)
    assert any(row[4] == "" for row in table)
    assert all(f.rows == 200 for f in files)


def test_the_files_are_the_same_every_time_and_differ_from_day_to_day() -> None:
    first, again = churn_days(days=2, end=END, prefix="p"), churn_days(days=2, end=END, prefix="p")

    assert [f.body for f in first] == [f.body for f in again]
    assert first[0].body != first[1].body


def test_a_new_plan_appears_only_when_asked_for() -> None:
    (day,) = churn_days(days=1, end=END, prefix="p", plans=(*PLANS, "enterprise"))

    assert "enterprise" in {row[1] for row in rows(day.body)[1:]}
    assert b"enterprise" not in churn_days(days=1, end=END, prefix="p")[0].body


def test_sample_records_are_requests_in_the_endpoints_field_order() -> None:
    record = sample_records(1)[0]

    assert len(record.values) == len(FIELDS)
    assert rows(record.csv().encode())[0] == list(record.values)
    assert list(record.json()) == list(FIELDS)


def test_main_uploads_the_days_to_the_stacks_data_prefix(
    moto_aws: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a deployed churn stack's outputs and its bucket
    moto_aws.stacks["SageMakerRetraining-churn"] = {"DataBucketName": "churn-data", "DataPrefix": "data/churn"}
    s3 = local_client(moto_aws, "s3")
    s3.create_bucket(Bucket="churn-data")

    # WHEN three days are uploaded
    code = main(["--pipeline", "churn", "--endpoint-url", moto_aws.endpoint_url, "--days", "3", "--end", "2026-11-22"])

    # THEN they are under the data prefix, as generated, and the command says so
    assert code == 0
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="churn-data")["Contents"])
    assert keys == [f"data/churn/2026-11-{day}.csv" for day in (20, 21, 22)]
    generated = churn_days(days=3, end=END, prefix="data/churn")
    assert s3.get_object(Bucket="churn-data", Key=keys[0])["Body"].read() == generated[0].body
    assert capsys.readouterr().out.startswith("uploaded 3 days (240 records, 2026-11-20 to 2026-11-22)")


def test_main_without_the_stack_says_so_and_exits_1(moto_aws: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--pipeline", "nowhere", "--endpoint-url", moto_aws.endpoint_url])

    assert code == 1
    assert "SageMakerRetraining-nowhere" in capsys.readouterr().err
