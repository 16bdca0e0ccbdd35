"""The ASL's branches for backfills (DeployOrRegister) and for execution inputs that are not a JSON object.

Driven by test_branches.py's scripted steps, with the real NotifySlack function (Slack not configured).
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from lambdas.check_data.core import RUN_INPUT_FIELD, RunInput, raw_run_input
from local_runtime.deploy import DeployedPipeline, ExecutionRecord, wait_for_execution
from local_runtime.server import LocalAws
from tests.unit.statemachine import scripted_steps
from tests.unit.statemachine.test_branches import (
    REGION,
    TRAINED,
    ScriptedRun,
    _unique,
    alerts,
    run,
    start,
    token_of,
)


class ScriptedBackfill(ScriptedRun):
    """A run whose CheckData found a backfill (data older than the watermark's day), deploying only if asked."""

    def __init__(self, *, deploy: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.deploy = deploy

    def check_data(self, event: dict[str, Any]) -> dict[str, Any]:
        state = super().check_data(event)
        state["run"].update(backfill=True, deploy=self.deploy, newest_data_date="2026-11-14")
        return state

    @staticmethod
    def update_parameters(event: dict[str, Any]) -> dict[str, Any]:
        # As UpdateParameters answers a backfill: the watermark keeps its day whatever the outcome.
        state = event["state"]
        rejected = "Rejected" in (state["evaluation"]["approval_status"], state.get("approval", {}).get("status"))
        outcome = "rejected" if rejected else "deployed" if state["run"]["deploy"] else "registered"
        watermark = {
            "newest_data_date": "2026-11-21",
            "previous_date": "2026-11-21",
            "outcome": outcome,
            "moved": False,
        }
        return {**state, "watermark": watermark}


def called(step: str) -> list[dict[str, Any]]:
    return [event for name, event in scripted_steps.CALLS if name == step]


REGISTERED_TAIL = [
    "ModelDecision",
    "DeployOrRegister",
    "UpdateParameters",
    "RecordLineage",
    "WatermarkOutcome",
    "NotifyBackfillRegistered",
    "BackfillRegistered",
]


def test_an_approved_backfill_not_asked_to_deploy_is_registered_and_never_deployed(
    local_aws: LocalAws,
    pipeline: DeployedPipeline,
) -> None:
    record = run(local_aws, pipeline, ScriptedBackfill(deploy=False, **TRAINED))

    assert record.status == "SUCCEEDED", record.cause
    entered = record.states_entered()
    assert entered[-len(REGISTERED_TAIL) :] == REGISTERED_TAIL
    assert not {"DeployModel", "WaitForDeployment", "PruneModels", "NotifyDeployed"} & set(entered)
    assert not called("DeployModel")
    [updated] = called("UpdateParameters")
    assert "deployment" not in updated["state"]
    assert alerts(local_aws) == ["training_started", "training_completed", "backfill_registered"]
    assert record.output["watermark"]["outcome"] == "registered"


def test_an_approved_backfill_asked_to_deploy_is_deployed(
    local_aws: LocalAws,
    pipeline: DeployedPipeline,
) -> None:
    record = run(local_aws, pipeline, ScriptedBackfill(deploy=True, **TRAINED))

    assert record.status == "SUCCEEDED", record.cause
    entered = record.states_entered()
    assert entered[entered.index("DeployOrRegister") + 1] == "DeployModel"
    assert entered[-1] == "Deployed"
    assert "NotifyBackfillRegistered" not in entered
    assert alerts(local_aws)[-1] == "deployed"


@pytest.mark.parametrize("deploy", [False, True], ids=["registered", "asked to deploy"])
def test_a_rejected_backfill_ends_rejected_either_way(
    local_aws: LocalAws,
    pipeline: DeployedPipeline,
    deploy: bool,
) -> None:
    record = run(local_aws, pipeline, ScriptedBackfill(deploy=deploy, approval_status="Rejected", **TRAINED))

    assert record.status == "SUCCEEDED", record.cause
    entered = record.states_entered()
    assert entered[-1] == "ModelRejected"
    assert not {"DeployOrRegister", "DeployModel", "NotifyBackfillRegistered"} & set(entered)


def test_a_backfill_approved_in_review_is_registered_without_deploying(
    local_aws: LocalAws,
    pipeline: DeployedPipeline,
) -> None:
    # GIVEN a backfill not asked to deploy, parked in WaitForApproval
    script = ScriptedBackfill(deploy=False, approval_status="PendingManualApproval", **TRAINED)
    execution = start(local_aws, pipeline, script)
    token = token_of(script)

    # WHEN a person approves it
    sfn = boto3.client("stepfunctions", endpoint_url=local_aws.endpoint_url)
    sfn.send_task_success(taskToken=token, output=json.dumps({"status": "Approved"}))

    # THEN it is registered, not deployed
    record = wait_for_execution(local_aws, execution, region=REGION, timeout_seconds=60)
    assert record.status == "SUCCEEDED", record.cause
    entered = record.states_entered()
    assert entered[-len(REGISTERED_TAIL) + 1 :] == REGISTERED_TAIL[1:]
    assert entered[entered.index("DeployOrRegister") - 1] == "ApprovalDecision"
    assert "DeployModel" not in entered


def test_a_run_whose_check_data_says_nothing_about_deploying_deploys(
    local_aws: LocalAws,
    pipeline: DeployedPipeline,
) -> None:
    # A state from before backfills (no run.deploy) takes the deployment, as every run did.
    record = run(local_aws, pipeline, ScriptedRun(training=TRAINED["training"], endpoint=TRAINED["endpoint"]))

    assert record.status == "SUCCEEDED", record.cause
    entered = record.states_entered()
    assert entered[entered.index("DeployOrRegister") + 1] == "DeployModel"


def judge_input(event: dict[str, Any]) -> dict[str, Any]:
    """CheckData's own reading of the input, before anything else: what the handler does first."""
    run_input = RunInput.from_state(raw_run_input(event["state"]))
    return {"input": run_input.to_state(), "run": {"pipeline": "churn", "run_id": "r", "has_new_data": False}}


def started_with(local_aws: LocalAws, pipeline: DeployedPipeline, execution_input: str) -> ExecutionRecord:
    ScriptedRun().install(local_aws.endpoint_url)
    scripted_steps.SCRIPTS["CheckData"] = judge_input
    sfn = boto3.client("stepfunctions", endpoint_url=local_aws.endpoint_url)
    arn = sfn.start_execution(
        stateMachineArn=pipeline.state_machine_arn, name=f"input-{next(_unique)}", input=execution_input
    )["executionArn"]
    return wait_for_execution(local_aws, arn, region=REGION, timeout_seconds=60)


@pytest.mark.parametrize(
    ("execution_input", "kind"),
    [("[1,2]", "an array"), ('"hello"', "a string"), ("42", "a number"), ("null", "null"), ("true", "a boolean")],
)
def test_an_input_that_is_not_an_object_fails_at_check_data_with_an_alert(
    local_aws: LocalAws,
    pipeline: DeployedPipeline,
    execution_input: str,
    kind: str,
) -> None:
    # WHEN an execution starts with JSON that is not an object
    record = started_with(local_aws, pipeline, execution_input)

    # THEN CheckData got it under run_input, refused it naming its type, and the run failed after the alert
    [checked] = called("CheckData")
    assert checked["state"] == {RUN_INPUT_FIELD: json.loads(execution_input)}
    assert (record.status, record.error) == ("FAILED", "InvalidRunInputError")
    assert f"got {kind}" in (record.cause or "")
    assert record.states_entered() == ["ReadRunInput", "CheckData", "CleanUp", "NotifyFailure", "RunFailed"]
    assert alerts(local_aws) == ["failed"]


@pytest.mark.parametrize("execution_input", ["{}", '{"force": true, "window_days": 3}'])
def test_an_object_input_reaches_check_data_as_it_was_given(
    local_aws: LocalAws,
    pipeline: DeployedPipeline,
    execution_input: str,
) -> None:
    record = started_with(local_aws, pipeline, execution_input)

    assert record.status == "SUCCEEDED", record.cause
    [checked] = called("CheckData")
    assert checked["state"] == {RUN_INPUT_FIELD: json.loads(execution_input)}
    assert record.output["input"]["force"] is json.loads(execution_input).get("force", False)
    assert RUN_INPUT_FIELD not in record.output
