"""The demo pipeline with IAM enforced: a grant missing from the template fails the run as it would on AWS.

One case per role of the workflow: the grant a run needs from it is taken out of the synthesized template, and
the run shows what AWS would show: the step fails with the AccessDenied that names the action, the alert names it,
the watermark stays where it was. Steps whose failure the workflow tolerates (lineage, housekeeping, notices) end
the run as deployed, with the failure reported. Roles that no run of the demo uses get the configuration that does
(preprocessing and batch transform: the churn example; a person's approval: `registry.approval` manual; triggers);
callers outside a run (the schedule, the trigger roles, the listeners) show their failure where AWS shows it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from local_runtime.deploy import ExecutionRecord
from local_runtime.runtime import LocalRuntime
from tests.e2e.conftest import SLACK_CHANNEL
from tests.e2e.enforced_pipeline import DEMO, deploy, failed_tasks, run, template_of, watermark, without_action
from tests.fakes.slack_api import FakeSlackApi

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo_template() -> dict[str, Any]:
    assert DEMO["slack"]["channel"] == SLACK_CHANNEL  # the only channel the e2e tests' Slack answers
    return template_of("demo")


@pytest.fixture
def runtime(aws_env: None) -> Iterator[LocalRuntime]:
    with LocalRuntime(enforce_iam=True) as local:
        yield local


@dataclass(frozen=True)
class Missing:
    """A grant taken out of a role, and where the run must fail for want of it."""

    role: str  # the role's logical id, or its start
    action: str
    failed_state: str  # the state whose task failed with the AccessDenied
    error: str = "AccessDenied"  # the error name the workflow sees, as AWS gives it
    config: str = "demo"  # the configuration whose runs need the grant (CONFIGS)

    def __str__(self) -> str:
        return f"{self.role.removeprefix('Steps').removesuffix('Role')}-{self.action}"


# SageMaker's API models no AccessDeniedException: boto3 raises a plain ClientError, whose class name is the error
# the Lambda reports (errorType) and the Catch sees.
FAILING_RUNS = [
    Missing("StepsCheckDataRole", "s3:ListBucket", "CheckData"),
    Missing("StepsStartPreprocessingRole", "iam:PassRole", "StartPreprocessing", "ClientError", "churn"),
    Missing("StepsStartTrainingJobRole", "sagemaker:AddTags", "StartTrainingJob", "ClientError"),  # create with tags
    Missing("StatusChangesAwaitStatusChangeRole", "s3:PutObject", "WaitForTraining"),
    Missing("StepsGetStatusRole", "sagemaker:DescribeTrainingJob", "GetTrainingStatus", "ClientError"),
    # The held-out evaluation creates the new model (DeployModel adopts it) and scores it in a transform job.
    Missing("StepsStartEvaluationRole", "iam:PassRole", "StartEvaluation", "ClientError"),
    Missing("StepsEvaluateModelRole", "s3:GetObject", "EvaluateModel"),  # the transform jobs' answers
    Missing("StepsEvaluateModelRole", "sagemaker:CreateModelPackage", "EvaluateModel", "ClientError"),
    Missing("StepsRequestApprovalRole", "kms:GenerateDataKey", "WaitForApproval", config="manual"),  # storing the token
    # Without the held-out evaluation (churn: preprocessing), DeployModel creates the model itself.
    Missing("StepsDeployModelRole", "iam:PassRole", "DeployModel", "ClientError", "churn"),
    Missing("StepsUpdateParametersRole", "ssm:PutParameter", "UpdateParameters", "AccessDeniedException"),
]


@pytest.mark.parametrize("missing", FAILING_RUNS, ids=str)
def test_a_missing_grant_fails_the_run_where_aws_would_and_nothing_moves(
    runtime: LocalRuntime, slack: FakeSlackApi, missing: Missing
) -> None:
    # GIVEN the demo (or the configuration that needs the role) deployed with one grant taken out of one role
    template = without_action(template_of(missing.config), missing.role, missing.action)
    pipeline = deploy(runtime, template, slack, missing.config)
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
    Missing(
        "StepsStartBatchTransformRole", "sagemaker:CreateTransformJob", "StartBatchTransform", "ClientError", "churn"
    ),
]


@pytest.mark.parametrize("missing", TOLERATED, ids=str)
def test_a_missing_grant_of_a_step_after_the_deployment_is_reported_and_the_model_serves(
    runtime: LocalRuntime, slack: FakeSlackApi, missing: Missing
) -> None:
    template = without_action(template_of(missing.config), missing.role, missing.action)
    pipeline = deploy(runtime, template, slack, missing.config)
    before = watermark(runtime, pipeline)

    record = run(runtime, pipeline)

    assert record.status == "SUCCEEDED", record.cause
    assert record.states_entered()[-1] == "Deployed"
    failed = _failed_task(record)
    assert (failed["state"], failed["error"]) == (missing.failed_state, missing.error)
    assert f"is not authorized to perform: {missing.action} on resource" in failed["cause"]
    assert watermark(runtime, pipeline) != before  # the model serves: the record of what it trained on moves
    (reported,) = [message for message in slack.messages if f"{missing.action} on resource" in message.block_text]
    assert "new model deployed" in reported.block_text or "batch transform failed" in reported.block_text


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


def test_a_clean_up_without_its_grant_fails_on_its_own_and_the_alert_names_both_failures(
    runtime: LocalRuntime, demo_template: dict[str, Any], slack: FakeSlackApi
) -> None:
    # GIVEN CleanUp's role without sagemaker:DescribeTrainingJob, and a training job that will fail
    pipeline = deploy(
        runtime, without_action(demo_template, "StepsCleanUpRole", "sagemaker:DescribeTrainingJob"), slack
    )
    runtime.faults.fail_training_job()
    before = watermark(runtime, pipeline)

    # WHEN a run starts (CleanUp runs only when a run fails)
    record = run(runtime, pipeline)

    # THEN the run fails for its training job; CleanUp fails on the denial, its Catch goes on to the alert, which
    # names the training failure and CleanUp's: what it should have stopped or deleted may still be there
    assert (record.status, record.error) == ("FAILED", "TrainingJobFailed")
    assert record.states_entered()[-3:] == ["CleanUp", "NotifyFailure", "RunFailed"]
    (clean_up,) = failed_tasks(record)
    assert (clean_up["state"], clean_up["error"]) == ("CleanUp", "ClientError")
    assert "is not authorized to perform: sagemaker:DescribeTrainingJob on resource" in clean_up["cause"]
    assert watermark(runtime, pipeline) == before
    alert = slack.messages[-1].block_text
    assert "run failed" in alert
    assert "TrainingJobFailed" in alert
    assert "Clean-up failed* (ClientError)" in alert
    assert "sagemaker:DescribeTrainingJob" in alert


def test_notify_slack_without_the_token_sends_nothing_and_the_run_goes_on_as_if_it_had(
    runtime: LocalRuntime, demo_template: dict[str, Any], slack: FakeSlackApi
) -> None:
    # GIVEN NotifySlack's role without secretsmanager:GetSecretValue (it cannot read the bot token)
    role = "NotificationsNotifySlackRole"
    pipeline = deploy(runtime, without_action(demo_template, role, "secretsmanager:GetSecretValue"), slack)
    before = watermark(runtime, pipeline)

    # WHEN a run starts
    record = run(runtime, pipeline)

    # THEN no message reaches Slack, yet no notification fails its task: NotifySlack reports each one undelivered
    # with the denial's code (its log, with the whole error, and its SlackNotificationFailed metric say so too); the
    # run deploys as usual and records what it trained on
    assert record.status == "SUCCEEDED", record.cause
    assert record.states_entered()[-1] == "Deployed"
    assert slack.messages == []
    secret = DEMO["slack"]["token_secret_name"]
    notices = _task_results(record, "Notify")
    assert set(notices) == {
        "NotifyTrainingStarted",
        "NotifyTrainingCompleted",
        "NotifyDeploymentStarted",
        "NotifyDeployed",
    }
    for notice in notices.values():
        assert notice["delivered"] is False
        assert notice["detail"] == f"could not read the Slack token secret '{secret}': AccessDeniedException"
    assert failed_tasks(record) == []
    assert watermark(runtime, pipeline) != before


def test_a_state_machine_role_without_lambda_invoke_fails_the_run_and_only_run_ended_alerts(
    runtime: LocalRuntime, demo_template: dict[str, Any], slack: FakeSlackApi
) -> None:
    # GIVEN the state machine's role without lambda:InvokeFunction
    role = "WorkflowStateMachineRole"
    pipeline = deploy(runtime, without_action(demo_template, role, "lambda:InvokeFunction"), slack)
    before = watermark(runtime, pipeline)

    # WHEN a run starts
    record = run(runtime, pipeline)

    # THEN no Lambda can be invoked, not even the alert's: CheckData, CleanUp and NotifyFailure each fail as Step
    # Functions fails them on AWS, Lambda.AWSLambdaException with Lambda's 403 AccessDeniedException in the cause
    # (an error the template's Retry lists: each is tried 6 more times), and the run ends RunFailedWithoutAlert
    assert (record.status, record.error) == ("FAILED", "RunFailed")
    assert record.states_entered() == ["ReadRunInput", "CheckData", "CleanUp", "NotifyFailure", "RunFailedWithoutAlert"]
    failed = failed_tasks(record)
    assert [task["state"] for task in failed] == ["CheckData"] * 7 + ["CleanUp"] * 7 + ["NotifyFailure"] * 7
    for task in failed:
        assert task["error"] == "Lambda.AWSLambdaException"
        assert "is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:" in task["cause"]
        assert "Status Code: 403; Error Code: AccessDeniedException" in task["cause"]
    # ... so the workflow's own alert never went out: RunEnded, on Step Functions' status-change event and with a
    # role of its own, sends the one alert, naming the state the run ended in
    deadline = time.monotonic() + 30
    while not slack.messages and time.monotonic() < deadline:
        time.sleep(0.2)
    [alert] = slack.messages
    assert "RunFailedWithoutAlert" in alert.text
    assert "failed outside the workflow's failure path" in alert.text
    assert watermark(runtime, pipeline) == before


def _task_results(record: ExecutionRecord, prefix: str) -> dict[str, Any]:
    """The Lambda results of the tasks whose state names start with `prefix`, by state."""
    state, results = "", {}
    for event in record.history:
        if "stateEnteredEventDetails" in event:
            state = event["stateEnteredEventDetails"]["name"]
        if event.get("type") == "TaskSucceeded" and state.startswith(prefix):
            results[state] = json.loads(event["taskSucceededEventDetails"]["output"])["Payload"]
    return results


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
