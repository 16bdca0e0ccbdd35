"""Which statuses end each wait loop, and where each loop's record is kept."""

from __future__ import annotations

import pytest

from lambdas.common import wakeups


@pytest.mark.parametrize("awaited", [wakeups.TRAINING, wakeups.PREPROCESSING, wakeups.TRANSFORM])
@pytest.mark.parametrize(
    ("status", "ended"),
    [("Completed", True), ("Failed", True), ("Stopped", True), ("InProgress", False), ("Stopping", False)],
)
def test_jobs_end_their_loop_in_the_same_states(awaited: str, status: str, ended: bool) -> None:
    assert wakeups.has_ended(awaited, status) is ended


@pytest.mark.parametrize(("status", "ended"), [("InService", True), ("Completed", False), ("Updating", False)])
def test_an_endpoint_ends_its_loop_when_it_settles(status: str, ended: bool) -> None:
    assert wakeups.has_ended(wakeups.DEPLOYMENT, status) is ended


def test_the_preprocessing_and_training_records_of_one_run_are_kept_apart() -> None:
    # the run id names both of its jobs: the kind keeps one loop's token from overwriting the other's
    assert (
        wakeups.record_key("waits/churn", wakeups.PREPROCESSING, "churn-1") == "waits/churn/preprocessing/churn-1.json"
    )
    assert wakeups.record_key("waits/churn", wakeups.TRAINING, "churn-1") == "waits/churn/training/churn-1.json"


def test_the_transform_loop_is_named_as_its_state_section_and_kept_apart() -> None:
    # AwaitStatusChange reads the job's name from the state section the kind names
    assert wakeups.TRANSFORM == "batch_transform"
    assert wakeups.record_key("waits/churn", wakeups.TRANSFORM, "churn-1") == "waits/churn/batch_transform/churn-1.json"
    assert len({wakeups.TRAINING, wakeups.DEPLOYMENT, wakeups.PREPROCESSING, wakeups.TRANSFORM}) == 4


@pytest.mark.parametrize(
    ("status", "api"), [("COMPLETED", "Completed"), ("IN_PROGRESS", "InProgress"), ("Completed", "Completed")]
)
def test_event_statuses_are_spelled_as_the_api_spells_them(status: str, api: str) -> None:
    assert wakeups.api_status(status) == api
