"""Conditional writes of racing clients against the local server: one wins, as in S3 (local_runtime/
s3_conditional_writes.py). moto stores each object a little later than it checks the condition, to widen the race."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.s3.models import S3Backend

from local_runtime.server import LocalAws
from tests.local_aws import local_client

RACERS = 4
SLOW_WRITE_SECONDS = 0.05


@pytest.fixture(autouse=True)
def slow_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    original = S3Backend.put_object

    def slow(self: S3Backend, *args: Any, **kwargs: Any) -> Any:
        time.sleep(SLOW_WRITE_SECONDS)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(S3Backend, "put_object", slow)


def race(aws: LocalAws, write: Callable[[Any, int], None]) -> list[str]:
    """Each racer writes at once with a client of its own; what each got: "ok" or the error code."""
    clients = [local_client(aws, "s3") for _ in range(RACERS)]
    start = threading.Barrier(RACERS)
    outcomes = [""] * RACERS

    def run(number: int) -> None:
        start.wait()
        try:
            write(clients[number], number)
            outcomes[number] = "ok"
        except ClientError as error:
            outcomes[number] = error.response["Error"]["Code"]

    threads = [threading.Thread(target=run, args=(number,)) for number in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.mark.compatibility("s3:conditional-writes")
def test_of_racing_creates_exactly_one_succeeds(moto_aws: LocalAws) -> None:
    local_client(moto_aws, "s3").create_bucket(Bucket="race-create")

    outcomes = race(
        moto_aws, lambda s3, n: s3.put_object(Bucket="race-create", Key="k", Body=f"{n}".encode(), IfNoneMatch="*")
    )

    assert sorted(outcomes) == ["PreconditionFailed"] * (RACERS - 1) + ["ok"]
    body = local_client(moto_aws, "s3").get_object(Bucket="race-create", Key="k")["Body"].read()
    assert body == str(outcomes.index("ok")).encode()  # the one that succeeded is the one stored


@pytest.mark.compatibility("s3:conditional-writes")
def test_of_racing_replacements_of_one_version_exactly_one_succeeds(moto_aws: LocalAws) -> None:
    s3 = local_client(moto_aws, "s3")
    s3.create_bucket(Bucket="race-replace")
    etag = s3.put_object(Bucket="race-replace", Key="k", Body=b"old")["ETag"]

    outcomes = race(
        moto_aws, lambda s3, n: s3.put_object(Bucket="race-replace", Key="k", Body=f"{n}".encode(), IfMatch=etag)
    )

    assert sorted(outcomes) == ["PreconditionFailed"] * (RACERS - 1) + ["ok"]
    assert s3.get_object(Bucket="race-replace", Key="k")["Body"].read() == str(outcomes.index("ok")).encode()
