"""UpdateParameters' handler: the watermark moves and the run's figures go out as EMF metrics for the dashboard."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from contract.metrics import METRICS_NAMESPACE, metric_dimensions
from lambdas.common import env as names
from lambdas.common.events import Execution
from lambdas.update_parameters.handler import lambda_handler
from tests.unit.lambdas.update_parameters.test_core import PARAMETER, deployed, evaluation, run_state

EXECUTION = {
    "id": "arn:aws:states:us-east-1:123456789012:execution:sagemaker-retraining-churn:run-1",
    "name": "run-1",
    "start_time": "2026-11-22T06:00:00.000Z",
}


@pytest.fixture
def environment(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        names.PIPELINE_NAME: "churn",
        names.WATERMARK_PARAMETER: PARAMETER,
        names.ENDPOINT_NAME: "churn",
        # The namespace the stack sets; tests elsewhere default it to another one.
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
    }.items():
        monkeypatch.setenv(name, value)
    boto3.client("ssm").put_parameter(
        Name=PARAMETER, Value=json.dumps({"newest_data_date": "2026-11-14"}), Type="String"
    )


def emitted(output: str) -> list[tuple[str, float, str, dict[str, str]]]:
    """(name, value, namespace, dimensions) of every metric in the EMF documents printed."""
    found = []
    for line in output.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            [dimension_names] = directive["Dimensions"]
            dimensions = {name: document[name] for name in dimension_names}
            for metric in directive["Metrics"]:
                # A single_metric document writes its value as a one-item list.
                value = document[metric["Name"]]
                [value] = value if isinstance(value, list) else [value]
                found.append((metric["Name"], value, directive["Namespace"], dimensions))
    return found


def test_a_deployed_run_emits_its_figures_with_the_pipeline_dimension(
    environment: None, lambda_context: Any, execution: Execution, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a deployed run: 7 files, 7,260 s of training, 610 s of deployment, validation:auc 0.83
    deployed(boto3.client("sagemaker"), execution, "churn-1")
    state = run_state("churn-1")
    state["training"]["waited_seconds"] = 7260
    state["deployment"]["waited_seconds"] = 610
    state["evaluation"] = evaluation(metric="validation:auc", value=0.83, approval_status="Approved")
    # AND a training job SageMaker billed 7,200 s (GetStatus recorded it)
    state["training"]["usage"] = {"kind": "training", "job_name": "churn-1", "billable_seconds": 7200}

    # WHEN the Lambda is invoked
    result = lambda_handler({"state": state, "execution": EXECUTION}, lambda_context)

    # THEN the watermark moved, and each figure is one metric under the dimensions the dashboard reads
    assert result["watermark"]["outcome"] == "deployed"
    run = metric_dimensions("update_parameters", "churn")
    assert sorted(emitted(capsys.readouterr().out)) == sorted(
        [
            ("WatermarkAdvanced", 1.0, METRICS_NAMESPACE, run),
            ("RunDataFiles", 7.0, METRICS_NAMESPACE, run),
            ("RunTrainingSeconds", 7260.0, METRICS_NAMESPACE, run),
            ("RunDeploymentSeconds", 610.0, METRICS_NAMESPACE, run),
            ("RunBillableSeconds", 7200.0, METRICS_NAMESPACE, run),
            ("DeployedModelMetric", 0.83, METRICS_NAMESPACE, {**run, "metric": "validation:auc"}),
        ]
    )


def test_a_rejected_run_emits_no_deployment_figures(
    environment: None, lambda_context: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a run the gate rejected after 7,000 s of training
    state = {
        **run_state("churn-2"),
        "evaluation": evaluation(metric="validation:auc", value=0.41, approval_status="Rejected"),
    }
    del state["deployment"]
    state["training"]["waited_seconds"] = 7000

    # WHEN the Lambda is invoked
    lambda_handler({"state": state, "execution": EXECUTION}, lambda_context)

    # THEN only what the run measured is sent: no deployment time and no deployed model's metric, not zeros
    names_sent = {name for name, *_ in emitted(capsys.readouterr().out)}
    assert names_sent == {"WatermarkAdvanced", "RunDataFiles", "RunTrainingSeconds"}


def test_with_metrics_disabled_nothing_is_printed(
    environment: None,
    lambda_context: Any,
    execution: Execution,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a deployed run with a gate metric, and metrics disabled (the local runtime's quiet mode)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    deployed(boto3.client("sagemaker"), execution, "churn-3")
    state = run_state("churn-3")
    state["evaluation"] = evaluation(metric="validation:auc", value=0.83, approval_status="Approved")

    # WHEN the Lambda is invoked
    lambda_handler({"state": state, "execution": EXECUTION}, lambda_context)

    # THEN no EMF document reaches stdout, the model metric's included
    assert emitted(capsys.readouterr().out) == []
