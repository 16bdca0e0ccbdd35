"""UpdateParameters on a backfill (a run on data older than the watermark's day): the watermark never moves back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambdas.common.errors import DeploymentNotConfirmedError, InvalidStepEventError
from lambdas.common.events import Execution
from tests.unit.lambdas.update_parameters.test_core import (
    PARAMETER,
    clients,  # noqa: F401 (a fixture)
    deployed,
    evaluation,
    run_state,
    update,
)

# What the last run on new data recorded: 2026-11-21 judged, churn-1 serving.
RECORDED = {
    "newest_data_date": "2026-11-21",
    "window_start": "2026-11-15",
    "window_end": "2026-11-21",
    "manifest_uri": "s3://b/manifests/churn/churn-1.manifest",
    "training_job_name": "churn-1",
    "outcome": "deployed",
    "model_name": "churn-1",
    "endpoint_name": "churn",
    "endpoint_config_name": "churn-1",
    "training_seconds": 6800,
    "deployment_seconds": 600,
    "execution_id": "arn:aws:states:us-east-1:123456789012:execution:sagemaker-retraining-churn:run-0",
}
PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-models/7"


@pytest.fixture
def recorded(clients: tuple[Any, Any]) -> tuple[Any, Any, int]:  # noqa: F811 (the imported fixture)
    """The clients, with the watermark of the last run on new data; and the parameter's version."""
    sagemaker, ssm = clients
    version = ssm.put_parameter(Name=PARAMETER, Value=json.dumps(RECORDED), Type="String", Overwrite=True)["Version"]
    return sagemaker, ssm, int(version)


def backfill_state(name: str, *, deploy: bool, approval_status: str = "Approved") -> dict[str, Any]:
    """A backfill's state: its window 2026-11-08..14 ends a week before the watermark's day."""
    state = run_state(name)
    state["run"].update(
        window_start="2026-11-08",
        window_end="2026-11-14",
        newest_data_date="2026-11-14",
        watermark_date="2026-11-21",
        forced=True,
        backfill=True,
        deploy=deploy,
    )
    state["evaluation"] = evaluation(approval_status=approval_status, model_package_arn=PACKAGE)
    if not deploy or approval_status == "Rejected":
        del state["deployment"]  # DeployOrRegister (or the gate) sent it straight to UpdateParameters
    return state


def stored(ssm: Any) -> tuple[dict[str, Any], int]:
    parameter = ssm.get_parameter(Name=PARAMETER)["Parameter"]
    return json.loads(parameter["Value"]), int(parameter["Version"])


def test_a_registered_backfill_writes_nothing(recorded: tuple[Any, Any, int], execution: Execution) -> None:
    # GIVEN an approved backfill that was not asked to deploy
    sagemaker, ssm, version = recorded

    # WHEN UpdateParameters runs
    result = update(backfill_state("churn-b", deploy=False), execution, sagemaker, ssm)

    # THEN the watermark is as it was, same version, and the state says it stayed
    assert stored(ssm) == (RECORDED, version)
    watermark = result.watermark
    assert (watermark.outcome, watermark.moved, watermark.version) == ("registered", False, version)
    assert (watermark.newest_data_date, watermark.previous_date) == ("2026-11-21", "2026-11-21")
    # ... and the dashboard gets no deployment and no deployed model's metric
    assert (result.figures.deployment_seconds, result.figures.model_metric) == (None, None)


@pytest.mark.parametrize("deploy", [False, True], ids=["registered", "asked to deploy"])
def test_a_rejected_backfill_writes_nothing_and_is_rejected(
    recorded: tuple[Any, Any, int], execution: Execution, deploy: bool
) -> None:
    # GIVEN a backfill the gate rejected (a normal run's rejection moves the watermark to the judged day)
    sagemaker, ssm, version = recorded

    result = update(backfill_state("churn-b", deploy=deploy, approval_status="Rejected"), execution, sagemaker, ssm)

    assert stored(ssm) == (RECORDED, version)
    assert (result.watermark.outcome, result.watermark.moved, result.watermark.version) == ("rejected", False, version)
    assert result.watermark.newest_data_date == "2026-11-21"


def test_a_deployed_backfill_keeps_the_day_and_records_what_serves_and_which_backfill(
    recorded: tuple[Any, Any, int], execution: Execution
) -> None:
    # GIVEN a backfill asked to deploy, whose model the endpoint now serves
    sagemaker, ssm, version = recorded
    deployed(sagemaker, execution, "churn-b")

    # WHEN UpdateParameters runs
    result = update(backfill_state("churn-b", deploy=True), execution, sagemaker, ssm)

    # THEN the day judged and the durations are the last run's, the serving fields the backfill's
    value, new_version = stored(ssm)
    assert new_version == version + 1
    assert value["newest_data_date"] == "2026-11-21"
    assert {k: value[k] for k in ("window_start", "manifest_uri", "training_job_name", "outcome", "execution_id")} == {
        k: RECORDED[k] for k in ("window_start", "manifest_uri", "training_job_name", "outcome", "execution_id")
    }
    assert (value["training_seconds"], value["deployment_seconds"]) == (6800, 600)
    assert (value["model_name"], value["endpoint_name"], value["endpoint_config_name"]) == (
        "churn-b",
        "churn",
        "churn-b",
    )
    assert value["served_backfill"] == {
        "execution_id": execution.id,
        "window_start": "2026-11-08",
        "window_end": "2026-11-14",
        "newest_data_date": "2026-11-14",
        "training_job_name": "churn-b",
        "model_package_arn": PACKAGE,
    }
    assert value["updated_at"] == "2026-11-22T09:00:00.000Z"
    assert len(json.dumps(value)) < 4096  # a standard parameter holds at most 4 KB
    # ... and the state says the watermark stayed, though what serves changed
    watermark = result.watermark
    assert (watermark.outcome, watermark.moved, watermark.version) == ("deployed", False, version + 1)
    assert (watermark.newest_data_date, watermark.previous_date) == ("2026-11-21", "2026-11-21")
    assert result.figures.deployment_seconds is None  # run_state's loops measured no wait


def test_a_deployed_backfill_the_endpoint_does_not_serve_fails_and_writes_nothing(
    recorded: tuple[Any, Any, int], execution: Execution
) -> None:
    sagemaker, ssm, version = recorded
    deployed(sagemaker, execution, "churn-1")

    with pytest.raises(DeploymentNotConfirmedError, match="not InService on churn-b"):
        update(backfill_state("churn-b", deploy=True), execution, sagemaker, ssm)

    assert stored(ssm) == (RECORDED, version)


def test_a_second_deployed_backfill_replaces_the_first_ones_record(
    recorded: tuple[Any, Any, int], execution: Execution
) -> None:
    sagemaker, ssm, _ = recorded
    deployed(sagemaker, execution, "churn-b")
    update(backfill_state("churn-b", deploy=True), execution, sagemaker, ssm)
    deployed(sagemaker, execution, "churn-c")

    update(backfill_state("churn-c", deploy=True), execution, sagemaker, ssm)

    value, _ = stored(ssm)
    assert (value["newest_data_date"], value["model_name"]) == ("2026-11-21", "churn-c")
    assert value["served_backfill"]["training_job_name"] == "churn-c"


def test_a_run_on_new_data_after_a_deployed_backfill_moves_the_watermark_forward(
    recorded: tuple[Any, Any, int], execution: Execution
) -> None:
    # GIVEN a deployed backfill, then a run on 2026-11-22's data
    sagemaker, ssm, _ = recorded
    deployed(sagemaker, execution, "churn-b")
    update(backfill_state("churn-b", deploy=True), execution, sagemaker, ssm)
    deployed(sagemaker, execution, "churn-2")
    state = run_state("churn-2")
    state["run"].update(window_start="2026-11-16", window_end="2026-11-22", newest_data_date="2026-11-22")

    result = update(state, execution, sagemaker, ssm)

    # THEN the watermark moves on and no longer says a backfill serves
    value, _ = stored(ssm)
    assert (value["newest_data_date"], value["model_name"], value["outcome"]) == ("2026-11-22", "churn-2", "deployed")
    assert "served_backfill" not in value
    assert (result.watermark.moved, result.watermark.previous_date) == (True, "2026-11-21")


def test_a_forced_retrain_of_the_watermarks_day_is_recorded_as_a_normal_run(
    recorded: tuple[Any, Any, int], execution: Execution
) -> None:
    sagemaker, ssm, version = recorded
    deployed(sagemaker, execution, "churn-2")

    result = update(run_state("churn-2"), execution, sagemaker, ssm)  # newest_data_date 2026-11-21, as recorded

    value, new_version = stored(ssm)
    assert (value["training_job_name"], value["model_name"], new_version) == ("churn-2", "churn-2", version + 1)
    assert (result.watermark.outcome, result.watermark.moved) == ("deployed", True)


def test_registered_on_a_run_that_is_no_backfill_is_an_invalid_state(
    recorded: tuple[Any, Any, int], execution: Execution
) -> None:
    # GIVEN a state whose run says "do not deploy" though its data is the watermark's day or newer
    sagemaker, ssm, version = recorded
    state = run_state("churn-2")
    state["run"]["deploy"] = False
    del state["deployment"]

    with pytest.raises(InvalidStepEventError, match=r"'run\.deploy' is false on a run that is no backfill"):
        update(state, execution, sagemaker, ssm)

    assert stored(ssm) == (RECORDED, version)


def test_the_watermark_moves_forward_when_none_was_recorded(clients: tuple[Any, Any], execution: Execution) -> None:  # noqa: F811
    # GIVEN a parameter without a day (never trained): no run can be a backfill
    sagemaker, ssm = clients
    ssm.put_parameter(Name=PARAMETER, Value=json.dumps({"newest_data_date": None}), Type="String", Overwrite=True)
    deployed(sagemaker, execution, "churn-1")

    result = update(run_state("churn-1"), execution, sagemaker, ssm)

    assert (result.watermark.newest_data_date, result.watermark.moved) == ("2026-11-21", True)
