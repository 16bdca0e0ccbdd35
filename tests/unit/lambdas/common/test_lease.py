"""The run lease against moto's S3 (versioned, as the data bucket is) and a Step Functions whose DescribeExecution is
strongly consistent and whose ListExecutions answers stale, as AWS documents them; the races against the local
server, with threads."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.s3.models import S3Backend

from lambdas.check_data.core import CheckDataSettings, RunInput, check_data
from lambdas.common.errors import TransientAwsError
from lambdas.common.events import Execution
from lambdas.common.lease import read_lease, release_lease, take_lease
from local_runtime.server import LocalAws
from tests.local_aws import local_client

BUCKET = "churn-data"
KEY = "waits/churn/run.lease"
MACHINE = "arn:aws:states:us-east-1:123456789012:execution:sagemaker-retraining-churn"
ENDED = ("SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT")


def run(name: str) -> Execution:
    return Execution(id=f"{MACHINE}:{name}", name=name, start_time=datetime(2026, 11, 22, 6, 0, tzinfo=UTC))


FIRST, SECOND = run("run-1"), run("run-2")


class StepFunctions:
    """DescribeExecution answers from `statuses` (strongly consistent, as on AWS); ListExecutions answers stale, as
    AWS allows: it lists no execution at all."""

    def __init__(self, statuses: Mapping[str, str] | None = None) -> None:
        self.statuses = dict(statuses or {})
        self.described: list[str] = []

    def describe_execution(self, **request: str) -> dict[str, Any]:
        arn = request["executionArn"]
        self.described.append(arn)
        if arn not in self.statuses:
            message = f"Execution Does Not Exist: '{arn}'"
            raise ClientError({"Error": {"Code": "ExecutionDoesNotExist", "Message": message}}, "DescribeExecution")
        return {"executionArn": arn, "status": self.statuses[arn]}

    def list_executions(self, **_: Any) -> dict[str, Any]:
        return {"executions": []}


def versioned_bucket(s3: Any) -> Any:
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return s3


@pytest.fixture
def s3(aws: None) -> Any:
    return versioned_bucket(boto3.client("s3"))


def take(s3: Any, sfn: Any, execution: Execution, *, bucket: str = BUCKET) -> str | None:
    """take_lease of the test's lease (`sfn` is a fake or moto's client)."""
    return take_lease(s3, sfn, bucket, KEY, execution)


def holder(s3: Any) -> str | None:
    lease = read_lease(s3, BUCKET, KEY)
    return lease.holder if lease is not None else None


def write_lease(s3: Any, body: bytes) -> None:
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=body)


def test_an_empty_lease_is_taken_and_names_the_execution_and_its_start(s3: Any) -> None:
    # WHEN the first run takes the lease nobody holds
    blocked_by = take(s3, StepFunctions(), FIRST)

    # THEN it holds it, and the object says who and since when
    assert blocked_by is None
    body = json.loads(s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read())
    assert body == {"execution": FIRST.id, "started_at": "2026-11-22T06:00:00.000Z"}


def test_a_retried_attempt_of_the_holder_keeps_the_lease_unchanged(s3: Any) -> None:
    # GIVEN the run took the lease, and its CheckData is retried (Lambda's timeout, a throttled call)
    sfn = StepFunctions({FIRST.id: "RUNNING"})
    take(s3, sfn, FIRST)
    before = read_lease(s3, BUCKET, KEY)

    # WHEN the retried attempt takes it again
    blocked_by = take(s3, sfn, FIRST)

    # THEN it goes on, and the lease is the same object: nobody asked whether the run itself still runs
    assert blocked_by is None
    assert read_lease(s3, BUCKET, KEY) == before
    assert sfn.described == []


def test_a_running_holder_blocks_the_next_run_and_keeps_the_lease(s3: Any) -> None:
    sfn = StepFunctions({FIRST.id: "RUNNING", SECOND.id: "RUNNING"})
    take(s3, sfn, FIRST)

    blocked_by = take(s3, sfn, SECOND)

    assert blocked_by == FIRST.id
    assert holder(s3) == FIRST.id
    assert sfn.described == [FIRST.id]


@pytest.mark.parametrize("status", [*ENDED, None], ids=[*ENDED, "unknown-to-step-functions"])
def test_a_lease_whose_holder_no_longer_runs_is_taken_over(s3: Any, status: str | None) -> None:
    # GIVEN a lease left by a run that ended without releasing it (its end event lost), or that Step Functions
    # does not know (deleted with its state machine)
    sfn = StepFunctions({} if status is None else {FIRST.id: status})
    take(s3, sfn, FIRST)

    # WHEN the next run takes the lease
    blocked_by = take(s3, sfn, SECOND)

    # THEN it holds it
    assert blocked_by is None
    assert holder(s3) == SECOND.id


@pytest.mark.parametrize(
    "body",
    [b"not json", b"", b"[]", b'"run-1"', b"null", b'{"holder": "run-1"}'],
    ids=["not-json", "empty", "array", "string", "null", "no-execution-field"],
)
def test_a_lease_this_workflow_did_not_write_is_taken_over(s3: Any, body: bytes) -> None:
    write_lease(s3, body)
    sfn = StepFunctions()

    blocked_by = take(s3, sfn, FIRST)

    assert blocked_by is None
    assert holder(s3) == FIRST.id
    assert sfn.described == []  # nobody to ask about


def test_the_holder_releases_the_lease_and_the_next_run_takes_it(s3: Any) -> None:
    sfn = StepFunctions({FIRST.id: "RUNNING", SECOND.id: "RUNNING"})
    take(s3, sfn, FIRST)

    released = release_lease(s3, BUCKET, KEY, FIRST.id)

    assert released
    assert read_lease(s3, BUCKET, KEY) is None
    # ... and in the versioned bucket (a delete marker is now the current version) the next run takes it at once
    assert take(s3, sfn, SECOND) is None
    assert holder(s3) == SECOND.id
    assert sfn.described == []


@pytest.mark.parametrize("lease_of", [SECOND.id, None], ids=["another-run", "nobody"])
def test_a_run_that_does_not_hold_the_lease_releases_nothing(s3: Any, lease_of: str | None) -> None:
    if lease_of is not None:
        take(s3, StepFunctions(), SECOND)

    released = release_lease(s3, BUCKET, KEY, FIRST.id)

    assert not released
    assert holder(s3) == lease_of


class TakeOverAfterRead:
    """S3 as the releasing run sees it when, between its read of the lease and its delete, another run takes the
    lease over (the releasing run ended, so the other may)."""

    def __init__(self, s3: Any, take_over: Callable[[], object]) -> None:
        self._s3, self._take_over = s3, take_over

    def get_object(self, **kwargs: Any) -> Any:
        answer = self._s3.get_object(**kwargs)
        self._take_over()
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)


def test_a_release_after_a_takeover_leaves_the_new_holders_lease(s3: Any) -> None:
    # GIVEN the first run ended holding the lease, and its end is being processed late
    sfn = StepFunctions({FIRST.id: "SUCCEEDED", SECOND.id: "RUNNING"})
    take(s3, sfn, FIRST)
    racing = TakeOverAfterRead(s3, lambda: take(s3, sfn, SECOND))

    # WHEN its release reads the lease (its own), then the second run takes it over, then the release deletes
    released = release_lease(racing, BUCKET, KEY, FIRST.id)  # type: ignore[arg-type]

    # THEN the conditional delete refused: the second run still holds the lease
    assert not released
    assert holder(s3) == SECOND.id


class ChangesHands:
    """A lease that another run takes over (its holder having just ended) between each read and each write."""

    def __init__(self, s3: Any) -> None:
        self._s3 = s3
        self.puts = 0

    def put_object(self, **kwargs: Any) -> Any:
        self.puts += 1
        message = "At least one of the pre-conditions you specified did not hold"
        raise ClientError({"Error": {"Code": "PreconditionFailed", "Message": message}}, "PutObject")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)


def test_a_lease_that_changes_hands_on_every_attempt_fails_naming_it(s3: Any) -> None:
    write_lease(s3, json.dumps({"execution": FIRST.id}).encode())
    contended = ChangesHands(s3)

    with pytest.raises(TransientAwsError, match=f"s3://{BUCKET}/{KEY} changed hands"):
        take(contended, StepFunctions({FIRST.id: "SUCCEEDED"}), SECOND)

    # a bounded number of attempts, each a take and a takeover
    assert contended.puts == 10
    assert holder(s3) == FIRST.id


def test_step_functions_errors_other_than_not_found_are_raised(s3: Any) -> None:
    # An AccessDenied (a lease naming another state machine's execution) must not read as "not running": that
    # would let a second run go on.
    class Denied(StepFunctions):
        def describe_execution(self, **request: str) -> dict[str, Any]:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DescribeExecution")

    take(s3, StepFunctions(), FIRST)

    with pytest.raises(ClientError, match="AccessDeniedException"):
        take(s3, Denied(), SECOND)
    assert holder(s3) == FIRST.id


def test_moto_step_functions_answers_as_the_lease_expects(s3: Any) -> None:
    """is_running against moto's own Step Functions: a running execution blocks; an ARN it does not know does not."""
    sfn = boto3.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="sagemaker-retraining-churn",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    started = sfn.start_execution(stateMachineArn=machine, name="run-1")["executionArn"]
    write_lease(s3, json.dumps({"execution": started}).encode())
    assert take(s3, sfn, SECOND) == started

    sfn.stop_execution(executionArn=started)
    assert take(s3, sfn, SECOND) is None

    write_lease(s3, json.dumps({"execution": f"{MACHINE}:never-started"}).encode())
    assert take(s3, sfn, FIRST) is None


# -- why not ListExecutions -------------------------------------------------------------------------------------------

SETTINGS = CheckDataSettings(
    pipeline="churn",
    bucket=BUCKET,
    data_prefix="data/churn",
    manifest_prefix="manifests/churn",
    watermark_parameter="/sagemaker-retraining/churn/watermark",
    window_days=7,
    volume_size_gb=30,
    max_files_per_run=100_000,
    lease_key=KEY,
)


@pytest.mark.reliability(
    "fault",
    "Two runs started within a second while ListExecutions (eventually consistent) lists neither",
    "The run lease (an S3 conditional write), not the listing, decides: the first run trains, the second "
    "stops naming it",
)
def test_a_run_started_close_behind_another_is_blocked_though_list_executions_shows_neither(s3: Any) -> None:
    # GIVEN new data, and two runs started within a second: ListExecutions (eventually consistent) lists neither,
    # which let both go on under the old guard
    s3.put_object(Bucket=BUCKET, Key="data/churn/2026-11-21.csv", Body=b"1,2,3\n")
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name=SETTINGS.watermark_parameter, Value=json.dumps({"newest_data_date": None}), Type="String")
    sfn = StepFunctions({FIRST.id: "RUNNING", SECOND.id: "RUNNING"})
    assert sfn.list_executions(stateMachineArn=MACHINE, statusFilter="RUNNING")["executions"] == []
    first = check_data(RunInput(), FIRST, s3=s3, ssm=ssm, sfn=sfn, settings=SETTINGS)  # type: ignore[arg-type]

    # WHEN the second run checks the data
    second = check_data(RunInput(), SECOND, s3=s3, ssm=ssm, sfn=sfn, settings=SETTINGS)  # type: ignore[arg-type]

    # THEN the first trains and the second stops: the lease, not the listing, decided
    assert first.has_new_data
    assert first.blocked_by is None
    assert second.blocked_by == FIRST.id
    assert not second.has_new_data
    assert holder(s3) == FIRST.id


# -- races, against the local server with threads ---------------------------------------------------------------------

RACERS = 4
# S3 stores the object this long after the request's condition was checked: without an atomic check-and-write, every
# racer's condition holds and every racer's write lands.
SLOW_WRITE_SECONDS = 0.05


@pytest.fixture
def slow_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    original = S3Backend.put_object

    def slow(self: S3Backend, *args: Any, **kwargs: Any) -> Any:
        time.sleep(SLOW_WRITE_SECONDS)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(S3Backend, "put_object", slow)


@pytest.fixture
def served_bucket(moto_aws: LocalAws, request: pytest.FixtureRequest) -> tuple[LocalAws, str]:
    """A versioned bucket of the local server, one per test (the server's backends outlive a test)."""
    bucket = f"lease-race-{request.node.name.split('[')[0][-20:].replace('_', '-')}-{time.monotonic_ns() % 10**6}"
    s3 = local_client(moto_aws, "s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return moto_aws, bucket


def race(server: LocalAws, bucket: str, sfn: StepFunctions, runs: list[Execution]) -> dict[str, str | None]:
    """Each run takes the lease in its own thread, with its own client, all released at once."""
    start = threading.Barrier(len(runs))
    results: dict[str, str | None] = {}
    errors: list[BaseException] = []
    clients = [local_client(server, "s3") for _ in runs]

    def contend(client: Any, execution: Execution) -> None:
        start.wait()
        try:
            results[execution.id] = take(client, sfn, execution, bucket=bucket)
        except BaseException as error:  # reported below, with the run that raised it
            errors.append(error)

    threads = [threading.Thread(target=contend, args=(c, e)) for c, e in zip(clients, runs, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def assert_one_holder(server: LocalAws, bucket: str, results: dict[str, str | None]) -> None:
    winners = [run_id for run_id, blocked_by in results.items() if blocked_by is None]
    assert len(winners) == 1, f"{len(winners)} runs hold the lease: {winners}"
    (winner,) = winners
    assert {blocked_by for run_id, blocked_by in results.items() if run_id != winner} == {winner}
    assert read_lease(local_client(server, "s3"), bucket, KEY) is not None
    assert holder_of(server, bucket) == winner


def holder_of(server: LocalAws, bucket: str) -> str | None:
    lease = read_lease(local_client(server, "s3"), bucket, KEY)
    return lease.holder if lease is not None else None


@pytest.mark.reliability(
    "fault",
    "Runs racing for a free run lease at the same instant, S3's writes slowed",
    "S3's compare-and-set leaves exactly one holder; every other run is told which run holds it",
)
def test_runs_racing_for_a_free_lease_leave_exactly_one_holder(
    served_bucket: tuple[LocalAws, str], slow_writes: None
) -> None:
    server, bucket = served_bucket
    runs = [run(f"race-{n}") for n in range(RACERS)]
    sfn = StepFunctions({r.id: "RUNNING" for r in runs})

    results = race(server, bucket, sfn, runs)

    assert_one_holder(server, bucket, results)


@pytest.mark.reliability(
    "fault",
    "Runs racing to take over the lease of a run that has ended, S3's writes slowed",
    "The takeover is a compare-and-set on the lease's ETag: exactly one run holds it, the others are told which",
)
def test_runs_racing_to_take_over_a_dead_runs_lease_leave_exactly_one_holder(
    served_bucket: tuple[LocalAws, str], slow_writes: None
) -> None:
    # GIVEN a lease left by a run that has ended
    server, bucket = served_bucket
    runs = [run(f"takeover-{n}") for n in range(RACERS)]
    sfn = StepFunctions({FIRST.id: "FAILED", **{r.id: "RUNNING" for r in runs}})
    take(local_client(server, "s3"), sfn, FIRST, bucket=bucket)

    # WHEN the next runs all find it at once and take it over
    results = race(server, bucket, sfn, runs)

    # THEN exactly one holds it
    assert_one_holder(server, bucket, results)
