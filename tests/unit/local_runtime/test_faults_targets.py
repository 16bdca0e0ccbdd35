"""Faults aimed at one pipeline's jobs, one endpoint's deployments, or the local Slack server."""

from __future__ import annotations

import re
from email.message import Message
from typing import Any

import pytest

from contract.names import PIPELINE_TAG
from local_runtime.fault_records import NoLocalSlackError
from local_runtime.faults import Faults, pipeline_of
from local_runtime.slack_api import LocalSlackApi


def test_failing_invocations_fire_for_the_named_endpoint_only() -> None:
    faults = Faults()
    fault = faults.fail_invocations(endpoint="churn")

    statuses = [faults.invocation_fault("m-1", "other"), faults.invocation_fault("m-1", "churn")]

    assert statuses == [None, 500]
    assert fault.fired == 1


def test_a_slow_deployment_fires_for_the_named_endpoint_only() -> None:
    faults = Faults()
    faults.slow_endpoint_deployment(3, endpoint="churn")

    assert [faults.deployment_delay("other"), faults.deployment_delay("churn")] == [0.0, 3.0]


@pytest.mark.parametrize("fault", ["fail_training_job", "stall_training_job"])
def test_a_training_fault_fires_for_the_named_pipelines_jobs_only(fault: str) -> None:
    # GIVEN a fault on pipeline churn's next training job
    faults = Faults()
    faults.script(fault, pipeline="churn")
    tags = [{"Key": PIPELINE_TAG, "Value": "churn"}, {"Key": "other", "Value": "x"}]

    # WHEN another pipeline's job, an untagged one, then churn's start
    fired = [faults.training_fault(pipeline_of(t)) for t in ([{"Key": PIPELINE_TAG, "Value": "b"}], None, tags)]

    # THEN only churn's job got it
    assert [f is not None for f in fired] == [False, False, True]


@pytest.mark.parametrize(
    ("fault", "arguments", "message"),
    [
        ("slow_endpoint_deployment", {"seconds": "10"}, "seconds must be a number of seconds, at least 0, got '10'"),
        ("delay", {"seconds": -1}, "seconds must be a number of seconds, at least 0, got -1"),
        ("rate_limit", {"retry_after": 1.5}, "retry_after must be a whole number of seconds, got 1.5"),
        ("reject_token", {"error": ""}, "error must be a Slack error code"),
    ],
)
def test_durations_and_slack_errors_are_checked(fault: str, arguments: dict[str, Any], message: str) -> None:
    faults = Faults()
    faults.attach_slack(LocalSlackApi(valid_token="t", channels=[]))

    with pytest.raises(ValueError, match=re.escape(message)):
        faults.script(fault, **arguments)
    assert faults.scripted == []


@pytest.mark.parametrize("fault", ["rate_limit", "reject_token", "delay"])
def test_a_slack_fault_without_a_local_slack_server_is_refused(fault: str) -> None:
    arguments = {"seconds": 1} if fault == "delay" else {}

    with pytest.raises(NoLocalSlackError, match=f"{fault} is a fault of the local Slack server"):
        Faults().script(fault, **arguments)


def test_slack_faults_are_scripted_on_the_attached_server_listed_and_cleared() -> None:
    # GIVEN the runtime's faults attached to a local Slack server
    slack = LocalSlackApi(valid_token="t", channels=[])
    faults = Faults()
    faults.attach_slack(slack)

    # WHEN a refused token is scripted through the faults, fires once, and the faults are cleared
    fault = faults.reject_token(times=None)
    refused = slack.answer("/api/chat.postMessage", Message(), b"")
    listed = [f.description for f in faults.scripted]
    faults.clear()
    after = slack.answer("/api/chat.postMessage", Message(), b"")

    # THEN Slack refused the token while armed, the listing shows it, and the clear disarmed Slack too
    assert refused.body == {"ok": False, "error": "invalid_auth"}
    assert fault.fired == 1
    assert listed == ["Slack refuses the token (invalid_auth)"]
    assert after.body["error"] != "invalid_auth"
    assert faults.scripted == []
