"""RunEnded: every run of the pipeline ends here, told by Step Functions' Execution Status Change event.

Any end releases the run lease (lambdas/common/lease.py) the run held. A run that ended outside the workflow's own
failure path is reaped as the workflow would have cleaned up after it: stopped by hand (ABORTED), past the state
machine's timeout (TIMED_OUT), or FAILED without reaching RunFailed (a runtime error outside any Catch, or the
failure alert could not be sent). Its jobs are stopped and what it created is removed by the CleanUp function
itself (the same code and permissions the workflow uses), and NotifySlack posts an alert naming how the run ended
and the state it was in. The watermark is never touched: only UpdateParameters moves it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from contract.events import EXECUTION_ENDED, EXECUTION_STATUS_CHANGE
from contract.names import lease_key
from lambdas.common import env as names
from lambdas.common.errors import InvalidStepEventError
from lambdas.common.events import Execution, format_timestamp, parse_timestamp
from lambdas.common.lease import release_lease
from lambdas.run_ended.approvals import PendingApprovals, reject_pending

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sagemaker import SageMakerClient
    from types_boto3_ssm import SSMClient
    from types_boto3_stepfunctions import SFNClient

# The workflow's own failure end: NotifyFailure posted the alert before it (statemachine/retraining.asl.json).
ALERTED_FAILURE_STATE = "RunFailed"
_HOW = {
    "ABORTED": ("ExecutionAborted", "was stopped by hand (StopExecution)"),
    "TIMED_OUT": ("ExecutionTimedOut", "ran past the state machine's timeout"),
    "FAILED": ("ExecutionFailed", "failed outside the workflow's failure path"),
}


@dataclass(frozen=True)
class RunEndedSettings:
    pipeline: str
    bucket: str
    wake_prefix: str
    clean_up_function: str
    notify_function: str
    watermark_parameter: str | None = None  # tells whether the run had already deployed and recorded its model
    approvals: PendingApprovals | None = None  # a manually approved pipeline's versions and approval records

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RunEndedSettings:
        return cls(
            pipeline=names.require_str(env, names.PIPELINE_NAME),
            bucket=names.require_str(env, names.DATA_BUCKET),
            wake_prefix=names.require_str(env, names.WAKE_PREFIX),
            clean_up_function=names.require_str(env, names.CLEAN_UP_FUNCTION),
            notify_function=names.require_str(env, names.NOTIFY_SLACK_FUNCTION),
            watermark_parameter=names.optional_str(env, names.WATERMARK_PARAMETER),
            approvals=PendingApprovals.from_env(env),
        )


@dataclass(frozen=True)
class EndedRun:
    """The event's facts about the execution that ended."""

    execution: Execution
    status: str
    error: str | None
    cause: str | None

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> EndedRun:
        """Read an Execution Status Change event; InvalidStepEventError naming what is missing."""
        detail = event.get("detail")
        if event.get("detail-type") != EXECUTION_STATUS_CHANGE or not isinstance(detail, Mapping):
            raise InvalidStepEventError(f"not a {EXECUTION_STATUS_CHANGE!r} event: {str(event)[:200]}")
        try:
            arn, name, status = str(detail["executionArn"]), str(detail["name"]), str(detail["status"])
            started = detail["startDate"]
        except KeyError as missing:
            raise InvalidStepEventError(f"event field 'detail.{missing.args[0]}' is missing") from None
        # The event gives epoch milliseconds (the documented examples); an ISO string is read too.
        start_time = (
            datetime.fromtimestamp(started / 1000, tz=UTC)
            if isinstance(started, int | float)
            else parse_timestamp(str(started))
        )
        return cls(
            execution=Execution(id=arn, name=name, start_time=start_time),
            status=status,
            error=detail.get("error") or None,
            cause=detail.get("cause") or None,
        )


@dataclass
class RunEndedReport:
    execution: str
    status: str
    lease_released: bool
    reaped: bool = False
    last_state: str | None = None
    clean_up: Mapping[str, Any] | None = None
    alert: Mapping[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "execution": self.execution,
            "status": self.status,
            "lease_released": self.lease_released,
            "reaped": self.reaped,
            "last_state": self.last_state,
            "clean_up": self.clean_up,
            "alert": self.alert,
            "notes": self.notes,
        }


Invoke = Callable[[str, Mapping[str, Any]], Mapping[str, Any]]


def run_ended(
    run: EndedRun,
    *,
    s3: S3Client,
    sfn: SFNClient,
    invoke: Invoke,
    settings: RunEndedSettings,
    ssm: SSMClient | None = None,
    sagemaker: SageMakerClient | None = None,
) -> RunEndedReport:
    """Release the run's lease; reap a run that ended outside the workflow's failure path.

    `invoke(function, payload)` calls a Lambda function synchronously and returns its answer (the CleanUp and
    NotifySlack functions of the stack). Safe to repeat: EventBridge may deliver an event twice, and CleanUp and
    the lease release check before they act (a second alert is the cost of a duplicate delivery).
    """
    if run.status not in EXECUTION_ENDED:  # a running execution keeps its lease, whatever sent its event here
        return RunEndedReport(execution=run.execution.id, status=run.status, lease_released=False)
    released = release_lease(s3, settings.bucket, lease_key(settings.wake_prefix), run.execution.id)
    report = RunEndedReport(execution=run.execution.id, status=run.status, lease_released=released)
    if run.status == "SUCCEEDED":
        return report
    last_state = last_state_entered(sfn, run.execution.id)
    report.last_state = last_state
    if run.status == "FAILED" and last_state == ALERTED_FAILURE_STATE:
        return report  # the workflow cleaned up and alerted itself
    report.reaped = True
    step_execution = {
        "id": run.execution.id,
        "name": run.execution.name,
        "start_time": format_timestamp(run.execution.start_time),
    }
    state: dict[str, Any] = {}
    try:
        cleaned = invoke(settings.clean_up_function, {"state": {}, "execution": step_execution})
        report.clean_up = cleaned.get("clean_up") if isinstance(cleaned, Mapping) else None
    except InvalidStepEventError as failed:
        # The alert goes out anyway, saying what may be left behind (NotifySlack reads clean_up_error).
        state["clean_up_error"] = {"Error": "CleanUpFailed", "Cause": str(failed)}
        report.notes.append(str(failed))
    error, how = _HOW.get(run.status, ("ExecutionFailed", "ended"))
    if settings.approvals is not None and sagemaker is not None:
        rejected = reject_pending(sagemaker, s3, settings.approvals, run.execution, how)
        report.notes += [f"version {version} waited for approval: now Rejected" for version in rejected]
    stage = last_state or "an unknown state"
    said = "; ".join(part for part in (run.error, run.cause) if part)
    recorded = ssm is not None and _watermark_names(ssm, settings.watermark_parameter, run.execution.id)
    cause = (
        f"The run {how} while in {stage}"
        + (f" ({said})" if said else "")
        + ". "
        + _aftermath(report.clean_up, recorded=recorded)
    )
    state["failure"] = {stage: {"Error": run.error if run.status == "FAILED" and run.error else error, "Cause": cause}}
    if report.clean_up is not None:
        state["clean_up"] = dict(report.clean_up)
    alert = invoke(settings.notify_function, {"state": state, "execution": step_execution, "event": "failed"})
    report.alert = alert if isinstance(alert, Mapping) else None
    return report


def _watermark_names(ssm: SSMClient, parameter: str | None, execution_id: str) -> bool:
    """Whether the watermark records this execution: it deployed (or was judged) before it ended."""
    if parameter is None:
        return False
    try:
        value = json.loads(ssm.get_parameter(Name=parameter)["Parameter"]["Value"])
    except (ClientError, ValueError):
        return False
    return isinstance(value, Mapping) and value.get("execution_id") == execution_id


def _aftermath(clean_up: Mapping[str, Any] | None, *, recorded: bool = False) -> str:
    """What the clean-up did, honestly: a run stopped while its deployment went on leaves the endpoint serving its
    model (an endpoint update cannot be cancelled), which CleanUp keeps; one stopped after UpdateParameters had
    deployed and recorded its model (during its batch transform, say), which stays."""
    if clean_up is None:
        return "Its jobs may still run and what it created may remain: the clean-up did not finish."
    kept = [str(item) for item in clean_up.get("kept") or []]
    serving = [item for item in kept if "endpoint" in item and ("uses" in item or "serves" in item)]
    if recorded:
        return (
            "It had already deployed its model and the watermark records it: the endpoint keeps serving it; its "
            "unfinished jobs were stopped."
        )
    text = "Its jobs were stopped and what it created that nobody serves was removed; the watermark did not move."
    if serving:
        text += (
            f" Its deployment went on: {serving[0]}. The watermark still names the earlier model; "
            "`sagemaker-retraining rollback` puts it back."
        )
    elif kept:
        text += f" Kept: {'; '.join(kept)[:300]}."
    return text


def last_state_entered(sfn: SFNClient, execution_arn: str) -> str | None:
    """The name of the last state the execution entered, from its whole history (a run's is a few hundred events,
    one page; read oldest first, which every implementation of GetExecutionHistory pages alike)."""
    last = None
    for page in sfn.get_paginator("get_execution_history").paginate(
        executionArn=execution_arn, PaginationConfig={"PageSize": 1000}
    ):
        for event in page["events"]:
            details = event.get("stateEnteredEventDetails")
            if details:
                last = str(details["name"])
    return last


def lambda_payload(response: Mapping[str, Any], function: str) -> Mapping[str, Any]:
    """A synchronous Invoke's answer; InvalidStepEventError when the function failed (its error and message)."""
    body = response["Payload"].read()
    answer = json.loads(body) if body else {}
    if response.get("FunctionError"):
        raise InvalidStepEventError(f"function {function} failed: {str(answer)[:500]}")
    return answer if isinstance(answer, Mapping) else {}
