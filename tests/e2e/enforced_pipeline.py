"""The demo pipeline, or the configuration a role needs, deployed with one grant taken out of the template: what
the missing-grant tests (test_iam_enforcement*.py) share."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from demo.churn_data import churn_days
from local_runtime.deploy import DeployedPipeline, ExecutionRecord, run_execution
from local_runtime.runtime import QUIET_FUNCTIONS, LocalRuntime, SlackTarget, synthesize
from tests.e2e.conftest import SLACK_TOKEN
from tests.fakes.slack_api import FakeSlackApi

ROOT = Path(__file__).parents[2]
DEMO = json.loads((ROOT / "demo" / "pipelines.json").read_text())["pipelines"][0]
STACK = f"SageMakerRetraining-{DEMO['name']}"
CHURN_STACK, CHURN_END = "SageMakerRetraining-churn", "2026-03-07"
APPROVAL_TIMEOUT_SECONDS = 4  # local: the template's hours would hold the test for hours
# The demo pipeline with what makes other roles work: a person's approval, an upstream event; the churn example.
CONFIGS: dict[str, dict[str, Any]] = {
    "demo": {"pipelines": [DEMO]},
    "manual": {"pipelines": [{**DEMO, "registry": {"approval": "manual", "approval_timeout_hours": 24}}]},
    "triggers": {  # an upstream event only: the new-data trigger would start a run on the test's own uploads
        "pipelines": [{**DEMO, "triggers": {"events": [{"name": "features-ready", "pattern": {"source": ["my.etl"]}}]}}]
    },
    "churn": {"config_file": "examples/churn/pipelines.json"},  # preprocessing and batch transform
}


@cache
def template_of(config: str) -> dict[str, Any]:
    """A configuration's template, synthesized once per process (a synth costs seconds of CPU); never modify it."""
    stack = CHURN_STACK if config == "churn" else STACK
    template: dict[str, Any] = synthesize(CONFIGS[config])[stack]
    return template


def without_action(template: dict[str, Any], role_prefix: str, action: str) -> dict[str, Any]:
    """The template with `action` taken out of every statement of the policies of the role whose logical id starts
    with `role_prefix`, inline or attached (a statement left without actions goes too); fails if there was none."""
    changed = copy.deepcopy(template)
    removed = 0
    for logical_id, resource in changed["Resources"].items():
        props = resource.get("Properties", {})
        documents = []
        if resource["Type"] == "AWS::IAM::Policy":
            roles = [role.get("Ref", "") for role in props.get("Roles", []) if isinstance(role, dict)]
            if any(role.startswith(role_prefix) for role in roles):
                documents.append(props["PolicyDocument"])
        elif resource["Type"] == "AWS::IAM::Role" and logical_id.startswith(role_prefix):
            documents += [policy["PolicyDocument"] for policy in props.get("Policies", [])]
        for document in documents:
            statements = []
            for statement in document["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                kept = [name for name in actions if name != action]
                removed += len(actions) - len(kept)
                if kept:
                    statements.append({**statement, "Action": kept if len(kept) > 1 else kept[0]})
            document["Statement"] = statements
    assert removed, f"no {action} granted to {role_prefix}*"
    # A policy left with no statement is what CDK would not write at all (IAM refuses it as malformed): it goes, and
    # so do the DependsOn entries naming it.
    emptied = {
        logical_id
        for logical_id, resource in changed["Resources"].items()
        if resource["Type"] == "AWS::IAM::Policy" and not resource["Properties"]["PolicyDocument"]["Statement"]
    }
    for logical_id in emptied:
        del changed["Resources"][logical_id]
    for resource in changed["Resources"].values():
        if resource["Type"] == "AWS::IAM::Role" and "Policies" in resource.get("Properties", {}):
            kept = [p for p in resource["Properties"]["Policies"] if p["PolicyDocument"]["Statement"]]
            resource["Properties"]["Policies"] = kept
    for resource in changed["Resources"].values():
        depends = resource.get("DependsOn")
        if isinstance(depends, list):
            resource["DependsOn"] = [name for name in depends if name not in emptied]
        elif depends in emptied:
            del resource["DependsOn"]
    return changed


def deploy(
    runtime: LocalRuntime, template: dict[str, Any], slack: FakeSlackApi, config: str = "demo"
) -> DeployedPipeline:
    churn = config == "churn"
    pipeline = runtime.deploy_template(
        template,
        stack_name=CHURN_STACK if churn else STACK,
        slack=SlackTarget(api_url=slack.base_url, token=SLACK_TOKEN),
        function_environment={**QUIET_FUNCTIONS, "APPROVAL_TIMEOUT_SECONDS": str(APPROVAL_TIMEOUT_SECONDS)},
    )
    s3 = runtime.client("s3")  # the account's own credentials: unrestricted, as an administrator's
    if churn:
        for raw in churn_days(days=7, end=date.fromisoformat(CHURN_END), prefix="data/churn"):
            s3.put_object(Bucket=pipeline.stack.outputs["DataBucketName"], Key=raw.key, Body=raw.body)
        return pipeline
    for offset in (3, 2, 1):
        day = (datetime.now(UTC).date() - timedelta(days=offset)).isoformat()
        rows = "".join(f"{3 * x + 1:.1f},{x:.1f},{x / 2:.1f}\n" for x in range(offset, offset + 40))
        s3.put_object(
            Bucket=pipeline.stack.outputs["DataBucketName"], Key=f"{DEMO['data_prefix']}/{day}.csv", Body=rows
        )
    return pipeline


def watermark(runtime: LocalRuntime, pipeline: DeployedPipeline) -> str:
    parameter = pipeline.stack.outputs["WatermarkParameterName"]
    value: str = runtime.client("ssm").get_parameter(Name=parameter)["Parameter"]["Value"]
    return value


def run(runtime: LocalRuntime, pipeline: DeployedPipeline) -> ExecutionRecord:
    churn = pipeline.stack.name == CHURN_STACK
    execution_input = {"end_date": CHURN_END} if churn else None
    return run_execution(runtime.aws, pipeline, name="enforced", execution_input=execution_input, timeout_seconds=180)


def failed_tasks(record: ExecutionRecord) -> list[dict[str, str]]:
    """Every task failure, attempts included: its state's name, the error and the cause the task reported."""
    state, failed = "", []
    for event in record.history:
        if "stateEnteredEventDetails" in event:
            state = event["stateEnteredEventDetails"]["name"]
        if "taskFailedEventDetails" in event:
            details = event["taskFailedEventDetails"]
            failed.append({"state": state, "error": details.get("error", ""), "cause": details.get("cause", "")})
    return failed
