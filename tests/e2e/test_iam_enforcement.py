"""The demo pipeline with IAM enforced: a grant missing from the template fails the run as it would on AWS.

One case per role of the workflow: the grant a run needs from it is taken out of the synthesized template, and
the run shows what AWS would show: the step fails with the AccessDenied that names the action, the alert names it,
the watermark stays where it was. Steps whose failure the workflow tolerates (lineage, housekeeping, notices) end
the run as deployed, with the failure reported.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from local_runtime.deploy import DeployedPipeline, ExecutionRecord, run_execution
from local_runtime.runtime import QUIET_FUNCTIONS, LocalRuntime, SlackTarget, synthesize
from tests.e2e.conftest import SLACK_CHANNEL, SLACK_TOKEN
from tests.fakes.slack_api import FakeSlackApi

pytestmark = pytest.mark.e2e

DEMO = json.loads((Path(__file__).parents[2] / "demo" / "pipelines.json").read_text())["pipelines"][0]
STACK = f"SageMakerRetraining-{DEMO['name']}"


@pytest.fixture(scope="module")
def demo_template() -> dict[str, Any]:
    assert DEMO["slack"]["channel"] == SLACK_CHANNEL  # the only channel the e2e tests' Slack answers
    return synthesize({"pipelines": [DEMO]})[STACK]


@pytest.fixture
def runtime(aws_env: None) -> Iterator[LocalRuntime]:
    with LocalRuntime(enforce_iam=True) as local:
        yield local


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
    return changed


def deploy(runtime: LocalRuntime, template: dict[str, Any], slack: FakeSlackApi) -> DeployedPipeline:
    pipeline = runtime.deploy_template(
        template,
        stack_name=STACK,
        slack=SlackTarget(api_url=slack.base_url, token=SLACK_TOKEN),
        function_environment=QUIET_FUNCTIONS,
    )
    s3 = runtime.client("s3")  # the account's own credentials: unrestricted, as an administrator's
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
    return run_execution(runtime.aws, pipeline, name="enforced", timeout_seconds=180)


@dataclass(frozen=True)
class Missing:
    """A grant taken out of a role, and where the run must fail for want of it."""

    role: str  # the role's logical id, or its start
    action: str
    failed_state: str  # the state whose task failed with the AccessDenied
    error: str = "AccessDenied"  # the error name the workflow sees, as AWS gives it

    def __str__(self) -> str:
        return f"{self.role.removeprefix('Steps').removesuffix('Role')}-{self.action}"


FAILING_RUNS = [
    Missing("StepsCheckDataRole", "s3:ListBucket", "CheckData"),
    Missing("StatusChangesAwaitStatusChangeRole", "s3:PutObject", "WaitForTraining"),
    Missing("StepsUpdateParametersRole", "ssm:PutParameter", "UpdateParameters", "AccessDeniedException"),
]


@pytest.mark.parametrize("missing", FAILING_RUNS, ids=str)
def test_a_missing_grant_fails_the_run_where_aws_would_and_nothing_moves(
    runtime: LocalRuntime, demo_template: dict[str, Any], slack: FakeSlackApi, missing: Missing
) -> None:
    # GIVEN the demo deployed with one grant taken out of one role
    pipeline = deploy(runtime, without_action(demo_template, missing.role, missing.action), slack)
    before = watermark(runtime, pipeline)

    # WHEN a run starts
    record = run(runtime, pipeline)

    # THEN the step fails with the AccessDenied naming the action, the run fails with an alert that names it too,
    # and the watermark has not moved
    assert (record.status, record.error) == ("FAILED", missing.error), record.cause
    failed = _failed_task(record)
    assert failed["state"] == missing.failed_state
    assert f"is not authorized to perform: {missing.action} on resource" in failed["cause"]
    assert record.states_entered()[-3:] == ["CleanUp", "NotifyFailure", "RunFailed"]
    assert watermark(runtime, pipeline) == before
    (alert,) = [message for message in slack.messages if missing.action in message.block_text]
    assert f"*Stage*\n`{missing.failed_state}`" in alert.block_text


# Steps whose failure the workflow tolerates after the model is serving: the run deploys and says what failed.
TOLERATED = [
    Missing("StepsRecordLineageRole", "s3:PutObject", "RecordLineage"),
    Missing("StepsPruneModelsRole", "ssm:GetParameterHistory", "PruneModels", "AccessDeniedException"),
]


@pytest.mark.parametrize("missing", TOLERATED, ids=str)
def test_a_missing_grant_of_a_step_after_the_deployment_is_reported_and_the_model_serves(
    runtime: LocalRuntime, demo_template: dict[str, Any], slack: FakeSlackApi, missing: Missing
) -> None:
    pipeline = deploy(runtime, without_action(demo_template, missing.role, missing.action), slack)
    before = watermark(runtime, pipeline)

    record = run(runtime, pipeline)

    assert record.status == "SUCCEEDED", record.cause
    assert record.states_entered()[-1] == "Deployed"
    failed = _failed_task(record)
    assert (failed["state"], failed["error"]) == (missing.failed_state, missing.error)
    assert f"is not authorized to perform: {missing.action} on resource" in failed["cause"]
    assert watermark(runtime, pipeline) != before  # the model serves: the record of what it trained on moves
    deployed = slack.messages[-1].block_text
    assert "new model deployed" in deployed
    assert f"{missing.action} on resource" in deployed


@pytest.mark.parametrize(
    ("role_prefix", "action", "state"),
    [
        ("StepsCheckDataRole", "kms:GenerateDataKey", "CheckData"),  # writing the run's manifest
        ("StepsStartTrainingJobRole", "kms:Decrypt", "StartTrainingJob"),  # reading the data it validates
    ],
)
def test_a_missing_kms_grant_fails_the_step_as_s3_fails_it_on_the_encrypted_bucket(
    runtime: LocalRuntime,
    demo_template: dict[str, Any],
    slack: FakeSlackApi,
    role_prefix: str,
    action: str,
    state: str,
) -> None:
    # GIVEN the demo deployed with one KMS action on the data bucket's key (used through S3) taken out of a step's role
    pipeline = deploy(runtime, without_action(demo_template, role_prefix, action), slack)
    before = watermark(runtime, pipeline)

    # WHEN a run starts
    record = run(runtime, pipeline)

    # THEN the step's S3 call on the SSE-KMS data fails with S3's AccessDenied naming the KMS action and the key
    assert (record.status, record.error) == ("FAILED", "AccessDenied")
    assert state in record.states_entered()
    assert "Deployed" not in record.states_entered()
    assert record.cause is not None
    assert re.search(rf"is not authorized to perform: {action} on resource: arn:aws:kms:[^ ]+:key/", record.cause)
    assert watermark(runtime, pipeline) == before
    (alert,) = slack.messages
    assert action in alert.block_text


def test_with_every_grant_the_template_has_the_run_deploys(
    runtime: LocalRuntime, demo_template: dict[str, Any], slack: FakeSlackApi
) -> None:
    pipeline = deploy(runtime, demo_template, slack)
    before = watermark(runtime, pipeline)

    record = run(runtime, pipeline)

    assert record.status == "SUCCEEDED", record.cause
    assert record.states_entered()[-1] == "Deployed"
    assert watermark(runtime, pipeline) != before
    # AND the template's roles exist in IAM, with their policies, as CloudFormation would have created them
    iam = runtime.client("iam")
    role_names = {role["RoleName"] for role in iam.list_roles()["Roles"]}
    check_data = next(name for name in role_names if "StepsCheckDataRole" in name)
    (policy_name,) = iam.list_role_policies(RoleName=check_data)["PolicyNames"]
    document = iam.get_role_policy(RoleName=check_data, PolicyName=policy_name)["PolicyDocument"]
    assert "s3:ListBucket" in json.dumps(document)
    trust = iam.get_role(RoleName=check_data)["Role"]["AssumeRolePolicyDocument"]
    assert "lambda.amazonaws.com" in json.dumps(trust)


def test_a_sagemaker_role_without_read_grants_fails_training_as_sagemaker_reports_it(
    runtime: LocalRuntime, demo_template: dict[str, Any], slack: FakeSlackApi
) -> None:
    # GIVEN the demo deployed with s3:GetObject taken out of the SageMaker execution role's policy
    pipeline = deploy(runtime, without_action(demo_template, "SageMakerRole", "s3:GetObject"), slack)
    before = watermark(runtime, pipeline)

    # WHEN a run starts
    record = run(runtime, pipeline)

    # THEN the training job fails downloading its data, with SageMaker's reason naming S3's denial of SageMaker's
    # session of the role; the run fails, nothing is written and the alert says why
    assert (record.status, record.error) == ("FAILED", "TrainingJobFailed")
    assert record.states_entered()[-3:] == ["CleanUp", "NotifyFailure", "RunFailed"]
    assert record.cause is not None
    assert "ClientError: Data download failed:Unable to download object s3://" in record.cause
    assert "assumed-role/" in record.cause
    assert "/SageMaker is not authorized to perform: s3:GetObject" in record.cause
    assert watermark(runtime, pipeline) == before
    started, alert = slack.messages
    assert "training started" in started.block_text
    assert "run failed" in alert.block_text
    assert "s3:GetObject" in alert.block_text


def _failed_task(record: ExecutionRecord) -> dict[str, str]:
    """The first task that failed: its state's name, the error and the cause the task reported."""
    state = ""
    for event in record.history:
        if "stateEnteredEventDetails" in event:
            state = event["stateEnteredEventDetails"]["name"]
        for key in ("taskFailedEventDetails", "lambdaFunctionFailedEventDetails"):
            if key in event:
                details = event[key]
                return {"state": state, "error": details.get("error", ""), "cause": details.get("cause", "")}
    raise AssertionError(f"no task failed: {record.states_entered()}")
