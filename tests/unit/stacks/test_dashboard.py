"""The pipeline's CloudWatch dashboard: its body (a Fn::Join in the template) read back as the JSON CloudWatch gets."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template

from contract.metrics import METRICS_NAMESPACE
from tests.unit.stacks.synth import STEP_HANDLERS, flatten, function_id, pipeline, pipeline_template

GATE = {"metric": "train:binary_classification_accuracy", "direction": "maximize", "threshold": 0.7}
RUN_DIMENSIONS = {"pipeline": "churn", "service": "update_parameters"}


@pytest.fixture(scope="module")
def gated() -> Template:
    return pipeline_template(pipeline(name="churn", quality_gate=GATE, rollout={"strategy": "all_at_once"}))


@pytest.fixture(scope="module")
def ungated() -> Template:
    return pipeline_template(pipeline(name="churn"))


def dashboard(template: Template) -> dict[str, Any]:
    """The dashboard's properties, its body parsed (Ref and GetAtt rendered as <Id> and <Id.Attr>)."""
    [resource] = template.find_resources("AWS::CloudWatch::Dashboard").values()
    properties: dict[str, Any] = resource["Properties"]
    return {**properties, "DashboardBody": json.loads(flatten(properties["DashboardBody"]))}


def widget(template: Template, title: str) -> dict[str, Any]:
    found = [
        w["properties"]
        for w in dashboard(template)["DashboardBody"]["widgets"]
        if w["properties"].get("title") == title
    ]
    assert len(found) == 1, title
    return found[0]


def metrics(properties: dict[str, Any]) -> list[tuple[str, str, dict[str, str], dict[str, Any]]]:
    """(namespace, name, dimensions, options) of each metric line of a graph; expressions are left out."""
    lines = []
    for line in properties["metrics"]:
        options = line[-1] if isinstance(line[-1], dict) else {}
        fields = line[:-1] if options else line
        if not fields:
            continue
        namespace, name, *pairs = fields
        lines.append((namespace, name, dict(zip(pairs[::2], pairs[1::2], strict=True)), options))
    return lines


def test_one_dashboard_named_after_the_pipeline(gated: Template) -> None:
    properties = dashboard(gated)

    assert properties["DashboardName"] == "sagemaker-retraining-churn"
    assert properties["DashboardBody"]["start"] == "-P28D"


def test_runs_are_counted_per_day_by_outcome(gated: Template) -> None:
    machine = next(iter(gated.find_resources("AWS::StepFunctions::StateMachine")))

    lines = metrics(widget(gated, "Runs per day"))

    assert [(ns, name, options["stat"], options["period"]) for ns, name, _, options in lines] == [
        ("AWS/States", f"Executions{outcome}", "Sum", 86_400)
        for outcome in ("Started", "Succeeded", "Failed", "TimedOut", "Aborted")
    ]
    assert all(dimensions == {"StateMachineArn": f"<{machine}>"} for _, _, dimensions, _ in lines)


def test_every_steps_lambda_duration_is_charted(gated: Template) -> None:
    lines = metrics(widget(gated, "Step durations (Lambda, average ms)"))

    assert {options["label"]: dimensions["FunctionName"] for _, _, dimensions, options in lines} == {
        step: f"<{function_id(gated, step)}>" for step in [*STEP_HANDLERS, "StatusChangeListener", "RunEnded"]
    }
    assert {(ns, name) for ns, name, _, _ in lines} == {("AWS/Lambda", "Duration")}


def test_training_deployment_billed_time_and_data_files_come_from_update_parameters(gated: Template) -> None:
    waits = metrics(widget(gated, "Training, deployment and billed instance time per run (seconds)"))
    files = metrics(widget(gated, "Data files per run"))

    assert [(ns, name, dims) for ns, name, dims, _ in waits + files] == [
        (METRICS_NAMESPACE, "RunTrainingSeconds", RUN_DIMENSIONS),
        (METRICS_NAMESPACE, "RunDeploymentSeconds", RUN_DIMENSIONS),
        (METRICS_NAMESPACE, "RunBillableSeconds", RUN_DIMENSIONS),
        (METRICS_NAMESPACE, "RunDataFiles", RUN_DIMENSIONS),
    ]


def test_the_deployed_models_gate_metric_is_charted_against_the_threshold(gated: Template) -> None:
    properties = widget(gated, "Deployed model: train:binary_classification_accuracy (maximize)")

    assert [(ns, name, dims) for ns, name, dims, _ in metrics(properties)] == [
        (METRICS_NAMESPACE, "DeployedModelMetric", {**RUN_DIMENSIONS, "metric": "train:binary_classification_accuracy"})
    ]
    assert [(a["value"], a["label"]) for a in properties["annotations"]["horizontal"]] == [
        (0.7, "quality gate threshold")
    ]


def test_without_a_gate_the_model_panel_says_how_to_get_one(ungated: Template) -> None:
    body = dashboard(ungated)["DashboardBody"]

    texts = [w["properties"]["markdown"] for w in body["widgets"] if w["type"] == "text"]
    assert any("No `quality_gate` is configured" in text for text in texts)
    assert "DeployedModelMetric" not in json.dumps(body)


def test_the_alarm_panel_shows_every_alarm_of_the_stack_the_rollouts_too(gated: Template) -> None:
    [panel] = [w["properties"] for w in dashboard(gated)["DashboardBody"]["widgets"] if w["type"] == "alarm"]

    assert sorted(panel["alarms"]) == sorted(f"<{i}.Arn>" for i in gated.find_resources("AWS::CloudWatch::Alarm"))
    assert any(
        a["Properties"].get("Namespace") == "AWS/SageMaker"
        for a in gated.find_resources("AWS::CloudWatch::Alarm").values()
    )


def test_widgets_fit_the_grid_without_overlapping(gated: Template) -> None:
    cells: set[tuple[int, int]] = set()
    for w in dashboard(gated)["DashboardBody"]["widgets"]:
        assert w["x"] + w["width"] <= 24
        area = {(x, y) for x in range(w["x"], w["x"] + w["width"]) for y in range(w["y"], w["y"] + w["height"])}
        assert not cells & area, w["properties"].get("title")
        cells |= area
