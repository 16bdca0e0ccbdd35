"""RedriveExecution: an unsuccessful execution continues from the state that did not complete; moto answers HTTP 500.

What AWS documents (API reference RedriveExecution; developer guide "Restarting state machine executions with
redrive"): the execution "continues ... from the unsuccessful step and uses the same input", the successful steps are
not rerun and their history is kept, the execution keeps its ARN and definition, and "the state machine level
timeout, if defined, is reset to 0". Its history goes on with an `ExecutionRedriven` event whose
`executionRedrivenEventDetails` hold the new `redriveCount`; it is RUNNING again, and the status change is sent as
any other (status_events.py). Which executions can be redriven, and the client-token idempotency, are in
redrive_eligibility.py.

Here the state redriven is the last top-level state entered and never exited in the history (the one that failed,
was running when the execution was stopped or timed out, or the Fail state reached), with the input its
StateEntered event recorded; before any state was entered, the StartAt state with the execution's input. It is
evaluated afresh, so its Retry attempts start over. The run goes on in a new environment that continues the
history's event ids, with the variables the earlier states assigned; the ended run's environment stays sealed, so
whatever of it still runs (a Lambda that answers late) records nothing.

Left out: a Parallel or inline Map state is run again whole (AWS redrives only its failed branches or iterations),
and Distributed Map runs are not redriven on their own (no REDRIVABLE_BY_MAP_RUN). The previousEventId of
ExecutionRedriven is 0, as for the other execution-level events that come from outside the states (not measured).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from moto.core.exceptions import AWSError
from moto.stepfunctions.parser.api import ExecutionRedrivenEventDetails, ExecutionStatus, HistoryEventType
from moto.stepfunctions.parser.asl.component.common.flow.start_at import StartAt
from moto.stepfunctions.parser.asl.component.program.program import Program
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
from moto.stepfunctions.parser.backend.execution import Execution
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

from local_runtime.step_functions import executions, redrive_eligibility


class ExecutionNotRedrivableError(AWSError):
    """Answered as Step Functions' ExecutionNotRedrivable (HTTP 400)."""

    TYPE = "ExecutionNotRedrivable"
    STATUS = 400


def redrive(execution: Execution, client_token: str | None = None) -> datetime:
    """Redrive the execution; returns its redrive date (the earlier one for a client token already used)."""
    now = redrive_eligibility.clock()
    with executions._lock:
        redrives = redrive_eligibility.redrives_of(execution)
        answered = redrives.remembered(client_token, now) if client_token is not None else None
        if answered is not None:
            return answered
        worker, ended = execution.exec_worker, executions._environment(execution)
        history = ended.event_manager.get_event_history() if ended is not None else []
        reason = redrive_eligibility.not_redrivable_reason(execution, len(history), now)
        if reason is not None:
            raise ExecutionNotRedrivableError(reason)
        if worker is None or ended is None:
            raise ExecutionNotRedrivableError(f"Execution {execution.exec_arn} never ran")
        program = worker._get_evaluation_entrypoint()
        if not isinstance(program, Program):
            raise TypeError(f"an execution evaluates a Program, not {type(program).__name__}")
        state, state_input = restart_point(
            history, set(program.states.states), program.start_at.start_at_name, execution.input_data
        )
        redrives.record(now, client_token)
        env = _continued(worker, ended, history)
        worker.env = env
        execution.exec_status, execution.stop_date = ExecutionStatus.RUNNING, None
        execution.error = execution.cause = execution.output = None
        env.event_manager.add_event(
            context=env.event_history_context,
            event_type=HistoryEventType.ExecutionRedriven,
            event_details=EventDetails(  # type: ignore[typeddict-item]  # (moto declares every key required)
                executionRedrivenEventDetails=ExecutionRedrivenEventDetails(redriveCount=redrives.count)
            ),
            timestamp=now,
        )
        env.states.reset(input_value=state_input)
        program.start_at = StartAt(state)  # type: ignore[misc]  # (Final in moto; this program is this run's alone)
        env.next_state_name = state
        executions.track(env, execution, program, started=now)
    executions.announce(execution)
    executions.run(worker, program, env)
    return now


def restart_point(
    history: Sequence[Mapping[str, Any]], top_level_states: set[str], start_at: str, execution_input: Any
) -> tuple[str, Any]:
    """The state a redrive starts from and its input: the last top-level state entered and not exited since."""
    not_exited: dict[str, str] = {}
    for event in history:
        entered, exited = event.get("stateEnteredEventDetails"), event.get("stateExitedEventDetails")
        if entered is not None and entered["name"] in top_level_states:
            not_exited.pop(entered["name"], None)  # (re-entered in a loop: its latest entry counts)
            not_exited[entered["name"]] = entered.get("input", "{}")
        elif exited is not None:
            not_exited.pop(exited["name"], None)
    if not not_exited:
        return start_at, copy.deepcopy(execution_input)
    state, recorded_input = list(not_exited.items())[-1]
    return state, json.loads(recorded_input)


def _continued(worker: ExecutionWorker, ended: Environment, history: list[Any]) -> Environment:
    """A fresh environment for the redriven run, whose history goes on from the ended run's."""
    env = worker._get_evaluation_environment()
    manager = EventManager(cloud_watch_logging_session=ended.cloud_watch_logging_session)
    manager._history_event_list.extend(history)
    manager._event_id_gen._next_id = len(history) + 1
    env.event_manager = manager
    env.variable_store = copy.deepcopy(ended.variable_store)  # type: ignore[misc]  # (Final in moto; not yet running)
    return env  # its event history context starts at event 0: ExecutionRedriven's previousEventId
