"""The ASL file's structure: every task retries and catches, every choice has a default, nothing dangles."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

ASL_PATH = Path(__file__).parents[3] / "statemachine" / "retraining.asl.json"
ASL_TEXT = ASL_PATH.read_text()
STATES: dict[str, Any] = json.loads(ASL_TEXT)["States"]
LAMBDA_ERRORS = {"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.TooManyRequestsException"}
# What a function that dies (killed, out of memory) or times out reports: retried, since every step is idempotent.
CRASH_ERRORS = {"Lambda.Unknown", "Runtime.ExitError", "Sandbox.Timedout"}


def targets(state: dict[str, Any]) -> set[str]:
    found = {state[k] for k in ("Next", "Default") if k in state}
    found |= {c["Next"] for c in state.get("Choices", []) + state.get("Catch", [])}
    return found


def test_placeholders_are_only_function_arns() -> None:
    placeholders = set(re.findall(r"\$\{([^}]+)\}", ASL_TEXT))

    assert placeholders == {
        f"{step}FunctionArn"
        for step in (
            "CheckData",
            "StartPreprocessing",
            "StartTrainingJob",
            "GetStatus",
            "AwaitStatusChange",
            "StartEvaluation",
            "EvaluateModel",
            "RequestApproval",
            "DeployModel",
            "StartBatchTransform",
            "SmokeTest",
            "UpdateParameters",
            "PruneModels",
            "RecordLineage",
            "CleanUp",
            "NotifySlack",
        )
    }
    assert not re.search(r"arn:aws:(lambda|iam|sagemaker):[^\"]*:\d{12}", ASL_TEXT)


def test_every_transition_names_an_existing_state_and_every_state_is_reachable() -> None:
    reachable, frontier = set(), [json.loads(ASL_TEXT)["StartAt"]]
    while frontier:
        name = frontier.pop()
        if name in reachable:
            continue
        assert name in STATES, f"transition to missing state {name}"
        reachable.add(name)
        frontier.extend(targets(STATES[name]))

    assert reachable == set(STATES)


@pytest.mark.parametrize("name", [n for n, s in STATES.items() if s["Type"] == "Task"])
def test_every_task_retries_transient_errors_with_backoff_and_catches_the_rest(name: str) -> None:
    state = STATES[name]
    retried = {e for r in state["Retry"] for e in r["ErrorEquals"]}
    assert all(r.get("BackoffRate", 1) > 1 and r.get("JitterStrategy") == "FULL" for r in state["Retry"])
    if state["Resource"].startswith("arn:aws:states:::lambda:invoke"):
        assert retried >= LAMBDA_ERRORS | CRASH_ERRORS
        (crash_retry,) = [r for r in state["Retry"] if set(r["ErrorEquals"]) & CRASH_ERRORS]
        assert set(crash_retry["ErrorEquals"]) == CRASH_ERRORS
        assert crash_retry["MaxAttempts"] <= 2  # a function that dies every time must not hold the run for long
    if state["Resource"].endswith(".waitForTaskToken"):
        # Waiting past the timeout is a decision not taken, not a failure: it has its own branch first.
        assert [c["ErrorEquals"] for c in state["Catch"]] == [["States.Timeout"], ["States.ALL"]]
        assert "TimeoutSecondsPath" in state
    else:
        assert [c["ErrorEquals"] for c in state["Catch"]] == [["States.ALL"]]


@pytest.mark.parametrize(
    "name", [n for n, s in STATES.items() if s["Type"] == "Task" and s["Resource"].endswith("lambda:invoke")]
)
def test_failure_catches_lead_to_the_alert_and_notifications_never_fail_the_run(name: str) -> None:
    state = STATES[name]
    (catch,) = state["Catch"]
    if state["Parameters"]["FunctionName"] == "${NotifySlackFunctionArn}" and name != "NotifyFailure":
        assert catch["Next"] == state["Next"]
    elif name == "NotifyFailure":
        assert STATES[catch["Next"]]["Type"] == "Fail"
    elif name == "PruneModels":
        # Housekeeping runs once the new model serves: its failure must not fail the run.
        assert (catch["Next"], state["Next"]) == ("NotifyDeployed", "NotifyDeployed")
        assert catch["ResultPath"] == "$.prune_error"
    elif name == "RecordLineage":
        # The model already serves: a lineage failure is reported with the deployment, never fails the run.
        assert (catch["Next"], state["Next"]) == ("WatermarkOutcome", "WatermarkOutcome")
        assert catch["ResultPath"] == "$.lineage_error"
    elif name in ("StartBatchTransform", "GetBatchTransformStatus"):
        # The transform runs once the new model serves: its failure is reported, never fails the run.
        assert catch["Next"] == "NotifyBatchTransformFailed"
        assert catch["ResultPath"] == "$.transform_error"
        assert STATES["NotifyBatchTransformFailed"]["Next"] == "Deployed"
    elif name == "CleanUp":
        # A clean-up that fails must not cost the alert, nor replace the failure the alert reports.
        assert (catch["Next"], state["Next"]) == ("NotifyFailure", "NotifyFailure")
        assert catch["ResultPath"] == "$.clean_up_error"
    else:
        assert catch["Next"] == "CleanUp"
        assert catch["ResultPath"] == f"$.failure.{name}"


def test_every_failure_passes_through_the_clean_up_before_the_alert() -> None:
    into_alert = {name for name, state in STATES.items() if "NotifyFailure" in targets(state)}
    into_clean_up = {name for name, state in STATES.items() if "CleanUp" in targets(state)}

    assert into_alert == {"CleanUp"}
    assert {"CheckData", "StartTrainingJob", "DeployModel", "UpdateParameters", "TrainingJobFailed"} <= into_clean_up
    assert {"TrainingTimedOut", "DeploymentFailed", "DeploymentTimedOut", "UnexpectedEndpointStatus"} <= into_clean_up


@pytest.mark.parametrize("name", [n for n, s in STATES.items() if s["Type"] == "Choice"])
def test_every_choice_has_a_default(name: str) -> None:
    assert STATES[name]["Default"] in STATES


def test_the_run_fails_with_the_error_and_cause_the_alert_reported() -> None:
    assert STATES["RunFailed"] == {
        "Type": "Fail",
        "ErrorPath": "$.failure_report.error",
        "CausePath": "$.failure_report.cause",
    }


def test_the_first_state_makes_any_input_an_object_for_check_data_to_judge() -> None:
    # Whatever JSON the execution gets, the state after ReadRunInput is an object every Catch can write into.
    definition = json.loads(ASL_TEXT)
    first = definition["States"][definition["StartAt"]]
    assert first["Type"] == "Pass"
    assert first["Parameters"] == {"run_input.$": "$"}
    assert first["Next"] == "CheckData"
