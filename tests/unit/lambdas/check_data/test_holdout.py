"""The run's holdout: split off the window by CheckData, written as its own manifest."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from lambdas.check_data.core import DataFile, RunInput, check_data
from lambdas.check_data.holdout import HoldoutSplit, HoldoutTooSmallError
from lambdas.common.errors import ConfigurationError
from lambdas.common.events import Execution
from tests.unit.lambdas.check_data.test_core import BUCKET, SETTINGS, manifest, put

DAYS = HoldoutSplit(days=1)


def files(*keys: str) -> list[DataFile]:
    return [
        DataFile(key=f"data/churn/{key}", day=date.fromisoformat(key.removeprefix("dt=")[:10]), size=10) for key in keys
    ]


def test_a_time_split_holds_out_the_newest_days_with_data(s3: Any, ssm: Any, sfn: Any, execution: Execution) -> None:
    # GIVEN a week of daily files, the newest day in two hive partitions, and a pipeline holding out one day
    for day in range(16, 22):
        put(s3, f"data/churn/2026-11-{day}.csv")
    put(s3, "data/churn/dt=2026-11-22/a.csv")
    put(s3, "data/churn/dt=2026-11-22/b.csv", b"1.0,2.0,3.0\n4.0,5.0,6.0\n")

    # WHEN CheckData runs
    result = check_data(RunInput(), execution, s3=s3, ssm=ssm, sfn=sfn, settings=replace(SETTINGS, holdout=DAYS))

    # THEN the training manifest lists the six older days, the holdout manifest the newest day's two files
    assert result.manifest_uri is not None
    assert result.holdout_manifest_uri == result.manifest_uri.removesuffix(".manifest") + ".holdout.manifest"
    assert manifest(s3, result.manifest_uri)[1:] == [f"2026-11-{day}.csv" for day in range(16, 22)]
    holdout = manifest(s3, result.holdout_manifest_uri)
    assert holdout == [{"prefix": f"s3://{BUCKET}/data/churn/"}, "dt=2026-11-22/a.csv", "dt=2026-11-22/b.csv"]
    # ... the state counts each side apart and says how the holdout was chosen
    assert (result.file_count, result.total_bytes) == (6, 6 * 12)
    assert (result.holdout_file_count, result.holdout_bytes) == (2, 12 + 24)
    assert result.holdout_split == "the newest 1 day with data"


def test_a_time_split_skips_days_without_data(s3: Any, ssm: Any, sfn: Any, execution: Execution) -> None:
    # GIVEN a window whose last day has no file yet
    for day in (18, 19, 20):
        put(s3, f"data/churn/2026-11-{day}.csv")

    result = check_data(
        RunInput(), execution, s3=s3, ssm=ssm, sfn=sfn, settings=replace(SETTINGS, holdout=HoldoutSplit(days=2))
    )

    # THEN the two newest days with data are held out
    assert result.holdout_manifest_uri is not None
    assert manifest(s3, result.holdout_manifest_uri)[1:] == ["2026-11-19.csv", "2026-11-20.csv"]
    assert manifest(s3, result.manifest_uri or "")[1:] == ["2026-11-18.csv"]


def test_a_window_with_one_day_of_data_fails_before_training_naming_the_setting(
    s3: Any, ssm: Any, sfn: Any, execution: Execution
) -> None:
    # GIVEN one day of data in the window (a run asked for a one-day window)
    put(s3, "data/churn/2026-11-22.csv")

    # WHEN CheckData runs with the newest day held out
    with pytest.raises(HoldoutTooSmallError) as raised:
        check_data(
            RunInput(window_days=1), execution, s3=s3, ssm=ssm, sfn=sfn, settings=replace(SETTINGS, holdout=DAYS)
        )

    # THEN the run fails naming the window, its days and the setting, and writes no manifest
    message = str(raised.value)
    assert message.startswith("the window 2026-11-22…2026-11-22 has data on 1 day (2026-11-22): too few to hold out")
    assert "(evaluation.holdout.days)" in message
    assert 'set evaluation.holdout to "none"' in message
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="manifests/").get("KeyCount") == 0


def test_a_run_without_new_data_splits_nothing(s3: Any, ssm: Any, sfn: Any, execution: Execution) -> None:
    put(s3, "data/churn/2026-11-22.csv")
    ssm.put_parameter(
        Name=SETTINGS.watermark_parameter, Value='{"newest_data_date": "2026-11-22"}', Type="String", Overwrite=True
    )

    result = check_data(RunInput(), execution, s3=s3, ssm=ssm, sfn=sfn, settings=replace(SETTINGS, holdout=DAYS))

    assert not result.has_new_data
    assert (result.holdout_manifest_uri, result.holdout_file_count) == (None, 0)


def test_without_a_holdout_the_run_trains_on_the_whole_window(
    s3: Any, ssm: Any, sfn: Any, execution: Execution
) -> None:
    for day in (21, 22):
        put(s3, f"data/churn/2026-11-{day}.csv")

    result = check_data(RunInput(), execution, s3=s3, ssm=ssm, sfn=sfn, settings=SETTINGS)

    assert result.file_count == 2
    assert (result.holdout_manifest_uri, result.holdout_split) == (None, None)


def test_a_fraction_split_holds_a_file_out_in_every_window_or_in_none() -> None:
    # GIVEN a fraction split and two overlapping windows of daily files
    split = HoldoutSplit(fraction=0.3, seed=11)
    first = files(*(f"2026-11-{day:02d}.csv" for day in range(1, 21)))
    second = files(*(f"2026-11-{day:02d}.csv" for day in range(8, 28)))

    # WHEN each is split
    _, held_first = split.split(first, data_prefix="data/churn", window="w1")
    _, held_second = split.split(second, data_prefix="data/churn", window="w2")

    # THEN a file both windows hold is held out by both or by neither: no model trains on another's holdout
    common = {f.key for f in first} & {f.key for f in second}
    assert {f.key for f in held_first} & common == {f.key for f in held_second} & common
    # ... and about the fraction is held out
    assert 2 <= len(held_first) <= 12


def test_a_fraction_split_depends_on_the_seed_and_the_key_below_the_prefix() -> None:
    keys = [f"dt=2026-11-01/part-{n:03d}.csv" for n in range(200)]
    held = {seed: {k for k in keys if HoldoutSplit(fraction=0.1, seed=seed).held_out(k)} for seed in (0, 1)}

    assert held[0] != held[1]
    assert 8 <= len(held[0]) <= 35
    assert held[0] == {k for k in keys if HoldoutSplit(fraction=0.1, seed=0).held_out(k)}  # deterministic


def test_a_fraction_split_that_leaves_a_side_empty_fails_naming_the_setting() -> None:
    split = HoldoutSplit(fraction=0.01, seed=0)
    window = files("2026-11-21.csv", "2026-11-22.csv")

    with pytest.raises(HoldoutTooSmallError) as raised:
        split.split(window, data_prefix="data/churn", window="2026-11-16…2026-11-22")

    assert str(raised.value).startswith(
        "evaluation.holdout.fraction 0.01 (seed 0) holds out none of the 2 files in the window 2026-11-16…2026-11-22"
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"days": 2}', HoldoutSplit(days=2)),
        ('{"fraction": 0.1, "seed": 4}', HoldoutSplit(fraction=0.1, seed=4)),
    ],
)
def test_the_setting_is_read_from_the_environment(raw: str, expected: HoldoutSplit) -> None:
    assert HoldoutSplit.from_env({"HOLDOUT": raw}) == expected
    assert HoldoutSplit.from_env({}) is None


@pytest.mark.parametrize("raw", ['{"days": 0}', '{"fraction": 1.5}', '{"weeks": 1}', "days", '{"days": true}'])
def test_a_malformed_setting_is_a_configuration_error(raw: str) -> None:
    with pytest.raises(ConfigurationError, match="HOLDOUT must be"):
        HoldoutSplit.from_env({"HOLDOUT": raw})
