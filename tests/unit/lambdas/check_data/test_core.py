"""CheckData against moto's S3 and SSM."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from lambdas.check_data.core import (
    CheckDataSettings,
    DataFile,
    InvalidWatermarkError,
    ManifestConflictError,
    ManifestTooLargeError,
    NoDataInWindowError,
    RunInput,
    check_data,
    check_manifest_limits,
    list_window_files,
)
from lambdas.common.data_files import MixedCompressionError
from lambdas.common.errors import InvalidRunInputError
from lambdas.common.events import Execution

BUCKET = "churn-data"
PARAMETER = "/sagemaker-retraining/churn/watermark"
SETTINGS = CheckDataSettings(
    pipeline="churn",
    bucket=BUCKET,
    data_prefix="data/churn",
    manifest_prefix="manifests/churn",
    watermark_parameter=PARAMETER,
    window_days=7,
    volume_size_gb=30,
    max_files_per_run=100_000,
)


def put(s3: Any, key: str, body: bytes = b"1.0,2.0,3.0\n") -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)


def set_watermark(ssm: Any, day: str | None) -> None:
    ssm.put_parameter(Name=PARAMETER, Value=json.dumps({"newest_data_date": day}), Type="String", Overwrite=True)


def manifest(s3: Any, uri: str) -> list[Any]:
    key = uri.removeprefix(f"s3://{BUCKET}/")
    return list(json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()))


@pytest.mark.parametrize(
    "layout",
    [
        lambda day: [f"data/churn/{day}.csv"],
        lambda day: [f"data/churn/dt={day}/part-0.csv", f"data/churn/dt={day}/part-1.csv"],
    ],
    ids=["one-file-per-day", "hive-partitions"],
)
def test_finds_only_the_files_inside_the_window(s3: Any, ssm: Any, sfn: Any, execution: Execution, layout: Any) -> None:
    # GIVEN data from 2026-11-10 to 2026-11-22 and a 7-day window ending on the execution's day (11-22)
    for day in range(10, 23):
        for key in layout(f"2026-11-{day:02d}"):
            put(s3, key)

    # WHEN CheckData runs
    result = check_data(RunInput(), execution, s3=s3, ssm=ssm, sfn=sfn, settings=SETTINGS)

    # THEN the window is 11-16..11-22 and the manifest lists exactly those days' files
    assert (result.window_start, result.window_end) == ("2026-11-16", "2026-11-22")
    expected = sorted(k for d in range(16, 23) for k in layout(f"2026-11-{d:02d}"))
    assert result.file_count == len(expected)
    assert result.has_new_data
    assert result.newest_data_date == "2026-11-22"
    assert result.manifest_uri is not None
    entries = manifest(s3, result.manifest_uri)
    assert entries[0] == {"prefix": f"s3://{BUCKET}/data/churn/"}
    assert entries[1:] == [k.removeprefix("data/churn/") for k in expected]


def test_both_layouts_under_one_prefix_are_combined(s3: Any, ssm: Any, sfn: Any, execution: Execution) -> None:
    put(s3, "data/churn/2026-11-20.csv")
    put(s3, "data/churn/dt=2026-11-21/a.csv")

    result = check_data(RunInput(), execution, s3=s3, ssm=ssm, sfn=sfn, settings=SETTINGS)

    assert result.file_count == 2
    assert result.newest_data_date == "2026-11-21"


def test_no_new_data_when_newest_file_is_not_after_the_watermark(
    s3: Any, ssm: Any, sfn: Any, execution: Execution
) -> None:
    put(s3, "data/churn/2026-11-20.csv")
    set_watermark(ssm, "2026-11-20")

    result = check_data(RunInput(), execution, s3=s3, ssm=ssm, sfn=sfn, settings=SETTINGS)

    assert not result.has_new_data
    assert result.manifest_uri is None
    assert "not newer than the watermark 2026-11-20" in result.reason
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="manifests/").get("KeyCount") == 0


def test_new_data_after_the_watermark_trains_on_the_whole_window(
    s3: Any, ssm: Any, sfn: Any, execution: Execution
) -> None:
    put(s3, "data/churn/2026-11-19.csv")
    put(s3, "data/churn/2026-11-21.csv")
    set_watermark(ssm, "2026-11-20")

    result = check_data(RunInput(), execution, s3=s3, ssm=ssm, sfn=sfn, settings=SETTINGS)

    assert result.has_new_data
    assert result.watermark_date == "2026-11-20"
    assert result.file_count == 2  # the window, not only the days after the watermark


def test_force_trains_even_without_new_data(s3: Any, ssm: Any, sfn: Any, execution: Execution) -> None:
    put(s3, "data/churn/2026-11-20.csv")
    set_watermark(ssm, "2026-11-20")

    result = check_data(RunInput(force=True), execution, s3=s3, ssm=ssm, sfn=sfn, settings=SETTINGS)

    assert result.has_new_data
    assert result.forced


def test_forced_run_with_an_empty_window_fails_naming_the_window(
    s3: Any, ssm: Any, sfn: Any, execution: Execution
) -> None:
    put(s3, "data/churn/2026-10-01.csv")

    with pytest.raises(NoDataInWindowError, match=r"2026-11-16 and 2026-11-22"):
        check_data(RunInput(force=True), execution, s3=s3, ssm=ssm, sfn=sfn, settings=SETTINGS)


def test_empty_window_without_force_is_no_new_data(s3: Any, ssm: Any, sfn: Any, execution: Execution) -> None:
    result = check_data(RunInput(), execution, s3=s3, ssm=ssm, sfn=sfn, settings=SETTINGS)

    assert not result.has_new_data
    assert result.file_count == 0
    assert result.reason == "no data files between 2026-11-16 and 2026-11-22"


def test_window_and_end_date_overrides(s3: Any, ssm: Any, sfn: Any, execution: Execution) -> None:
    for day in range(1, 23):
        put(s3, f"data/churn/2026-11-{day:02d}.csv")

    result = check_data(
        RunInput(window_days=3, end_date=date(2026, 11, 10)), execution, s3=s3, ssm=ssm, sfn=sfn, settings=SETTINGS
    )

    assert (result.window_start, result.window_end, result.window_days) == ("2026-11-08", "2026-11-10", 3)
    assert result.file_count == 3
    assert result.newest_data_date == "2026-11-10"


def test_empty_files_are_skipped_and_keys_of_no_layout_listed_in_the_runs_output(
    s3: Any, ssm: Any, sfn: Any, execution: Execution
) -> None:
    # GIVEN a window across the end of February 2026 (not a leap year), and keys no layout names
    put(s3, "data/churn/2026-02-28.csv")
    put(s3, "data/churn/2026-02-27.csv", body=b"")
    put(s3, "data/churn/dt=2026-02-28/_SUCCESS")
    put(s3, "data/churn/2026-02-30.csv")
    put(s3, "data/churn/2026-02-28-notes.txt")
    put(s3, "data/churn/latest.csv")
    put(s3, "data/churn/2026/12/13.csv")
    put(s3, "data/churn/dt=2026-02-28/")  # console "folder": silently ignored

    result = check_data(RunInput(end_date=date(2026, 3, 1)), execution, s3=s3, ssm=ssm, sfn=sfn, settings=SETTINGS)

    # THEN the window's files not read are skipped with the reason, and every key of no layout is named
    assert result.file_count == 1
    reasons = {s["key"]: s["reason"] for s in result.skipped_keys}
    assert reasons == {
        "data/churn/2026-02-27.csv": "file is empty",
        "data/churn/dt=2026-02-28/_SUCCESS": "not a .csv or .csv.gz file",
    }
    assert result.skipped_count == 2
    assert result.unrecognised_keys == [
        "data/churn/2026-02-28-notes.txt",
        "data/churn/2026-02-30.csv",
        "data/churn/2026/12/13.csv",
        "data/churn/latest.csv",
    ]
    assert result.unrecognised_count == 4
    assert result.compression == "None"


def test_a_gzip_window_trains_with_gzip_compression(s3: Any, ssm: Any, sfn: Any, execution: Execution) -> None:
    put(s3, "data/churn/2026-11-21.csv.gz", body=gzip.compress(b"1.0,2.0\n"))
    put(s3, "data/churn/dt=2026-11-22/part-0.csv.gz", body=gzip.compress(b"1.0,2.0\n"))

    result = check_data(RunInput(), execution, s3=s3, ssm=ssm, sfn=sfn, settings=SETTINGS)

    assert (result.file_count, result.newest_data_date, result.compression) == (2, "2026-11-22", "Gzip")
    assert result.manifest_uri is not None
    assert manifest(s3, result.manifest_uri)[1:] == ["2026-11-21.csv.gz", "dt=2026-11-22/part-0.csv.gz"]


def test_a_window_mixing_gzip_and_plain_files_fails_before_any_manifest(
    s3: Any, ssm: Any, sfn: Any, execution: Execution
) -> None:
    put(s3, "data/churn/2026-11-21.csv.gz", body=gzip.compress(b"1.0,2.0\n"))
    put(s3, "data/churn/2026-11-22.csv")

    with pytest.raises(
        MixedCompressionError, match=r"2026-11-21\.csv\.gz and s3://churn-data/data/churn/2026-11-22\.csv"
    ):
        check_data(RunInput(), execution, s3=s3, ssm=ssm, sfn=sfn, settings=SETTINGS)
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="manifests/")


def test_deleted_watermark_parameter_means_never_trained(s3: Any, ssm: Any, sfn: Any, execution: Execution) -> None:
    put(s3, "data/churn/2026-11-20.csv")
    ssm.delete_parameter(Name=PARAMETER)

    result = check_data(RunInput(), execution, s3=s3, ssm=ssm, sfn=sfn, settings=SETTINGS)

    assert result.has_new_data
    assert result.watermark_date is None
    assert result.reason == "never trained before"
    assert result.watermark_missing


def test_watermark_not_written_by_the_workflow_is_an_error_naming_the_parameter(
    s3: Any, ssm: Any, sfn: Any, execution: Execution
) -> None:
    put(s3, "data/churn/2026-11-20.csv")
    ssm.put_parameter(Name=PARAMETER, Value="yesterday", Type="String", Overwrite=True)

    with pytest.raises(InvalidWatermarkError, match=PARAMETER):
        check_data(RunInput(), execution, s3=s3, ssm=ssm, sfn=sfn, settings=SETTINGS)


def test_retried_attempt_writes_the_same_manifest_and_other_content_is_never_overwritten(
    s3: Any, ssm: Any, sfn: Any, execution: Execution
) -> None:
    put(s3, "data/churn/2026-11-20.csv")
    first = check_data(RunInput(), execution, s3=s3, ssm=ssm, sfn=sfn, settings=SETTINGS)

    again = check_data(RunInput(), execution, s3=s3, ssm=ssm, sfn=sfn, settings=SETTINGS)
    assert again.manifest_uri == first.manifest_uri

    put(s3, "data/churn/2026-11-21.csv")
    with pytest.raises(ManifestConflictError):
        check_data(RunInput(), execution, s3=s3, ssm=ssm, sfn=sfn, settings=SETTINGS)
    assert first.manifest_uri is not None
    assert manifest(s3, first.manifest_uri)[1:] == ["2026-11-20.csv"]


def test_each_run_writes_a_new_manifest(s3: Any, ssm: Any, sfn: Any, execution: Execution) -> None:
    put(s3, "data/churn/2026-11-20.csv")
    other = Execution(id=execution.id + "-2", name="run-2", start_time=execution.start_time)

    first = check_data(RunInput(), execution, s3=s3, ssm=ssm, sfn=sfn, settings=SETTINGS)
    second = check_data(RunInput(force=True), other, s3=s3, ssm=ssm, sfn=sfn, settings=SETTINGS)

    assert first.manifest_uri != second.manifest_uri
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="manifests/churn/")["KeyCount"] == 2


def test_a_window_with_more_files_than_a_run_may_list_fails_and_writes_no_manifest(
    s3: Any, ssm: Any, sfn: Any, execution: Execution
) -> None:
    # GIVEN three files in the window and a limit of two per run
    for day in (20, 21, 22):
        put(s3, f"data/churn/2026-11-{day}.csv")
    settings = replace(SETTINGS, max_files_per_run=2)

    # WHEN CheckData runs THEN it names the count, the limit and the field to change
    with pytest.raises(ManifestTooLargeError) as raised:
        check_data(RunInput(), execution, s3=s3, ssm=ssm, sfn=sfn, settings=settings)
    message = str(raised.value)
    assert "holds 3 files (36 bytes)" in message
    assert "more than the 2 a run may train on (training.max_files_per_run)" in message
    assert "2026-11-16…2026-11-22" in message
    # and nothing is written: no manifest for a run that cannot train
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="manifests/").get("KeyCount") == 0


def test_a_run_without_new_data_is_not_refused_by_the_limits(s3: Any, ssm: Any, sfn: Any, execution: Execution) -> None:
    for day in (20, 21):
        put(s3, f"data/churn/2026-11-{day}.csv")
    set_watermark(ssm, "2026-11-21")

    result = check_data(RunInput(), execution, s3=s3, ssm=ssm, sfn=sfn, settings=replace(SETTINGS, max_files_per_run=1))

    assert not result.has_new_data
    assert result.manifest_uri is None


def files_of(*sizes: int) -> list[DataFile]:
    return [
        DataFile(key=f"data/churn/2026-11-{20 + i}.csv", day=date(2026, 11, 20 + i), size=s)
        for i, s in enumerate(sizes)
    ]


@pytest.mark.parametrize(
    ("sizes", "volume_gb", "max_files"),
    [
        ((10**9,), 1, 1),  # exactly the volume and the count: fits
        ((400_000_000, 600_000_000), 1, 2),
        ((5,), 1, 100_000),
    ],
)
def test_a_window_within_the_limits_passes(sizes: tuple[int, ...], volume_gb: int, max_files: int) -> None:
    settings = replace(SETTINGS, volume_size_gb=volume_gb, max_files_per_run=max_files)

    check_manifest_limits(files_of(*sizes), settings, window="w")


def test_a_window_larger_than_the_training_volume_names_the_total_and_the_field() -> None:
    # GIVEN 31.5 GB in the window and the default 30 GB volume
    files = files_of(15_000_000_000, 16_500_000_000)

    with pytest.raises(ManifestTooLargeError) as raised:
        check_manifest_limits(files, SETTINGS, window="2026-11-16…2026-11-22")

    assert str(raised.value).startswith(
        "the window 2026-11-16…2026-11-22 holds 31.5 GB in 2 files, more than fits on the training volume of "
        "30 GB (training.volume_size_gb)"
    )
    assert "raise training.volume_size_gb or shorten the window (window_days)" in str(raised.value)


def test_one_byte_over_the_volume_is_refused() -> None:
    settings = replace(SETTINGS, volume_size_gb=2)

    with pytest.raises(ManifestTooLargeError, match=r"2\.0 GB in 1 file, more than fits"):
        check_manifest_limits(files_of(2 * 10**9 + 1), settings, window="w")


def test_listing_starts_at_the_window_instead_of_reading_the_history(s3: Any) -> None:
    # GIVEN 400 days of history in both layouts, and 7 days in the window
    for offset in range(400):
        day = date.fromordinal(date(2026, 11, 22).toordinal() - offset).isoformat()
        put(s3, f"data/churn/{day}.csv")
        put(s3, f"data/churn/dt={day}/a.csv")

    # WHEN listing the window
    listing = list_window_files(s3, BUCKET, "data/churn", date(2026, 11, 16), date(2026, 11, 22))

    # THEN one request per layout finds the 14 files
    assert len(listing.files) == 14
    assert listing.requests == 2


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"forse": True}, "forse"),
        ({"force": "yes"}, "'force'"),
        ({"window_days": 0}, "'window_days'"),
        ({"window_days": "7"}, "'window_days'"),
        ({"window_days": True}, "'window_days'"),
        ({"end_date": "22/11/2026"}, "'end_date'"),
        ({"end_date": 20261122}, "'end_date'"),
        ({"trigger": ""}, "'trigger'"),
    ],
)
def test_invalid_run_input_names_the_field(raw: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRunInputError, match=field):
        RunInput.from_state(raw)


@pytest.mark.reliability(
    "input",
    "An end_date Python would read but the run input does not take: 20261122, 2026-W47-7, 2026-11-2, a time",
    "Refused with InvalidRunInputError naming end_date and the one form it takes, YYYY-MM-DD",
)
@pytest.mark.parametrize("end_date", ["20261122", "2026-W47-7", "2026-11-2", "2026-11-22T00:00", "2026-11-22\n"])
def test_end_date_is_refused_in_any_iso_form_but_yyyy_mm_dd(end_date: str) -> None:
    # Python 3.11's date.fromisoformat reads 20261122 and 2026-W47-7 (both 2026-11-22): the field takes one form.
    with pytest.raises(InvalidRunInputError, match=r"field 'end_date' must be a date as YYYY-MM-DD, got '2026"):
        RunInput.from_state({"end_date": end_date})


def test_end_date_as_yyyy_mm_dd_is_read_as_that_day() -> None:
    assert RunInput.from_state({"end_date": "2026-11-22"}).end_date == date(2026, 11, 22)


def test_run_input_accepts_the_consoles_default_comment() -> None:
    parsed = RunInput.from_state({"Comment": "Insert your JSON here", "force": True, "window_days": 14})

    assert parsed == RunInput(force=True, window_days=14)


@pytest.mark.parametrize(
    ("recorded", "expected"),
    [
        ({"training_seconds": 7200, "deployment_seconds": 600}, (7200, 600)),
        ({}, (None, None)),  # a watermark written before durations were recorded
        ({"training_seconds": "7200", "deployment_seconds": 0}, (None, None)),
    ],
    ids=["recorded", "older-watermark", "unusable"],
)
def test_the_previous_runs_durations_are_passed_on_to_the_poll_loops(
    s3: Any, ssm: Any, sfn: Any, execution: Execution, recorded: dict[str, Any], expected: tuple[Any, Any]
) -> None:
    # GIVEN new data and a watermark that may record how long the last run's training and deployment took
    put(s3, "data/churn/2026-11-21.csv")
    value = {"newest_data_date": "2026-11-20", **recorded}
    ssm.put_parameter(Name=PARAMETER, Value=json.dumps(value), Type="String", Overwrite=True)

    result = check_data(RunInput(), execution, s3=s3, ssm=ssm, sfn=sfn, settings=SETTINGS)

    # THEN the run carries them (or None: poll as without history)
    assert result.has_new_data
    assert (result.expected_training_seconds, result.expected_deployment_seconds) == expected
