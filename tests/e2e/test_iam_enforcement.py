"""The demo pipeline with IAM enforced: a grant missing from the template fails the run as it would on AWS."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
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
    """The template with `action` taken out of every statement of the policies attached to the role whose logical
    id starts with `role_prefix` (a statement left without actions goes too); fails if there was none to take."""
    changed = copy.deepcopy(template)
    removed = 0
    for resource in changed["Resources"].values():
        props = resource.get("Properties", {})
        roles = [role.get("Ref", "") for role in props.get("Roles", []) if isinstance(role, dict)]
        if resource["Type"] != "AWS::IAM::Policy" or not any(role.startswith(role_prefix) for role in roles):
            continue
        statements = []
        for statement in props["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            kept = [name for name in actions if name != action]
            removed += len(actions) - len(kept)
            if kept:
                statements.append({**statement, "Action": kept if len(kept) > 1 else kept[0]})
        props["PolicyDocument"]["Statement"] = statements
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


def test_a_missing_list_grant_fails_check_data_with_the_access_denied_aws_gives(
    runtime: LocalRuntime, demo_template: dict[str, Any], slack: FakeSlackApi
) -> None:
    # GIVEN the demo deployed with CheckData's s3:ListBucket taken out of its role's policy
    pipeline = deploy(runtime, without_action(demo_template, "StepsCheckDataRole", "s3:ListBucket"), slack)
    bucket = pipeline.stack.outputs["DataBucketName"]
    before = watermark(runtime, pipeline)

    # WHEN a run starts
    record = run(runtime, pipeline)

    # THEN it fails at CheckData with S3's AccessDenied naming the action and the bucket, and nothing is written
    assert (record.status, record.error) == ("FAILED", "AccessDenied")
    assert record.states_entered() == ["CheckData", "CleanUp", "NotifyFailure", "RunFailed"]
    assert record.cause is not None
    assert f'is not authorized to perform: s3:ListBucket on resource: "arn:aws:s3:::{bucket}"' in record.cause
    assert watermark(runtime, pipeline) == before
    (alert,) = slack.messages
    assert "s3:ListBucket" in alert.block_text


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
