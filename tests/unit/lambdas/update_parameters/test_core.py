"""UpdateParameters against moto's SSM and SageMaker."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from lambdas.common.cost import run_cost
from lambdas.common.errors import DeploymentNotConfirmedError
from lambdas.common.events import Execution
from lambdas.common.models import ApprovalState, DeploymentState, EvaluationState, RunState, TrainingJobState
from lambdas.deploy_model.core import DeploySettings, deploy_model
from lambdas.update_parameters.core import (
    RunFigures,
    WatermarkSettings,
    WatermarkUpdate,
    run_figures,
    update_parameters,
)
from tests.unit.lambdas.states import deployment_section, evaluation_section, run_section, training_section

NOW = datetime(2026, 11, 22, 9, 0, 0, tzinfo=UTC)
PARAMETER = "/sagemaker-retraining/churn/watermark"
SETTINGS = WatermarkSettings(parameter=PARAMETER, endpoint_name="churn")
DEPLOY = DeploySettings(
    pipeline="churn",
    endpoint_name="churn",
    instance_type="ml.m5.large",
    instance_count=1,
    image="img",
    role_arn="arn:aws:iam::123456789012:role/r",
    poll_interval_seconds=1,
)


def run_state(name: str) -> dict[str, Any]:
    """A deployed run's state; its loops have not measured their waits (waited_seconds 0)."""
    return {
        "run": run_section(run_id=name, manifest_uri=f"s3://b/manifests/churn/{name}.manifest").to_state(),
        "training": training_section(
            job_name=name, model_artifact=f"s3://b/m/{name}/output/model.tar.gz", waited_seconds=0
        ).to_state(),
        "deployment": deployment_section(endpoint_config_name=name, model_name=name, waited_seconds=0).to_state(),
    }


def update(state: dict[str, Any], execution: Execution, sagemaker: Any, ssm: Any) -> WatermarkUpdate:
    """Move the watermark on the state's sections, read as the handler reads them."""
    return update_parameters(
        RunState.read(state),
        TrainingJobState.read(state),
        execution,
        deployment=DeploymentState.read_optional(state),
        evaluation=EvaluationState.read_optional(state),
        approval=ApprovalState.read_optional(state),
        sagemaker=sagemaker,
        ssm=ssm,
        settings=SETTINGS,
        now=NOW,
    )


def figures_of(state: dict[str, Any], outcome: str) -> RunFigures:
    return run_figures(
        RunState.read(state),
        TrainingJobState.read(state),
        outcome=outcome,
        deployment=DeploymentState.read_optional(state),
        evaluation=EvaluationState.read_optional(state),
    )


def evaluation(**fields: Any) -> dict[str, Any]:
    return evaluation_section(**fields).to_state()


@pytest.fixture
def clients(aws: None) -> tuple[Any, Any]:
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name=PARAMETER, Value=json.dumps({"newest_data_date": "2026-11-14"}), Type="String")
    return boto3.client("sagemaker"), ssm


def deployed(sagemaker: Any, execution: Execution, name: str) -> None:
    deploy_model(
        training_section(job_name=name, model_artifact="s3://b/m.tar.gz"),
        execution,
        sagemaker=sagemaker,
        settings=DEPLOY,
        now=NOW,
    )


def test_records_the_deployed_runs_data_manifest_and_job(clients: tuple[Any, Any], execution: Execution) -> None:
    sagemaker, ssm = clients
    deployed(sagemaker, execution, "churn-1")

    result = update(run_state("churn-1"), execution, sagemaker, ssm)

    value = json.loads(ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"])
    assert value["newest_data_date"] == "2026-11-21"
    assert value["manifest_uri"] == "s3://b/manifests/churn/churn-1.manifest"
    assert value["training_job_name"] == "churn-1"
    assert value["endpoint_config_name"] == "churn-1"
    assert value["execution_id"] == execution.id
    assert len(json.dumps(value)) < 4096  # a standard parameter holds at most 4 KB
    assert (result.watermark.previous_date, result.watermark.newest_data_date, result.watermark.version) == (
        "2026-11-14",
        "2026-11-21",
        2,
    )


def test_watermark_stays_when_the_endpoint_serves_another_config(
    clients: tuple[Any, Any], execution: Execution
) -> None:
    sagemaker, ssm = clients
    deployed(sagemaker, execution, "churn-old")

    with pytest.raises(DeploymentNotConfirmedError, match="churn-old"):
        update(run_state("churn-new"), execution, sagemaker, ssm)

    value = json.loads(ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"])
    assert value == {"newest_data_date": "2026-11-14"}


def test_recreates_a_deleted_parameter(clients: tuple[Any, Any], execution: Execution) -> None:
    sagemaker, ssm = clients
    ssm.delete_parameter(Name=PARAMETER)
    deployed(sagemaker, execution, "churn-1")

    result = update(run_state("churn-1"), execution, sagemaker, ssm)

    assert result.watermark.previous_date is None
    assert json.loads(ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"])["newest_data_date"] == "2026-11-21"


@pytest.mark.parametrize(
    "decision",
    [
        {"evaluation": evaluation(approval_status="Rejected", model_package_arn="arn:pkg/2")},
        {
            "evaluation": evaluation(approval_status="PendingManualApproval", model_package_arn="arn:pkg/2"),
            "approval": ApprovalState("Rejected", "arn:pkg/2", 2, None).to_state(),
        },
    ],
    ids=["by the gate", "by a person"],
)
def test_a_rejected_model_moves_the_watermark_and_keeps_naming_what_still_serves(
    clients: tuple[Any, Any], execution: Execution, decision: dict[str, Any]
) -> None:
    sagemaker, ssm = clients
    ssm.put_parameter(
        Name=PARAMETER,
        Value=json.dumps(
            {
                "newest_data_date": "2026-11-14",
                "model_name": "churn-1",
                "endpoint_name": "churn",
                "endpoint_config_name": "churn-1",
            }
        ),
        Type="String",
        Overwrite=True,
    )
    state = {**run_state("churn-2"), **decision}
    del state["deployment"]  # nothing was deployed, and no endpoint is asked

    result = update(state, execution, sagemaker, ssm)

    assert (result.watermark.outcome, result.watermark.previous_date, result.watermark.newest_data_date) == (
        "rejected",
        "2026-11-14",
        "2026-11-21",
    )
    value = json.loads(ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"])
    assert value["outcome"] == "rejected"
    assert value["training_job_name"] == "churn-2"
    assert value["model_package_arn"] == "arn:pkg/2"
    assert (value["model_name"], value["endpoint_config_name"]) == ("churn-1", "churn-1")


def test_records_how_long_training_and_deployment_took_for_the_next_runs_poll_loops(
    clients: tuple[Any, Any], execution: Execution
) -> None:
    # GIVEN the loops saw the job end after 7,260 s and the endpoint after 610 s
    sagemaker, ssm = clients
    deployed(sagemaker, execution, "churn-1")
    state = run_state("churn-1")
    state["training"]["waited_seconds"] = 7260
    state["deployment"]["waited_seconds"] = 610

    # WHEN the watermark moves
    update(state, execution, sagemaker, ssm)

    # THEN it records both durations, where the next run's CheckData reads them
    value = json.loads(ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"])
    assert (value["training_seconds"], value["deployment_seconds"]) == (7260, 610)


def test_a_rejected_run_records_its_training_time_and_keeps_the_last_deployment_time(
    clients: tuple[Any, Any], execution: Execution
) -> None:
    # GIVEN a previous deployment that took 600 s, and a model rejected after 7,000 s of training
    sagemaker, ssm = clients
    previous = {"newest_data_date": "2026-11-14", "training_seconds": 6800, "deployment_seconds": 600}
    ssm.put_parameter(Name=PARAMETER, Value=json.dumps(previous), Type="String", Overwrite=True)
    state = {**run_state("churn-2"), "evaluation": evaluation(approval_status="Rejected")}
    del state["deployment"]
    state["training"]["waited_seconds"] = 7000

    update(state, execution, sagemaker, ssm)

    # THEN nothing was deployed: the next deployment is still expected to take what the last one took
    value = json.loads(ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"])
    assert (value["training_seconds"], value["deployment_seconds"]) == (7000, 600)


# The run's figures for the dashboard


def test_a_deployed_run_reports_its_files_durations_and_gate_metric(
    clients: tuple[Any, Any], execution: Execution
) -> None:
    # GIVEN a deployed run whose gate judged validation:auc 0.83, trained for 7,260 s and deployed in 610 s
    sagemaker, ssm = clients
    deployed(sagemaker, execution, "churn-1")
    state = run_state("churn-1")
    state["training"]["waited_seconds"] = 7260
    state["deployment"]["waited_seconds"] = 610
    state["evaluation"] = evaluation(metric="validation:auc", value=0.83, approval_status="Approved")

    # WHEN the watermark moves
    result = update(state, execution, sagemaker, ssm)

    # THEN the figures are this run's, and the state the workflow carries on with does not hold them
    assert result.figures == RunFigures(
        file_count=7,
        training_seconds=7260,
        deployment_seconds=610,
        model_metric="validation:auc",
        model_metric_value=0.83,
    )
    assert "figures" not in result.watermark.to_state()


def test_a_run_reports_the_instance_seconds_its_jobs_were_billed() -> None:
    # GIVEN a run whose two-instance training job was billed 300 s each and whose processing job ran 60 s
    state = run_state("churn-1")
    state["training"]["usage"] = {
        "kind": "training",
        "job_name": "churn-1",
        "instance_count": 2,
        "billable_seconds": 300,
    }
    state["preprocessing"] = {"usage": {"kind": "processing", "job_name": "churn-1-pre", "billable_seconds": 60}}

    # WHEN its figures are taken
    figures = run_figures(
        RunState.read(state),
        TrainingJobState.read(state),
        outcome="deployed",
        deployment=DeploymentState.read_optional(state),
        evaluation=None,
        cost=run_cost(state),
    )

    # THEN the dashboard gets every instance's billed seconds; without usages (an older state) none
    assert figures.billable_seconds == 660
    assert figures_of(run_state("churn-1"), "deployed").billable_seconds is None


def test_a_rejected_run_reports_no_deployment_and_no_deployed_metric() -> None:
    # GIVEN a run whose model the gate rejected, with a previous watermark that knew a deployment time
    state = {
        **run_state("churn-2"),
        "evaluation": evaluation(metric="validation:auc", value=0.41, approval_status="Rejected"),
    }
    state["training"]["waited_seconds"] = 7000

    # WHEN its figures are taken
    figures = figures_of(state, outcome="rejected")

    # THEN nothing deployed: no deployment time, no deployed model's metric (and no earlier run's values)
    assert figures == RunFigures(
        file_count=7, training_seconds=7000, deployment_seconds=None, model_metric=None, model_metric_value=None
    )


@pytest.mark.parametrize(
    "judged",
    [None, evaluation(metric=None, value=None), evaluation(metric="validation:auc", value=float("nan"))],
    ids=["no evaluation", "no gate", "not a number"],
)
def test_a_deployed_run_without_a_gate_value_reports_no_model_metric(judged: dict[str, Any] | None) -> None:
    state = run_state("churn-1")
    if judged is not None:
        state["evaluation"] = judged

    figures = figures_of(state, outcome="deployed")

    assert (figures.model_metric, figures.model_metric_value) == (None, None)
    assert (figures.file_count, figures.training_seconds, figures.deployment_seconds) == (7, None, None)
