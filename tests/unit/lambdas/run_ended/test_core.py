"""RunEnded: the lease released at every end, and a run that ended outside the workflow reaped and reported.

S3 is moto's; Step Functions is a fake that answers the execution's history; the two functions RunEnded invokes are a
fake `invoke` that records what it was asked.
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from lambdas.common.errors import ConfigurationError, InvalidStepEventError
from lambdas.common.events import Execution, StepEvent
from lambdas.common.lease import read_lease, take_lease
from lambdas.common.names import run_resource_name
from lambdas.run_ended.core import (
    EndedRun,
    RunEndedReport,
    RunEndedSettings,
    lambda_payload,
    last_state_entered,
    run_ended,
)

EVENTS = Path(__file__).parent / "events"
BUCKET = "churn-data"
LEASE = "waits/churn/run.lease"
ARN = "arn:aws:states:us-east-1:123456789012:execution:sagemaker-retraining-churn:run-1"
OTHER = "arn:aws:states:us-east-1:123456789012:execution:sagemaker-retraining-churn:run-2"
CLEAN_UP = "arn:aws:lambda:us-east-1:123456789012:function:churn-CleanUp"
NOTIFY = "arn:aws:lambda:us-east-1:123456789012:function:churn-NotifySlack"
SETTINGS = RunEndedSettings(
    pipeline="churn", bucket=BUCKET, wake_prefix="waits/churn", clean_up_function=CLEAN_UP, notify_function=NOTIFY
)
CLEANED = {"run_id": "churn-20261122060000-0a1b2c3d", "stopped_training_job": "churn-20261122060000-0a1b2c3d"}


def sample_event(**detail: Any) -> dict[str, Any]:
    """The ABORTED sample event, with `detail` fields replaced (None removes one)."""
    event: dict[str, Any] = json.loads((EVENTS / "aborted.json").read_text())
    for key, value in detail.items():
        if value is None:
            event["detail"].pop(key, None)
        else:
            event["detail"][key] = value
    return event


def entered(name: str) -> dict[str, Any]:
    return {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": name}}


def history(*states: str) -> list[dict[str, Any]]:
    """A history that entered `states` in order, each followed by some event that names no state."""
    events: list[dict[str, Any]] = [{"type": "ExecutionStarted"}]
    for state in states:
        events += [entered(state), {"type": "TaskScheduled"}]
    return events


class StepFunctions:
    """GetExecutionHistory of the ended run, one page per list in `pages`, through the paginator the core uses."""

    def __init__(self, *pages: list[dict[str, Any]]) -> None:
        self.pages = list(pages)
        self.read: list[str] = []

    def get_paginator(self, operation: str) -> StepFunctions:
        assert operation == "get_execution_history"
        return self

    def paginate(self, **request: Any) -> Iterator[dict[str, Any]]:
        self.read.append(request["executionArn"])
        for page in self.pages:
            yield {"events": page}


class Functions:
    """The CleanUp and NotifySlack functions, invoked synchronously: the calls, and canned answers."""

    def __init__(self, clean_up_answer: Mapping[str, Any] | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.clean_up_answer = {"clean_up": CLEANED} if clean_up_answer is None else clean_up_answer

    def __call__(self, function: str, payload: Mapping[str, Any]) -> Mapping[str, Any]:
        self.calls.append((function, copy.deepcopy(dict(payload))))
        if function == CLEAN_UP:
            return {**payload["state"], **self.clean_up_answer}
        return {"outcome": "sent", "event": payload["event"]}

    def payload(self, function: str) -> dict[str, Any]:
        (payload,) = [payload for called, payload in self.calls if called == function]
        return payload


@pytest.fixture
def s3(aws: None) -> Any:
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return client


def reap(run: EndedRun, s3: Any, sfn: Any, invoke: Functions) -> RunEndedReport:
    return run_ended(run, s3=s3, sfn=sfn, invoke=invoke, settings=SETTINGS)


def hold_lease(s3: Any, arn: str) -> None:
    execution = Execution(id=arn, name=arn.rsplit(":", 1)[-1], start_time=datetime(2026, 11, 22, 6, tzinfo=UTC))
    sfn: Any = StepFunctions()
    assert take_lease(s3, sfn, BUCKET, LEASE, execution) is None


def holder(s3: Any) -> str | None:
    lease = read_lease(s3, BUCKET, LEASE)
    return lease.holder if lease is not None else None


# -- the event ---------------------------------------------------------------------------------------------------------


def test_the_event_gives_the_execution_its_status_and_what_the_stop_said() -> None:
    run = EndedRun.from_event(sample_event())

    assert run.execution == Execution(
        id=ARN, name="run-1", start_time=datetime(2026, 11, 22, 6, 0, 0, 123000, tzinfo=UTC)
    )
    assert (run.status, run.error, run.cause) == ("ABORTED", "Operator", "wrong window")


def test_an_iso_start_date_is_read_as_well() -> None:
    run = EndedRun.from_event(sample_event(startDate="2026-11-22T06:00:00.123Z"))

    assert run.execution.start_time == datetime(2026, 11, 22, 6, 0, 0, 123000, tzinfo=UTC)


def test_the_execution_is_named_as_check_data_named_its_resources() -> None:
    # CleanUp finds the run's jobs and models by the name CheckData gave them, from `$$.Execution.StartTime`.
    from_context = Execution(id=ARN, name="run-1", start_time=datetime(2026, 11, 22, 6, 0, 0, 123000, tzinfo=UTC))

    run = EndedRun.from_event(sample_event())

    assert run_resource_name("churn", run.execution) == run_resource_name("churn", from_context)


@pytest.mark.parametrize(("error", "cause"), [(None, None), ("", ""), (None, "only a cause")])
def test_a_stop_without_an_error_or_cause_has_none(error: str | None, cause: str | None) -> None:
    event = sample_event(error=error, cause=cause)
    for key, value in (("error", error), ("cause", cause)):
        if value == "":
            event["detail"][key] = ""

    run = EndedRun.from_event(event)

    assert (run.error, run.cause) == (None, cause or None)


@pytest.mark.parametrize("field", ["executionArn", "name", "status", "startDate"])
def test_a_missing_field_is_named(field: str) -> None:
    with pytest.raises(InvalidStepEventError, match=f"'detail.{field}' is missing"):
        EndedRun.from_event(sample_event(**{field: None}))


@pytest.mark.parametrize(
    "event",
    [
        {**sample_event(), "detail-type": "SageMaker Training Job State Change"},
        {k: v for k, v in sample_event().items() if k != "detail-type"},
        {**sample_event(), "detail": "ABORTED"},
        {},
    ],
    ids=["other-detail-type", "no-detail-type", "detail-not-an-object", "empty"],
)
def test_an_event_of_another_kind_is_refused(event: dict[str, Any]) -> None:
    with pytest.raises(InvalidStepEventError, match="not a 'Step Functions Execution Status Change' event"):
        EndedRun.from_event(event)


def test_the_settings_name_what_is_missing() -> None:
    environment = {
        "PIPELINE_NAME": "churn",
        "DATA_BUCKET": BUCKET,
        "WAKE_PREFIX": "waits/churn",
        "CLEAN_UP_FUNCTION": CLEAN_UP,
        "NOTIFY_SLACK_FUNCTION": NOTIFY,
    }
    assert RunEndedSettings.from_env(environment) == SETTINGS
    for name in environment:
        with pytest.raises(ConfigurationError, match=name):
            RunEndedSettings.from_env({k: v for k, v in environment.items() if k != name})


# -- what each end does -----------------------------------------------------------------------------------------------


def test_a_run_that_succeeded_only_releases_its_lease(s3: Any) -> None:
    hold_lease(s3, ARN)
    sfn, invoke = StepFunctions(history("CheckData", "Deployed")), Functions()

    report = reap(EndedRun.from_event(sample_event(status="SUCCEEDED")), s3, sfn, invoke)

    assert report.lease_released
    assert holder(s3) is None
    assert not report.reaped
    assert invoke.calls == []
    assert sfn.read == []  # no history read for a run that ended on its own


def test_a_run_that_failed_through_the_workflows_failure_path_only_releases_its_lease(s3: Any) -> None:
    # GIVEN the workflow cleaned up and alerted itself: CleanUp, NotifyFailure, then RunFailed
    hold_lease(s3, ARN)
    sfn, invoke = (
        StepFunctions(history("CheckData", "StartTrainingJob", "CleanUp", "NotifyFailure", "RunFailed")),
        Functions(),
    )
    run = EndedRun.from_event(sample_event(status="FAILED", error="TrainingJobFailedError", cause="boom"))

    report = reap(run, s3, sfn, invoke)

    assert report.lease_released
    assert holder(s3) is None
    assert report.last_state == "RunFailed"
    assert not report.reaped
    assert invoke.calls == []


@pytest.mark.parametrize(
    ("status", "error", "cause", "last_state", "alert_error", "how"),
    [
        ("ABORTED", "Operator", "wrong window", "WaitForTraining", "ExecutionAborted", "was stopped by hand"),
        ("ABORTED", None, None, "WaitForDeployment", "ExecutionAborted", "was stopped by hand"),
        ("TIMED_OUT", None, None, "WaitForApproval", "ExecutionTimedOut", "ran past the state machine's timeout"),
        (
            "FAILED",
            "States.Runtime",
            "bad path",
            "CheckData",
            "States.Runtime",
            "failed outside the workflow's failure",
        ),
        ("FAILED", "States.Runtime", "no alert", "RunFailedWithoutAlert", "States.Runtime", "failed outside the work"),
    ],
    ids=["aborted", "aborted-silently", "timed-out", "failed-at-runtime", "failed-without-alert"],
)
def test_a_run_that_ended_outside_the_workflow_is_cleaned_up_and_reported(
    s3: Any, status: str, error: str | None, cause: str | None, last_state: str, alert_error: str, how: str
) -> None:
    # GIVEN a run that held the lease and ended in `last_state`, outside the workflow's own failure path
    hold_lease(s3, ARN)
    sfn, invoke = StepFunctions(history("CheckData", last_state)), Functions()
    run = EndedRun.from_event(sample_event(status=status, error=error, cause=cause))

    # WHEN RunEnded hears of it
    report = reap(run, s3, sfn, invoke)

    # THEN the lease is released, CleanUp ran first for this execution, then NotifySlack posted a failure alert
    assert report.lease_released
    assert holder(s3) is None
    assert (report.reaped, report.last_state) == (True, last_state)
    assert [function for function, _ in invoke.calls] == [CLEAN_UP, NOTIFY]
    execution = {"id": ARN, "name": "run-1", "start_time": "2026-11-22T06:00:00.123Z"}
    assert invoke.payload(CLEAN_UP) == {"state": {}, "execution": execution}
    alert = invoke.payload(NOTIFY)
    assert (alert["event"], alert["execution"]) == ("failed", execution)
    assert alert["state"]["clean_up"] == CLEANED
    assert list(alert["state"]["failure"]) == [last_state]
    failure = alert["state"]["failure"][last_state]
    assert failure["Error"] == alert_error
    assert failure["Cause"].startswith(f"The run {how}")
    assert f"while in {last_state}" in failure["Cause"]
    assert "the watermark did not move" in failure["Cause"]
    for said in (error, cause):
        if said:
            assert said in failure["Cause"]
    assert report.clean_up == CLEANED
    assert report.alert == {"outcome": "sent", "event": "failed"}
    # ... and each payload is a step event the two functions accept
    for _, payload in invoke.calls:
        assert StepEvent.parse(payload).execution.id == ARN


def test_the_alert_says_the_state_is_unknown_when_the_history_names_none(s3: Any) -> None:
    sfn, invoke = StepFunctions([{"type": "ExecutionStarted"}, {"type": "ExecutionAborted"}]), Functions()

    report = reap(EndedRun.from_event(sample_event()), s3, sfn, invoke)

    assert report.reaped
    assert report.last_state is None
    assert list(invoke.payload(NOTIFY)["state"]["failure"]) == ["an unknown state"]


def test_a_clean_up_that_answers_no_report_still_alerts(s3: Any) -> None:
    sfn, invoke = StepFunctions(history("WaitForTraining")), Functions(clean_up_answer={})

    report = reap(EndedRun.from_event(sample_event()), s3, sfn, invoke)

    assert report.clean_up is None
    assert "clean_up" not in invoke.payload(NOTIFY)["state"]


def test_a_reaped_run_that_did_not_hold_the_lease_leaves_the_holders(s3: Any) -> None:
    # GIVEN the lease has been taken over by the next run (this one was blocked, or its end is heard late)
    hold_lease(s3, OTHER)
    sfn, invoke = StepFunctions(history("WaitForTraining")), Functions()

    report = reap(EndedRun.from_event(sample_event()), s3, sfn, invoke)

    assert not report.lease_released
    assert holder(s3) == OTHER
    assert report.reaped


def test_a_status_that_is_no_end_releases_nothing(s3: Any) -> None:
    # The rule sends only ends; a RUNNING event (a rule widened by hand) must not free the running run's lease.
    hold_lease(s3, ARN)
    sfn, invoke = StepFunctions(history("CheckData")), Functions()

    report = reap(EndedRun.from_event(sample_event(status="RUNNING")), s3, sfn, invoke)

    assert not report.lease_released
    assert holder(s3) == ARN
    assert (report.reaped, invoke.calls) == (False, [])


def test_a_repeated_event_is_safe(s3: Any) -> None:
    # EventBridge may deliver an event twice: the second finds no lease and reaps again (CleanUp checks first).
    hold_lease(s3, ARN)
    sfn, invoke = StepFunctions(history("WaitForTraining")), Functions()
    run = EndedRun.from_event(sample_event())

    first = reap(run, s3, sfn, invoke)
    second = reap(run, s3, sfn, invoke)

    assert (first.lease_released, second.lease_released) == (True, False)
    assert [function for function, _ in invoke.calls] == [CLEAN_UP, NOTIFY, CLEAN_UP, NOTIFY]


def test_the_report_is_plain_json(s3: Any) -> None:
    sfn, invoke = StepFunctions(history("WaitForTraining")), Functions()

    report = reap(EndedRun.from_event(sample_event()), s3, sfn, invoke)

    assert json.loads(json.dumps(report.to_dict()))["last_state"] == "WaitForTraining"


# -- the history ------------------------------------------------------------------------------------------------------


def test_the_last_state_entered_is_found_on_the_last_page_of_a_long_history() -> None:
    # GIVEN a history of three pages (GetExecutionHistory gives at most 1000 events a page), oldest first
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    pages = [history("CheckData", "StartTrainingJob"), history("WaitForTraining", "GetTrainingStatus"), [{"type": "X"}]]
    with Stubber(sfn) as stub:
        for number, page in enumerate(pages):
            expected: dict[str, Any] = {"executionArn": ARN, "maxResults": 1000}
            answer: dict[str, Any] = {"events": [stamped(event, n) for n, event in enumerate(page, 1)]}
            if number:
                expected["nextToken"] = f"page-{number}"
            if number < len(pages) - 1:
                answer["nextToken"] = f"page-{number + 1}"
            stub.add_response("get_execution_history", answer, expected)

        # WHEN the last state entered is looked up
        last = last_state_entered(sfn, ARN)

        # THEN every page was read, and the state is the last one entered, not the last page's first
        stub.assert_no_pending_responses()
    assert last == "GetTrainingStatus"


def stamped(event: dict[str, Any], number: int) -> dict[str, Any]:
    """An event as GetExecutionHistory answers it (id and timestamp are required)."""
    return {"id": number, "timestamp": datetime(2026, 11, 22, tzinfo=UTC), "type": "TaskStateEntered", **event}


# -- the functions' answers -------------------------------------------------------------------------------------------


def response(body: bytes, *, function_error: str | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"StatusCode": 200, "Payload": io.BytesIO(body)}
    if function_error:
        answer["FunctionError"] = function_error
    return answer


def test_a_function_answer_is_its_json_object() -> None:
    assert lambda_payload(response(b'{"clean_up": {"run_id": "x"}}'), CLEAN_UP) == {"clean_up": {"run_id": "x"}}


@pytest.mark.parametrize("body", [b"", b"null", b"[1, 2]", b'"sent"'])
def test_an_answer_that_is_no_object_reads_as_empty(body: bytes) -> None:
    assert lambda_payload(response(body), NOTIFY) == {}


def test_a_function_that_failed_raises_naming_it_and_its_error() -> None:
    body = json.dumps({"errorType": "SageMakerError", "errorMessage": "denied", "stackTrace": []}).encode()

    with pytest.raises(InvalidStepEventError, match=rf"function {CLEAN_UP} failed: .*SageMakerError.*denied"):
        lambda_payload(response(body, function_error="Unhandled"), CLEAN_UP)
