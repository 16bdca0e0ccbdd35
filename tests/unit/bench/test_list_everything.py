"""The baseline lists every key but finds exactly the files CheckData's window listing finds."""

from __future__ import annotations

from datetime import date

import boto3
import pytest

from bench import history as history_module
from bench.history import make_history, windows
from bench.list_everything import list_everything
from lambdas.check_data.core import list_window_files

BUCKET, PREFIX = "baseline", "data/churn"
LAST_DAY = date(2026, 11, 22)


@pytest.mark.parametrize("layout", ["dt", "flat+dt", "flat"])
def test_baseline_finds_the_window_listings_files_with_a_request_per_thousand_keys(
    aws: None, layout: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a history of 3,000 objects (1,050 in each window: more than a page of 1,000 keys, as the benchmark's
    # 2,002, at half the listing time)
    monkeypatch.setattr(history_module, "OBJECTS_PER_WINDOW_DAY", 150)
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    history = make_history(layout, 3_000, LAST_DAY)
    from moto.s3.models import s3_backends

    from tests.conftest import ACCOUNT

    for key in history.object_keys():
        s3_backends[ACCOUNT]["aws"].put_object(BUCKET, f"{PREFIX}/{key}", b"1\n")
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/dt=2026-11-20/notes.txt", Body=b"x")  # in the window, not data

    for window in windows(LAST_DAY):
        # WHEN both listings read the window
        everything = list_everything(s3, BUCKET, PREFIX, window.start, window.end)
        windowed = list_window_files(s3, BUCKET, PREFIX, window.start, window.end)

        # THEN they keep the same files, and the baseline paid a page per 1,000 keys of the history
        assert everything.files == windowed.files
        assert len(everything.files) == history.objects_in(window)
        assert everything.requests == history.size // 1000 + 1
