"""The CheckData benchmark's own logic: the budget, the events it sends, the data it loads, its verdicts."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto.s3.models import s3_backends

from bench.check_data_cost import (
    LAST_DAY,
    Measurement,
    Row,
    clear,
    load,
    request_budget,
    step_event,
    targets,
)
from bench.history import make_history, windows
from lambdas.check_data.core import RunInput, list_window_files
from lambdas.common.events import StepEvent
from tests.conftest import ACCOUNT


@pytest.mark.parametrize(("objects", "budget"), [(0, 3), (7, 4), (1000, 4), (1001, 5), (2002, 6)])
def test_budget_is_a_page_per_thousand_window_objects_plus_three(objects: int, budget: int) -> None:
    assert request_budget(objects) == budget


def test_schedule_event_reads_the_window_ending_on_the_last_day() -> None:
    latest, _ = windows(LAST_DAY)

    step = StepEvent.parse(step_event(latest, "sagemaker-retraining-bench", "run-1"))
    run_input = RunInput.from_state(step.state)

    assert step.execution.start_time.date() == LAST_DAY
    assert run_input.end_date is None
    assert not run_input.force
    assert step.execution.id.endswith(":execution:sagemaker-retraining-bench:run-1")


def test_backfill_event_names_its_end_date_and_forces_the_run() -> None:
    _, backfill = windows(LAST_DAY)

    run_input = RunInput.from_state(StepEvent.parse(step_event(backfill, "machine", "run-2")).state)

    assert run_input.end_date == backfill.end
    assert run_input.force


def test_load_puts_the_history_under_the_prefix_and_clear_removes_only_it(aws: None) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="history")
    s3.put_object(Bucket="history", Key="manifests/bench/run.manifest", Body=b"[]")
    backend = s3_backends[ACCOUNT]["aws"]
    history = make_history("flat+dt", 5_000, LAST_DAY)

    load(backend, "history", "data/bench", history)
    latest, _ = windows(LAST_DAY)
    listed = list_window_files(s3, "history", "data/bench", latest.start, latest.end)
    assert len(listed.files) == history.objects_in(latest)

    clear(backend, "history", "data/bench")
    assert [item["Key"] for item in s3.list_objects_v2(Bucket="history")["Contents"]] == [
        "manifests/bench/run.manifest"
    ]


def measured(requests: int, wall: float, peak_mb: float = 80.0) -> Measurement:
    return Measurement(
        s3_requests=[requests] * 3,
        s3_operations={"s3:ListObjectsV2": 3 * (requests - 1), "s3:PutObject": 3},
        cold_walls=[wall * 2],
        warm_walls=[wall, wall * 1.01],
        s3_server_seconds=[0.1] * 2,
        peak_rss_mb=peak_mb,
        files_found=2002,
    )


def row(history: int, *, requests: int = 5, wall: float = 0.5, peak_mb: float = 80.0) -> Row:
    step = {"latest": measured(requests, wall, peak_mb), "backfill": measured(requests, wall, peak_mb)}
    return Row("dt", history, 2002, step, measured(history // 1000 + 2, wall * history / 2000))


def failing(rows: list[Row]) -> list[str]:
    return [description for description, holds in targets(rows) if not holds]


def test_targets_hold_for_flat_requests_time_and_small_memory() -> None:
    assert failing([row(20_000), row(200_000, wall=0.55)]) == []


@pytest.mark.parametrize(
    ("large", "missed"),
    [
        ({"requests": 7}, ["7 S3 requests <= budget 6", "S3 requests the same"]),
        ({"wall": 0.8}, ["wall time x1.60"]),
        ({"peak_mb": 130.0}, ["peak 130 MB < 128 MB"]),
    ],
)
def test_targets_miss_when_the_large_history_costs_more(large: dict[str, Any], missed: list[str]) -> None:
    failures = failing([row(20_000), row(200_000, **large)])

    for expected in missed:
        assert any(expected in failure for failure in failures), failures
    assert len(failures) == 2 * len(missed)  # once per window


def test_targets_compare_sizes_only_within_a_layout() -> None:
    descriptions = [description for description, _ in targets([row(20_000)])]

    assert not any("the same" in description or "wall time" in description for description in descriptions)
    assert len(descriptions) == 4  # budget and memory, for both windows


def test_merge_pools_the_calls_of_several_processes() -> None:
    merged = Measurement.merge([measured(5, 0.5, peak_mb=78.0), measured(5, 0.7, peak_mb=80.0)])

    assert merged.s3_requests == [5] * 6
    assert merged.s3_operations == {"s3:ListObjectsV2": 24, "s3:PutObject": 6}
    assert merged.cold_walls == [1.0, 1.4]
    assert len(merged.warm_walls) == 4
    assert merged.warm_wall == pytest.approx((0.505 + 0.7) / 2)
    assert merged.peak_rss_mb == 80.0


def test_merge_refuses_runs_that_found_different_files() -> None:
    other = Measurement([5], {"s3:ListObjectsV2": 4, "s3:PutObject": 1}, [1.0], [], [0.1], 78.0, files_found=2001)

    with pytest.raises(RuntimeError, match="different files"):
        Measurement.merge([measured(5, 0.5), other])
