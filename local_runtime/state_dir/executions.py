"""Step Functions in the state directory: state machines, and their executions with their histories.

An execution still running when the state is saved is saved as the restart will have ended it: ABORTED, stopped at
the save, with error `LocalRuntime.Restarted` and a cause saying so, and an `ExecutionAborted` event closing its
history. ABORTED rather than FAILED: FAILED says the workflow itself failed (a state's error, which a Catch or an
alarm on ExecutionsFailed is about); ABORTED is what Step Functions shows for an execution ended from outside
(StopExecution), and the run's lease, held by an execution no longer RUNNING, is taken over by the next run
(lambdas/common/lease.py). Nothing resumes it: moto's interpreter cannot continue an execution mid-state.

Restored executions answer DescribeExecution, ListExecutions and GetExecutionHistory as before the restart; they
run nothing. Not kept: state machine versions and aliases, activities, Map runs, Express executions' logs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, cast

from moto.stepfunctions.parser.api import ExecutionStatus, GetExecutionHistoryOutput, HistoryEventList
from moto.stepfunctions.parser.backend.execution import Execution
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from local_runtime.state_dir.codec import decode, encode

RESTART_ERROR = "LocalRuntime.Restarted"
RESTART_CAUSE = "The local runtime was restarted while the execution ran; nothing resumes an execution after that."


class RestoredExecution(Execution):
    """An execution that ended before the restart: its description and history as saved; it runs nothing."""

    saved_history: list[dict[str, Any]]

    def to_history_output(self) -> GetExecutionHistoryOutput:
        return GetExecutionHistoryOutput(events=cast(HistoryEventList, [dict(e) for e in self.saved_history]))


def save() -> list[dict[str, Any]]:
    saved = []
    saved_at = datetime.now(UTC)
    for account, regions in list(stepfunctions_parser_backends.items()):
        for region, backend in list(regions.items()):
            for machine in list(backend.state_machines):
                saved.append(
                    {
                        "account": account,
                        "region": region,
                        "name": machine.name,
                        "definition": machine.definition,
                        "role_arn": machine.roleArn,
                        "tags": backend.tagger.list_tags_for_resource(machine.arn)[backend.tagger.tag_name],
                        "created": machine.creation_date.isoformat(),
                        "executions": [_execution(e, saved_at) for e in list(machine.executions)],
                    }
                )
    return saved


def restore(saved: list[dict[str, Any]]) -> int:
    """Create the state machines and put their executions back; how many executions."""
    restored = 0
    for entry in saved:
        backend = stepfunctions_parser_backends[entry["account"]][entry["region"]]
        machine = backend.create_state_machine(
            name=entry["name"], definition=entry["definition"], roleArn=entry["role_arn"], tags=entry["tags"] or None
        )
        machine.creation_date = machine.update_date = datetime.fromisoformat(entry["created"])
        for execution in entry["executions"]:
            executions: list[Any] = machine.executions  # typed as the executions of moto's mock, not its interpreter's
            executions.append(_restored(machine, entry, decode(execution)))
            restored += 1
    return restored


def _execution(execution: Any, saved_at: datetime) -> Any:
    description = dict(execution.to_describe_output())
    events: list[dict[str, Any]] = []
    if getattr(execution, "exec_worker", None) is not None or isinstance(execution, RestoredExecution):
        events = [dict(event) for event in execution.to_history_output()["events"]]
    if description["status"] == ExecutionStatus.RUNNING:
        description.update(status=ExecutionStatus.ABORTED, stopDate=saved_at, error=RESTART_ERROR, cause=RESTART_CAUSE)
        events.append(
            {
                "timestamp": saved_at,
                "type": "ExecutionAborted",
                "id": len(events) + 1,
                "previousEventId": 0,
                "executionAbortedEventDetails": {"error": RESTART_ERROR, "cause": RESTART_CAUSE},
            }
        )
    return encode({"description": description, "history": events, "role_arn": execution.role_arn}, "execution")


def _restored(machine: Any, entry: dict[str, Any], saved: dict[str, Any]) -> RestoredExecution:
    description = saved["description"]
    execution = RestoredExecution.__new__(RestoredExecution)
    vars(execution).update(
        name=description["name"],
        sm_type=machine.sm_type,
        role_arn=saved["role_arn"],
        exec_arn=description["executionArn"],
        execution_arn=description["executionArn"],
        account_id=entry["account"],
        region_name=entry["region"],
        state_machine=machine,
        state_machine_arn=machine.arn,
        input_data=_json(description.get("input")),
        execution_input=description.get("input", "{}"),
        input_details=description.get("inputDetails"),
        trace_header=description.get("traceHeader"),
        exec_status=ExecutionStatus(description["status"]),
        start_date=description["startDate"],
        stop_date=description.get("stopDate"),
        output=_json(description.get("output")),
        output_details=description.get("outputDetails"),
        error=description.get("error"),
        cause=description.get("cause"),
        exec_worker=None,
        _cloud_watch_logging_session=None,
        _activity_store={},
        saved_history=saved["history"],
    )
    return execution


def _json(text: str | None) -> Any:
    return json.loads(text) if text else None
