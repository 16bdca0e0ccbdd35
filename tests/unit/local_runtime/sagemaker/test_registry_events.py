"""The emulator's "SageMaker Model Package State Change" events, delivered by the local EventBridge to a Lambda."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import requests

from local_runtime.lambda_invoke import LocalFunction
from local_runtime.runtime import LocalRuntime
from local_runtime.sagemaker.registry_events import ModelPackageEvents, state_change_detail

REGION, ACCOUNT = "us-east-1", "123456789012"
HANDLER = "tests.unit.local_runtime.event_handler.echo"
APPROVALS = {
    "source": ["aws.sagemaker"],
    "detail-type": ["SageMaker Model Package State Change"],
    "detail": {"ModelPackageGroupName": ["g"], "ModelApprovalStatus": ["Approved", "Rejected"]},
}
EVERY_CHANGE_IN_G = {"source": ["aws.sagemaker"], "detail": {"ModelPackageGroupName": ["g"]}}
INFERENCE = {
    "Containers": [
        {"Image": "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1", "ModelDataUrl": "s3://m/x"}
    ],
    "SupportedContentTypes": ["text/csv"],
    "SupportedResponseMIMETypes": ["application/json"],
}
ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    with LocalRuntime(workdir=tmp_path_factory.mktemp("sagemaker")) as local:
        local.events.retry_delay_seconds = 0
        for name in ("approval-listener", "registry-log"):
            local.aws.register_function(
                LocalFunction(name, f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}", HANDLER)
            )
        yield local


@pytest.fixture
def local(runtime: LocalRuntime, aws_env: None) -> LocalRuntime:
    """No rules, packages or invocations left by another test; the approval rules in place."""
    requests.post(f"{runtime.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()
    runtime.aws.functions.invocations.clear()
    events = runtime.client("events")
    for rule, pattern, function in (
        ("approvals", APPROVALS, "approval-listener"),
        ("registry-log", EVERY_CHANGE_IN_G, "registry-log"),
    ):
        events.put_rule(Name=rule, EventPattern=json.dumps(pattern))
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}"
        events.put_targets(Rule=rule, Targets=[{"Id": function, "Arn": arn}])
    return runtime


def register(local: LocalRuntime, group: str, status: str = "PendingManualApproval") -> str:
    sagemaker = local.client("sagemaker")
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    arn: str = sagemaker.create_model_package(
        ModelPackageGroupName=group, ModelApprovalStatus=status, InferenceSpecification=INFERENCE
    )["ModelPackageArn"]
    return arn


def received(local: LocalRuntime, function: str) -> list[dict[str, Any]]:
    assert local.events.wait_until_idle(timeout_seconds=30)
    return [event for name, event in local.aws.functions.invocations if name == function]


@pytest.mark.compatibility("sagemaker:events")
def test_approving_a_pending_package_sends_the_listener_exactly_one_event(local: LocalRuntime) -> None:
    # GIVEN a package waiting for approval in group g
    arn = register(local, "g")
    assert received(local, "approval-listener") == []

    # WHEN a person approves it
    local.client("sagemaker").update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")

    # THEN the listener receives one state change, as SageMaker sends it
    (event,) = received(local, "approval-listener")
    assert (event["source"], event["detail-type"]) == ("aws.sagemaker", "SageMaker Model Package State Change")
    assert (event["account"], event["region"], event["resources"]) == (ACCOUNT, REGION, [arn])
    detail = event["detail"]
    assert detail["ModelPackageGroupName"] == "g"
    assert (detail["ModelPackageVersion"], detail["ModelPackageArn"]) == (1, arn)
    assert detail["ModelApprovalStatus"] == "Approved"
    assert detail["InferenceSpecification"] == INFERENCE
    assert ISO_TIME.match(detail["CreationTime"])
    assert ISO_TIME.match(detail["LastModifiedTime"])


def test_creation_and_each_approval_change_are_events_but_other_updates_are_not(local: LocalRuntime) -> None:
    # GIVEN a pending package
    arn = register(local, "g")
    sagemaker = local.client("sagemaker")

    # WHEN it is rejected, its status is set to Rejected again, and it is approved
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected", ApprovalDescription="again")
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")

    # THEN the group's log saw the creation and the two changes, in order
    statuses = [event["detail"]["ModelApprovalStatus"] for event in received(local, "registry-log")]
    assert statuses == ["PendingManualApproval", "Rejected", "Approved"]


def test_a_change_in_another_group_reaches_neither_rule(local: LocalRuntime) -> None:
    # GIVEN a pending package in an unrelated group
    arn = register(local, "other")

    # WHEN it is approved
    local.client("sagemaker").update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")

    # THEN nothing is delivered
    assert received(local, "approval-listener") == []
    assert received(local, "registry-log") == []


def test_a_package_created_approved_reaches_the_approval_rule(local: LocalRuntime) -> None:
    # GIVEN the quality gate registers a package already approved
    arn = register(local, "g", status="Approved")

    # THEN the creation itself is the approval event
    (event,) = received(local, "approval-listener")
    assert (event["detail"]["ModelPackageArn"], event["detail"]["ModelApprovalStatus"]) == (arn, "Approved")


def test_the_detail_keeps_the_documented_fields_and_writes_times_as_aws_does() -> None:
    # GIVEN DescribeModelPackage's answer for a new package, with fields the event does not carry
    created = datetime(2026, 11, 22, 6, 30, 5)
    description = {
        "ModelPackageGroupName": "g",
        "ModelPackageVersion": 2,
        "ModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/2",
        "CreationTime": created,
        "ModelApprovalStatus": "PendingManualApproval",
        "ModelPackageStatus": "Completed",
        "CreatedBy": {"UserProfileName": "someone"},
        "ApprovalDescription": None,
    }

    # WHEN the detail is built
    detail = state_change_detail(description)

    # THEN it has the documented fields, times as ISO-8601 text, and a new package was last modified when created
    assert detail == {
        "ModelPackageGroupName": "g",
        "ModelPackageVersion": 2,
        "ModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/2",
        "CreationTime": "2026-11-22T06:30:05Z",
        "LastModifiedTime": "2026-11-22T06:30:05Z",
        "ModelApprovalStatus": "PendingManualApproval",
        "ModelPackageStatus": "Completed",
    }


def test_events_go_to_eventbridge_with_the_package_as_resource() -> None:
    # GIVEN the events' emitter with a recording PutEvents
    sent: list[tuple[str, dict[str, Any]]] = []

    def put_events(entries: list[dict[str, Any]], *, region: str) -> list[dict[str, Any]]:
        sent.extend((region, entry) for entry in entries)
        return [{"EventId": str(len(sent))}]

    events = ModelPackageEvents(put_events)
    package = {"ModelPackageArn": "arn:p/1", "ModelPackageGroupName": "g", "ModelApprovalStatus": "Approved"}

    # WHEN a package is created, then updated without changing its status
    events.on_created("eu-west-1", package)
    events.on_updated("eu-west-1", package)

    # THEN one entry went out, from SageMaker, about that package
    ((region, entry),) = sent
    assert region == "eu-west-1"
    assert (entry["Source"], entry["DetailType"], entry["Resources"]) == (
        "aws.sagemaker",
        "SageMaker Model Package State Change",
        ["arn:p/1"],
    )
    assert json.loads(entry["Detail"])["ModelApprovalStatus"] == "Approved"
