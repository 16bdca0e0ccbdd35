"""CheckData and the run lease: only a run that trains takes it, and a run that finds it held stops before writing."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from lambdas.check_data.core import CheckDataSettings, ManifestTooLargeError, RunInput, check_data
from lambdas.common.errors import ConfigurationError
from lambdas.common.events import Execution
from lambdas.common.lease import read_lease
from tests.unit.lambdas.check_data.test_core import BUCKET, SETTINGS, put, set_watermark
from tests.unit.lambdas.check_data.test_handler import ENVIRONMENT

LEASE = "waits/churn/run.lease"
LEASED = replace(SETTINGS, lease_key=LEASE)


def holder(s3: Any) -> str | None:
    lease = read_lease(s3, BUCKET, LEASE)
    return lease.holder if lease is not None else None


def running_execution(sfn: Any, name: str) -> str:
    """An execution of the pipeline's state machine that stays RUNNING (moto here runs no state)."""
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    arn: str = sfn.start_execution(stateMachineArn=machine, name=name)["executionArn"]
    return arn


def manifests(s3: Any) -> int:
    count: int = s3.list_objects_v2(Bucket=BUCKET, Prefix="manifests/").get("KeyCount", 0)
    return count


@pytest.mark.parametrize(
    ("run_input", "watermark"),
    [(RunInput(), "2026-11-20"), (RunInput(), None), (RunInput(force=True), "2026-11-21")],
    ids=["new-data", "never-trained", "forced"],
)
def test_a_run_that_trains_takes_the_lease(
    s3: Any, ssm: Any, sfn: Any, execution: Execution, run_input: RunInput, watermark: str | None
) -> None:
    put(s3, "data/churn/2026-11-21.csv")
    set_watermark(ssm, watermark)

    result = check_data(run_input, execution, s3=s3, ssm=ssm, sfn=sfn, settings=LEASED)

    assert result.has_new_data
    assert holder(s3) == execution.id


def test_a_run_without_new_data_takes_nothing_and_is_not_blocked(
    s3: Any, ssm: Any, sfn: Any, execution: Execution
) -> None:
    # GIVEN another run holds the lease, and no data is newer than the watermark
    other = running_execution(sfn, "run-0")
    s3.put_object(Bucket=BUCKET, Key=LEASE, Body=json.dumps({"execution": other}).encode())
    put(s3, "data/churn/2026-11-20.csv")
    set_watermark(ssm, "2026-11-20")

    # WHEN this run checks the data
    result = check_data(RunInput(), execution, s3=s3, ssm=ssm, sfn=sfn, settings=LEASED)

    # THEN it ends "no new data", not "another run in progress", and leaves the other run's lease alone
    assert not result.has_new_data
    assert result.blocked_by is None
    assert "not newer than the watermark" in result.reason
    assert holder(s3) == other


def test_a_run_without_new_data_on_an_empty_lease_leaves_it_empty(
    s3: Any, ssm: Any, sfn: Any, execution: Execution
) -> None:
    put(s3, "data/churn/2026-11-20.csv")
    set_watermark(ssm, "2026-11-20")

    check_data(RunInput(), execution, s3=s3, ssm=ssm, sfn=sfn, settings=LEASED)

    assert read_lease(s3, BUCKET, LEASE) is None


def test_a_run_that_finds_the_lease_held_by_a_running_execution_stops_before_writing(
    s3: Any, ssm: Any, sfn: Any, execution: Execution
) -> None:
    # GIVEN an earlier run holds the lease and still runs, and there is new data
    other = running_execution(sfn, "run-0")
    s3.put_object(Bucket=BUCKET, Key=LEASE, Body=json.dumps({"execution": other}).encode())
    put(s3, "data/churn/2026-11-21.csv")

    # WHEN this run checks the data
    result = check_data(RunInput(trigger="schedule"), execution, s3=s3, ssm=ssm, sfn=sfn, settings=LEASED)

    # THEN it is blocked by that run: nothing to train, no manifest, the other run's lease untouched
    assert result.blocked_by == other
    assert not result.has_new_data
    assert result.reason == "another run of the pipeline is in progress: run-0"
    assert (result.manifest_uri, result.file_count, result.total_bytes) == (None, 0, 0)
    assert result.trigger == "schedule"
    assert result.run_id.startswith("churn-20261122060000-")
    assert manifests(s3) == 0
    assert holder(s3) == other


def test_a_run_takes_over_the_lease_of_a_run_that_has_ended_and_trains(
    s3: Any, ssm: Any, sfn: Any, execution: Execution
) -> None:
    other = running_execution(sfn, "run-0")
    sfn.stop_execution(executionArn=other)
    s3.put_object(Bucket=BUCKET, Key=LEASE, Body=json.dumps({"execution": other}).encode())
    put(s3, "data/churn/2026-11-21.csv")

    result = check_data(RunInput(), execution, s3=s3, ssm=ssm, sfn=sfn, settings=LEASED)

    assert result.has_new_data
    assert result.blocked_by is None
    assert holder(s3) == execution.id


def test_a_run_that_fails_after_taking_the_lease_keeps_it_for_run_ended_to_release(
    s3: Any, ssm: Any, sfn: Any, execution: Execution
) -> None:
    # The failure path (CleanUp, NotifyFailure, RunFailed) ends the execution; RunEnded then releases the lease.
    put(s3, "data/churn/2026-11-21.csv")
    too_small = replace(LEASED, max_files_per_run=0)

    with pytest.raises(ManifestTooLargeError):
        check_data(RunInput(), execution, s3=s3, ssm=ssm, sfn=sfn, settings=too_small)

    assert holder(s3) == execution.id


def test_without_a_lease_key_nothing_is_taken(s3: Any, ssm: Any, sfn: Any, execution: Execution) -> None:
    put(s3, "data/churn/2026-11-21.csv")

    result = check_data(RunInput(), execution, s3=s3, ssm=ssm, sfn=sfn, settings=SETTINGS)

    assert result.has_new_data
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="waits/").get("KeyCount", 0) == 0


@pytest.mark.parametrize("wake_prefix", ["waits/churn", "waits/churn/", "/waits/churn"])
def test_the_lease_lives_under_the_wake_prefix(wake_prefix: str) -> None:
    settings = CheckDataSettings.from_env({**ENVIRONMENT, "WAKE_PREFIX": wake_prefix})

    assert settings.lease_key == LEASE


def test_a_missing_wake_prefix_is_a_configuration_error_naming_it() -> None:
    environment = {name: value for name, value in ENVIRONMENT.items() if name != "WAKE_PREFIX"}

    with pytest.raises(ConfigurationError, match="WAKE_PREFIX"):
        CheckDataSettings.from_env(environment)
