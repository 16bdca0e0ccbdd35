"""Callers outside a run's steps with IAM enforced: a grant missing from a listener's or a trigger's role.

They are not steps: EventBridge invokes them or they start runs, and a failure of theirs fails no run. It shows where
AWS shows it: the rule's failed delivery (EventBridge tries twice, then drops the event), the schedule's dead-letter
queue, and in what the run does without them (a wait that ends at its poll timeout, an approval lost to the timeout, a
run that never starts).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from local_runtime.deploy import wait_for_execution
from local_runtime.runtime import LocalRuntime
from tests.e2e.enforced_pipeline import DEMO, deploy, run, template_of, without_action
from tests.fakes.slack_api import FakeSlackApi

pytestmark = pytest.mark.e2e


@pytest.fixture
def runtime(aws_env: None) -> Iterator[LocalRuntime]:
    with LocalRuntime(enforce_iam=True) as local:
        yield local


def test_a_status_change_listener_without_send_task_success_leaves_the_waits_to_their_polls(
    runtime: LocalRuntime, slack: FakeSlackApi
) -> None:
    # GIVEN the listener of SageMaker's state changes without states:SendTaskSuccess
    role = "StatusChangesStatusChangeListenerRole"
    pipeline = deploy(runtime, without_action(template_of("demo"), role, "states:SendTaskSuccess"), slack)

    # WHEN a run starts
    record = run(runtime, pipeline)

    # THEN each state change reaches the listener, which fails on the denial (EventBridge tries twice, then drops
    # the event); the waits end at their poll timeout instead, and the run deploys, only later
    assert record.status == "SUCCEEDED", record.cause
    assert record.states_entered()[-1] == "Deployed"
    assert runtime.events.wait_until_idle(10)
    failed = [delivery for delivery in runtime.events.deliveries if delivery.error]
    assert any("StatusChangesTrainingJobRule" in delivery.rule for delivery in failed)
    assert any("StatusChangesEndpointRule" in delivery.rule for delivery in failed)
    for delivery in failed:
        assert delivery.attempts == 2
        assert "is not authorized to perform: states:SendTaskSuccess on resource" in str(delivery.error)
    timed_out = [event for event in record.history if event.get("type") == "TaskTimedOut"]
    assert len(timed_out) >= 2


def test_an_approval_listener_without_send_task_success_loses_the_approval_to_the_timeout(
    runtime: LocalRuntime, slack: FakeSlackApi
) -> None:
    # GIVEN manual approval, and the approval listener's role without states:SendTaskSuccess
    role = "RegistryApprovalListenerRole"
    pipeline = deploy(runtime, without_action(template_of("manual"), role, "states:SendTaskSuccess"), slack, "manual")
    sfn, sagemaker = runtime.client("stepfunctions"), runtime.client("sagemaker")
    arn = sfn.start_execution(stateMachineArn=pipeline.state_machine_arn, name="enforced")["executionArn"]
    _wait_for_approval(sfn, arn)

    # WHEN a person approves the model
    (version,) = sagemaker.list_model_packages(ModelPackageGroupName=f"{DEMO['name']}-models")[
        "ModelPackageSummaryList"
    ]
    sagemaker.update_model_package(ModelPackageArn=version["ModelPackageArn"], ModelApprovalStatus="Approved")
    record = wait_for_execution(runtime.aws, arn, region=runtime.region, timeout_seconds=60)

    # THEN the registry's event reaches the listener, which cannot resume the run: the run waits out its approval
    # timeout, expires the version (overwriting the approval) and deploys nothing
    assert runtime.events.wait_until_idle(10)
    failed = [delivery for delivery in runtime.events.deliveries if delivery.error]
    assert failed  # the approval's event, and the expiry's own
    for delivery in failed:
        assert "RegistryApprovalRule" in delivery.rule
        assert "is not authorized to perform: states:SendTaskSuccess on resource" in str(delivery.error)
    assert record.status == "SUCCEEDED", record.cause
    assert record.states_entered()[-3:] == ["ExpireApproval", "NotifyApprovalTimedOut", "ApprovalTimedOut"]
    assert "DeployModel" not in record.states_entered()
    described = sagemaker.describe_model_package(ModelPackageName=version["ModelPackageArn"])
    assert described["ModelApprovalStatus"] == "Rejected"


def test_a_schedule_role_without_start_execution_starts_no_run_and_the_tick_goes_to_the_dead_letter_queue(
    runtime: LocalRuntime, slack: FakeSlackApi
) -> None:
    # GIVEN the schedule's role without states:StartExecution
    pipeline = deploy(runtime, without_action(template_of("demo"), "ScheduleRole", "states:StartExecution"), slack)
    ((schedule_id, schedule),) = pipeline.stack.schedules.items()
    (queue,) = pipeline.stack.queues

    # WHEN EventBridge Scheduler fires the schedule (a rate schedule without a StartDate fires at once), as the role
    runtime.aws.scheduler.recurring = True
    deadline = time.monotonic() + 10
    while not any(firing.dead_lettered for firing in runtime.aws.scheduler.firings):
        assert time.monotonic() < deadline, runtime.aws.scheduler.firings
        time.sleep(0.1)

    # THEN StartExecution is denied, which no retry mends: the tick goes to the dead-letter queue at once, and no
    # run started
    (firing,) = runtime.aws.scheduler.firings
    assert firing.attempt == 1
    assert f"is not authorized to perform: states:StartExecution on resource: {pipeline.state_machine_arn}" in str(
        firing.error
    )
    sqs = runtime.client("sqs")
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    (message,) = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    assert message["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "AccessDeniedException"
    assert json.loads(message["Body"])["trigger"] == "schedule"
    assert schedule["Target"]["DeadLetterConfig"]["Arn"].endswith(f":{queue}"), schedule_id
    assert (
        runtime.client("stepfunctions").list_executions(stateMachineArn=pipeline.state_machine_arn)["executions"] == []
    )


def test_an_upstream_event_rule_without_start_execution_starts_no_run_and_eventbridge_records_the_failure(
    runtime: LocalRuntime, slack: FakeSlackApi
) -> None:
    # GIVEN a pipeline started by an upstream event, whose rules' role lacks states:StartExecution
    template = without_action(template_of("triggers"), "TriggersEventsRole", "states:StartExecution")
    pipeline = deploy(runtime, template, slack)

    # WHEN the upstream job reports success
    entry = {"Source": "my.etl", "DetailType": "Job State Change", "Detail": json.dumps({"state": "SUCCEEDED"})}
    (sent,) = runtime.client("events").put_events(Entries=[entry])["Entries"]
    assert "EventId" in sent
    assert runtime.events.wait_until_idle(10)

    # THEN the rule's target fails to start the run on both attempts, and nothing starts
    (delivery,) = runtime.events.deliveries
    assert delivery.attempts == 2
    assert f"is not authorized to perform: states:StartExecution on resource: {pipeline.state_machine_arn}" in str(
        delivery.error
    )
    assert (
        runtime.client("stepfunctions").list_executions(stateMachineArn=pipeline.state_machine_arn)["executions"] == []
    )


def _wait_for_approval(sfn: Any, arn: str) -> None:
    """Until the run waits in WaitForApproval with its token stored (the poll loops wait on tokens too)."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
        if entered and entered[-1] == "WaitForApproval" and history[-1]["type"] == "TaskSubmitted":
            return
        assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
        time.sleep(0.2)
    raise AssertionError("the run never reached WaitForApproval")
